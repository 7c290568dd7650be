package logs

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/render"
)

// pod is a started process of app; offset orders the log lines it gives
// (see fakeLogs).
func pod(app, name, service, release string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: recordstest.Namespace(app), UID: types.UID("uid-" + name),
			Labels: map[string]string{render.LabelApp: app, render.LabelService: service, render.LabelRelease: release},
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: render.Container}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
			Name: render.Container, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
		}}},
	}
}

func seeds() []any {
	pending := pod("myapp", "web-7d9f-pend1", "web", "RBCDEFGHIJK")
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending}
	oneOff := pod("myapp", "web-run-x1y2z", "web", "RBCDEFGHIJK")
	delete(oneOff.Labels, render.LabelService)
	oneOff.Labels[render.LabelRun] = "web"
	return []any{
		recordstest.App("myapp"),
		pod("myapp", "web-7d9f-abc12", "web", "RBCDEFGHIJK"),
		pod("myapp", "worker-5c6d-zz999", "worker", "RBCDEFGHIJK"),
		pending, oneOff,
		pod("other", "web-1111-aaaaa", "web", "RZZZZZZZZZZ"),
	}
}

// fakeLogs gives every container two lines, stamped by pod so that lines
// of different pods interleave in time; it records what was asked.
type fakeLogs struct {
	mu     sync.Mutex
	asked  map[string]corev1.PodLogOptions
	closed chan string
	// block makes a pod's stream stay open until it is cancelled.
	block map[string]bool
}

func newFakeLogs() *fakeLogs {
	return &fakeLogs{asked: map[string]corev1.PodLogOptions{}, closed: make(chan string, 100), block: map[string]bool{}}
}

var base = time.Date(2026, 11, 26, 11, 59, 0, 0, time.UTC)

func (f *fakeLogs) stream(ctx context.Context, p *corev1.Pod, o *corev1.PodLogOptions) (io.ReadCloser, error) {
	f.mu.Lock()
	f.asked[p.Name] = *o
	block := f.block[p.Name]
	f.mu.Unlock()
	if p.Name == "web-run-x1y2z" {
		return nil, fmt.Errorf("container not found")
	}
	off := time.Duration(len(p.Name)) * time.Second
	body := fmt.Sprintf("%s hello from %s\n%s ERROR in %s\n",
		base.Add(off).Format(time.RFC3339Nano), p.Name, base.Add(off+20*time.Second).Format(time.RFC3339Nano), p.Name)
	r, w := io.Pipe()
	go func() {
		_, _ = io.WriteString(w, body)
		if block {
			<-ctx.Done()
			w.CloseWithError(ctx.Err())
			return
		}
		w.Close()
	}()
	return &closer{Reader: r, done: func() { f.closed <- p.Name }}, nil
}

type closer struct {
	io.Reader
	done func()
}

func (c *closer) Close() error { c.done(); return nil }

func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *LogsOptions
	capture := func(_ context.Context, o *LogsOptions) error { got = o; return nil }
	if err := e.Run(NewCmdLogs(e.Factory, capture), "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if got.App != "myapp" || got.Since != 10*time.Minute || got.NoFollow || got.Filter != "" || got.Service != "" {
		t.Errorf("defaults %+v: want 10m, following, no filter", got)
	}
	if err := e.Run(NewCmdLogs(e.Factory, capture), "--service", "web", "--since", "1h", "--no-follow", "--filter", "ERROR"); err != nil {
		t.Fatal(err)
	}
	if got.Service != "web" || got.Since != time.Hour || !got.NoFollow || got.Filter != "ERROR" {
		t.Errorf("options %+v", got)
	}
	ran := false
	never := func(context.Context, *LogsOptions) error { ran = true; return nil }
	for _, args := range [][]string{{"web"}, {"--since", "soon"}, {"--since", "-5m"}} {
		if err := e.Run(NewCmdLogs(e.Factory, never), args...); err == nil {
			t.Errorf("logs %q: no error", args)
		}
	}
	if err := e.Run(NewCmdLogs(e.Factory, never), "--since", "-5m"); err == nil || err.Error() != "--since -5m0s: give a positive duration, such as 10m or 2h" {
		t.Errorf("negative --since: %v", err)
	}
	if ran {
		t.Error("logs ran with a bad command line")
	}
}

func TestParseLine(t *testing.T) {
	l := ParseLine("service/web:R1/web-1", "2026-01-02T15:04:05.123456789Z hello world\n")
	if l.String() != "2026-01-02T15:04:05Z service/web:R1/web-1 hello world" {
		t.Errorf("line %q", l)
	}
	if l := ParseLine("service/web:R1/web-1", "no timestamp here"); l.String() != "- service/web:R1/web-1 no timestamp here" {
		t.Errorf("line without a timestamp: %q", l)
	}
}

// --no-follow: every started process's lines, in time order, each with its
// prefix; a pending pod has no log yet; another app's pods are not read; a
// log that cannot be read is said on stderr and the others still print.
func TestOnce(t *testing.T) {
	e := cmdutiltest.New(t, seeds()...)
	f := newFakeLogs()
	if err := logsRun(context.Background(), &LogsOptions{Factory: e.Factory, App: "myapp", Since: 10 * time.Minute, NoFollow: true, Stream: f.stream}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "once")
	if got, want := e.ErrOut.String(), "cannot read the log of web-run-x1y2z (container main): container not found\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if len(f.asked) != 3 {
		t.Errorf("streams opened for %v, want the 3 started pods of myapp", f.asked)
	}
	for name, o := range f.asked {
		if o.Container != render.Container || !o.Timestamps || o.Follow || o.SinceSeconds == nil || *o.SinceSeconds != 600 {
			t.Errorf("%s: log options %+v, want main with timestamps, since 600 s, no follow", name, o)
		}
	}

	e = cmdutiltest.New(t, seeds()...)
	if err := logsRun(context.Background(), &LogsOptions{Factory: e.Factory, App: "myapp", Service: "worker", Filter: "ERROR", NoFollow: true, Stream: newFakeLogs().stream}); err != nil {
		t.Fatal(err)
	}
	if got, want := e.Out.String(), "2026-11-26T11:59:37Z service/worker:RBCDEFGHIJK/worker-5c6d-zz999 ERROR in worker-5c6d-zz999\n"; got != want {
		t.Errorf("--service worker --filter ERROR printed %q, want %q", got, want)
	}
}

// Following: the processes there are (since --since), then a new one as
// it starts (all of its log), and a deleted one's stream is closed.
func TestFollow(t *testing.T) {
	e := cmdutiltest.New(t, recordstest.App("myapp"), pod("myapp", "web-7d9f-abc12", "web", "RBCDEFGHIJK"), pod("myapp", "web-7d9f-old99", "web", "RBCDEFGHIJK"))
	f := newFakeLogs()
	f.block["web-7d9f-old99"] = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- logsRun(ctx, &LogsOptions{Factory: e.Factory, App: "myapp", Since: time.Minute, Stream: f.stream})
	}()
	if got := <-f.closed; got != "web-7d9f-abc12" {
		t.Fatalf("closed %s first, want web-7d9f-abc12", got)
	}
	// A rollout's new pod: pending first, then running.
	pods := e.Store.Core.CoreV1().Pods(recordstest.Namespace("myapp"))
	p := pod("myapp", "web-8e0a-new01", "web", "RCDEFGHIJKL")
	running := p.Status
	p.Status = corev1.PodStatus{Phase: corev1.PodPending}
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p.Status = running
	if _, err := pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := <-f.closed; got != "web-8e0a-new01" {
		t.Fatalf("closed %s, want the new pod's stream", got)
	}
	if err := pods.Delete(ctx, "web-7d9f-old99", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := <-f.closed; got != "web-7d9f-old99" {
		t.Fatalf("closed %s, want the deleted pod's stream", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("logs ended with %v, want nil at Ctrl-C", err)
	}
	out := e.Out.String()
	for _, want := range []string{
		"2026-11-26T11:59:14Z service/web:RBCDEFGHIJK/web-7d9f-abc12 hello from web-7d9f-abc12\n",
		"2026-11-26T11:59:14Z service/web:RCDEFGHIJKL/web-8e0a-new01 hello from web-8e0a-new01\n",
		"2026-11-26T11:59:34Z service/web:RBCDEFGHIJK/web-7d9f-old99 ERROR in web-7d9f-old99\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if o := f.asked["web-7d9f-abc12"]; !o.Follow || o.SinceSeconds == nil || *o.SinceSeconds != 60 {
		t.Errorf("first pod's options %+v, want follow since 60 s", o)
	}
	if o := f.asked["web-8e0a-new01"]; !o.Follow || o.SinceSeconds != nil {
		t.Errorf("new pod's options %+v, want follow, all of its log", o)
	}
}
