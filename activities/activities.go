// Package activities holds slipway's side effects: every call to
// Kubernetes, the blob store and the registry that a workflow makes. Each
// activity is idempotent: a retry after a crash writes nothing twice.
package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gocloud.dev/blob"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/source"
)

// Activities holds the clients; the worker registers one value of it.
type Activities struct {
	Store *records.Store
	Blobs *blob.Bucket
	// Temporal lets long activities signal progress to their workflow.
	Temporal client.Client
	// Registry is host[:port] of the registry that builds push to.
	Registry string
	// JobImage and FetchImage are the images of the kubernetes builder's
	// Jobs (see builder.JobSpec).
	JobImage, FetchImage string
	// SourceLimits cap what a build source may cost the worker; zero means
	// source.DefaultLimits.
	SourceLimits source.Limits
	// InsecureRegistries are reached over plain HTTP; RegistryAllow, when
	// set, lists the only registries a build may name (see
	// builder.Registries).
	InsecureRegistries, RegistryAllow []string
	// Ingress names the rack's ingress classes; zero means
	// render.DefaultIngressClasses.
	Ingress render.IngressClasses
}

// Error types that are not worth retrying: the input is wrong, or the API
// server refuses for a reason a retry does not change.
const (
	ErrNotFound = "NotFound"
	ErrInvalid  = "Invalid"
	ErrConflict = "Conflict"
	// ErrApplyFailed: the API server refused an object of the release
	// (invalid, forbidden, over quota, too large).
	ErrApplyFailed = "ApplyFailed"
	// ErrRefused: the API server refused a write that puts a release back
	// or closes a promotion's records. It is retried, within the
	// activity's bounds: the same objects were accepted before, so a
	// refusal is most likely a policy or quota that lifts, and giving up
	// would leave the app half way.
	ErrRefused = "Refused"
)

// permanent marks an error that a retry cannot fix, so the workflow fails
// at once with its message.
func permanent(kind string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), kind, nil)
}

// classify sorts an error into permanent (no retry can fix it: a record or
// object that does not exist, a refusal by RBAC, an admission policy or a
// quota, an invalid or oversized object) and transient (everything else:
// conflicts, timeouts, throttling, 5xx, a connection refused while the API
// server restarts), which the activity's retry policy retries for a while.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err // already classified
	}
	var nf *records.NotFoundError
	if errors.As(err, &nf) || apierrors.IsNotFound(err) {
		return permanent(ErrNotFound, err)
	}
	if refused(err) {
		return permanent(ErrApplyFailed, err)
	}
	return err
}

// classifyPuttingBack is classify for the writes that undo or close a
// promotion: the API server's refusals are retried (ErrRefused).
func classifyPuttingBack(err error) error {
	if err != nil && refused(err) {
		return temporal.NewApplicationError(err.Error(), ErrRefused)
	}
	return classify(err)
}

// refused is true for the API server's answers that say "never", not "not
// now".
func refused(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) ||
		apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) ||
		apierrors.IsRequestEntityTooLargeError(err) || apierrors.IsMethodNotSupported(err) ||
		apierrors.IsNotAcceptable(err) || apierrors.IsUnsupportedMediaType(err)
}

// heartbeat tells Temporal the activity is alive, and lets a cancellation
// reach it. Tests call some activities without an activity context.
func heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}

// heartbeatEvery keeps a long step alive in Temporal's eyes, and open to
// cancellation, until stopped.
func heartbeatEvery(ctx context.Context, d time.Duration) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		wait.Until(func() { heartbeat(ctx) }, d, done)
	}()
	return func() {
		close(done)
		<-ended
	}
}

// heartbeatInterval is how often ApplyRelease, and WatchRollout until its
// first lists are in, heartbeat whatever their requests are doing: well
// inside the 2 s heartbeat timeout, so that a live worker's attempt is
// never taken for a dead one's while its requests wait on a busy API
// server. (The SDK sends at most one heartbeat in 0.8 of the timeout.)
const heartbeatInterval = 500 * time.Millisecond
