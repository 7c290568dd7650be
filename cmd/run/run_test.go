package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/render"
)

const (
	active  = "RBCDEFGHIJK"
	failing = "RCDEFGHIJKL"
	digest  = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)

const manifest = `environment:
  - GREETING=hello
  - SIMULATE
services:
  web:
    image: registry.test:5000/slipway/sample:1
    command: bin/web
    port: 5000
    annotations:
      - slipway.dev/simulate=${SIMULATE}
  worker:
    image: registry.test:5000/slipway/sample:1
`

func release(id, simulate string) []any {
	ns := recordstest.Namespace("myapp")
	r := &records.Release{
		TypeMeta:   recordstest.TypeMeta("Release"),
		ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(id), Namespace: ns},
		Spec:       records.ReleaseSpec{ID: id, App: "myapp", Build: "BABCDEFGHIJ", Manifest: manifest, Env: records.EnvSecretName(id)},
	}
	env := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: records.EnvSecretName(id), Namespace: ns},
		Data:       map[string][]byte{"SIMULATE": []byte(simulate), "SECRET_KEY": []byte("s3cr3t")},
	}
	return []any{r, env}
}

func seeds() []any {
	a := recordstest.App("myapp")
	a.Status.Release = active
	b := &records.Build{
		TypeMeta:   recordstest.TypeMeta("Build"),
		ObjectMeta: metav1.ObjectMeta{Name: "babcdefghij", Namespace: recordstest.Namespace("myapp")},
		Spec:       records.BuildSpec{ID: "BABCDEFGHIJ", App: "myapp"},
		Status: records.BuildStatus{Images: []records.Image{
			{Service: "web", Ref: "registry.test:5000/myapp:web.BABCDEFGHIJ", Digest: digest},
			{Service: "worker", Ref: "registry.test:5000/myapp:worker.BABCDEFGHIJ", Digest: digest},
		}},
	}
	return append(append([]any{a, b}, release(active, "")...), release(failing, "exit:3")...)
}

func fixedName(t *testing.T) {
	old := processName
	processName = func(service string) string { return service + "-run-abcde" }
	t.Cleanup(func() { processName = old })
}

func TestRunFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *RunOptions
	capture := func(_ context.Context, o *RunOptions) error { got = o; return nil }
	if err := e.Run(NewCmdRun(e.Factory, capture), "web", "rake db:migrate"); err != nil {
		t.Fatal(err)
	}
	if got.Service != "web" || !slices.Equal(got.Command, []string{"rake db:migrate"}) || got.Timeout != time.Hour || got.Detach || got.Release != "" {
		t.Errorf("defaults %+v", got)
	}
	if err := e.Run(NewCmdRun(e.Factory, capture), "-a", "myapp", "--release", failing, "--detach", "--timeout", "30m", "worker", "--", "sh", "-c", "exit 3"); err != nil {
		t.Fatal(err)
	}
	if got.App != "myapp" || got.Release != failing || !got.Detach || got.Timeout != 30*time.Minute || !slices.Equal(got.Command, []string{"sh", "-c", "exit 3"}) {
		t.Errorf("options %+v", got)
	}
	ran := false
	never := func(context.Context, *RunOptions) error { ran = true; return nil }
	for _, args := range [][]string{{}, {"web"}, {"web", "x", "--timeout", "0s"}, {"web", "x", "--timeout", "soon"}} {
		if err := e.Run(NewCmdRun(e.Factory, never), args...); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
	if ran {
		t.Error("run ran with a bad command line")
	}
}

// --detach: the pod and its env Secret are made, and the ID printed.
func TestRunDetach(t *testing.T) {
	fixedName(t)
	e := cmdutiltest.New(t, seeds()...)
	if err := runRun(context.Background(), &RunOptions{Factory: e.Factory, App: "myapp", Service: "web", Command: []string{"rake db:migrate"}, Detach: true, Timeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "Running detached process... OK, web-run-abcde\n" {
		t.Errorf("output %q", got)
	}
	if w := e.Store.Writes(); !slices.Equal(w, []string{"create pods web-run-abcde", "create secrets web-run-abcde"}) {
		t.Errorf("writes %v", w)
	}
	ctx := context.Background()
	ns := recordstest.Namespace("myapp")
	p, err := e.Store.Core.CoreV1().Pods(ns).Get(ctx, "web-run-abcde", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Spec.Containers[0]
	if p.Labels[render.LabelRun] != "web" || p.Labels[render.LabelRelease] != active || p.Labels[render.LabelApp] != "myapp" {
		t.Errorf("labels %v: want the app, release and run=web", p.Labels)
	}
	if _, ok := p.Labels[render.LabelService]; ok {
		t.Errorf("labels %v: a one-off must not carry the service label its Deployment selects", p.Labels)
	}
	if c.Image != "registry.test:5000/myapp@"+digest || !slices.Equal(c.Args, []string{"rake", "db:migrate"}) {
		t.Errorf("container %s %v: want the build's image pinned, the command split", c.Image, c.Args)
	}
	if p.Spec.RestartPolicy != corev1.RestartPolicyNever || p.Spec.ActiveDeadlineSeconds == nil || *p.Spec.ActiveDeadlineSeconds != 3600 {
		t.Errorf("pod spec: restart %s, deadline %v", p.Spec.RestartPolicy, p.Spec.ActiveDeadlineSeconds)
	}
	if len(c.EnvFrom) != 1 || c.EnvFrom[0].SecretRef.Name != "web-run-abcde" || len(c.Env) != 0 {
		t.Errorf("env from %+v, env %v: want only the process's own Secret", c.EnvFrom, c.Env)
	}
	sec, err := e.Store.Core.CoreV1().Secrets(ns).Get(ctx, "web-run-abcde", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["SECRET_KEY"]) != "s3cr3t" || string(sec.Data["RELEASE"]) != active || string(sec.Data["PORT"]) != "5000" {
		t.Errorf("secret data %v: want the release env and slipway's variables", sec.Data)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].Kind != "Pod" || sec.OwnerReferences[0].Name != "web-run-abcde" {
		t.Errorf("secret owners %+v: want the pod", sec.OwnerReferences)
	}
	if _, ok := sec.Labels[render.LabelManagedBy]; ok {
		t.Errorf("secret labels %v: a promotion's prune would delete it", sec.Labels)
	}
}

// kubelet plays the pod's life on the fake cluster: it starts the
// container, then ends it with exit code (a negative code leaves it
// running).
func kubelet(t *testing.T, e *cmdutiltest.Env, code int32) {
	t.Helper()
	w := watch.NewRaceFreeFake()
	e.Store.Core.PrependWatchReactor("pods", func(k8stesting.Action) (bool, watch.Interface, error) { return true, w, nil })
	e.Store.Core.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		p := a.(k8stesting.CreateAction).GetObject().(*corev1.Pod).DeepCopy()
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: render.Container, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
		// The tracker stores the created pod; the watch then says how
		// its life goes on.
		go func() {
			w.Modify(p.DeepCopy())
			if code < 0 {
				return
			}
			done := p.DeepCopy()
			done.Status.Phase = corev1.PodSucceeded
			if code != 0 {
				done.Status.Phase = corev1.PodFailed
			}
			done.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}
			w.Modify(done)
		}()
		return false, nil, nil
	})
}

type output struct {
	opened chan *corev1.PodLogOptions
}

func (o *output) stream(ctx context.Context, p *corev1.Pod, lo *corev1.PodLogOptions) (io.ReadCloser, error) {
	if o.opened != nil {
		o.opened <- lo
	}
	return io.NopCloser(strings.NewReader("migrating\ndone\n")), nil
}

// Attached: the output shows as it is, and slipway ends with the exit
// status: 0 when the pod succeeded, the container's code when it failed.
func TestRunAttached(t *testing.T) {
	for _, code := range []int32{0, 3} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			fixedName(t)
			e := cmdutiltest.New(t, seeds()...)
			kubelet(t, e, code)
			out := &output{opened: make(chan *corev1.PodLogOptions, 1)}
			err := runRun(context.Background(), &RunOptions{Factory: e.Factory, App: "myapp", Service: "web", Command: []string{"sh", "-c", "exit 3"}, Release: failing, Timeout: time.Hour, Stream: out.stream})
			var exit *cmdutil.ExitError
			switch {
			case code == 0 && err != nil:
				t.Errorf("run of a process that succeeded: %v", err)
			case code != 0 && (!errors.As(err, &exit) || exit.Code != int(code) || exit.Message != ""):
				t.Errorf("run of a process that exited %d: %v", code, err)
			}
			if got := e.Out.String(); got != "migrating\ndone\n" {
				t.Errorf("output %q, want the process's own", got)
			}
			if lo := <-out.opened; !lo.Follow || lo.Timestamps || lo.Container != render.Container {
				t.Errorf("log options %+v: want main followed, without timestamps", lo)
			}
			if w := e.Store.Writes(); !slices.Equal(w, []string{"create pods web-run-abcde", "create secrets web-run-abcde"}) {
				t.Errorf("writes %v", w)
			}
		})
	}
}

// Ctrl-C stops the process: its pod is deleted and slipway ends with 130.
func TestRunInterrupted(t *testing.T) {
	fixedName(t)
	e := cmdutiltest.New(t, seeds()...)
	kubelet(t, e, -1)
	ctx, cancel := context.WithCancel(context.Background())
	out := &output{opened: make(chan *corev1.PodLogOptions, 1)}
	done := make(chan error, 1)
	go func() {
		done <- runRun(ctx, &RunOptions{Factory: e.Factory, App: "myapp", Service: "worker", Command: []string{"sleep", "9"}, Timeout: time.Hour, Stream: out.stream})
	}()
	<-out.opened
	cancel()
	err := <-done
	var exit *cmdutil.ExitError
	if !errors.As(err, &exit) || exit.Code != 130 || exit.Message != "interrupted: stopping worker-run-abcde (OK)" {
		t.Errorf("interrupted run: %v", err)
	}
	if w := e.Store.Writes(); !slices.Equal(w, []string{"create pods worker-run-abcde", "create secrets worker-run-abcde", "delete pods worker-run-abcde"}) {
		t.Errorf("writes %v", w)
	}
}

// Refusals say what to do and make nothing.
func TestRunRefuses(t *testing.T) {
	noRelease := recordstest.App("fresh")
	for _, tt := range []struct {
		name string
		opts RunOptions
		seed []any
		want string
	}{
		{"no active release", RunOptions{App: "fresh", Service: "web"}, []any{noRelease}, "app fresh has no active release: promote one, or pass --release ID"},
		{"no such service", RunOptions{App: "myapp", Service: "db"}, seeds(), "no such service: db (release " + active + " has [web worker])"},
		{"no such release", RunOptions{App: "myapp", Service: "web", Release: "RNOPENOPENO"}, seeds(), "no such release: RNOPENOPENO"},
		{"bad command", RunOptions{App: "myapp", Service: "web"}, seeds(), "command: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := cmdutiltest.New(t, tt.seed...)
			tt.opts.Factory, tt.opts.Timeout = e.Factory, time.Hour
			tt.opts.Command = []string{"echo hi"}
			if tt.name == "bad command" {
				tt.opts.Command = []string{`echo "unclosed`}
			}
			err := runRun(context.Background(), &tt.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%v, want %q", err, tt.want)
			}
			if w := e.Store.Writes(); len(w) != 0 {
				t.Errorf("writes %v, want none", w)
			}
		})
	}
}

// A pod whose env Secret cannot be made is deleted again.
func TestRunSecretRefused(t *testing.T) {
	fixedName(t)
	e := cmdutiltest.New(t, seeds()...)
	e.Store.Core.PrependReactor("create", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("secrets is forbidden")
	})
	err := runRun(context.Background(), &RunOptions{Factory: e.Factory, App: "myapp", Service: "web", Command: []string{"x"}, Timeout: time.Hour, Detach: true})
	if err == nil || !strings.Contains(err.Error(), "secrets is forbidden") {
		t.Errorf("run: %v", err)
	}
	if w := e.Store.Writes(); !slices.Equal(w, []string{"create pods web-run-abcde", "create secrets web-run-abcde", "delete pods web-run-abcde"}) {
		t.Errorf("writes %v", w)
	}
}

func TestExitStatus(t *testing.T) {
	pod := func(phase corev1.PodPhase, reason string, code int32) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-run-abcde"}, Status: corev1.PodStatus{Phase: phase, Reason: reason}}
		if code >= 0 {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}
		}
		return p
	}
	for _, tt := range []struct {
		pod  *corev1.Pod
		code int
		msg  string
	}{
		{pod(corev1.PodSucceeded, "", 0), 0, ""},
		{pod(corev1.PodFailed, "", 42), 42, ""},
		{pod(corev1.PodFailed, "DeadlineExceeded", -1), 1, "web-run-abcde ran past --timeout 1m0s and was stopped"},
		{pod(corev1.PodFailed, "Evicted", -1), 1, "web-run-abcde failed (Evicted)"},
		{pod(corev1.PodFailed, "", -1), 1, "web-run-abcde failed (no reason given)"},
	} {
		err := ExitStatus(tt.pod, time.Minute)
		var exit *cmdutil.ExitError
		switch {
		case tt.code == 0 && err != nil:
			t.Errorf("%s: %v, want success", tt.pod.Status.Phase, err)
		case tt.code != 0 && (!errors.As(err, &exit) || exit.Code != tt.code || exit.Message != tt.msg):
			t.Errorf("%s %s: %v, want %d %q", tt.pod.Status.Phase, tt.pod.Status.Reason, err, tt.code, tt.msg)
		}
	}
}
