package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
)

// newApp creates an app for one test.
func newApp(t *testing.T, s *testsuite.Stack, name string) {
	t.Helper()
	if out := s.MustCLI(t, "apps", "create", name); out != fmt.Sprintf("Creating %s... OK\n", name) {
		t.Fatalf("apps create printed %q", out)
	}
}

// example copies examples/myapp for a test, pointing its images at the
// harness's registry (the example names the local stack's, port 5000).
func example(t *testing.T, s *testsuite.Stack) string {
	t.Helper()
	return copyExample(t, s, "myapp", "convox.yml")
}

func copyExample(t *testing.T, s *testsuite.Stack, name string, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(s.Root, "examples", name, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, strings.ReplaceAll(string(b), "127.0.0.1:5000/", s.Settings.Registry+"/"))
	}
	return dir
}

// sample is the harness registry's sample image.
func sample(s *testsuite.Stack) string { return s.SampleImage() }

// releaseOf returns the ID a command printed on its `Release:` line.
func releaseOf(t *testing.T, out string) string {
	t.Helper()
	return testsuite.ReleaseOf(t, out)
}

// snapshot lists every record and secret of an app, with versions, so a
// test can check that a command changed nothing.
func snapshot(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := s.Store.Namespace(app)
	var lines []string
	for _, gvr := range []schema.GroupVersionResource{records.AppResource, records.BuildResource, records.ReleaseResource} {
		l, err := s.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			lines = append(lines, fmt.Sprintf("%s/%s@%s", gvr.Resource, o.GetName(), o.GetResourceVersion()))
		}
	}
	secrets, err := s.Kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range secrets.Items {
		lines = append(lines, fmt.Sprintf("secrets/%s@%s", o.Name, o.ResourceVersion))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sighting is what a background watch saw: the object it waited for and
// when the watch saw it, or why it ended without it.
type sighting[T runtime.Object] struct {
	At  time.Time
	Obj T
	Err error
}

// watchFor watches the objects lw lists, from its first list on, in the
// background, until match says one is what the test waits for, for at
// most within. match also describes each object it is shown, and the last
// description is in the error when nothing matched. It returns once the
// watch has listed what exists (so nothing done afterwards is missed);
// the channel gets exactly one sighting and is then closed. The watch
// stops when it matches, when within has passed, or when the test ends.
func watchFor[T runtime.Object](t *testing.T, what string, within time.Duration, lw cache.ListerWatcher, obj T, match func(watch.EventType, T) (bool, string)) <-chan sighting[T] {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	out := make(chan sighting[T], 1)
	synced, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		defer close(out)
		// Both are written and read only by the conditions below, which
		// UntilWithSync calls on this goroutine.
		last, at := "nothing seen yet", time.Time{}
		ev, err := watchtools.UntilWithSync(ctx, lw, obj,
			func(cache.Store) (bool, error) { close(synced); return false, nil },
			func(ev watch.Event) (bool, error) {
				o, ok := ev.Object.(T)
				if !ok {
					return false, nil
				}
				done, state := match(ev.Type, o)
				last, at = state, time.Now()
				return done, nil
			})
		if err != nil {
			out <- sighting[T]{Err: fmt.Errorf("%s not seen within %s: last state: %s (%v)", what, within, last, err)}
			return
		}
		out <- sighting[T]{At: at, Obj: ev.Object.(T)}
	}()
	t.Cleanup(func() {
		cancel()
		<-ended
	})
	select {
	case <-synced:
	case <-ended: // it could not even list: the sighting says why
	}
	return out
}

// await receives a sighting on the test's goroutine and fails the test if
// the watch ended without one; the receive is bounded by the watch's own
// limit.
func await[T runtime.Object](t *testing.T, ch <-chan sighting[T]) sighting[T] {
	t.Helper()
	s, ok := <-ch
	if !ok {
		t.Fatal("this sighting was already received")
	}
	if s.Err != nil {
		t.Fatal(s.Err)
	}
	return s
}

// listWatch makes a ListerWatcher of a client's List and Watch, limited
// to the objects with the labels of selector ("" for all).
func listWatch[L runtime.Object](selector string, list func(context.Context, metav1.ListOptions) (L, error), watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = selector
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = selector
			return watchFn(ctx, o)
		},
	}
}

// eventually asks check every interval, on the test's goroutine, until it
// says done, for at most within, and fails the test with what it waited
// for and the state check last described.
func eventually(t *testing.T, what string, within, interval time.Duration, check func(ctx context.Context) (bool, string)) {
	t.Helper()
	last := "not asked yet"
	err := wait.PollUntilContextTimeout(context.Background(), interval, within, true, func(ctx context.Context) (bool, error) {
		done, state := check(ctx)
		last = state
		return done, nil
	})
	if err != nil {
		t.Fatalf("%s not seen within %s: last state: %s", what, within, last)
	}
}
