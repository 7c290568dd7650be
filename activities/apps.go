package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/retry"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/runs"
)

type AppInput struct {
	App string
	// CreatedBy identifies the workflow that asks, so a retried create
	// recognises its own earlier write.
	CreatedBy string
	// Force deletes an app even while a build or promotion of it runs:
	// they are cancelled first (a cancelled promotion rolls back).
	Force bool
	// Runs names the workflows of the app's work, whose IDs the
	// workflows package owns.
	Runs AppRuns
}

// AppRuns are the workflow IDs of an app's builds and promotions.
type AppRuns = runs.AppRuns

type AppResult struct {
	Namespace string
}

// CreateApp makes the app's namespace and record. It never adopts a
// namespace that slipway did not make.
func (a *Activities) CreateApp(ctx context.Context, in AppInput) (AppResult, error) {
	s := a.Store
	if err := model.ValidateApp(s.Rack, in.App); err != nil {
		return AppResult{}, permanent(ErrInvalid, err)
	}
	ns := s.Namespace(in.App)
	if _, err := a.ownedNamespace(ctx, in.App, model.NotOwnedError); err != nil {
		return AppResult{}, err
	}
	if existing, err := s.GetApp(ctx, in.App); err == nil {
		if existing.Annotations[records.AnnotationCreatedBy] == in.CreatedBy {
			return AppResult{Namespace: ns}, nil
		}
		return AppResult{}, permanent(ErrConflict, fmt.Errorf("app already exists: %s", in.App))
	} else if !records.IsNotFound(err) {
		return AppResult{}, err
	}
	_, err := s.Core.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   ns,
		Labels: map[string]string{records.LabelRack: s.Rack, records.LabelApp: in.App},
	}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Someone made it since the check: adopt it only if it is ours.
		n, err := a.ownedNamespace(ctx, in.App, model.NotOwnedError)
		if err != nil {
			return AppResult{}, err
		}
		if n != nil && n.DeletionTimestamp != nil {
			return AppResult{}, fmt.Errorf("namespace %s is still being deleted", ns) // retried
		}
	} else if err != nil {
		return AppResult{}, err
	}
	if err := a.bindWorker(ctx, in.App); err != nil {
		return AppResult{}, err
	}
	_, err = s.CreateApp(ctx, &records.App{
		ObjectMeta: metav1.ObjectMeta{
			Name:        in.App,
			Labels:      map[string]string{records.LabelRack: s.Rack, records.LabelApp: in.App},
			Annotations: map[string]string{records.AnnotationCreatedBy: in.CreatedBy},
		},
		Status: records.AppStatus{Status: model.AppRunning},
	})
	if apierrors.IsAlreadyExists(err) {
		return a.CreateApp(ctx, in) // raced with another create: decide by owner
	}
	return AppResult{Namespace: ns}, err
}

// bindWorker gives the rack's worker its rights inside the app's namespace
// (see package rbac): they are never granted cluster-wide.
func (a *Activities) bindWorker(ctx context.Context, app string) error {
	b := rbac.AppBinding(a.Store.Rack, app)
	_, err := a.Store.Core.RbacV1().RoleBindings(b.Namespace).Create(ctx, b, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if apierrors.IsForbidden(err) {
		return permanent(ErrInvalid, fmt.Errorf("cannot bind the worker's role in namespace %s: run `slipway system install` to update slipway's RBAC (%v)", b.Namespace, err))
	}
	return err
}

// ownedNamespace returns the app's namespace, nil if there is none, and a
// permanent error made by refuse if it exists without slipway's labels.
func (a *Activities) ownedNamespace(ctx context.Context, app string, refuse func(string) error) (*corev1.Namespace, error) {
	s := a.Store
	n, err := s.Core.CoreV1().Namespaces().Get(ctx, s.Namespace(app), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !model.Owned(n.Labels, s.Rack, app) {
		return nil, permanent(ErrConflict, refuse(n.Name))
	}
	return n, nil
}

// checkDeletable refuses a delete of an app whose name is reserved or
// whose namespace is not slipway's.
func (a *Activities) checkDeletable(ctx context.Context, app string) error {
	if err := model.ValidateApp(a.Store.Rack, app); err != nil {
		return permanent(ErrInvalid, err)
	}
	_, err := a.ownedNamespace(ctx, app, model.NotOwnedDeleteError)
	return err
}

// StopAppWork makes way for a delete: it refuses a reserved name or a
// namespace that is not slipway's, then, if a build or promotion of the
// app runs, refuses (without Force) or cancels them and waits until their
// runs have ended (a cancelled promotion first rolls back).
func (a *Activities) StopAppWork(ctx context.Context, in AppInput) error {
	if err := a.checkDeletable(ctx, in.App); err != nil {
		return err
	}
	f, err := runs.Find(ctx, a.Store, a.Temporal, in.App, in.Runs)
	if err != nil {
		return err
	}
	if !f.Busy() {
		return nil
	}
	if !in.Force {
		return permanent(ErrConflict, runs.BusyError(in.App))
	}
	if a.Temporal == nil {
		return permanent(ErrInvalid, errors.New("this worker has no Temporal client to cancel runs with"))
	}
	var ids []string
	if f.Promotion {
		ids = append(ids, in.Runs.Promote)
	}
	for _, b := range f.Builds {
		ids = append(ids, in.Runs.BuildPrefix+b)
	}
	for _, id := range ids {
		// A run that has ended (or never started) is what we want.
		var nf *serviceerror.NotFound
		if err := a.Temporal.CancelWorkflow(ctx, id, ""); err != nil && !errors.As(err, &nf) {
			return fmt.Errorf("cancel %s: %w", id, err)
		}
	}
	for _, id := range ids {
		err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			running, err := runs.Running(ctx, a.Temporal, id)
			if err != nil || !running {
				return true, err
			}
			heartbeat(ctx, id)
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// MarkAppDeleting shows the app as deleting while its namespace goes. The
// write is conditional on the record not changing since it was read, so a
// promotion that marks the app updating meanwhile is never overwritten
// (without Force the delete then stops).
func (a *Activities) MarkAppDeleting(ctx context.Context, in AppInput) error {
	if err := a.checkDeletable(ctx, in.App); err != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		app, err := a.Store.GetApp(ctx, in.App)
		if records.IsNotFound(err) {
			return nil // already gone with its namespace
		}
		if err != nil {
			return err
		}
		if app.Status.Status == model.AppUpdating && !in.Force {
			return permanent(ErrConflict, runs.BusyError(in.App))
		}
		if app.Status.Status == model.AppDeleting {
			return nil
		}
		app.Status.Status = model.AppDeleting
		_, err = a.Store.UpdateApp(ctx, app)
		return err
	})
}

// DeleteNamespace deletes the app's namespace, only if it carries
// slipway's labels, and returns once it is gone, watching it rather than
// polling, and heartbeating while it waits. The delete is conditional on
// the UID and resourceVersion that were checked, so a namespace swapped or
// relabelled after the check is not deleted.
func (a *Activities) DeleteNamespace(ctx context.Context, in AppInput) error {
	core := a.Store.Core.CoreV1().Namespaces()
	ns := a.Store.Namespace(in.App)
	gone := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := a.ownedNamespace(ctx, in.App, model.NotOwnedDeleteError)
		if err != nil {
			return err
		}
		if n == nil {
			gone = true
			return nil
		}
		if n.DeletionTimestamp != nil {
			return nil
		}
		uid, rv := n.UID, n.ResourceVersion
		err = core.Delete(ctx, ns, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		if apierrors.IsNotFound(err) {
			gone = true
			return nil
		}
		return err // on a conflict (changed since the check) it is checked again
	})
	if err != nil || gone {
		return err
	}
	return a.waitNamespaceGone(ctx, ns)
}

// waitNamespaceGone watches the namespace until it is deleted (its
// finalizers done), heartbeating every few seconds meanwhile.
func (a *Activities) waitNamespaceGone(ctx context.Context, ns string) error {
	parent := ctx
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	stop := heartbeatEvery(ctx, 2*time.Second)
	defer stop()
	core := a.Store.Core.CoreV1().Namespaces()
	lw := listWatch(a.Store.Core, fail, func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", ns).String()
	}, core.List, core.Watch)
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Namespace{}, func(store cache.Store) (bool, error) {
		_, exists, err := store.GetByKey(ns)
		return !exists, err
	}, func(ev watch.Event) (bool, error) {
		n, ok := ev.Object.(*corev1.Namespace)
		return ok && n.Name == ns && ev.Type == watch.Deleted, nil
	})
	if err != nil {
		return waitErr(parent, ctx, err)
	}
	return nil
}

type ProtectInput struct {
	App       string
	Protected bool
}

// ProtectApp records whether the app's promotions wait for approval.
// Writing what is already there writes nothing.
func (a *Activities) ProtectApp(ctx context.Context, in ProtectInput) error {
	_, err := a.Store.MutateApp(ctx, in.App, func(app *records.App) { app.Spec.Protected = in.Protected })
	return classify(err)
}
