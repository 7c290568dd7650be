package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

type AppInput struct {
	App string
	// CreatedBy identifies the workflow that asks, so a retried create
	// recognises its own earlier write.
	CreatedBy string
}

type AppResult struct {
	Namespace string
}

// CreateApp makes the app's namespace and record.
func (a *Activities) CreateApp(ctx context.Context, in AppInput) (AppResult, error) {
	s := a.Store
	ns := s.Namespace(in.App)
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
		n, gerr := s.Core.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if gerr != nil {
			return AppResult{}, gerr
		}
		if n.DeletionTimestamp != nil {
			return AppResult{}, fmt.Errorf("namespace %s is still being deleted", ns) // retried
		}
	} else if err != nil {
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

// MarkAppDeleting shows the app as deleting while its namespace goes.
func (a *Activities) MarkAppDeleting(ctx context.Context, in AppInput) error {
	_, err := a.Store.MutateApp(ctx, in.App, func(app *records.App) { app.Status.Status = model.AppDeleting })
	if records.IsNotFound(err) {
		return nil // already gone with its namespace
	}
	return err
}

// DeleteNamespace deletes the app's namespace and returns once it is gone,
// watching it rather than polling, and heartbeating while it waits.
func (a *Activities) DeleteNamespace(ctx context.Context, in AppInput) error {
	core := a.Store.Core.CoreV1().Namespaces()
	ns := a.Store.Namespace(in.App)
	err := core.Delete(ctx, ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for {
		list, err := core.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", ns).String()})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			return nil
		}
		w, err := core.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", ns).String(),
			ResourceVersion: list.ResourceVersion,
		})
		if err != nil {
			return err
		}
		gone := waitDeleted(ctx, w)
		w.Stop()
		if gone {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// waitDeleted returns true when the watch sees the object deleted, false
// when the watch ends first; it heartbeats every few seconds meanwhile.
func waitDeleted(ctx context.Context, w watch.Interface) bool {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false
			}
			if ev.Type == watch.Deleted {
				return true
			}
		case <-tick.C:
			activity.RecordHeartbeat(ctx)
		case <-ctx.Done():
			return false
		}
	}
}
