package activities

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

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
// `kubectl rollout status` decides it, or fails as soon as one cannot. It
// watches Deployments and pods (no polling); its state is rebuilt from the
// cluster on every start, so a retry on another worker simply resumes. Its
// heartbeat carries the progress, which is how the CLI and the Temporal UI
// see a rollout live without a history event per change; it heartbeats at
// least twice a second, so cancellation (a rollback) reaches it quickly.
func (a *Activities) WatchRollout(ctx context.Context, in WatchInput) (WatchResult, error) {
	if in.UnschedulableGrace == 0 {
		in.UnschedulableGrace = 30 * time.Second
	}
	core := a.Store.Core
	ns := a.Store.Namespace(in.App)
	sel := metav1.ListOptions{LabelSelector: render.LabelApp + "=" + in.App}
	var last []records.ServiceProgress
	for {
		deps, err := core.AppsV1().Deployments(ns).List(ctx, sel)
		if err != nil {
			return WatchResult{}, err
		}
		pods, err := core.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			return WatchResult{}, err
		}
		st := rollout{in: in, deps: map[string]*appsv1.Deployment{}, pods: map[string]*corev1.Pod{}}
		for i := range deps.Items {
			st.deps[deps.Items[i].Name] = &deps.Items[i]
		}
		for i := range pods.Items {
			st.pods[pods.Items[i].Name] = &pods.Items[i]
		}
		dopts, popts := sel, sel
		dopts.ResourceVersion, popts.ResourceVersion = deps.ResourceVersion, pods.ResourceVersion
		dw, err := core.AppsV1().Deployments(ns).Watch(ctx, dopts)
		if err != nil {
			return WatchResult{}, err
		}
		pw, err := core.CoreV1().Pods(ns).Watch(ctx, popts)
		if err != nil {
			dw.Stop()
			return WatchResult{}, err
		}
		res, err, relist := func() (WatchResult, error, bool) {
			defer dw.Stop()
			defer pw.Stop()
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				progress, done, failure := st.evaluate(time.Now())
				if failure != "" {
					return WatchResult{Services: progress}, temporal.NewNonRetryableApplicationError(failure, ErrRolloutFailed, nil), false
				}
				if done {
					return WatchResult{Services: progress}, nil, false
				}
				if !reflect.DeepEqual(progress, last) {
					last = progress
					activity.RecordHeartbeat(ctx, progress)
				}
				select {
				case ev, ok := <-dw.ResultChan():
					if !ok || ev.Type == watch.Error {
						return WatchResult{}, nil, true
					}
					if d, ok := ev.Object.(*appsv1.Deployment); ok {
						if ev.Type == watch.Deleted {
							delete(st.deps, d.Name)
						} else {
							st.deps[d.Name] = d
						}
					}
				case ev, ok := <-pw.ResultChan():
					if !ok || ev.Type == watch.Error {
						return WatchResult{}, nil, true
					}
					if p, ok := ev.Object.(*corev1.Pod); ok {
						if ev.Type == watch.Deleted {
							delete(st.pods, p.Name)
						} else {
							st.pods[p.Name] = p
						}
					}
				case <-tick.C:
					activity.RecordHeartbeat(ctx, last)
				case <-ctx.Done():
					return WatchResult{}, ctx.Err(), false
				}
			}
		}()
		if !relist {
			return res, err
		}
	}
}

// rollout is what the watch knows of the app's Deployments and pods.
type rollout struct {
	in   WatchInput
	deps map[string]*appsv1.Deployment
	pods map[string]*corev1.Pod
}

// evaluate reports each service's progress, whether all are rolled out, and
// the first reason (in service order) why the rollout cannot succeed.
func (r *rollout) evaluate(now time.Time) ([]records.ServiceProgress, bool, string) {
	allDone := true
	progress := make([]records.ServiceProgress, 0, len(r.in.Services))
	for _, svc := range r.in.Services {
		p := records.ServiceProgress{Name: svc}
		d := r.deps[svc]
		if d == nil || d.Spec.Template.Labels[render.LabelRelease] != r.in.Release {
			allDone = false
			progress = append(progress, p)
			continue
		}
		if d.Spec.Replicas != nil {
			p.Desired = *d.Spec.Replicas
		}
		p.Updated, p.Ready, p.Available = d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas
		done, failure := deploymentDone(d)
		if failure != "" {
			return progress, false, svc + ": " + failure
		}
		if failure := r.podFailure(svc, now); failure != "" {
			return progress, false, failure
		}
		p.Done = done
		allDone = allDone && done
		progress = append(progress, p)
	}
	return progress, allDone, ""
}

// deploymentDone is `kubectl rollout status` for one Deployment.
func deploymentDone(d *appsv1.Deployment) (bool, string) {
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
