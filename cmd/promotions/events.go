package promotions

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/resourceversion"
	"k8s.io/apimachinery/pkg/watch"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/pager"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/klog/v2"

	"github.com/slipway-dev/slipway/records"
)

// eventKey is one version of one Event: a count bumped on an Event is a
// new line, as the stream shows it.
type eventKey struct {
	uid types.UID
	rv  string
}

// events prints a namespace's Events from a point on, as Convox does, each
// version once: follow streams them while a promotion runs, catchUp prints
// what the stream had not delivered yet when it ended. One goroutine at a
// time uses it (follow ends before catchUp starts).
type events struct {
	client  typedcorev1.EventInterface
	out     io.Writer
	from    string // the resourceVersion the promotion started after
	printed map[eventKey]bool
}

// startEvents marks where the events of a promotion begin: call it before
// the promotion starts, so that none of its events is missed.
func startEvents(ctx context.Context, client typedcorev1.EventInterface, out io.Writer) (*events, error) {
	list, err := client.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, err
	}
	return &events{client: client, out: out, from: list.ResourceVersion, printed: map[eventKey]bool{}}, nil
}

// follow prints events as they come until ctx ends. A watch the server
// closes is resumed from the last version printed; what it cannot resume
// (history compacted away), catchUp still finds.
func (e *events) follow(ctx context.Context) {
	lw := &cache.ListWatch{WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		return e.client.Watch(ctx, o)
	}}
	// The watcher logs each failed retry (the API server restarting, say)
	// to stderr; the command's output is the events, and a gap in them is
	// filled by catchUp.
	ctx = klog.NewContext(ctx, logr.Discard())
	w, err := watchtools.NewRetryWatcherWithContext(ctx, e.from, lw)
	if err != nil {
		return
	}
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, open := <-w.ResultChan():
			if !open {
				return
			}
			if o, ok := ev.Object.(*corev1.Event); ok && (ev.Type == watch.Added || ev.Type == watch.Modified) {
				e.print(o)
			}
		}
	}
}

// catchUp lists the namespace's events (a consistent read: everything
// written before the call is in it) and prints those the stream would
// have printed and has not, in the stream's order.
func (e *events) catchUp(ctx context.Context) error {
	var missed []*corev1.Event
	list := pager.New(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
		return e.client.List(ctx, o)
	})
	err := list.EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
		if ev, ok := obj.(*corev1.Event); ok && !e.printed[key(ev)] && e.after(ev.ResourceVersion) {
			missed = append(missed, ev)
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A watch delivers in resourceVersion order; a list, by name.
	slices.SortStableFunc(missed, func(a, b *corev1.Event) int {
		c, err := resourceversion.CompareResourceVersion(a.ResourceVersion, b.ResourceVersion)
		if err != nil {
			return 0
		}
		return c
	})
	for _, ev := range missed {
		e.print(ev)
	}
	return nil
}

// after reports whether a version was written after the promotion began.
// A version that does not compare is printed rather than lost.
func (e *events) after(rv string) bool {
	c, err := resourceversion.CompareResourceVersion(rv, e.from)
	return err != nil || c > 0
}

func (e *events) print(ev *corev1.Event) {
	k := key(ev)
	if e.printed[k] {
		return
	}
	e.printed[k] = true
	fmt.Fprintln(e.out, EventLine(ev))
}

func key(ev *corev1.Event) eventKey { return eventKey{ev.UID, ev.ResourceVersion} }

// EventLine formats one event: `TIME system/k8s/<object> <message>`.
func EventLine(e *corev1.Event) string {
	t := e.LastTimestamp.Time
	if t.IsZero() {
		t = e.EventTime.Time
	}
	if t.IsZero() {
		t = e.FirstTimestamp.Time
	}
	object := e.InvolvedObject.Name
	if e.InvolvedObject.Kind == "App" && e.InvolvedObject.APIVersion == records.Group+"/"+records.Version {
		object = "atom/app"
	}
	msg := e.Message
	if e.Reason == "Status" {
		msg = "Status: " + msg
	}
	return fmt.Sprintf("%s system/k8s/%s %s", t.UTC().Format(time.RFC3339), object, msg)
}
