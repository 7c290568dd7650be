package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/model"
)

// Metrics the Promote workflow emits through the worker's metrics handler
// (workflow.GetMetricsHandler). That handler drops what a replay emits, so
// each is counted once, by the worker that first ran that part of the
// run, and emitting one adds nothing to the run's history. A Prometheus
// registry shows a counter with the suffix _total and a timer, in
// seconds, with _seconds.
const (
	// MetricPromotionsStarted counts promotions started; a repair run does
	// not count, since the promotion it repairs already did.
	MetricPromotionsStarted = "slipway_promotions_started"
	// MetricPromotionsEnded counts promotions ended, by MetricTagResult,
	// a repair's included: started minus ended is what is in flight.
	MetricPromotionsEnded = "slipway_promotions_ended"
	// MetricPromotionDuration times a promotion from its run's start to
	// its end, by MetricTagResult.
	MetricPromotionDuration = "slipway_promotion_duration"
	// MetricRolloutDuration times a rollout that succeeded, from the
	// apply of the new release until every service is rolled out.
	MetricRolloutDuration = "slipway_rollout_duration"

	// MetricTagResult is how a promotion ended: model.ResultActive,
	// model.ResultRolledBack, model.ResultFailed (the rollback failed),
	// or, for a run that ended before its record had a result,
	// MetricResultCancelled or MetricResultError.
	MetricTagResult = "result"
)

// Results that exist only in metrics: the record of such a promotion
// either was never written or is put right by the worker's reconciler.
const (
	MetricResultCancelled = "cancelled"
	MetricResultError     = "error"
)

// countStarted counts a promotion that starts.
func countStarted(ctx workflow.Context) {
	workflow.GetMetricsHandler(ctx).Counter(MetricPromotionsStarted).Inc(1)
}

// countEnded counts a promotion that ends with result (its record's, ""
// when it has none) and err (the run's), and times it since its run began.
func countEnded(ctx workflow.Context, result string, err error) {
	result = endResult(result, err)
	h := workflow.GetMetricsHandler(ctx).WithTags(map[string]string{MetricTagResult: result})
	h.Counter(MetricPromotionsEnded).Inc(1)
	h.Timer(MetricPromotionDuration).Record(workflow.Now(ctx).Sub(workflow.GetInfo(ctx).WorkflowStartTime))
}

// timeRollout records how long a successful rollout took since it began.
func timeRollout(ctx workflow.Context, began time.Time) {
	workflow.GetMetricsHandler(ctx).Timer(MetricRolloutDuration).Record(workflow.Now(ctx).Sub(began))
}

// endResult names how a run ended for metrics: its record's result when
// it wrote one.
func endResult(result string, err error) string {
	var appErr *temporal.ApplicationError
	switch {
	case result != "":
		return result
	case err == nil:
		// Every successful return writes ResultActive first; say so
		// anyway rather than count a success as an error.
		return model.ResultActive
	case temporal.IsCanceledError(err):
		return MetricResultCancelled
	case errors.As(err, &appErr) && appErr.Type() == "Rejected":
		// Stopped before anything was applied (a rollback command's copy
		// interrupted): nothing changed, as for any rejected promotion.
		return model.ResultRolledBack
	}
	return MetricResultError
}
