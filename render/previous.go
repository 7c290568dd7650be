package render

import (
	"maps"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// The rollback window: after a promotion, the release before it keeps
// running beside, in its own Deployment per service, so that a rollback
// to it only has to point the Services at pods that are already up.
//
// It cannot be the old ReplicaSet of the service's own Deployment, as
// Argo Rollouts keeps it: the Deployment controller scales every old
// ReplicaSet to 0, paused or not. So the kept pods are a second
// Deployment's, `<service>-previous`, whose pods do NOT carry the service
// label: the Service's selector (app + service) does not reach them, the
// service's Deployment does not count them, and the rollout's convergence
// check, which judges the pods that carry the service label, never takes
// them for pods left behind. They carry LabelTrack=previous and the
// service's name under LabelKept instead, which is what a switched
// Service selects.
//
// The kept Deployment carries no LabelManagedBy: a promotion's prune
// deletes what it labels as slipway's and the active release does not
// run, and a kept Deployment is closed by its own window instead.
const (
	// TrackPrevious is LabelTrack on a kept Deployment and its pods.
	TrackPrevious = "previous"
	// LabelKept names the service a kept pod is a process of.
	LabelKept = "slipway.dev/kept"
	// AnnotationKeptBy names the promotion that opened the window, so
	// that closing it never deletes a later window's Deployments.
	AnnotationKeptBy = "slipway.dev/kept-by"
	// AnnotationKeptUntil is when the window closes (RFC 3339).
	AnnotationKeptUntil = "slipway.dev/kept-until"
)

// PreviousName is the Deployment that keeps a service's previous release.
func PreviousName(service string) string { return service + "-previous" }

// MainSelector selects the pods of a service's own Deployment: what its
// Service selects.
func MainSelector(app, service string) map[string]string {
	return map[string]string{LabelApp: app, LabelService: service}
}

// PreviousSelector selects the kept pods of a service: what its Service
// selects while a rollback's traffic is switched to them.
func PreviousSelector(app, service string) map[string]string {
	return map[string]string{LabelApp: app, LabelTrack: TrackPrevious, LabelKept: service}
}

// Kept is what keeps one service of a release running in the window.
type Kept struct {
	Service string
	// Secret is the release's env of the service, which the kept pods
	// read (the release's own: a promotion keeps the env of the release
	// before it).
	Secret     *corev1ac.SecretApplyConfiguration
	Deployment *appsv1ac.DeploymentApplyConfiguration
}

// Keepable says which of a release's rendered services are kept: those
// with a Deployment and a Service (a port), since the window is there to
// switch traffic. Not kept: agents (a DaemonSet has no second copy to run
// beside), singletons (a second process would break "at most one"),
// services without a port (kept, a background worker of the old release
// would go on working beside the new one, and there is no traffic to
// switch), and a service whose kept Deployment's name is taken by a
// service of the kept release or of taken (the release now active).
func Keepable(in Input, services []Service, taken []string) []Service {
	var out []Service
	for _, s := range services {
		if s.Deployment == nil || s.Service == nil {
			continue
		}
		if st := s.Deployment.Spec.Strategy; st != nil && st.Type != nil && *st.Type == appsv1.RecreateDeploymentStrategyType {
			continue // a singleton
		}
		name := PreviousName(s.Name)
		if _, clash := in.Manifest.Service(name); clash || slices.Contains(taken, name) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Previous turns the rendered services of the kept release (in, services:
// as Release renders them) into their kept Deployments: the same pod
// template and replica count, under another name, with the service label
// replaced by LabelTrack and LabelKept on the Deployment, its selector
// and its pods, and annotated with the promotion that keeps them and
// until when. taken are the services of the release now active. It
// changes the Deployments of services in place: render them for this
// alone.
func Previous(in Input, services []Service, taken []string, promotion string, until time.Time) []Kept {
	var out []Kept
	for _, s := range Keepable(in, services, taken) {
		d := s.Deployment
		d.WithName(PreviousName(s.Name))
		d.Labels = keptLabels(d.Labels, s.Name)
		d.Labels[LabelRelease], d.Labels[LabelBuild] = in.Release, in.Build
		delete(d.Labels, LabelManagedBy)
		d.WithAnnotations(map[string]string{
			AnnotationKeptBy:    promotion,
			AnnotationKeptUntil: until.UTC().Format(time.RFC3339),
		})
		d.Spec.WithSelector(metav1ac.LabelSelector().WithMatchLabels(PreviousSelector(in.App, s.Name)))
		d.Spec.Template.Labels = keptLabels(d.Spec.Template.Labels, s.Name)
		// No autoscaler follows it, and no rollout of it is watched.
		d.Spec.ProgressDeadlineSeconds = nil
		out = append(out, Kept{Service: s.Name, Secret: s.Secret, Deployment: d})
	}
	return out
}

// keptLabels are labels with the service label replaced by the kept
// ones.
func keptLabels(labels map[string]string, service string) map[string]string {
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	delete(out, LabelService)
	out[LabelTrack], out[LabelKept] = TrackPrevious, service
	return out
}

// OnPrevious points the Service and the balancers of every service named
// in switched at its kept pods: a release applied while a rollback's
// traffic is on the kept pods must not point it back at pods still
// rolling out.
func OnPrevious(app string, services []Service, switched []string) {
	for _, s := range services {
		if !slices.Contains(switched, s.Name) {
			continue
		}
		if s.Service != nil && s.Service.Spec != nil {
			s.Service.Spec.Selector = PreviousSelector(app, s.Name)
		}
		for _, b := range s.Balancers {
			if b.Spec != nil {
				b.Spec.Selector = PreviousSelector(app, s.Name)
			}
		}
	}
}
