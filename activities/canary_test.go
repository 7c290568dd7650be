package activities

import (
	"context"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/render"
)

func canaryObjects() (*appsv1.Deployment, *appsv1.Deployment, []*corev1.Pod) {
	main := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS,
		Labels: map[string]string{render.LabelApp: testApp, render.LabelService: "web"}}}
	canary := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web-canary", Namespace: testNS,
		Labels:      map[string]string{render.LabelApp: testApp, render.LabelCanaryOf: "web", render.LabelTrack: render.TrackCanary},
		Annotations: map[string]string{render.AnnotationServiceReplicas: "4"}}}
	pod := func(name string, canary bool) *corev1.Pod {
		l := map[string]string{render.LabelApp: testApp, render.LabelService: "web"}
		if canary {
			l[render.LabelTrack] = render.TrackCanary
		}
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: l}}
	}
	return main, canary, []*corev1.Pod{pod("web-a", false), pod("web-canary-a", true), pod("web-canary-b", true)}
}

// A rollback or a promotion's end removes the canaries and their pods, and
// nothing of the service's own; done again, it finds nothing to do.
func TestDeleteCanaries(t *testing.T) {
	main, canary, pods := canaryObjects()
	fs := newFakeStore(t, nil, main, canary, pods[0], pods[1], pods[2])
	a := &Activities{Store: fs.Store}
	if err := a.DeleteCanaries(context.Background(), CanariesInput{App: testApp}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"patch deployments web-canary", "delete deployments web-canary",
		"delete pods web-canary-a", "delete pods web-canary-b",
	}
	if got := fs.coreWrites(); !slices.Equal(got, want) {
		t.Errorf("writes:\n got  %v\n want %v", got, want)
	}
	if _, err := fs.core.AppsV1().Deployments(testNS).Get(context.Background(), "web", metav1.GetOptions{}); err != nil {
		t.Errorf("the service's own Deployment: %v", err)
	}
	fs.core.ClearActions()
	if err := a.DeleteCanaries(context.Background(), CanariesInput{App: testApp}); err != nil {
		t.Fatal(err)
	}
	if got := fs.coreWrites(); len(got) != 0 {
		t.Errorf("second delete wrote %v", got)
	}
}

// While a canary runs, the service's own Deployment runs fewer: a release
// applied then gives it back the count kept on the canary.
func TestCanaryCountsRestoreTheServicesCount(t *testing.T) {
	main, canary, _ := canaryObjects()
	two := int32(2)
	main.Spec.Replicas, canary.Spec.Replicas = &two, &two
	replicas := map[string]int32{"web": 2, "": 2}
	canaryCounts([]appsv1.Deployment{*main, *canary}, replicas)
	if replicas["web"] != 4 {
		t.Errorf("web's count = %d, want the 4 kept on its canary", replicas["web"])
	}
}
