package activities

import (
	"cmp"
	"context"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// listWatch is the ListerWatcher of an informer (watchtools.UntilWithSync
// or a shared informer) over one typed client's List and Watch, with
// selector applied to every call. The informer resumes a watch that ends
// from the last resourceVersion it saw, or lists again, so no change is
// missed; but a list or watch call that fails ends the wait through fail
// with the API server's error, as a direct call would: the activity
// returns it and its retry policy decides, rather than an informer
// retrying a refusal (RBAC, a namespace gone) forever. The exception is a
// streaming list (sendInitialEvents), which the informer falls back from
// to a plain list. client tells the informer whether it can stream lists
// (client-go's fake clientset cannot).
func listWatch[L runtime.Object](client any, fail context.CancelCauseFunc, selector func(*metav1.ListOptions),
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
	failed := func(ctx context.Context, err error) {
		if err != nil && ctx.Err() == nil {
			fail(err)
		}
	}
	return cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			selector(&opts)
			l, err := list(ctx, opts)
			failed(ctx, err)
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			selector(&opts)
			w, err := watchFn(ctx, opts)
			if opts.SendInitialEvents == nil || !*opts.SendInitialEvents {
				failed(ctx, err)
			}
			return w, err
		},
	}, client)
}

// waitErr is the error a wait ended with: parent's own when it was
// cancelled (a rollback, a timeout), else the list or watch failure that
// stopped it (see listWatch), else err.
func waitErr(parent, ctx context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err()
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// untilOne watches the one object ns/name of obj's type (a pod, a Job)
// until over, shown the object as listed and at every change, says it is
// done. It fails with gone when the object disappears before that, and
// with the API server's error or the parent's cancellation as listWatch
// and waitErr say.
func untilOne[T runtime.Object, L runtime.Object](ctx context.Context, client any, obj T, ns, name string, gone error,
	list func(context.Context, metav1.ListOptions) (L, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	over func(T) bool) error {
	parent := ctx
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	lw := listWatch(client, fail, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}, list, watchFn)
	_, err := watchtools.UntilWithSync(ctx, lw, obj, func(store cache.Store) (bool, error) {
		o, exists, err := store.GetByKey(ns + "/" + name)
		if err != nil || !exists {
			return false, cmp.Or(err, gone)
		}
		return over(o.(T)), nil
	}, func(ev watch.Event) (bool, error) {
		o, ok := ev.Object.(T)
		if !ok {
			return false, nil
		}
		if m, err := apimeta.Accessor(o); err != nil || m.GetName() != name {
			return false, nil
		}
		if over(o) {
			return true, nil
		}
		if ev.Type == watch.Deleted {
			return false, gone
		}
		return false, nil
	})
	if err != nil {
		return waitErr(parent, ctx, err)
	}
	return nil
}

// wakeOnChange makes every change that any of infs sees wake the channel
// it returns, which holds one wake-up at most: whoever judges the
// informers' stores judges a burst of changes once, as they are then.
func wakeOnChange(infs ...cache.SharedIndexInformer) (<-chan struct{}, error) {
	changed := make(chan struct{}, 1)
	wake := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { wake() }, UpdateFunc: func(any, any) { wake() }, DeleteFunc: func(any) { wake() },
	}
	for _, inf := range infs {
		if _, err := inf.AddEventHandler(notify); err != nil {
			return nil, err
		}
	}
	return changed, nil
}
