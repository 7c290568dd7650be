package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"

	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"
)

// A staged rollout (deployment.steps) runs the new release of a service on
// a second Deployment, the canary, beside the service's own. Its pods
// carry the service's labels, so the service's Service sends them their
// share of the traffic (the split is by pod count: no mesh), plus
// LabelTrack, which is in the canary's selector: the canary never selects
// the service's own pods.
//
// The service's Deployment selects by app and service only, and a
// Deployment's selector cannot change once created, so that selector does
// match canary pods. They are not its: a Deployment adopts only
// ReplicaSets that no controller owns (the canary's ReplicaSet is the
// canary's), and each of its ReplicaSets selects by pod-template-hash,
// which differs from the canary's because the templates differ in
// LabelTrack. Neither controller ever counts or deletes the other's pods.
const (
	// TrackCanary is LabelTrack on the canary and its pods.
	TrackCanary = "canary"
	// LabelCanaryOf names the service on the canary Deployment itself,
	// which carries no LabelService: what lists a service's Deployments
	// by that label (its replicas, the rollout watch) never sees it, and a
	// promotion's end prunes it as belonging to no service.
	LabelCanaryOf = "slipway.dev/canary-of"
	// AnnotationServiceReplicas on the canary is the count of the service
	// before the canary took its share: the count the service's
	// Deployment gets back when the release is applied, or the previous
	// release is.
	AnnotationServiceReplicas = "slipway.dev/service-replicas"
)

// CanaryName is the canary Deployment of service.
func CanaryName(service string) string { return service + "-canary" }

// CanarySelector selects the canary pods of every service of app.
func CanarySelector(app string) string {
	return LabelApp + "=" + app + "," + LabelTrack + "=" + TrackCanary
}

// CanarySplit divides a service of n processes for a step of percent: the
// canary runs ceil(percent × n) of the new release, at least one, and the
// service keeps the rest of the old, at least one while percent < 100. So
// n=1 runs one of each, and the two may add up to more than n. A service
// scaled to zero stays at zero.
func CanarySplit(n int32, percent int) (canary, main int32) {
	if n <= 0 {
		return 0, 0
	}
	canary = max(int32((int64(n)*int64(percent)+99)/100), 1)
	if percent >= 100 {
		return n, 0
	}
	return canary, max(n-canary, 1)
}

// Canary is the canary of svc (as Release rendered it): its Deployment's
// pod template with LabelTrack, replicas processes, and full, the
// service's count before the split, kept in AnnotationServiceReplicas.
func Canary(svc Service, full, replicas int32) (*appsv1ac.DeploymentApplyConfiguration, error) {
	d := svc.Deployment
	if d == nil || d.Spec == nil || d.Spec.Template == nil || d.Spec.Selector == nil {
		return nil, fmt.Errorf("services.%s: runs no Deployment, so it cannot have a canary", svc.Name)
	}
	// A deep copy: the template is shared with the service's Deployment,
	// which is applied later.
	raw, err := json.Marshal(d.Spec.Template)
	if err != nil {
		return nil, err
	}
	pod := &corev1ac.PodTemplateSpecApplyConfiguration{}
	if err := json.Unmarshal(raw, pod); err != nil {
		return nil, err
	}
	podLabels := maps.Clone(pod.Labels)
	podLabels[LabelTrack] = TrackCanary
	pod.Labels = podLabels
	sel := maps.Clone(d.Spec.Selector.MatchLabels)
	sel[LabelTrack] = TrackCanary
	own := maps.Clone(d.Labels)
	delete(own, LabelService)
	own[LabelCanaryOf], own[LabelTrack] = svc.Name, TrackCanary
	spec := appsv1ac.DeploymentSpec().
		WithReplicas(replicas).
		WithSelector(metav1ac.LabelSelector().WithMatchLabels(sel)).
		WithRevisionHistoryLimit(1).
		WithTemplate(pod)
	if d.Spec.ProgressDeadlineSeconds != nil {
		spec.WithProgressDeadlineSeconds(*d.Spec.ProgressDeadlineSeconds)
	}
	return appsv1ac.Deployment(CanaryName(svc.Name), *d.Namespace).
		WithLabels(own).
		WithAnnotations(map[string]string{AnnotationServiceReplicas: strconv.Itoa(int(full))}).
		WithSpec(spec), nil
}

// ServiceReplicas is the count a canary (its labels and annotations)
// keeps for its service: ok is false for any other Deployment.
func ServiceReplicas(labels, annotations map[string]string) (service string, n int32, ok bool) {
	if labels[LabelTrack] != TrackCanary || labels[LabelCanaryOf] == "" {
		return "", 0, false
	}
	v, err := strconv.ParseInt(annotations[AnnotationServiceReplicas], 10, 32)
	if err != nil {
		return "", 0, false
	}
	return labels[LabelCanaryOf], int32(v), true
}
