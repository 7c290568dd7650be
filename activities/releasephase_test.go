package activities

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"gocloud.dev/blob/memblob"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

const releasePhaseManifest = testManifest + `    release: bin/drain --all
`

// releasePhaseRecords are promoteRecords with release commands on web and
// worker.
func releasePhaseRecords(manifest string) []any {
	recs := promoteRecords()
	for _, r := range recs {
		if rel, ok := r.(*records.Release); ok {
			rel.Spec.Manifest = manifest
		}
	}
	return recs
}

// webRelease gives web a release command too, ahead of worker's.
var webRelease = strings.Replace(releasePhaseManifest, "    command: bin/web\n", "    command: bin/web\n    release: bin/migrate 'to latest'\n", 1)

// runPhase runs RunReleasePhase over the fake clientset and ends each pod
// it creates with the phase and exit code that end gives its service.
func runPhase(t *testing.T, fs *fakeStore, end map[string]int32) (ReleasePhaseResult, error, *Activities) {
	t.Helper()
	a := &Activities{Store: fs.Store, Blobs: memblob.OpenBucket(nil)}
	type result struct {
		res ReleasePhaseResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := a.RunReleasePhase(context.Background(), ReleasePhaseInput{App: testApp, Release: testRelease, Promotion: testPromotion, Deadline: time.Minute})
		done <- result{res, err}
	}()
	pods := fs.core.CoreV1().Pods(testNS)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if l, _ := pods.List(context.Background(), metav1.ListOptions{}); l != nil {
			for _, p := range l.Items {
				code, ok := end[p.Labels[render.LabelRun]]
				if !ok || p.Status.Phase != "" {
					continue
				}
				p.Status.Phase = corev1.PodSucceeded
				if code != 0 {
					p.Status.Phase = corev1.PodFailed
				}
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: render.Container, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}
				_, _ = pods.UpdateStatus(context.Background(), &p, metav1.UpdateOptions{})
			}
		}
		select {
		case r := <-done:
			return r.res, r.err, a
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatal("the release phase did not end")
	return ReleasePhaseResult{}, nil, nil
}

func TestRunReleasePhase(t *testing.T) {
	fs := newFakeStore(t, releasePhaseRecords(webRelease), releaseEnvSecret())
	res, err, a := runPhase(t, fs, map[string]int32{"web": 0, "worker": 0})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Services, ",") != "web,worker" || res.Output != blobs.ReleaseOutputKey(testApp, testPromotion) {
		t.Fatalf("result %+v", res)
	}
	// One pod per command, in the manifest's order, each with its env
	// Secret, and all deleted at the end.
	var creates, deletes []string
	for _, act := range fs.core.Actions() {
		switch act.GetVerb() {
		case "create":
			obj := act.(interface{ GetObject() runtime.Object }).GetObject().(metav1.Object)
			creates = append(creates, act.GetResource().Resource+" "+obj.GetName())
			if p, ok := obj.(*corev1.Pod); ok {
				if p.Labels[render.LabelRun] == "" || p.Labels[render.LabelReleasePhase] != testPromotion || p.Labels[render.LabelService] != "" {
					t.Errorf("pod %s labels %v", p.Name, p.Labels)
				}
				if p.Spec.ActiveDeadlineSeconds == nil || *p.Spec.ActiveDeadlineSeconds != 60 {
					t.Errorf("pod %s has no deadline of 60s", p.Name)
				}
			}
		case "delete":
			deletes = append(deletes, act.GetResource().Resource+" "+act.(interface{ GetName() string }).GetName())
		}
	}
	wantCreates := []string{"pods web-release-rbcdefghijk", "secrets web-release-rbcdefghijk", "pods worker-release-rbcdefghijk", "secrets worker-release-rbcdefghijk"}
	if strings.Join(creates, "|") != strings.Join(wantCreates, "|") {
		t.Errorf("creates %q, want %q", creates, wantCreates)
	}
	if want := "pods web-release-rbcdefghijk|pods worker-release-rbcdefghijk"; strings.Join(deletes, "|") != want {
		t.Errorf("deletes %q, want %q", deletes, want)
	}
	// The pods' logs (client-go's fake serves "fake logs") are the output.
	out, err := a.Blobs.ReadAll(context.Background(), res.Output)
	if err != nil {
		t.Fatal(err)
	}
	want := "Running the release command of web (web-release-rbcdefghijk)\nfake logs\nThe release command of web succeeded\n" +
		"Running the release command of worker (worker-release-rbcdefghijk)\nfake logs\nThe release command of worker succeeded\n"
	if string(out) != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	p, err := fs.GetPromotion(context.Background(), testApp, testPromotion)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status.Phase != "release phase" || len(p.Status.Steps) != 2 || p.Status.Steps[1].Message != "running the release command of worker" {
		t.Errorf("promotion status %+v", p.Status)
	}
}

// A failed command stops the phase with a permanent error that names the
// service, its exit code and its last lines; later commands do not run.
func TestRunReleasePhaseFails(t *testing.T) {
	fs := newFakeStore(t, releasePhaseRecords(webRelease), releaseEnvSecret())
	_, err, a := runPhase(t, fs, map[string]int32{"web": 3, "worker": 0})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrReleaseFailed || !appErr.NonRetryable() {
		t.Fatalf("error %v, want a permanent %s", err, ErrReleaseFailed)
	}
	if want := "the release command of web failed: exit code 3; its last lines:\nfake logs"; appErr.Message() != want {
		t.Errorf("message %q, want %q", appErr.Message(), want)
	}
	if _, err := fs.core.CoreV1().Pods(testNS).Get(context.Background(), "worker-release-rbcdefghijk", metav1.GetOptions{}); err == nil {
		t.Error("worker's command ran after web's failed")
	}
	if _, err := fs.core.CoreV1().Pods(testNS).Get(context.Background(), "web-release-rbcdefghijk", metav1.GetOptions{}); err == nil {
		t.Error("the failed command's pod was left behind")
	}
	out, _ := a.Blobs.ReadAll(context.Background(), blobs.ReleaseOutputKey(testApp, testPromotion))
	if !strings.HasSuffix(string(out), "fake logs\nThe release command of web failed: exit code 3\n") {
		t.Errorf("output:\n%s", out)
	}
}

// A retried attempt finds the pod its predecessor made: a finished one
// gives its result, and the command does not run again.
func TestRunReleasePhaseReusesItsPod(t *testing.T) {
	done := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "worker-release-rbcdefghijk", Namespace: testNS, UID: "old",
			Labels: map[string]string{render.LabelRun: "worker", render.LabelReleasePhase: testPromotion}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{Name: render.Container,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 7}}}}},
	}
	fs := newFakeStore(t, releasePhaseRecords(releasePhaseManifest), releaseEnvSecret(), done)
	_, err, _ := runPhase(t, fs, nil)
	if err == nil || !strings.Contains(err.Error(), "exit code 7") {
		t.Fatalf("error %v, want the earlier attempt's exit code 7", err)
	}
}

// A pod left by another promotion of the release is not taken for this
// one's: it is deleted, and the attempt retried.
func TestRunReleasePhaseReplacesAnotherPromotionsPod(t *testing.T) {
	old := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "worker-release-rbcdefghijk", Namespace: testNS,
		Labels: map[string]string{render.LabelRun: "worker", render.LabelReleasePhase: "POTHEROTHER"}},
		Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}
	fs := newFakeStore(t, releasePhaseRecords(releasePhaseManifest), releaseEnvSecret(), old)
	_, err, _ := runPhase(t, fs, nil)
	var appErr *temporal.ApplicationError
	if err == nil || (errors.As(err, &appErr) && appErr.NonRetryable()) {
		t.Fatalf("error %v, want one that is retried", err)
	}
	if _, err := fs.core.CoreV1().Pods(testNS).Get(context.Background(), old.Name, metav1.GetOptions{}); err == nil {
		t.Error("the other promotion's pod is still there")
	}
}

// BeginPromotion says which services have a release command, so that a
// promotion of a release without one runs no activity for it.
func TestReleaseCommands(t *testing.T) {
	for _, c := range []struct {
		manifest, want string
	}{{testManifest, ""}, {releasePhaseManifest, "worker"}, {webRelease, "web,worker"}} {
		fs := newFakeStore(t, releasePhaseRecords(c.manifest), releaseEnvSecret())
		r, err := fs.GetRelease(context.Background(), testApp, testRelease)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fs.ReleaseCommands(context.Background(), r)
		if err != nil || strings.Join(got, ",") != c.want {
			t.Errorf("release commands %q (%v), want %q", got, err, c.want)
		}
	}
}
