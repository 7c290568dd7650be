package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// A staged rollout (deployment.steps) runs, before the release is applied,
// each staged service's steps: a replicas step runs a canary of the new
// release beside the service (StageCanary), a check step GETs the service
// (CheckService, check.go), and pauses are the workflow's own timers and
// gates. The canaries go when the promotion ends: FinishPromotion and a
// rollback's ApplyRelease delete them (deleteCanaries), so no canary
// pod of a rejected release outlives its promotion.

// StagedService is a service's staged rollout, as BeginPromotion reads it
// from the release's manifest.
type StagedService struct {
	Service string
	Steps   []model.Step
	// Port and Scheme are where a check step sends its GET.
	Port   int    `json:",omitempty"`
	Scheme string `json:",omitempty"`
}

// stagedServices are the services of m (nil: none) that roll out in
// steps, in the manifest's order; none for most releases.
func stagedServices(m *model.Manifest) []StagedService {
	if m == nil {
		return nil
	}
	var out []StagedService
	for _, svc := range m.Services {
		if len(svc.Deployment.Steps) > 0 {
			scheme := "http"
			if svc.Scheme == "https" {
				scheme = "https"
			}
			out = append(out, StagedService{Service: svc.Name, Steps: svc.Deployment.Steps, Port: svc.Port, Scheme: scheme})
		}
	}
	return out
}

type CanaryInput struct {
	App, Release, Promotion, Service string
	// Percent of the service's count the canary runs.
	Percent int
	// Step is written on the promotion's record.
	Step string
	// ProgressDeadline is the canary's progressDeadlineSeconds.
	ProgressDeadline int32
}

type CanaryResult struct {
	// Canary and Service are the processes each runs now.
	Canary, Service int32
}

// StageCanary runs Percent of a service's processes on the new release:
// it applies the service's env Secret and its canary (render.Canary),
// waits until the canary's pods are ready, then scales the service's own
// Deployment to the rest, so the service never runs fewer processes than
// it had. The service's count before the first step is kept on the canary,
// so a later step, a retry and the final apply all split or restore the
// same count. An autoscaled service keeps its count, which its autoscaler
// owns: the canary runs beside it. A canary that crash-loops, cannot pull
// its image or passes its progress deadline fails the step, as a rolling
// update fails. Server-side apply and a merge patch: a retry changes
// nothing.
func (a *Activities) StageCanary(ctx context.Context, in CanaryInput) (CanaryResult, error) {
	defer heartbeatEvery(ctx, heartbeatInterval)()
	r, err := a.renderRelease(ctx, in.App, in.Release, in.ProgressDeadline)
	if err != nil {
		return CanaryResult{}, err
	}
	var svc *render.Service
	for i := range r.services {
		if r.services[i].Name == in.Service {
			svc = &r.services[i]
		}
	}
	m, ok := r.in.Manifest.Service(in.Service)
	if svc == nil || !ok || svc.Deployment == nil {
		return CanaryResult{}, permanent(ErrInvalid, fmt.Errorf("release %s has no service %s with a Deployment to stage", in.Release, in.Service))
	}
	// renderRelease gave the service's own Deployment its count before
	// the first step (see canaryCounts).
	full := *svc.Deployment.Spec.Replicas
	canary, main := render.CanarySplit(full, in.Percent)
	if m.Scale.Autoscales() {
		main = full
	}
	d, err := render.Canary(*svc, full, canary)
	if err != nil {
		return CanaryResult{}, permanent(ErrInvalid, err)
	}
	if _, err := a.Store.UpdatePromotion(ctx, in.App, in.Promotion, func(p *records.Promotion) {
		p.Status.Phase = model.PhaseRollingOut
		p.Status.Steps = addStep(p.Status.Steps, fmt.Sprintf("%s: %d canary, %d of %s", in.Step, canary, main, in.Service))
	}); err != nil {
		return CanaryResult{}, classify(err)
	}
	if err := a.applyResources(ctx, r, applyError); err != nil {
		return CanaryResult{}, err
	}
	c := a.Store.Core
	ns := a.Store.Namespace(in.App)
	opts := metav1.ApplyOptions{FieldManager: records.FieldManager, Force: true}
	if _, err := c.CoreV1().Secrets(ns).Apply(ctx, svc.Secret, opts); err != nil {
		return CanaryResult{}, applyError(in.Service, err)
	}
	if _, err := c.AppsV1().Deployments(ns).Apply(ctx, d, opts); err != nil {
		return CanaryResult{}, applyError(in.Service+" canary", err)
	}
	if err := a.waitCanary(ctx, in); err != nil {
		return CanaryResult{}, err
	}
	if !m.Scale.Autoscales() {
		// Its own field manager: the release's apply takes the field back.
		body := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, main)
		_, err := c.AppsV1().Deployments(ns).Patch(ctx, in.Service, types.MergePatchType, body,
			metav1.PatchOptions{FieldManager: records.FieldManager + "-canary"})
		if err != nil && !apierrors.IsNotFound(err) { // a service new in this release has none
			return CanaryResult{}, classify(err)
		}
	}
	return CanaryResult{Canary: canary, Service: main}, nil
}

// waitCanary returns once the canary of in.Service has rolled out with
// every pod ready, or fails when it never will. It watches the canary and
// its pods; a retry simply watches again.
func (a *Activities) waitCanary(ctx context.Context, in CanaryInput) error {
	parent := ctx
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	core := a.Store.Core
	ns := a.Store.Namespace(in.App)
	name := render.CanaryName(in.Service)
	one := func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
	pods := func(o *metav1.ListOptions) {
		o.LabelSelector = render.CanarySelector(in.App) + "," + render.LabelService + "=" + in.Service
	}
	deps := cache.NewSharedIndexInformer(listWatch(core, fail, one, core.AppsV1().Deployments(ns).List, core.AppsV1().Deployments(ns).Watch),
		&appsv1.Deployment{}, 0, cache.Indexers{})
	podInf := cache.NewSharedIndexInformer(listWatch(core, fail, pods, core.CoreV1().Pods(ns).List, core.CoreV1().Pods(ns).Watch),
		&corev1.Pod{}, 0, cache.Indexers{})
	changed, err := wakeOnChange(deps, podInf)
	if err != nil {
		return err
	}
	done := make(chan struct{}, 2)
	defer func() { <-done; <-done }()
	defer fail(nil) // stops the informers before waiting for them
	go func() { deps.RunWithContext(ctx); done <- struct{}{} }()
	go func() { podInf.RunWithContext(ctx); done <- struct{}{} }()
	if !cache.WaitFor(ctx, "", deps.HasSyncedChecker(), podInf.HasSyncedChecker()) {
		return waitErr(parent, ctx, ctx.Err())
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		d := byName[*appsv1.Deployment](deps.GetStore())[name]
		if d != nil {
			ok, failure := DeploymentDone(d)
			if failure == "" {
				r := rollout{in: WatchInput{Release: in.Release, UnschedulableGrace: 30 * time.Second},
					pods: byName[*corev1.Pod](podInf.GetStore())}
				failure = r.podFailure(in.Service, time.Now())
			} else {
				failure = in.Service + " canary: " + failure
			}
			if failure != "" {
				return temporal.NewNonRetryableApplicationError(failure, ErrRolloutFailed, nil)
			}
			if ok && d.Status.ReadyReplicas >= *d.Spec.Replicas {
				return nil
			}
		}
		select {
		case <-changed:
		case <-tick.C:
		case <-ctx.Done():
			return waitErr(parent, ctx, ctx.Err())
		}
	}
}

// deleteCanaries scales each canary to zero (its ReplicaSet stops its
// pods at once), deletes it in the foreground (it is gone only once its
// pods are) and deletes its pods, so that each is terminating when this
// returns: out of the Service's endpoints, and not counted by a watch of
// the release rolled back to. One list when the app has no canary.
func (a *Activities) deleteCanaries(ctx context.Context, app string) error {
	c := a.Store.Core
	ns := a.Store.Namespace(app)
	sel := metav1.ListOptions{LabelSelector: render.CanarySelector(app)}
	deps, err := c.AppsV1().Deployments(ns).List(ctx, sel)
	if err != nil || len(deps.Items) == 0 {
		return err
	}
	fg := metav1.DeletePropagationForeground
	for _, d := range deps.Items {
		_, err := c.AppsV1().Deployments(ns).Patch(ctx, d.Name, types.MergePatchType, []byte(`{"spec":{"replicas":0}}`),
			metav1.PatchOptions{FieldManager: records.FieldManager + "-canary"})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		if err := ignoreNotFound(c.AppsV1().Deployments(ns).Delete(ctx, d.Name, metav1.DeleteOptions{PropagationPolicy: &fg})); err != nil {
			return err
		}
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, sel)
	if err != nil {
		return err
	}
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		if err := ignoreNotFound(c.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{})); err != nil {
			return err
		}
	}
	return nil
}

// canaryCounts gives each staged service the count kept on its canary
// (render.AnnotationServiceReplicas): its own Deployment runs fewer while
// the canary runs, and gets that count back when a release is applied.
// It says whether there is a canary.
func canaryCounts(deps []appsv1.Deployment, replicas map[string]int32) bool {
	found := false
	for _, d := range deps {
		if svc, n, ok := render.ServiceReplicas(d.Labels, d.Annotations); ok {
			replicas[svc], found = n, true
		}
	}
	return found
}

type StepInput struct {
	App, Promotion string
	// Message is the step, as the promotion's record shows it.
	Message string
}

// RecordStep writes a step of a staged rollout that runs no activity of
// its own (a pause: when it ended, and who continued it) on the
// promotion's record. Written twice, it is there once.
func (a *Activities) RecordStep(ctx context.Context, in StepInput) error {
	_, err := a.Store.UpdatePromotion(ctx, in.App, in.Promotion, func(p *records.Promotion) {
		p.Status.Steps = addStep(p.Status.Steps, in.Message)
	})
	return classify(err)
}
