package activities

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

const (
	oldRelease = "RAAAAAAAAAA"
	newRelease = "RBBBBBBBBBB"
)

// rolledOut is a Deployment of service svc whose pod template runs
// release, fully rolled out at `replicas` replicas, as the Deployment
// controller reports it.
func rolledOut(svc, release string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{
		render.LabelApp: testApp, render.LabelService: svc, render.LabelRelease: release, render.LabelManagedBy: "slipway",
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: testNS, Labels: labels, Generation: 2},
		Spec: appsv1.DeploymentSpec{
			Replicas:                ptr.To(replicas),
			ProgressDeadlineSeconds: ptr.To[int32](600),
			Selector:                &metav1.LabelSelector{MatchLabels: map[string]string{render.LabelApp: testApp, render.LabelService: svc}},
			Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}},
		},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 2,
			Replicas:           replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
			},
		},
	}
}

func withStatus(d *appsv1.Deployment, change func(*appsv1.Deployment)) *appsv1.Deployment {
	change(d)
	return d
}

var deadlineExceeded = appsv1.DeploymentCondition{
	Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded",
	Message: `ReplicaSet "web-5d4f" has timed out progressing.`,
}

func TestDeploymentDone(t *testing.T) {
	tests := []struct {
		name    string
		d       *appsv1.Deployment
		done    bool
		failure string
	}{
		{"rolled out", rolledOut("web", newRelease, 3), true, ""},
		{"scaled to zero", rolledOut("web", newRelease, 0), true, ""},
		{"more available than updated", withStatus(rolledOut("web", newRelease, 2), func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 3
		}), true, ""},
		{"new generation not observed yet", withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Generation = 3
		}), false, ""},
		{"observed a newer generation", withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Status.ObservedGeneration = 3
		}), true, ""},
		{"fewer updated than desired", withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas = 2
			d.Status.Replicas, d.Status.AvailableReplicas = 2, 2
		}), false, ""},
		{"old replicas still running", withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Status.Replicas = 4
		}), false, ""},
		{"updated replicas not available yet", withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 2
		}), false, ""},
		{"nil replicas means one", withStatus(rolledOut("web", newRelease, 1), func(d *appsv1.Deployment) {
			d.Spec.Replicas = nil
		}), true, ""},
		{"nil replicas with none updated", withStatus(rolledOut("web", newRelease, 0), func(d *appsv1.Deployment) {
			d.Spec.Replicas = nil
		}), false, ""},
		{"progress deadline exceeded", withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Status.AvailableReplicas = 1
			d.Status.Conditions[1] = deadlineExceeded
		}), false, "rollout made no progress within 600s (progress deadline exceeded)"},
		// As kubectl: the condition belongs to the generation observed; a
		// newer spec (a new rollout) starts over.
		{"deadline exceeded on an older generation", withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Generation = 3
			d.Status.Conditions[1] = deadlineExceeded
		}), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done, failure := DeploymentDone(tt.d)
			if done != tt.done || failure != tt.failure {
				t.Errorf("DeploymentDone = %v, %q, want %v, %q", done, failure, tt.done, tt.failure)
			}
		})
	}
}

// buildOf is the build of a test release, and digestOf the image digest
// its build pins for every service.
func buildOf(release string) string { return "B" + release[1:] }

func digestOf(release string) string {
	return fmt.Sprintf("sha256:%064x", sha256.Sum256([]byte(release)))
}

// watchRecords are the records of the test releases, which the watch reads
// for what they pin.
func watchRecords() []any {
	var out []any
	for _, rel := range []string{oldRelease, newRelease} {
		var images []records.Image
		for _, svc := range []string{"web", "worker", "cron"} {
			images = append(images, records.Image{Service: svc, Ref: "reg:5000/" + testApp + ":" + svc + "." + buildOf(rel), Digest: digestOf(rel)})
		}
		out = append(out, &records.Build{
			TypeMeta:   typeMeta("Build"),
			ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(buildOf(rel)), Namespace: testNS},
			Spec:       records.BuildSpec{ID: buildOf(rel), App: testApp},
			Status:     records.BuildStatus{Status: "complete", Images: images},
		}, &records.Release{
			TypeMeta:   typeMeta("Release"),
			ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(rel), Namespace: testNS},
			Spec:       records.ReleaseSpec{ID: rel, App: testApp, Build: buildOf(rel), Env: records.EnvSecretName(rel)},
		})
	}
	return out
}

// testPins is what watchRecords' newRelease pins.
func testPins() releasePins {
	return releasePins{build: buildOf(newRelease), digests: map[string]string{
		"web": digestOf(newRelease), "worker": digestOf(newRelease), "cron": digestOf(newRelease),
	}}
}

// pod is a running, ready pod of service svc and release, whose container
// runs the image the release pins, as a kubelet reports it.
func pod(name, svc, release string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Labels: map[string]string{
			render.LabelApp: testApp, render.LabelService: svc, render.LabelRelease: release, render.LabelBuild: buildOf(release),
			render.LabelManagedBy: "slipway",
		}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: render.Container, Ready: true,
				Image:   "reg:5000/" + testApp + ":" + svc + "." + buildOf(release) + "@" + digestOf(release),
				ImageID: "reg:5000/" + testApp + "@" + digestOf(release),
				State:   corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			}},
		},
	}
}

func waiting(p *corev1.Pod, reason string) *corev1.Pod {
	p.Status.ContainerStatuses[0].Ready = false
	p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "back-off"}}
	return p
}

func restarted(p *corev1.Pod, count int32, ready bool) *corev1.Pod {
	p.Status.ContainerStatuses[0].RestartCount = count
	p.Status.ContainerStatuses[0].Ready = ready
	return p
}

func unschedulable(p *corev1.Pod, since time.Time) *corev1.Pod {
	p.Status.Phase = corev1.PodPending
	p.Status.ContainerStatuses = nil
	p.Status.Conditions = []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
		Message: "0/1 nodes are available: 1 Insufficient cpu.", LastTransitionTime: metav1.NewTime(since),
	}}
	return p
}

func newRollout(services []string, deps []*appsv1.Deployment, pods []*corev1.Pod) *rollout {
	r := &rollout{
		in:       WatchInput{App: testApp, Release: newRelease, Services: services, UnschedulableGrace: 30 * time.Second, ConvergeGrace: 10 * time.Second},
		deps:     map[string]*appsv1.Deployment{},
		pods:     map[string]*corev1.Pod{},
		pins:     testPins(),
		settling: map[string]settle{},
	}
	for _, d := range deps {
		r.deps[d.Name] = d
	}
	for _, p := range pods {
		r.pods[p.Name] = p
	}
	return r
}

func TestRolloutEvaluate(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	both := []string{"web", "worker"}
	healthy := func() []*appsv1.Deployment {
		return []*appsv1.Deployment{rolledOut("web", newRelease, 2), rolledOut("worker", newRelease, 1)}
	}
	type test struct {
		name     string
		services []string
		deps     []*appsv1.Deployment
		pods     []*corev1.Pod
		done     bool
		failure  string
		// waiting is what the services wait for once rolled out, as
		// "service: what" joined by "; ".
		waiting string
	}
	tests := []test{
		{name: "every service rolled out", services: both, deps: healthy(),
			pods: []*corev1.Pod{pod("web-a", "web", newRelease), pod("web-b", "web", newRelease), pod("worker-a", "worker", newRelease)},
			done: true},
		{name: "no Deployment yet", services: both, deps: healthy()[:1]},
		{name: "Deployment still runs the old release", services: both, deps: []*appsv1.Deployment{
			rolledOut("web", newRelease, 2), rolledOut("worker", oldRelease, 1),
		}},
		{name: "one service still rolling", services: both, deps: []*appsv1.Deployment{
			rolledOut("web", newRelease, 2),
			withStatus(rolledOut("worker", newRelease, 1), func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 0 }),
		}},
		{name: "progress deadline exceeded", services: both, deps: []*appsv1.Deployment{
			rolledOut("web", newRelease, 2),
			withStatus(rolledOut("worker", newRelease, 1), func(d *appsv1.Deployment) { d.Status.Conditions[1] = deadlineExceeded }),
		}, failure: "worker: rollout made no progress within 600s (progress deadline exceeded)"},
		{name: "waiting init container", services: both, deps: healthy(), pods: []*corev1.Pod{func() *corev1.Pod {
			p := pod("web-a", "web", newRelease)
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", State: corev1.ContainerState{
				Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"},
			}}}
			return p
		}()}, failure: "web: container migrate is in CrashLoopBackOff (pod web-a)"},
		{name: "transient waiting reason", services: both, deps: healthy(),
			pods: []*corev1.Pod{waiting(pod("web-a", "web", newRelease), "ContainerCreating")}, done: true},
		{name: "restarted three times and not ready", services: both, deps: healthy(),
			pods:    []*corev1.Pod{restarted(pod("web-a", "web", newRelease), 3, false)},
			failure: "web: container main restarted 3 times (pod web-a)"},
		{name: "restarted three times but ready", services: both, deps: healthy(),
			pods: []*corev1.Pod{restarted(pod("web-a", "web", newRelease), 3, true)}, done: true},
		{name: "restarted twice and not ready", services: both, deps: healthy(),
			pods: []*corev1.Pod{restarted(pod("web-a", "web", newRelease), 2, false)}, done: true},
		// Another release's pod never fails the rollout; but while it
		// stays, the service has not converged.
		{name: "restarting pod of another release", services: both, deps: healthy(),
			pods:    []*corev1.Pod{restarted(pod("web-a", "web", oldRelease), 5, false)},
			waiting: "web: pod web-a of release " + oldRelease + " remains beside release " + newRelease},
		{name: "unschedulable past the grace", services: both, deps: healthy(),
			pods:    []*corev1.Pod{unschedulable(pod("web-a", "web", newRelease), now.Add(-31*time.Second))},
			failure: "web: pod web-a cannot be scheduled for 30s: 0/1 nodes are available: 1 Insufficient cpu."},
		{name: "unschedulable for exactly the grace", services: both, deps: healthy(),
			pods:    []*corev1.Pod{unschedulable(pod("web-a", "web", newRelease), now.Add(-30*time.Second))},
			failure: "web: pod web-a cannot be scheduled for 30s: 0/1 nodes are available: 1 Insufficient cpu."},
		{name: "unschedulable within the grace", services: both, deps: []*appsv1.Deployment{
			withStatus(rolledOut("web", newRelease, 2), func(d *appsv1.Deployment) { d.Status.AvailableReplicas = 1 }),
			rolledOut("worker", newRelease, 1),
		}, pods: []*corev1.Pod{unschedulable(pod("web-a", "web", newRelease), now.Add(-10*time.Second))}},
		{name: "unschedulable pod of another release", services: both, deps: healthy(),
			pods:    []*corev1.Pod{unschedulable(pod("web-a", "web", oldRelease), now.Add(-time.Hour))},
			waiting: "web: pod web-a of release " + oldRelease + " remains beside release " + newRelease},
		{name: "crash-looping pod being deleted", services: both, deps: healthy(), pods: []*corev1.Pod{func() *corev1.Pod {
			p := waiting(pod("web-a", "web", newRelease), "CrashLoopBackOff")
			p.DeletionTimestamp = ptr.To(metav1.NewTime(now))
			return p
		}()}, done: true},
		{name: "crash-looping pod of a service not watched", services: []string{"web"}, deps: healthy(),
			pods: []*corev1.Pod{waiting(pod("worker-a", "worker", newRelease), "CrashLoopBackOff")}, done: true},
		{name: "failures reported in service order", services: []string{"worker", "web"}, deps: healthy(), pods: []*corev1.Pod{
			waiting(pod("web-a", "web", newRelease), "ImagePullBackOff"),
			waiting(pod("worker-a", "worker", newRelease), "CrashLoopBackOff"),
		}, failure: "worker: container main is in CrashLoopBackOff (pod worker-a)"},
	}
	for _, reason := range []string{"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName"} {
		tests = append(tests, test{
			name: reason, services: both, deps: healthy(),
			pods:    []*corev1.Pod{pod("web-a", "web", newRelease), waiting(pod("web-b", "web", newRelease), reason)},
			failure: fmt.Sprintf("web: container main is in %s (pod web-b)", reason),
		}, test{
			name: reason + " of another release", services: both, deps: healthy(),
			pods:    []*corev1.Pod{pod("web-a", "web", newRelease), waiting(pod("web-b", "web", oldRelease), reason)},
			waiting: "web: pod web-b of release " + oldRelease + " remains beside release " + newRelease,
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRollout(tt.services, tt.deps, tt.pods)
			progress, done, failure := r.evaluate(now)
			if done != tt.done || failure != tt.failure {
				t.Errorf("evaluate = done %v, failure %q; want %v, %q", done, failure, tt.done, tt.failure)
			}
			if tt.failure != "" {
				return
			}
			var names, waits []string
			allDone := true
			for _, p := range progress {
				names = append(names, p.Name)
				allDone = allDone && p.Done
				if p.Waiting != "" {
					waits = append(waits, p.Name+": "+p.Waiting)
				}
			}
			if got := strings.Join(waits, "; "); got != tt.waiting {
				t.Errorf("waiting %q, want %q", got, tt.waiting)
			}
			if !reflect.DeepEqual(names, tt.services) {
				t.Errorf("progress of %v, want %v in input order", names, tt.services)
			}
			if allDone != tt.done {
				t.Errorf("every service's progress done = %v, want %v: %+v", allDone, tt.done, progress)
			}
		})
	}
}

func TestRolloutEvaluateProgress(t *testing.T) {
	r := newRollout([]string{"worker", "web", "cron"}, []*appsv1.Deployment{
		withStatus(rolledOut("web", newRelease, 3), func(d *appsv1.Deployment) {
			d.Status.UpdatedReplicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas = 2, 1, 1
			d.Status.Replicas = 4
		}),
		rolledOut("worker", newRelease, 1),
		rolledOut("cron", oldRelease, 1),
	}, nil)
	progress, done, failure := r.evaluate(time.Now())
	if done || failure != "" {
		t.Errorf("done %v, failure %q; want a rollout in progress", done, failure)
	}
	want := []records.ServiceProgress{
		{Name: "worker", Desired: 1, Updated: 1, Ready: 1, Available: 1, Done: true},
		{Name: "web", Desired: 3, Updated: 2, Ready: 1, Available: 1},
		{Name: "cron"}, // its Deployment runs another release: nothing of ours to count
	}
	if !reflect.DeepEqual(progress, want) {
		t.Errorf("progress =\n%+v\nwant\n%+v", progress, want)
	}
}

// With several failing pods the reason names the first by name, whatever
// the map order.
func TestRolloutEvaluateStableFailure(t *testing.T) {
	var pods []*corev1.Pod
	for _, c := range "hgfedcba" {
		pods = append(pods, waiting(pod("web-"+string(c), "web", newRelease), "ImagePullBackOff"))
	}
	pods[len(pods)-1] = waiting(pod("web-a", "web", newRelease), "CrashLoopBackOff")
	r := newRollout([]string{"web"}, []*appsv1.Deployment{rolledOut("web", newRelease, 8)}, pods)
	want := "web: container main is in CrashLoopBackOff (pod web-a)"
	for i := range 50 {
		if _, _, failure := r.evaluate(time.Now()); failure != want {
			t.Fatalf("evaluation %d: failure %q, want %q", i, failure, want)
		}
	}
}
