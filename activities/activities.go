// Package activities holds slipway's side effects: every call to
// Kubernetes, the blob store and the registry that a workflow makes. Each
// activity is idempotent: a retry after a crash writes nothing twice.
package activities

import (
	"errors"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"gocloud.dev/blob"

	"github.com/slipway-dev/slipway/records"
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
}

// Error types that are not worth retrying: the input is wrong.
const (
	ErrNotFound = "NotFound"
	ErrInvalid  = "Invalid"
	ErrConflict = "Conflict"
	// ErrApplyFailed: the API server refused an object of the release.
	ErrApplyFailed = "ApplyFailed"
)

// permanent marks an error that a retry cannot fix, so the workflow fails
// at once with its message.
func permanent(kind string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), kind, nil)
}

// classify turns a record's NotFoundError into a permanent error and lets
// everything else (API server down, conflicts) be retried.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var nf *records.NotFoundError
	if errors.As(err, &nf) {
		return permanent(ErrNotFound, err)
	}
	return err
}
