package ps

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/render"
)

// pod is a process of app as the cluster shows it, started ago before the
// test clock.
func pod(app, name, service, release string, phase corev1.PodPhase, ago time.Duration, args ...string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: recordstest.Namespace(app), UID: types.UID("uid-" + name),
			Labels:            map[string]string{render.LabelApp: app, render.LabelService: service, render.LabelRelease: release},
			CreationTimestamp: metav1.NewTime(cmdutiltest.Now.Add(-ago - time.Second)),
		},
		Spec: corev1.PodSpec{NodeName: "node-000001", Containers: []corev1.Container{{Name: render.Container, Args: args}}},
		Status: corev1.PodStatus{
			Phase: phase, StartTime: &metav1.Time{Time: cmdutiltest.Now.Add(-ago)},
		},
	}
}

// oneOff is a `slipway run` pod: its service is under LabelRun.
func oneOff(app, name, service, release string, phase corev1.PodPhase, ago time.Duration, args ...string) *corev1.Pod {
	p := pod(app, name, service, release, phase, ago, args...)
	delete(p.Labels, render.LabelService)
	p.Labels[render.LabelRun] = service
	return p
}

func seeds() []any {
	crashed := pod("myapp", "worker-5c6d-zz999", "worker", "RBCDEFGHIJK", corev1.PodRunning, 3*time.Hour)
	crashed.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: render.Container, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	stopping := pod("myapp", "web-7d9f-aaaaa", "web", "RABCDEFGHIJ", corev1.PodRunning, 26*time.Hour)
	stopping.DeletionTimestamp = &metav1.Time{Time: cmdutiltest.Now}
	return []any{
		recordstest.App("myapp"), recordstest.App("other"),
		pod("myapp", "web-7d9f-abc12", "web", "RBCDEFGHIJK", corev1.PodRunning, 2*time.Minute),
		pod("myapp", "web-7d9f-def34", "web", "RBCDEFGHIJK", corev1.PodPending, 10*time.Second),
		stopping, crashed,
		oneOff("myapp", "web-run-x1y2z", "web", "RBCDEFGHIJK", corev1.PodSucceeded, time.Hour, "rake", "db:migrate"),
		oneOff("myapp", "web-run-q9q9q", "web", "RBCDEFGHIJK", corev1.PodFailed, 5*time.Minute, "false"),
		// Not processes of myapp: another app's pod, a build Job's pod (no
		// release), a pod slipway did not make.
		pod("other", "web-1111-aaaaa", "web", "RZZZZZZZZZZ", corev1.PodRunning, time.Minute),
		buildPod(),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "stranger", Namespace: recordstest.Namespace("myapp")}},
	}
}

func buildPod() *corev1.Pod {
	p := pod("myapp", "build-bxyz-web-abcde", "web", "", corev1.PodRunning, time.Minute)
	delete(p.Labels, render.LabelRelease)
	p.Labels[render.LabelBuild] = "BXYZ"
	return p
}

func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var list *ListOptions
	cmd := NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil })
	if err := e.Run(cmd, "-a", "myapp", "--service", "web", "--release", "RBCDEFGHIJK"); err != nil {
		t.Fatal(err)
	}
	if list.App != "myapp" || list.Service != "web" || list.Release != "RBCDEFGHIJK" {
		t.Errorf("ps options %+v", list)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "web-1", "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if info.ID != "web-1" || info.App != "myapp" {
		t.Errorf("ps info options %+v", info)
	}
	var stop *StopOptions
	if err := e.Run(NewCmdStop(e.Factory, func(_ context.Context, o *StopOptions) error { stop = o; return nil }), "web-1"); err != nil {
		t.Fatal(err)
	}
	if stop.ID != "web-1" {
		t.Errorf("ps stop options %+v", stop)
	}
	ran := false
	for _, args := range [][]string{{"x"}, {"--nope"}} {
		if err := e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { ran = true; return nil }), args...); err == nil {
			t.Errorf("ps %q: no error", args)
		}
	}
	for _, args := range [][]string{{}, {"a", "b"}} {
		if err := e.Run(NewCmdInfo(e.Factory, func(context.Context, *InfoOptions) error { ran = true; return nil }), args...); err == nil {
			t.Errorf("ps info %q: no error", args)
		}
		if err := e.Run(NewCmdStop(e.Factory, func(context.Context, *StopOptions) error { ran = true; return nil }), args...); err == nil {
			t.Errorf("ps stop %q: no error", args)
		}
	}
	if ran {
		t.Error("a command ran with a bad command line")
	}
}

func TestListRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts ListOptions
	}{
		{"list_run", ListOptions{App: "myapp"}},
		{"list_run_service", ListOptions{App: "myapp", Service: "worker"}},
		{"list_run_release", ListOptions{App: "myapp", Release: "RABCDEFGHIJ"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := cmdutiltest.New(t, seeds()...)
			tt.opts.Factory = e.Factory
			if err := listRun(context.Background(), &tt.opts); err != nil {
				t.Fatal(err)
			}
			e.Golden(t, tt.name)
		})
	}
	e := cmdutiltest.New(t)
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "nope"}); err == nil {
		t.Error("ps of a missing app: no error")
	}
}

func TestInfoRun(t *testing.T) {
	e := cmdutiltest.New(t, seeds()...)
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: "web-run-x1y2z"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run")
}

// Another app's pod, a build's pod and a pod slipway did not make are
// not the app's processes: refused as not found, and nothing is deleted.
func TestRefusals(t *testing.T) {
	for _, id := range []string{"web-1111-aaaaa", "build-bxyz-web-abcde", "stranger", "gone"} {
		e := cmdutiltest.New(t, seeds()...)
		want := "no such process: " + id + " (list them with `slipway ps`)"
		if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: id}); err == nil || err.Error() != want {
			t.Errorf("ps info %s: %v, want %q", id, err, want)
		}
		if err := stopRun(context.Background(), &StopOptions{Factory: e.Factory, App: "myapp", ID: id}); err == nil || err.Error() != want {
			t.Errorf("ps stop %s: %v, want %q", id, err, want)
		}
		if w := e.Store.Writes(); len(w) != 0 {
			t.Errorf("ps stop %s wrote %v", id, w)
		}
		if e.Out.Len() != 0 {
			t.Errorf("ps stop %s printed %q", id, e.Out)
		}
	}
}

func TestStopRun(t *testing.T) {
	e := cmdutiltest.New(t, seeds()...)
	if err := stopRun(context.Background(), &StopOptions{Factory: e.Factory, App: "myapp", ID: "web-7d9f-abc12"}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "Stopping web-7d9f-abc12... OK\n" {
		t.Errorf("output %q", got)
	}
	if w := e.Store.Writes(); !slices.Equal(w, []string{"delete pods web-7d9f-abc12"}) {
		t.Errorf("writes %v, want the pod's delete", w)
	}
}
