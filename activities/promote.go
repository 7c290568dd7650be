package activities

import (
	"cmp"
	"context"
	"fmt"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// Transition is a status change of a promotion, written as an Event on the
// app. Seq numbers the promotion's events, so a retry writes none twice.
type Transition struct {
	Seq      int
	From, To string
}

type BeginInput struct {
	App, Release, Promotion string
	WorkflowID, RunID       string
	Actor                   string // who started the promotion
	Event                   Transition
}

type BeginResult struct {
	// From is the app's active release before this promotion; "" for the
	// first one.
	From string
	// Webhooks are the events the app's webhooks are sent (none: the
	// promotion sends nothing).
	Webhooks []string
	// Protected says the app's promotions wait for another person's
	// approval before anything is applied.
	Protected bool
	// ReleaseCommands are the services whose release command runs before
	// the release is applied (RunReleasePhase); none for most releases.
	ReleaseCommands []string `json:",omitempty"`
	// Window is the app's open rollback window (previous.go); nil for
	// most promotions.
	Window *KeptWindow `json:",omitempty"`
	// Steps are the staged rollouts of the release's services (canary.go);
	// none for most releases.
	Steps []StagedService `json:",omitempty"`
}

// BeginPromotion checks the release, writes the promotion's record and
// marks the app updating.
func (a *Activities) BeginPromotion(ctx context.Context, in BeginInput) (BeginResult, error) {
	s := a.Store
	r, err := s.GetRelease(ctx, in.App, in.Release)
	if err != nil {
		return BeginResult{}, classify(err)
	}
	if r.Spec.Manifest == "" {
		return BeginResult{}, permanent(ErrInvalid, fmt.Errorf("release %s has no build to run: `slipway build` first", in.Release))
	}
	// One read of the env and one parse serve the release phase and the
	// staged rollout, and none when the manifest has neither key.
	m, err := s.ReleaseManifest(ctx, r, "release", "steps")
	if err != nil {
		return BeginResult{}, classify(err)
	}
	commands, steps := records.ReleaseCommandsOf(m), stagedServices(m) // canary.go
	app, err := s.GetApp(ctx, in.App)
	if err != nil {
		return BeginResult{}, classify(err)
	}
	if app.Status.Status == model.AppDeleting {
		return BeginResult{}, permanent(ErrInvalid, fmt.Errorf("app %s is being deleted", in.App))
	}
	hooks, err := a.subscribed(ctx, in.App)
	if err != nil {
		return BeginResult{}, err
	}
	window, err := a.openWindow(ctx, in.App) // previous.go
	if err != nil {
		return BeginResult{}, classify(err)
	}
	p, err := s.CreatePromotion(ctx, &records.Promotion{
		Spec: records.PromotionSpec{
			ID: in.Promotion, App: in.App, Release: in.Release, From: app.Status.Release,
			WorkflowID: in.WorkflowID, RunID: in.RunID, Actor: in.Actor, Started: metav1.NowMicro(),
		},
		Status: records.PromotionStatus{Phase: model.PhasePending},
	})
	if err != nil {
		return BeginResult{}, classify(err)
	}
	if app, err = s.MutateApp(ctx, in.App, func(a *records.App) { a.Status.Status, a.Status.Reason = model.AppUpdating, "" }); err != nil {
		return BeginResult{}, classify(err)
	}
	if err := a.event(ctx, app, in.Promotion, in.Event); err != nil {
		return BeginResult{}, classify(err)
	}
	return BeginResult{From: p.Spec.From, Protected: app.Spec.Protected, ReleaseCommands: commands, Steps: steps, Webhooks: hooks, Window: window}, nil
}

func (a *Activities) event(ctx context.Context, app *records.App, promotion string, t Transition) error {
	if t.To == "" {
		return nil
	}
	name := fmt.Sprintf("%s.%s.%d", app.Name, records.ObjectName(promotion), t.Seq)
	return a.Store.RecordEvent(ctx, app, name, "Status", t.From+" => "+t.To)
}

type ApplyInput struct {
	App, Release, Promotion string
	// Phase is written on the promotion's record with Step.
	Phase, Step string
	// ProgressDeadline is the Deployments' progressDeadlineSeconds.
	ProgressDeadline int32
	// Prune removes the objects of services that Release does not have
	// (when rolling back: the services the failed release added).
	Prune bool
	// Paused applies the Deployments paused: the promotion was paused
	// before they existed.
	Paused bool
	Event  Transition
	// Switched are the services whose traffic a rollback has switched to
	// their kept pods (previous.go): their Services are applied still
	// pointing there.
	Switched []string `json:",omitempty"`
}

type ApplyResult struct {
	Services []string
}

// ApplyRelease renders the release and applies every object with
// server-side apply under one field manager, so applying it again changes
// nothing. Applying a release un-pauses its Deployments unless in.Paused.
// It heartbeats throughout, starts no service once cancelled, and returns
// only when no write of its own is in flight, so a rollback never races a
// half-finished apply.
func (a *Activities) ApplyRelease(ctx context.Context, in ApplyInput) (ApplyResult, error) {
	// Not once per service: with many apps promoting at once, one
	// service's writes can take longer than the heartbeat timeout.
	defer heartbeatEvery(ctx, heartbeatInterval)()
	s := a.Store
	// A rollback retries what the API server refuses: the same objects
	// were accepted before.
	classify, applyError := classify, applyError
	if in.Phase == model.PhaseRollingBack {
		classify, applyError = classifyPuttingBack, putBackError
	}
	r, err := a.renderRelease(ctx, in.App, in.Release, in.ProgressDeadline)
	if err != nil {
		return ApplyResult{}, err
	}
	services := r.services
	render.OnPrevious(in.App, services, in.Switched)
	if in.Paused {
		// Only a paused apply sends spec.paused: otherwise the field is
		// left to the pause's own manager, which apply sets right after.
		for _, svc := range services {
			if svc.Deployment != nil {
				svc.Deployment.Spec.WithPaused(true)
			}
		}
	}
	if _, err := s.UpdatePromotion(ctx, in.App, in.Promotion, func(p *records.Promotion) {
		p.Status.Phase = in.Phase
		p.Status.Steps = addStep(p.Status.Steps, in.Step)
	}); err != nil {
		return ApplyResult{}, classify(err)
	}
	// Resources first: the services' processes read their credentials.
	if err := a.applyResources(ctx, r, applyError); err != nil {
		return ApplyResult{}, err
	}
	// Services are applied side by side: each is a few round trips, and
	// a rollout cannot begin before its Deployment is written. Each is
	// tried even when another is refused, so that the refusal reported is
	// the first in the manifest's order, whichever the API server answered
	// first.
	names := make([]string, len(services))
	errs := make([]error, len(services))
	var g errgroup.Group
	g.SetLimit(applyConcurrency)
	for i, svc := range services {
		names[i] = svc.Name
		g.Go(func() error {
			if ctx.Err() != nil {
				return nil // cancelled: start no more
			}
			if err := a.apply(ctx, svc); err != nil {
				errs[i] = applyError(svc.Name, err)
			}
			return nil
		})
	}
	_ = g.Wait() // every error is in errs
	if err := ctx.Err(); err != nil {
		return ApplyResult{}, err
	}
	if err := cmp.Or(errs...); err != nil {
		return ApplyResult{}, err
	}
	if in.Phase == model.PhaseRollingBack && r.canaries {
		// No canary of the release rolled back outlives it (canary.go):
		// deleted once the services have their count back from it, and
		// before the prune, which would leave its pods to the garbage
		// collector.
		if err := a.deleteCanaries(ctx, in.App); err != nil {
			return ApplyResult{}, classify(err)
		}
	}
	if in.Prune {
		if err := a.prune(ctx, in.App, names, in.Release, nil); err != nil {
			return ApplyResult{}, classify(err)
		}
	}
	app, err := s.GetApp(ctx, in.App)
	if err != nil {
		return ApplyResult{}, classify(err)
	}
	return ApplyResult{Services: names}, classify(a.event(ctx, app, in.Promotion, in.Event))
}

// applyConcurrency bounds the services applied at once: enough to keep
// the API server busy, few enough to stay inside the client's rate limit
// (config.Kube) with the rollout watch's requests beside them.
const applyConcurrency = 8

// applyError makes the API server's refusals permanent (invalid, forbidden,
// over quota, too large: applying the same object again cannot succeed), and
// names the service either way.
func applyError(service string, err error) error {
	if refused(err) || apierrors.IsNotFound(err) {
		return permanent(ErrApplyFailed, fmt.Errorf("%s: apply: %v", service, err))
	}
	return fmt.Errorf("%s: apply: %w", service, err)
}

// putBackError is applyError for a rollback: a refusal is retried.
func putBackError(service string, err error) error {
	return classifyPuttingBack(fmt.Errorf("%s: apply: %w", service, err))
}

func addStep(steps []records.Step, msg string) []records.Step {
	if msg == "" || (len(steps) > 0 && steps[len(steps)-1].Message == msg) {
		return steps
	}
	return append(steps, records.Step{Time: metav1.Now(), Message: msg})
}

// rendered is a release as render makes it, with what it was made from.
type rendered struct {
	in        render.Input
	services  []render.Service
	resources []render.Resource
	// canaries says the app has a staged rollout's canary (canary.go).
	canaries bool
}

func (a *Activities) renderRelease(ctx context.Context, app, release string, deadline int32) (rendered, error) {
	s := a.Store
	r, err := s.GetRelease(ctx, app, release)
	if err != nil {
		return rendered{}, classify(err)
	}
	env, err := s.GetReleaseEnv(ctx, r)
	if apierrors.IsNotFound(err) {
		return rendered{}, permanent(ErrInvalid, fmt.Errorf("release %s has lost its env Secret %s: promote another release, or make a new one with `slipway env set`", release, r.Spec.Env))
	}
	if err != nil {
		return rendered{}, err
	}
	m, err := model.ParseManifest([]byte(r.Spec.Manifest), env)
	if err != nil {
		return rendered{}, permanent(ErrInvalid, fmt.Errorf("release %s: %w", release, model.InManifestFile("convox.yml", err)))
	}
	images := map[string]string{}
	if r.Spec.Build != "" {
		b, err := s.GetBuild(ctx, app, r.Spec.Build)
		if records.IsNotFound(err) {
			return rendered{}, permanent(ErrInvalid, fmt.Errorf("release %s names build %s, which no longer exists: promote another release", release, r.Spec.Build))
		}
		if err != nil {
			return rendered{}, err
		}
		for _, im := range b.Status.Images {
			images[im.Service] = im.Ref
			if im.Digest != "" {
				if images[im.Service], err = render.Pinned(im.Ref, im.Digest); err != nil {
					return rendered{}, permanent(ErrInvalid, fmt.Errorf("build %s recorded services.%s as %s@%s, which cannot be pinned (%v): build again", r.Spec.Build, im.Service, im.Ref, im.Digest, err))
				}
			}
		}
	}
	ns := s.Namespace(app)
	replicas := map[string]int32{}
	deps, err := s.Core.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: render.LabelApp + "=" + app})
	if err != nil {
		return rendered{}, classify(err)
	}
	for _, d := range deps.Items {
		if d.Spec.Replicas != nil {
			replicas[d.Labels[render.LabelService]] = *d.Spec.Replicas
		}
	}
	canaries := canaryCounts(deps.Items, replicas) // canary.go
	scale, err := a.handScale(ctx, app)            // activities/scale.go
	if err != nil {
		return rendered{}, classify(err)
	}
	out := rendered{in: render.Input{
		App: app, Namespace: ns, Release: release, Build: r.Spec.Build, Manifest: m, Env: env,
		Images: images, Replicas: replicas, ProgressDeadline: deadline, Ingress: a.Ingress, Scale: scale,
	}, canaries: canaries}
	if out.services, err = render.Release(out.in); err != nil {
		return rendered{}, permanent(ErrInvalid, err)
	}
	if out.resources, err = render.Resources(out.in); err != nil {
		return rendered{}, permanent(ErrInvalid, err)
	}
	return out, nil
}

// setPaused pauses or resumes a Deployment with a merge patch under its own
// field manager: were it an apply under slipway's manager, it would drop
// every other field slipway applied.
func (a *Activities) setPaused(ctx context.Context, ns, name string, paused bool) error {
	body := fmt.Appendf(nil, `{"spec":{"paused":%t}}`, paused)
	_, err := a.Store.Core.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, body,
		metav1.PatchOptions{FieldManager: records.FieldManager + "-pause"})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

type PauseInput struct {
	App, Promotion string
	Services       []string
	Paused         bool
}

// SetPaused pauses (or resumes) the rollout of every service.
func (a *Activities) SetPaused(ctx context.Context, in PauseInput) error {
	ns := a.Store.Namespace(in.App)
	for _, svc := range in.Services {
		if err := a.setPaused(ctx, ns, svc, in.Paused); err != nil {
			return classify(err)
		}
	}
	phase, step := model.PhasePaused, "paused"
	if !in.Paused {
		phase, step = model.PhaseRollingOut, "resumed"
	}
	_, err := a.Store.UpdatePromotion(ctx, in.App, in.Promotion, func(p *records.Promotion) {
		p.Status.Phase = phase
		p.Status.Steps = addStep(p.Status.Steps, step)
	})
	return classify(err)
}

type FinishInput struct {
	App, Promotion string
	// Release is the app's active release from now on ("" when a first
	// promotion was rolled back and nothing runs).
	Release string
	// Services the active release runs; everything else is removed.
	Services []string
	// From is the release before; its env Secrets are kept for a rollback.
	From     string
	Result   string // model.ResultActive, ResultRolledBack or ResultFailed
	Reason   string
	Progress []records.ServiceProgress
	Event    Transition
	// KeepObjects leaves every object and the app's active release as they
	// are: the promotion was refused before it applied anything.
	KeepObjects bool
	// Canaries says a staged rollout ran canaries, which go now.
	Canaries bool `json:",omitempty"`
	// Before, when set, is an event written ahead of Event.
	Before Transition
}

// FinishPromotion removes what the active release does not run, sets the
// app's active release and status, and closes the promotion's record.
func (a *Activities) FinishPromotion(ctx context.Context, in FinishInput) error {
	s := a.Store
	// Closing the records is retried even when refused: a promotion must
	// not end with them saying it still runs.
	classify := classifyPuttingBack
	if in.Canaries && !in.KeepObjects {
		// Whatever the result, a canary's work is over (canary.go).
		if err := a.deleteCanaries(ctx, in.App); err != nil {
			return classify(err)
		}
	}
	if in.Result != model.ResultFailed && !in.KeepObjects {
		if err := a.prune(ctx, in.App, in.Services, in.Release, []string{in.Release, in.From}); err != nil {
			return classify(err)
		}
	}
	app, err := s.MutateApp(ctx, in.App, func(a *records.App) {
		if !in.KeepObjects {
			a.Status.Release = in.Release
		}
		a.Status.Status, a.Status.Reason = model.AppRunning, in.Reason
		if in.Result == model.ResultFailed {
			a.Status.Status = model.AppError
		}
	})
	if err != nil {
		return classify(err)
	}
	if _, err := s.UpdatePromotion(ctx, in.App, in.Promotion, func(p *records.Promotion) {
		p.Status.Phase, p.Status.Result, p.Status.Reason = model.PhaseDone, in.Result, in.Reason
		if in.Progress != nil {
			p.Status.Services = in.Progress
		}
		if p.Status.Ended == nil {
			now := metav1.NowMicro()
			p.Status.Ended = &now
		}
		p.Status.Steps = addStep(p.Status.Steps, in.Result)
	}); err != nil && !records.IsNotFound(err) {
		// No record: the promotion was refused before it wrote one.
		return classify(err)
	}
	if err := a.event(ctx, app, in.Promotion, in.Before); err != nil {
		return classify(err)
	}
	return classify(a.event(ctx, app, in.Promotion, in.Event))
}

type InspectInput struct {
	App, Promotion string
}

// PromotionInfo is what a repair needs to know of the promotion it repairs.
type PromotionInfo struct {
	Release, From string
	Webhooks      []string // as in BeginResult
}

// InspectPromotion reads a promotion's record.
func (a *Activities) InspectPromotion(ctx context.Context, in InspectInput) (PromotionInfo, error) {
	p, err := a.Store.GetPromotion(ctx, in.App, in.Promotion)
	if err != nil {
		return PromotionInfo{}, classify(err)
	}
	hooks, err := a.subscribed(ctx, in.App)
	if err != nil {
		return PromotionInfo{}, err
	}
	return PromotionInfo{Release: p.Spec.Release, From: p.Spec.From, Webhooks: hooks}, nil
}

// SignalProgress was the signal that carried rollout progress to runs from
// before versionNeverStuck. Progress is now the watch's heartbeat, which
// costs no history; those runs still listen for it, and get none.
const SignalProgress = "progress"
