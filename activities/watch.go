package activities

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/temporal"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// ErrRolloutFailed is the error type of a rollout that cannot succeed.
const ErrRolloutFailed = "RolloutFailed"

type WatchInput struct {
	App, Release, Promotion string
	Services                []string
	// UnschedulableGrace is how long a pod may wait for a node before the
	// rollout counts as failed.
	UnschedulableGrace time.Duration
	// ConvergeGrace is how long a service whose workload has rolled out
	// may still have a pod that does not run the release (see
	// converge.go); zero means defaultConvergeGrace.
	ConvergeGrace time.Duration
}

type WatchResult struct {
	Services []records.ServiceProgress
}

// waitingFailures are container states that a rollout never recovers from
// by waiting.
var waitingFailures = map[string]bool{
	"CrashLoopBackOff": true, "ImagePullBackOff": true, "ErrImagePull": true,
	"CreateContainerConfigError": true, "InvalidImageName": true,
	"CreateContainerError": true, "RunContainerError": true,
}

// maxRestarts counts as crash looping even before the kubelet says so.
const maxRestarts = 3

// WatchRollout returns once every service of the release has rolled out, as
// `kubectl rollout status` decides it, and has converged: every pod of
// every service is the release's and runs the image digest it pins (see
// converge.go). It fails as soon as one cannot. It
// watches Deployments and pods (no polling); its state is rebuilt from the
// cluster on every start, so a retry on another worker simply resumes. Its
// heartbeat carries the progress, which is how the CLI and the Temporal UI
// see a rollout live without a history event per change; it heartbeats at
// least twice a second, so cancellation (a rollback) reaches it quickly.
func (a *Activities) WatchRollout(ctx context.Context, in WatchInput) (WatchResult, error) {
	if in.UnschedulableGrace == 0 {
		in.UnschedulableGrace = 30 * time.Second
	}
	if in.ConvergeGrace == 0 {
		in.ConvergeGrace = defaultConvergeGrace
	}
	parent := ctx
	ctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	core := a.Store.Core
	ns := a.Store.Namespace(in.App)
	sel := func(o *metav1.ListOptions) { o.LabelSelector = render.LabelApp + "=" + in.App }
	deps := cache.NewSharedIndexInformer(listWatch(core, fail, sel, core.AppsV1().Deployments(ns).List, core.AppsV1().Deployments(ns).Watch),
		&appsv1.Deployment{}, 0, cache.Indexers{})
	daemons := cache.NewSharedIndexInformer(listWatch(core, fail, sel, core.AppsV1().DaemonSets(ns).List, core.AppsV1().DaemonSets(ns).Watch),
		&appsv1.DaemonSet{}, 0, cache.Indexers{})
	pods := cache.NewSharedIndexInformer(listWatch(core, fail, sel, core.CoreV1().Pods(ns).List, core.CoreV1().Pods(ns).Watch),
		&corev1.Pod{}, 0, cache.Indexers{})
	// Every change wakes the loop below.
	changed, err := wakeOnChange(deps, daemons, pods)
	if err != nil {
		return WatchResult{}, err
	}
	var running sync.WaitGroup
	defer running.Wait()
	defer fail(nil) // stops the informers before waiting for them
	running.Go(func() { deps.RunWithContext(ctx) })
	running.Go(func() { daemons.RunWithContext(ctx) })
	running.Go(func() { pods.RunWithContext(ctx) })
	// The release's pins are read while the informers list.
	type pinsRead struct {
		pins releasePins
		err  error
	}
	pinsc := make(chan pinsRead, 1)
	running.Go(func() {
		p, err := a.releasePins(ctx, in.App, in.Release)
		pinsc <- pinsRead{p, err}
	})
	// The first lists can take seconds on a busy API server.
	stopBeating := heartbeatEvery(ctx, heartbeatInterval)
	synced := cache.WaitFor(ctx, "", deps.HasSyncedChecker(), daemons.HasSyncedChecker(), pods.HasSyncedChecker())
	var read pinsRead
	if synced {
		read = <-pinsc
	}
	stopBeating()
	if !synced {
		return WatchResult{}, waitErr(parent, ctx, ctx.Err())
	}
	if read.err != nil {
		return WatchResult{}, waitErr(parent, ctx, read.err)
	}
	settling := map[string]settle{}

	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last []records.ServiceProgress
	// This loop is the heartbeat ticker and the wake-up on changes; the
	// informers do the listing and watching.
	for {
		st := rollout{in: in, pins: read.pins, settling: settling,
			deps: byName[*appsv1.Deployment](deps.GetStore()), daemons: byName[*appsv1.DaemonSet](daemons.GetStore()), pods: byName[*corev1.Pod](pods.GetStore())}
		progress, done, failure := st.evaluate(time.Now())
		if failure != "" {
			return WatchResult{Services: progress}, temporal.NewNonRetryableApplicationError(failure, ErrRolloutFailed, nil)
		}
		if done {
			return WatchResult{Services: progress}, nil
		}
		if !reflect.DeepEqual(progress, last) {
			last = progress
			heartbeat(ctx, progress)
		}
		select {
		case <-changed:
		case <-tick.C:
			heartbeat(ctx, last)
		case <-ctx.Done():
			return WatchResult{}, waitErr(parent, ctx, ctx.Err())
		}
	}
}

// byName indexes an informer's store by object name (its objects are
// shared with the informer: read only).
func byName[T metav1.Object](s cache.Store) map[string]T {
	out := map[string]T{}
	for _, o := range s.List() {
		if t, ok := o.(T); ok {
			out[t.GetName()] = t
		}
	}
	return out
}

// rollout is what the watch knows of the app's workloads and pods.
type rollout struct {
	in      WatchInput
	deps    map[string]*appsv1.Deployment
	daemons map[string]*appsv1.DaemonSet // of agents
	pods    map[string]*corev1.Pod
	pins    releasePins
	// settling is kept from one evaluation to the next (see converged).
	settling map[string]settle
}

// evaluate reports each service's progress, whether all are rolled out, and
// the first reason (in service order) why the rollout cannot succeed.
func (r *rollout) evaluate(now time.Time) ([]records.ServiceProgress, bool, string) {
	allDone := true
	progress := make([]records.ServiceProgress, 0, len(r.in.Services))
	for _, svc := range r.in.Services {
		p := records.ServiceProgress{Name: svc}
		var done bool
		var failure string
		if d := r.deps[svc]; d != nil && d.Spec.Template.Labels[render.LabelRelease] == r.in.Release {
			if d.Spec.Replicas != nil {
				p.Desired = *d.Spec.Replicas
			}
			p.Updated, p.Ready, p.Available = d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas
			done, failure = DeploymentDone(d)
		} else if ds := r.daemons[svc]; ds != nil && ds.Spec.Template.Labels[render.LabelRelease] == r.in.Release {
			st := ds.Status
			p.Desired, p.Updated, p.Ready, p.Available = st.DesiredNumberScheduled, st.UpdatedNumberScheduled, st.NumberReady, st.NumberAvailable
			done = daemonSetDone(ds)
		} else {
			delete(r.settling, svc)
			allDone = false
			progress = append(progress, p)
			continue
		}
		if failure != "" {
			return progress, false, svc + ": " + failure
		}
		if failure := r.podFailure(svc, now); failure != "" {
			return progress, false, failure
		}
		if done {
			// Judged only once the workload has rolled out: until then
			// old pods are expected.
			var failure string
			if p.Waiting, failure = r.converged(svc, now); failure != "" {
				return progress, false, failure
			}
			done = p.Waiting == ""
		} else {
			delete(r.settling, svc)
		}
		p.Done = done
		allDone = allDone && done
		progress = append(progress, p)
	}
	return progress, allDone, ""
}

// DeploymentDone is `kubectl rollout status` for one Deployment: whether
// it is rolled out, and why it never will be when its progress deadline
// has passed. The benchmarks' floor judges rollouts by it too.
func DeploymentDone(d *appsv1.Deployment) (bool, string) {
	if d.Generation > d.Status.ObservedGeneration {
		return false, ""
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			deadline := int32(600) // the API server's default
			if d.Spec.ProgressDeadlineSeconds != nil {
				deadline = *d.Spec.ProgressDeadlineSeconds
			}
			return false, fmt.Sprintf("rollout made no progress within %ds (progress deadline exceeded)", deadline)
		}
	}
	desired := int32(1)
	if d.Spec.Replicas != nil {
		desired = *d.Spec.Replicas
	}
	s := d.Status
	return s.UpdatedReplicas >= desired && s.Replicas <= s.UpdatedReplicas && s.AvailableReplicas >= s.UpdatedReplicas, ""
}

// daemonSetDone is `kubectl rollout status` for one DaemonSet: every node
// that should run it runs the new template, available.
func daemonSetDone(ds *appsv1.DaemonSet) bool {
	s := ds.Status
	return ds.Generation <= s.ObservedGeneration &&
		s.UpdatedNumberScheduled >= s.DesiredNumberScheduled && s.NumberAvailable >= s.DesiredNumberScheduled
}

// podFailure finds a pod of the new release that will not become ready.
// Pods are checked in name order so the reason is stable.
func (r *rollout) podFailure(svc string, now time.Time) string {
	var names []string
	for name, p := range r.pods {
		if p.Labels[render.LabelService] == svc && p.Labels[render.LabelRelease] == r.in.Release && p.DeletionTimestamp == nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		p := r.pods[name]
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && waitingFailures[w.Reason] {
				return fmt.Sprintf("%s: container %s is in %s (pod %s)", svc, cs.Name, w.Reason, name)
			}
			if cs.RestartCount >= maxRestarts && !cs.Ready {
				return fmt.Sprintf("%s: container %s restarted %d times (pod %s)", svc, cs.Name, cs.RestartCount, name)
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable &&
				now.Sub(c.LastTransitionTime.Time) >= r.in.UnschedulableGrace {
				return fmt.Sprintf("%s: pod %s cannot be scheduled for %s: %s", svc, name, r.in.UnschedulableGrace, c.Message)
			}
		}
	}
	return ""
}
