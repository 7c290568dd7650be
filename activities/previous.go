package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// The rollback window (render/previous.go): after a promotion, the release
// before it keeps running in `<service>-previous` Deployments whose pods
// no Service selects; a rollback to it inside the window switches the
// Services to them first (one write per Service), then rolls the service's
// own Deployment back, and switches the Services back once that has
// converged.

// switchManager is the field manager of a switched selector: a merge
// patch under slipway's own manager would make the next apply drop the
// fields it owns, and this one is taken back by the next apply, which is
// what restores the selector if nothing else does.
const switchManager = records.FieldManager + "-window"

// KeptWindow is an open rollback window: the previous release's kept
// Deployments, as BeginPromotion finds them.
type KeptWindow struct {
	// Promotion opened it; Release is the release it keeps.
	Promotion, Release string
	// Until is when it closes.
	Until time.Time
	// Services are the services kept.
	Services []string
	// Ready says every kept Deployment has rolled out: its pods can take
	// the traffic now.
	Ready bool
}

// openWindow finds the app's open rollback window: nil when there is
// none. One list of the namespace's kept Deployments. Kept Deployments of
// several promotions (a window a crash left behind) are reported as the
// newest one's; closing with no promotion named closes them all.
func (a *Activities) openWindow(ctx context.Context, app string) (*KeptWindow, error) {
	deps, err := a.keptDeployments(ctx, app, "")
	if err != nil || len(deps) == 0 {
		return nil, err
	}
	var w *KeptWindow
	for _, d := range deps {
		until, _ := time.Parse(time.RFC3339, d.Annotations[render.AnnotationKeptUntil])
		if w == nil || until.After(w.Until) {
			w = &KeptWindow{Promotion: d.Annotations[render.AnnotationKeptBy], Release: d.Labels[render.LabelRelease], Until: until}
		}
	}
	w.Ready = true
	for _, d := range deps {
		if d.Annotations[render.AnnotationKeptBy] != w.Promotion {
			continue
		}
		w.Services = append(w.Services, d.Labels[render.LabelKept])
		done, _ := DeploymentDone(&d)
		w.Ready = w.Ready && done
	}
	slices.Sort(w.Services)
	return w, nil
}

// keptDeployments lists the app's kept Deployments: those of promotion,
// or all of them when promotion is "".
func (a *Activities) keptDeployments(ctx context.Context, app, promotion string) ([]appsv1.Deployment, error) {
	sel := render.LabelApp + "=" + app + "," + render.LabelTrack + "=" + render.TrackPrevious
	list, err := a.Store.Core.AppsV1().Deployments(a.Store.Namespace(app)).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, err
	}
	var out []appsv1.Deployment
	for _, d := range list.Items {
		if promotion == "" || d.Annotations[render.AnnotationKeptBy] == promotion {
			out = append(out, d)
		}
	}
	return out, nil
}

type KeepInput struct {
	App, Promotion string
	// Release is the release kept: the one active before the promotion.
	Release string
	// Services are those of the release now active: a kept Deployment
	// never takes one of their names.
	Services []string
	Until    time.Time
}

type KeepResult struct {
	// Services are the services kept; none when the release has no
	// service that takes traffic (render.Keepable).
	Services []string
}

// KeepPrevious opens a rollback window: it applies the kept Deployments of
// in.Release (and their env Secrets, which the promotion keeps anyway),
// annotated with the promotion and in.Until. Applying them again changes
// nothing.
func (a *Activities) KeepPrevious(ctx context.Context, in KeepInput) (KeepResult, error) {
	defer heartbeatEvery(ctx, heartbeatInterval)()
	r, err := a.renderRelease(ctx, in.App, in.Release, 0)
	if err != nil {
		return KeepResult{}, err
	}
	kept := render.Previous(r.in, r.services, in.Services, in.Promotion, in.Until)
	c := a.Store.Core
	opts := metav1.ApplyOptions{FieldManager: records.FieldManager, Force: true}
	var res KeepResult
	for _, k := range kept {
		ns := *k.Deployment.Namespace
		if _, err := c.CoreV1().Secrets(ns).Apply(ctx, k.Secret, opts); err != nil {
			return KeepResult{}, classify(fmt.Errorf("%s: keep: %w", k.Service, err))
		}
		if _, err := c.AppsV1().Deployments(ns).Apply(ctx, k.Deployment, opts); err != nil {
			return KeepResult{}, classify(fmt.Errorf("%s: keep: %w", k.Service, err))
		}
		res.Services = append(res.Services, k.Service)
	}
	if len(res.Services) == 0 {
		return res, nil
	}
	step := fmt.Sprintf("keeping %s until %s (%s)", in.Release, in.Until.UTC().Format(time.RFC3339), strings.Join(res.Services, ", "))
	return res, a.promotionStep(ctx, in.App, in.Promotion, step)
}

// promotionStep adds a step to a promotion's record.
func (a *Activities) promotionStep(ctx context.Context, app, promotion, step string) error {
	_, err := a.Store.UpdatePromotion(ctx, app, promotion, func(p *records.Promotion) {
		p.Status.Steps = addStep(p.Status.Steps, step)
	})
	return classify(err)
}

type SwitchInput struct {
	// App and Promotion are the rollback's.
	App, Promotion string
	// Window is the promotion whose kept pods take the traffic, and
	// Release the release they run.
	Window, Release string
}

type SwitchResult struct {
	// Services are those whose Services now select the kept pods; none
	// when the window is closed or its pods are not ready, and nothing
	// was switched.
	Services []string
	// At is when the last Service was switched.
	At time.Time
}

// SwitchTraffic points the Services (and balancers) of every kept service
// of the window at its kept pods, once it has checked that they are all
// ready: one patch of the selector per Service, which is the rollback as
// the clients see it. A Service already switched is left alone, so a
// retry writes nothing twice. It records the switch on the promotion and
// as an Event of the app, which `releases rollback` shows as it comes.
func (a *Activities) SwitchTraffic(ctx context.Context, in SwitchInput) (SwitchResult, error) {
	deps, err := a.keptDeployments(ctx, in.App, in.Window)
	if err != nil {
		return SwitchResult{}, classify(err)
	}
	var kept []string
	for _, d := range deps {
		if done, _ := DeploymentDone(&d); !done || d.Labels[render.LabelRelease] != in.Release {
			return SwitchResult{}, nil
		}
		kept = append(kept, d.Labels[render.LabelKept])
	}
	if len(kept) == 0 {
		return SwitchResult{}, nil
	}
	slices.Sort(kept)
	if err := a.pointServices(ctx, in.App, kept, true); err != nil {
		return SwitchResult{}, classify(err)
	}
	res := SwitchResult{Services: kept, At: time.Now().UTC()}
	step := "traffic switched to " + in.Release + " (kept pods)"
	if err := a.promotionStep(ctx, in.App, in.Promotion, step); err != nil {
		return SwitchResult{}, err
	}
	app, err := a.Store.GetApp(ctx, in.App)
	if err != nil {
		return SwitchResult{}, classify(err)
	}
	name := fmt.Sprintf("%s.%s.switch", app.Name, records.ObjectName(in.Promotion))
	return res, classify(a.Store.RecordEvent(ctx, app, name, "Traffic", step))
}

// pointServices switches the selector of every Service of the app that
// selects one of services' pods: to its kept pods (toKept), or back to the
// service's own (services nil: every Service that selects kept pods). A
// Service already pointing where it should is not written. Services are
// patched side by side.
func (a *Activities) pointServices(ctx context.Context, app string, services []string, toKept bool) error {
	c := a.Store.Core
	ns := a.Store.Namespace(app)
	list, err := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: render.LabelApp + "=" + app})
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(applyConcurrency)
	for _, svc := range list.Items {
		s, switched := switchedTo(svc, app)
		if toKept {
			s, switched = svc.Spec.Selector[render.LabelService], false
		}
		if s == "" || switched == toKept || (services != nil && !slices.Contains(services, s)) {
			continue
		}
		from, to := render.MainSelector(app, s), render.PreviousSelector(app, s)
		if !toKept {
			from, to = to, from
		}
		if !maps.Equal(svc.Spec.Selector, from) {
			continue // a selector slipway did not write: not slipway's to move
		}
		g.Go(func() error {
			_, err := c.CoreV1().Services(ns).Patch(ctx, svc.Name, types.MergePatchType, selectorPatch(from, to),
				metav1.PatchOptions{FieldManager: switchManager})
			return ignoreNotFound(err)
		})
	}
	return g.Wait()
}

// switchedTo says which service's kept pods svc selects, if it does.
func switchedTo(svc corev1.Service, app string) (string, bool) {
	s := svc.Spec.Selector[render.LabelKept]
	return s, s != "" && maps.Equal(svc.Spec.Selector, render.PreviousSelector(app, s))
}

// selectorPatch is the merge patch that turns selector from into to.
func selectorPatch(from, to map[string]string) []byte {
	sel := map[string]any{}
	for k := range from {
		sel[k] = nil
	}
	for k, v := range to {
		sel[k] = v
	}
	b, _ := json.Marshal(map[string]any{"spec": map[string]any{"selector": sel}})
	return b
}

type CloseInput struct {
	App string
	// Window is the promotion whose kept Deployments are closed; "" closes
	// every one of the app's.
	Window string
	// Promotion, when set, is the promotion whose record says the window
	// was closed (a later promotion's, or the rollback's that used it).
	Promotion string
	// Force closes the window even while a promotion of the app runs
	// (the promotion's own close). Without it, such a window is left as
	// it is (InUse): the promotion closes it, or uses it and then closes
	// it.
	Force bool
}

type CloseResult struct {
	// Closed are the kept Deployments deleted.
	Closed []string
	// InUse says a promotion of the app runs and Force was not set:
	// nothing was changed.
	InUse bool
}

// CloseWindow closes a rollback window: it switches back any Service that
// selects the kept pods, then deletes the window's kept Deployments, each
// only if it is still the one it listed (its UID): a later window's
// Deployments of the same name are never deleted. Closing a window that
// is gone does nothing.
func (a *Activities) CloseWindow(ctx context.Context, in CloseInput) (CloseResult, error) {
	deps, err := a.keptDeployments(ctx, in.App, in.Window)
	if err != nil {
		return CloseResult{}, classifyPuttingBack(err)
	}
	if len(deps) == 0 && !(in.Window == "" && in.Force) {
		return CloseResult{}, nil
	}
	if !in.Force {
		// A promotion that runs found the window when it began: it
		// closes it, or switches to it, and must not find it half gone.
		app, err := a.Store.GetApp(ctx, in.App)
		if records.IsNotFound(err) {
			return CloseResult{}, nil // the app is gone, and its namespace with it
		}
		if err != nil {
			return CloseResult{}, classifyPuttingBack(err)
		}
		if app.Status.Status == model.AppUpdating || app.Status.Status == model.AppRollback {
			return CloseResult{InUse: true}, nil
		}
	}
	var kept []string
	for _, d := range deps {
		kept = append(kept, d.Labels[render.LabelKept])
	}
	c := a.Store.Core
	ns := a.Store.Namespace(in.App)
	svcs, err := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: render.LabelApp + "=" + in.App})
	if err != nil {
		return CloseResult{}, classifyPuttingBack(err)
	}
	// Closing every window switches back every switched Service, even
	// one whose kept Deployment someone deleted by hand.
	restore := kept
	if in.Window == "" {
		restore = nil
	}
	if in.Window == "" && in.Force || inUse(svcs.Items, in.App, kept) {
		if err := a.pointServices(ctx, in.App, restore, false); err != nil {
			return CloseResult{}, classifyPuttingBack(err)
		}
	}
	var res CloseResult
	bg := metav1.DeletePropagationBackground
	for _, d := range deps {
		err := c.AppsV1().Deployments(ns).Delete(ctx, d.Name, metav1.DeleteOptions{
			PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &d.UID},
		})
		// A conflict: the precondition failed, the Deployment is another
		// window's now.
		if err := ignoreNotFound(err); err != nil && !apierrors.IsConflict(err) {
			return CloseResult{}, classifyPuttingBack(err)
		}
		res.Closed = append(res.Closed, d.Name)
	}
	if in.Promotion != "" && len(deps) > 0 {
		step := "closed the rollback window of " + deps[0].Labels[render.LabelRelease]
		if err := a.promotionStep(ctx, in.App, in.Promotion, step); err != nil {
			return CloseResult{}, err
		}
	}
	return res, nil
}

// inUse says whether a Service selects the kept pods of one of services.
func inUse(svcs []corev1.Service, app string, services []string) bool {
	for _, svc := range svcs {
		if s, ok := switchedTo(svc, app); ok && slices.Contains(services, s) {
			return true
		}
	}
	return false
}
