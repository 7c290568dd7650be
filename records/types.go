// Package records keeps slipway's Apps, Builds and Releases as custom
// resources (group slipway.dev) in each app's namespace, so the cluster is
// the single source of truth about what is deployed. Release env values live
// in a Secret owned by the Release, never in a record's spec.
package records

import (
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipway-dev/slipway/model"
)

// Group and version of slipway's custom resources.
const (
	Group   = "slipway.dev"
	Version = "v1"
)

// Labels and annotations slipway puts on what it owns (label keys are
// model's).
const (
	LabelRack = model.LabelRack
	LabelApp  = model.LabelApp
	// LabelSequence is a release's place in its app's chain, so that
	// the newest few are listed without reading every release.
	LabelSequence = "slipway.dev/sequence"
	// AnnotationCreatedBy names the workflow that created a record, so a
	// retried activity can tell its own earlier write from someone else's.
	AnnotationCreatedBy = "slipway.dev/created-by"
)

var (
	AppResource     = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "apps"}
	BuildResource   = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "builds"}
	ReleaseResource = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "releases"}
)

// App is one application: a namespace <rack>-<name> and this record in it.
type App struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              AppSpec   `json:"spec,omitempty"`
	Status            AppStatus `json:"status"`
}

// AppSpec is what a person sets on an app by hand.
type AppSpec struct {
	// Scale is the scale set with `slipway scale`, per service. It wins
	// over the manifest's scale in every promotion and rollback, so a
	// scale set by hand is never undone by a deploy.
	Scale []ServiceScale `json:"scale,omitempty"`
	// Protected makes every promotion of the app, but a rollback, wait
	// before anything is applied until someone other than who started it
	// approves it (`slipway apps protect`).
	Protected bool `json:"protected,omitempty"`
}

// ServiceScale is one service's scale set by hand; a nil field is not set
// (the manifest's value applies).
type ServiceScale struct {
	Service string `json:"service"`
	// Count of processes.
	Count *int32 `json:"count,omitempty"`
	// CPU in millicores each process requests.
	CPU *int32 `json:"cpu,omitempty"`
	// Memory in MB each process requests.
	Memory *int32 `json:"memory,omitempty"`
}

// ScaleOf is the scale set by hand for service, or nil.
func (a *App) ScaleOf(service string) *ServiceScale {
	for i := range a.Spec.Scale {
		if a.Spec.Scale[i].Service == service {
			return &a.Spec.Scale[i]
		}
	}
	return nil
}

// SetScale records a scale by hand: the fields set in sc replace those
// recorded for its service; the others stay. Services stay sorted, so the
// record does not change with the order scales were set in.
func (a *App) SetScale(sc ServiceScale) {
	cur := a.ScaleOf(sc.Service)
	if cur == nil {
		a.Spec.Scale = append(a.Spec.Scale, ServiceScale{Service: sc.Service})
		slices.SortFunc(a.Spec.Scale, func(x, y ServiceScale) int { return strings.Compare(x.Service, y.Service) })
		cur = a.ScaleOf(sc.Service)
	}
	if sc.Count != nil {
		cur.Count = sc.Count
	}
	if sc.CPU != nil {
		cur.CPU = sc.CPU
	}
	if sc.Memory != nil {
		cur.Memory = sc.Memory
	}
}

// AppStatus is written by workflows only, with resourceVersion preconditions.
type AppStatus struct {
	// Status is one of model.AppRunning, AppUpdating, AppRollback, AppDeleting.
	Status string `json:"status"`
	// Release is the active release: the one last promoted successfully.
	Release string `json:"release,omitempty"`
	// Latest is the newest release. Releases form a chain through their
	// Parent back from Latest; only releases on the chain exist for users.
	Latest string `json:"latest,omitempty"`
	// Sequence is the number given to the newest release; each new release
	// takes Sequence+1 in the same write that makes it Latest, so the order
	// of releases is total and never depends on timestamps.
	Sequence int64 `json:"sequence"`
	// Reason says why the last promotion did not end active.
	Reason string `json:"reason,omitempty"`
}

// Build is a set of images made from an app's source and manifest.
type Build struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              BuildSpec   `json:"spec"`
	Status            BuildStatus `json:"status"`
}

type BuildSpec struct {
	ID          string `json:"id"`
	App         string `json:"app"`
	Description string `json:"description,omitempty"`
	// Source is the blob key of the source tarball.
	Source string `json:"source"`
	// ManifestPath is the manifest's path inside the source (convox.yml).
	ManifestPath string `json:"manifestPath"`
	// Actor is who started the build.
	Actor string `json:"actor,omitempty"`
}

type BuildStatus struct {
	// Status is one of model.BuildCreated, BuildRunning, BuildComplete, BuildFailed.
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Release string `json:"release,omitempty"`
	// Started and Ended have microseconds, so builds made within one
	// second still list in the order they were made.
	Started  *metav1.MicroTime `json:"started,omitempty"`
	Ended    *metav1.MicroTime `json:"ended,omitempty"`
	Manifest string            `json:"manifest,omitempty"`
	Images   []Image           `json:"images,omitempty"`
	// Logs is the blob key of the build log.
	Logs string `json:"logs,omitempty"`
	// Builder is the builder that ran: local or kubernetes.
	Builder string `json:"builder,omitempty"`
}

// Image is what a build made (or resolved) for one service.
type Image struct {
	Service string `json:"service"`
	Ref     string `json:"ref"`
	Digest  string `json:"digest,omitempty"`
}

// Release is a build plus a set of environment variables.
type Release struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ReleaseSpec `json:"spec"`
}

type ReleaseSpec struct {
	ID          string `json:"id"`
	App         string `json:"app"`
	Build       string `json:"build,omitempty"`
	Description string `json:"description,omitempty"`
	// Manifest is the release's convox.yml as written (before interpolation).
	Manifest string `json:"manifest,omitempty"`
	// Parent is the release that was Latest when this one was made.
	Parent string `json:"parent,omitempty"`
	// Sequence orders releases: see AppStatus.Sequence.
	Sequence int64 `json:"sequence"`
	// Env is the name of the Secret that holds the release's env.
	Env string `json:"env"`
	// Actor is who made the release: their Kubernetes identity, else their
	// OS user.
	Actor string `json:"actor,omitempty"`
}
