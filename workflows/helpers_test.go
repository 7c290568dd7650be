package workflows_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/workflows"
)

// acts is the nil receiver the tests name activities through, as the
// workflows do.
var acts *activities.Activities

// newEnv is a test workflow environment for a loaded 2-core machine: the
// deadlock detector and the idle timeout are raised so that a slow
// scheduler cannot fail a correct test. It records every activity the
// workflow (or its children) starts.
func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *recorder) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(2 * time.Minute)
	env.SetWorkerOptions(worker.Options{DeadlockDetectionTimeout: time.Minute})
	env.RegisterWorkflow(workflows.CreateRelease)
	rec := &recorder{t: t, env: env}
	env.SetOnActivityStartedListener(rec.started)
	env.SetOnLocalActivityStartedListener(rec.startedLocal)
	env.SetOnActivityCanceledListener(rec.canceled)
	return env, rec
}

// call is one activity attempt as the workflow scheduled it.
type call struct {
	Name       string
	WorkflowID string // of the workflow that scheduled it
	Attempt    int32
	At         time.Time // test clock
	Info       activity.Info
	args       converter.EncodedValues
	local      []any // a local activity's arguments, as passed
}

type recorder struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment

	mu        sync.Mutex
	calls     []call
	cancelled []string
}

func (r *recorder) started(info *activity.Info, _ context.Context, args converter.EncodedValues) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{
		Name: info.ActivityType.Name, WorkflowID: info.WorkflowExecution.ID,
		Attempt: info.Attempt, At: r.env.Now(), Info: *info, args: args,
	})
}

// startedLocal records a local activity as started, like any other.
func (r *recorder) startedLocal(info *activity.Info, _ context.Context, args []any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{
		Name: info.ActivityType.Name, WorkflowID: info.WorkflowExecution.ID,
		Attempt: info.Attempt, At: r.env.Now(), Info: *info, local: args,
	})
}

func (r *recorder) canceled(info *activity.Info) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cancelled = append(r.cancelled, info.ActivityType.Name)
}

// names lists the activities started, in order.
func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c.Name)
	}
	return out
}

func (r *recorder) callsOf(name string) []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []call
	for _, c := range r.calls {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// inputs decodes the input of every started activity called name.
func inputs[T any](r *recorder, name string) []T {
	r.t.Helper()
	var out []T
	for _, c := range r.callsOf(name) {
		var in T
		if c.local != nil {
			in = c.local[0].(T)
		} else if err := c.args.Get(&in); err != nil {
			r.t.Fatalf("decode %s input: %v", name, err)
		}
		out = append(out, in)
	}
	return out
}

// only is the one input of name, failing the test unless there is exactly one.
func only[T any](r *recorder, name string) T {
	r.t.Helper()
	ins := inputs[T](r, name)
	if len(ins) != 1 {
		r.t.Fatalf("%s started %d times, want once; activities: %v", name, len(ins), r.names())
	}
	return ins[0]
}

// appError is the application error inside err (a workflow's or an
// activity's), failing the test when there is none.
func appError(t *testing.T, err error) *temporal.ApplicationError {
	t.Helper()
	if err == nil {
		t.Fatal("workflow succeeded, want an error")
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("error %v (%T) carries no application error", err, err)
	}
	return appErr
}

// permanent is the non-retryable error an activity returns for kind.
func permanent(msg, kind string) error {
	return temporal.NewNonRetryableApplicationError(msg, kind, nil)
}

// rollingFake is a promotion from rOld to rNew whose rollout takes 3 s
// once applied, and whose rollback is healthy at once.
func rollingFake() *fake {
	return &fake{
		from:     rOld,
		services: map[string][]string{rNew: newServices, rOld: oldServices},
		watch: map[string]watchPlan{
			rNew: {after: 3 * time.Second, progress: newProgress},
			rOld: {progress: oldProgress},
		},
	}
}
