package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// ScaleInput is a scale set by hand for one service; a nil field is left
// as it is.
type ScaleInput struct {
	App, Service       string
	Count, CPU, Memory *int32
}

// ScaleResult names the release the scale was applied to.
type ScaleResult struct {
	Release string
}

// ScaleApp records a scale set by hand on the app's record, then applies
// the active release's Deployment of that service with it at once, as a
// promotion would (the whole render, under slipway's field manager: an
// apply of the changed fields alone would drop every other field slipway
// owns). Every later promotion renders with the recorded scale, so it
// survives deploys and rollbacks. It refuses while a promotion is in
// flight, whose own apply would race this one. Running it again writes
// nothing new.
func (a *Activities) ScaleApp(ctx context.Context, in ScaleInput) (ScaleResult, error) {
	s := a.Store
	sc := records.ServiceScale{Service: in.Service, Count: in.Count, CPU: in.CPU, Memory: in.Memory}
	if err := sc.Validate(); err != nil {
		return ScaleResult{}, permanent(ErrInvalid, err)
	}
	app, err := s.GetApp(ctx, in.App)
	if err != nil {
		return ScaleResult{}, classify(err)
	}
	switch app.Status.Status {
	case model.AppUpdating, model.AppRollback, model.AppDeleting:
		return ScaleResult{}, permanent(ErrConflict, records.ScaleBusyError(in.App, app.Status.Status))
	}
	if app.Status.Release == "" {
		return ScaleResult{}, permanent(ErrInvalid, fmt.Errorf("app %s has no active release to scale: promote one first (`slipway releases promote -a %s`)", in.App, in.App))
	}
	deadline, err := a.progressDeadline(ctx, in.App, in.Service)
	if err != nil {
		return ScaleResult{}, classify(err)
	}
	// Render before recording, so a service the release does not have is
	// refused without a write.
	r, err := a.renderRelease(ctx, in.App, app.Status.Release, deadline)
	if err != nil {
		return ScaleResult{}, err
	}
	var names []string
	for _, svc := range r.services {
		names = append(names, svc.Name)
		if svc.Name == in.Service && svc.Deployment == nil && in.Count != nil {
			return ScaleResult{}, permanent(ErrInvalid, fmt.Errorf("service %s is an agent, one process on every node: --count does not apply to it", in.Service))
		}
	}
	if !slices.Contains(names, in.Service) {
		return ScaleResult{}, permanent(ErrInvalid, fmt.Errorf("release %s has no service %s: its services are %s", app.Status.Release, in.Service, strings.Join(names, ", ")))
	}
	if _, err := s.MutateApp(ctx, in.App, func(a *records.App) { a.SetScale(sc) }); err != nil {
		return ScaleResult{}, classify(err)
	}
	if r, err = a.renderRelease(ctx, in.App, app.Status.Release, deadline); err != nil {
		return ScaleResult{}, err
	}
	for _, svc := range r.services {
		if svc.Name == in.Service {
			if err := a.apply(ctx, svc); err != nil {
				return ScaleResult{}, applyError(svc.Name, err)
			}
		}
	}
	return ScaleResult{Release: app.Status.Release}, nil
}

// progressDeadline is the service's Deployment's progressDeadlineSeconds,
// which a scale keeps as the last promotion set it; 0 when there is none.
func (a *Activities) progressDeadline(ctx context.Context, app, service string) (int32, error) {
	d, err := a.Store.Core.AppsV1().Deployments(a.Store.Namespace(app)).Get(ctx, service, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if d.Spec.ProgressDeadlineSeconds == nil {
		return 0, nil
	}
	return *d.Spec.ProgressDeadlineSeconds, nil
}

// handScale is the scale set by hand on the app's record, as render takes it.
func (a *Activities) handScale(ctx context.Context, app string) (map[string]render.Scale, error) {
	rec, err := a.Store.GetApp(ctx, app)
	if err != nil {
		return nil, err
	}
	out := map[string]render.Scale{}
	for _, sc := range rec.Spec.Scale {
		out[sc.Service] = render.Scale{Count: sc.Count, CPU: sc.CPU, Memory: sc.Memory}
	}
	return out, nil
}
