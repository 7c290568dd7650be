package activities

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/render"
)

func TestImageDigest(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for imageID, want := range map[string]string{
		"127.0.0.1:5000/myapp@" + d:       d, // containerd, CRI-O
		"docker.io/library/nginx@" + d:    d,
		"docker-pullable://nginx@" + d:    d, // dockershim
		d:                                 d, // an image without a repository digest
		"docker://" + d:                   d,
		"":                                "", // not started
		"127.0.0.1:5000/myapp:web":        "",
		"reg:5000/a/b:tag@sha256:aa@" + d: d,
		"reg:5000/myapp@sha512:" + strings.Repeat("ab", 64): "sha512:" + strings.Repeat("ab", 64),
	} {
		if got := imageDigest(imageID); got != want {
			t.Errorf("imageDigest(%q) = %q, want %q", imageID, got, want)
		}
	}
}

// converging is a rollout of web whose Deployment has rolled out, judged
// at successive times.
type converging struct {
	t   *testing.T
	r   *rollout
	at  time.Time
	dep *appsv1.Deployment
}

func newConverging(t *testing.T, pods ...*corev1.Pod) *converging {
	d := rolledOut("web", newRelease, 2)
	return &converging{t: t, r: newRollout([]string{"web"}, []*appsv1.Deployment{d}, pods), dep: d,
		at: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// after evaluates d after the last evaluation and checks web's waiting
// note (or the rollout's failure, which then is its whole reason).
func (c *converging) after(d time.Duration, waiting, failure string) {
	c.t.Helper()
	c.at = c.at.Add(d)
	progress, done, got := c.r.evaluate(c.at)
	if got != failure {
		c.t.Fatalf("at +%s: failure %q, want %q", c.at.Sub(c.start()), got, failure)
	}
	if failure != "" {
		return
	}
	if len(progress) != 1 || progress[0].Waiting != waiting {
		c.t.Fatalf("at +%s: progress %+v, want web waiting %q", c.at.Sub(c.start()), progress, waiting)
	}
	wantDone := waiting == "" && progress[0].Desired == progress[0].Available
	if done != wantDone || progress[0].Done != wantDone {
		c.t.Fatalf("at +%s: done %v (web %v), want %v", c.at.Sub(c.start()), done, progress[0].Done, wantDone)
	}
}

func (c *converging) start() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }

func (c *converging) set(p *corev1.Pod)  { c.r.pods[p.Name] = p }
func (c *converging) remove(name string) { delete(c.r.pods, name) }

func withImageID(p *corev1.Pod, imageID string) *corev1.Pod {
	p.Status.ContainerStatuses[0].ImageID = imageID
	return p
}

func deleting(p *corev1.Pod) *corev1.Pod {
	p.DeletionTimestamp = ptr.To(metav1.Now())
	return p
}

const otherDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func TestConvergeMatchingPodsAreDone(t *testing.T) {
	c := newConverging(t, pod("web-a", "web", newRelease), pod("web-b", "web", newRelease))
	c.after(0, "", "")
}

func TestConvergeAnotherDigestFails(t *testing.T) {
	c := newConverging(t, pod("web-a", "web", newRelease), withImageID(pod("web-b", "web", newRelease), "reg:5000/myapp@"+otherDigest))
	what := "pod web-b runs " + otherDigest + " but release " + newRelease + " pins " + digestOf(newRelease)
	c.after(0, what, "")
	c.after(9*time.Second, what, "")
	c.after(time.Second, "", "web: "+what)
}

func TestConvergeWaitsForADigest(t *testing.T) {
	c := newConverging(t, pod("web-a", "web", newRelease), withImageID(pod("web-b", "web", newRelease), ""))
	c.after(0, "pod web-b reports no image digest yet but release "+newRelease+" pins "+digestOf(newRelease), "")
	c.set(pod("web-b", "web", newRelease)) // the pods' watch catches up
	c.after(200*time.Millisecond, "", "")
}

func TestConvergeLeftoverPodWaitsThenFails(t *testing.T) {
	what := "pod web-old of release " + oldRelease + " remains beside release " + newRelease
	t.Run("goes", func(t *testing.T) {
		c := newConverging(t, pod("web-a", "web", newRelease), pod("web-old", "web", oldRelease))
		c.after(0, what, "")
		c.after(5*time.Second, what, "")
		c.remove("web-old")
		c.after(time.Second, "", "")
	})
	t.Run("stays", func(t *testing.T) {
		c := newConverging(t, pod("web-a", "web", newRelease), pod("web-old", "web", oldRelease))
		c.after(0, what, "")
		c.after(9999*time.Millisecond, what, "")
		c.after(time.Millisecond, "", "web: "+what)
	})
	t.Run("no release label", func(t *testing.T) {
		p := pod("web-x", "web", newRelease)
		delete(p.Labels, render.LabelRelease)
		c := newConverging(t, pod("web-a", "web", newRelease), p)
		c.after(0, "pod web-x of no release remains beside release "+newRelease, "")
		c.after(10*time.Second, "", "web: pod web-x of no release remains beside release "+newRelease)
	})
	t.Run("another build", func(t *testing.T) {
		p := pod("web-x", "web", newRelease)
		p.Labels[render.LabelBuild] = "BOTHER"
		c := newConverging(t, p)
		c.after(10*time.Second, `pod web-x carries build "BOTHER" but release `+newRelease+" is of build "+buildOf(newRelease), "")
	})
}

// A terminating pod is out of the Service's endpoints and going: it is
// never waited for, and never a failure, whatever it runs.
func TestConvergeTerminatingPods(t *testing.T) {
	t.Run("of another release", func(t *testing.T) {
		c := newConverging(t, pod("web-a", "web", newRelease), deleting(pod("web-old", "web", oldRelease)))
		c.after(0, "", "")
		c.after(time.Minute, "", "")
	})
	t.Run("its digest does not count", func(t *testing.T) {
		c := newConverging(t, pod("web-a", "web", newRelease),
			deleting(withImageID(pod("web-b", "web", newRelease), "reg:5000/myapp@"+otherDigest)))
		c.after(0, "", "")
		c.after(time.Minute, "", "")
	})
	// A pod that differs beside it is still reported, with its grace.
	t.Run("beside a mismatch", func(t *testing.T) {
		c := newConverging(t, pod("web-a", "web", newRelease), deleting(pod("web-b", "web", oldRelease)),
			pod("web-c", "web", oldRelease))
		what := "pod web-c of release " + oldRelease + " remains beside release " + newRelease
		c.after(0, what, "")
		c.after(9*time.Second, what, "")
		c.after(time.Second, "", "web: "+what)
	})
}

func TestConvergeIgnoresPodsNotTheServices(t *testing.T) {
	oneOff := pod("web-run-abc", "web", oldRelease)
	delete(oneOff.Labels, render.LabelService)
	oneOff.Labels[render.LabelRun] = "web"
	// Both labels: still a one-off, whatever else it carries.
	both := withImageID(pod("web-run-def", "web", oldRelease), "reg:5000/myapp@"+otherDigest)
	both.Labels[render.LabelRun] = "web"
	evicted := pod("web-evicted", "web", oldRelease)
	evicted.Status.Phase = corev1.PodFailed
	completed := pod("web-done", "web", oldRelease)
	completed.Status.Phase = corev1.PodSucceeded
	c := newConverging(t, pod("web-a", "web", newRelease), oneOff, both, evicted, completed,
		pod("worker-old", "worker", oldRelease)) // another service's
	c.after(0, "", "")
	c.after(time.Minute, "", "")
}

// Until the Deployment has rolled out old pods are expected: nothing is
// judged, and the grace starts over once it has.
func TestConvergeJudgesOnlyRolledOutWorkloads(t *testing.T) {
	what := "pod web-old of release " + oldRelease + " remains beside release " + newRelease
	c := newConverging(t, pod("web-a", "web", newRelease), pod("web-old", "web", oldRelease))
	c.after(0, what, "")
	c.dep.Status.AvailableReplicas = 1 // a pod went: rolling again
	c.after(8*time.Second, "", "")
	c.dep.Status.AvailableReplicas = 2
	c.after(8*time.Second, what, "")
	c.after(9*time.Second, what, "")
	c.after(time.Second, "", "web: "+what)
}

// A service whose build recorded no digest (an image by tag) is judged by
// its labels only.
func TestConvergeUnpinnedService(t *testing.T) {
	c := newConverging(t, withImageID(pod("web-a", "web", newRelease), ""), withImageID(pod("web-b", "web", newRelease), "busybox@"+otherDigest))
	delete(c.r.pins.digests, "web")
	c.after(0, "", "")
}

// An agent's DaemonSet is judged as a Deployment is.
func TestConvergeDaemonSet(t *testing.T) {
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: testNS, Generation: 1},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{
			Labels: map[string]string{render.LabelRelease: newRelease},
		}}},
		Status: appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: 1, UpdatedNumberScheduled: 1, NumberReady: 1, NumberAvailable: 1},
	}
	r := newRollout([]string{"agent"}, nil, []*corev1.Pod{withImageID(pod("agent-a", "agent", newRelease), "reg:5000/myapp@"+otherDigest)})
	r.daemons = map[string]*appsv1.DaemonSet{"agent": ds}
	r.pins.digests["agent"] = digestOf(newRelease)
	now := time.Now()
	progress, done, failure := r.evaluate(now)
	want := "pod agent-a runs " + otherDigest + " but release " + newRelease + " pins " + digestOf(newRelease)
	if done || failure != "" || len(progress) != 1 || progress[0].Waiting != want {
		t.Fatalf("evaluate = %+v, %v, %q; want agent waiting %q", progress, done, failure, want)
	}
	if _, _, failure := r.evaluate(now.Add(10 * time.Second)); failure != "agent: "+want {
		t.Fatalf("failure %q, want %q", failure, "agent: "+want)
	}
}
