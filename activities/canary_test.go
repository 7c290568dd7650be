package activities

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

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
	if err := a.deleteCanaries(context.Background(), testApp); err != nil {
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
	if err := a.deleteCanaries(context.Background(), testApp); err != nil {
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

// stage runs StageCanary while the test plays the cluster: once the
// canary exists, ready reports it rolled out (or makes one of its pods
// crash-loop).
func stage(t *testing.T, fs *fakeStore, percent int, ready func(d *appsv1.Deployment)) (CanaryResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := &Activities{Store: fs.Store}
	type result struct {
		res CanaryResult
		err error
	}
	out := make(chan result, 1)
	go func() {
		res, err := a.StageCanary(ctx, CanaryInput{App: testApp, Release: testRelease, Promotion: testPromotion,
			Service: "web", Percent: percent, Step: "web 1/2 replicas " + strconv.Itoa(percent) + "%", ProgressDeadline: 60})
		out <- result{res, err}
	}()
	deps := fs.core.AppsV1().Deployments(testNS)
	err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		d, err := deps.Get(ctx, "web-canary", metav1.GetOptions{})
		if err != nil || d.Spec.Replicas == nil || *d.Spec.Replicas != int32(percent*4/100) {
			return false, nil
		}
		ready(d)
		return true, nil
	})
	if err != nil {
		t.Fatalf("no canary of %d%% applied: %v", percent, err)
	}
	r := <-out
	return r.res, r.err
}

func readyCanary(t *testing.T, fs *fakeStore) func(*appsv1.Deployment) {
	return func(d *appsv1.Deployment) {
		n := *d.Spec.Replicas
		d.Status = appsv1.DeploymentStatus{Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
		if _, err := fs.core.AppsV1().Deployments(testNS).UpdateStatus(context.Background(), d, metav1.UpdateOptions{}); err != nil {
			t.Error(err)
		}
	}
}

// A replicas step applies the canary and, once it is ready, scales the
// service to the rest; a later step splits the same count, kept on the
// canary, although the service runs fewer by then.
func TestStageCanary(t *testing.T) {
	four := int32(4)
	main := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: testNS,
		Labels: map[string]string{render.LabelApp: testApp, render.LabelService: "web"}}, Spec: appsv1.DeploymentSpec{Replicas: &four}}
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret(), main)

	res, err := stage(t, fs, 50, readyCanary(t, fs))
	if err != nil || res != (CanaryResult{Canary: 2, Service: 2}) {
		t.Fatalf("50%% of 4: %+v, %v; want 2 and 2", res, err)
	}
	ctx := context.Background()
	d, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 {
		t.Fatalf("web after the step: %v, want 2 replicas", err)
	}
	c, err := fs.core.AppsV1().Deployments(testNS).Get(ctx, "web-canary", metav1.GetOptions{})
	if err != nil || c.Annotations[render.AnnotationServiceReplicas] != "4" || c.Spec.Template.Labels[render.LabelRelease] != testRelease {
		t.Fatalf("canary %+v, %v", c.ObjectMeta, err)
	}
	if _, err := fs.core.CoreV1().Secrets(testNS).Get(ctx, render.SecretName("web", testRelease), metav1.GetOptions{}); err != nil {
		t.Errorf("the canary's env Secret: %v", err)
	}

	res, err = stage(t, fs, 100, readyCanary(t, fs))
	if err != nil || res != (CanaryResult{Canary: 4, Service: 0}) {
		t.Fatalf("100%% of 4 (web runs 2 by then): %+v, %v; want 4 and 0", res, err)
	}
	p, err := fs.GetPromotion(ctx, testApp, testPromotion)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, s := range p.Status.Steps {
		steps = append(steps, s.Message)
	}
	if want := []string{"web 1/2 replicas 50%: 2 canary, 2 of web", "web 1/2 replicas 100%: 4 canary, 0 of web"}; !slices.Equal(steps, want) {
		t.Errorf("record steps %q, want %q", steps, want)
	}
}

// A canary whose pod crash-loops fails the step for good, naming the pod.
func TestStageCanaryCrashLoop(t *testing.T) {
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	_, err := stage(t, fs, 25, func(d *appsv1.Deployment) {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-canary-x", Namespace: testNS, Labels: map[string]string{
			render.LabelApp: testApp, render.LabelService: "web", render.LabelRelease: testRelease, render.LabelTrack: render.TrackCanary}},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "main",
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}}}
		if _, err := fs.core.CoreV1().Pods(testNS).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
	})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrRolloutFailed || appErr.Message() != "web: container main is in CrashLoopBackOff (pod web-canary-x)" {
		t.Fatalf("crash-looping canary: %v", err)
	}
}
