package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

var eventLine = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ system/k8s/\S+ .+$`)

// checkPromoteOutput checks Convox's promote output: the header, event
// lines only, the app's status changes among them, then OK.
func checkPromoteOutput(t *testing.T, out, header string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 3 || lines[0] != header || lines[len(lines)-1] != "OK" {
		t.Fatalf("promote printed:\n%s", out)
	}
	for _, l := range lines[1 : len(lines)-1] {
		if !eventLine.MatchString(l) {
			t.Errorf("not an event line: %q", l)
		}
	}
	for _, want := range []string{"system/k8s/atom/app Status: Running => Pending", "system/k8s/atom/app Status: Updating => Running", "Scaled up replica set web-"} {
		if !strings.Contains(out, want) {
			t.Errorf("promote output lacks %q:\n%s", want, out)
		}
	}
}

// deployed returns the release each service's Deployment runs and whether
// all its replicas are available.
func deployed(t *testing.T, s *testsuite.Stack, app, service string) (string, bool) {
	t.Helper()
	d, err := s.Kube.AppsV1().Deployments(s.Store.Namespace(app)).Get(context.Background(), service, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d.Spec.Template.Labels[render.LabelRelease], d.Spec.Replicas != nil && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.UpdatedReplicas == *d.Spec.Replicas
}

func activeRelease(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	a, err := s.Store.GetApp(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	return a.Status.Release
}

// deployGood makes an app whose newest release is active and healthy.
func deployGood(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	newApp(t, s, app)
	rel := releaseOf(t, s.MustCLI(t, "build", example(t, s), "-a", app, "-d", "good"))
	s.MustCLI(t, "releases", "promote", rel, "-a", app)
	return rel
}

// The seed's promote and rollback sequence, printed as `convox releases
// promote` and `convox releases rollback` print it.
func TestPromoteAndRollback(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "seedp")
	first := releaseOf(t, s.MustCLI(t, "build", example(t, s), "-a", "seedp", "-d", "first"))
	out := s.MustCLI(t, "releases", "promote", first, "-a", "seedp")
	checkPromoteOutput(t, out, "Promoting "+first+"...")

	second := releaseOf(t, s.MustCLI(t, "env", "set", "FOO=bar", "-a", "seedp"))
	checkPromoteOutput(t, s.MustCLI(t, "releases", "promote", "-a", "seedp"), "Promoting "+second+"...")
	if rel, ok := deployed(t, s, "seedp", "web"); rel != second || !ok {
		t.Fatalf("web runs %s (available %v), want %s", rel, ok, second)
	}
	table := s.MustCLI(t, "releases", "-a", "seedp")
	if !regexp.MustCompile(`(?m)^` + second + `  active  `).MatchString(table) {
		t.Fatalf("releases does not show %s active:\n%s", second, table)
	}

	out = s.MustCLI(t, "releases", "rollback", first, "-a", "seedp")
	// The copy is the release the rollback made: the newest on the chain,
	// read from the records, not from what the command printed.
	rs := releases(t, s, "seedp")
	if len(rs) != 3 || rs[1] != second || rs[2] != first {
		t.Fatalf("releases after the rollback %v, want a new one on top of %s and %s", rs, second, first)
	}
	copy := rs[0]
	checkPromoteOutput(t, out, "Rolling back to "+first+"... OK, "+copy)
	if got := activeRelease(t, s, "seedp"); got != copy {
		t.Fatalf("active release %s, want the copy %s", got, copy)
	}
	info := s.MustCLI(t, "releases", "info", copy, "-a", "seedp")
	if !strings.Contains(info, "Description  rollback to "+first+"\n") || strings.Contains(info, "FOO=bar") {
		t.Fatalf("the rollback release is not a copy of %s:\n%s", first, info)
	}
	if rel, ok := deployed(t, s, "seedp", "web"); rel != copy || !ok {
		t.Fatalf("web runs %s (available %v), want %s", rel, ok, copy)
	}
}

// A failing release is rolled back on its own, fast, with its reason; the
// previous release keeps serving.
func TestFailingReleasesRollBack(t *testing.T) {
	s := testsuite.Get(t)
	for _, c := range []struct {
		app, simulate, reason string
		args                  []string
	}{
		{"crashy", "crashloop", `^ERROR: rollback: web: container main is in CrashLoopBackOff \(pod web-[a-z0-9]+-[a-z0-9]+\)$`, nil},
		{"pully", "imagepull", `^ERROR: rollback: web: container main is in ImagePullBackOff \(pod web-[a-z0-9]+-[a-z0-9]+\)$`, nil},
		{"lazy", "unready", `^ERROR: rollback: timeout: not rolled out within 3s$`, []string{"--timeout", "3s"}},
	} {
		t.Run(c.simulate, func(t *testing.T) {
			good := deployGood(t, s, c.app)
			bad := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE="+c.simulate, "-a", c.app))
			failed := watchFirstFailure(t, s, c.app, bad)
			rolledBack := watchStatus(t, s, c.app, "Updating => Rollback")

			r := s.CLI(t, append([]string{"releases", "promote", bad, "-a", c.app}, c.args...)...)
			if r.Code != 1 || !regexp.MustCompile(c.reason).MatchString(strings.TrimSpace(r.Stderr)) {
				t.Fatalf("exit %d, stderr %q, want %s", r.Code, r.Stderr, c.reason)
			}
			if got := activeRelease(t, s, c.app); got != good {
				t.Fatalf("active release %s, want %s", got, good)
			}
			if rel, ok := deployed(t, s, c.app, "web"); rel != good || !ok {
				t.Fatalf("web runs %s (available %v), want %s serving", rel, ok, good)
			}
			if c.simulate != "unready" {
				failedAt, rolledBackAt := await(t, failed).At, await(t, rolledBack).At
				if d := rolledBackAt.Sub(failedAt); d > 5*time.Second {
					t.Fatalf("rollback began %s after the first %s status, want within 5s", d, c.simulate)
				}
			}
			ps, err := s.Store.ListPromotions(context.Background(), c.app)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) == 0 {
				t.Fatalf("%s has no promotion records", c.app)
			}
			if ps[0].Spec.Release != bad || ps[0].Status.Result != model.ResultRolledBack || ps[0].Status.Reason == "" {
				t.Fatalf("newest promotion record: %+v", ps[0])
			}
		})
	}
}

// watchFirstFailure sees when a pod of the release first shows a waiting
// reason (within a minute of now).
func watchFirstFailure(t *testing.T, s *testsuite.Stack, app, release string) <-chan sighting[*corev1.Pod] {
	t.Helper()
	pods := s.Kube.CoreV1().Pods(s.Store.Namespace(app))
	return watchFor(t, "a waiting pod of "+release, time.Minute, listWatch(render.LabelRelease+"="+release, pods.List, pods.Watch), &corev1.Pod{},
		func(_ watch.EventType, p *corev1.Pod) (bool, string) {
			for _, cs := range p.Status.ContainerStatuses {
				if cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
					return true, fmt.Sprintf("pod %s: container %s waiting: %s", p.Name, cs.Name, cs.State.Waiting.Reason)
				}
			}
			return false, fmt.Sprintf("pod %s: phase %q, no container waiting", p.Name, p.Status.Phase)
		})
}

// watchStatus sees when the app's status event with msg appears (within
// a minute of now).
func watchStatus(t *testing.T, s *testsuite.Stack, app, msg string) <-chan sighting[*corev1.Event] {
	t.Helper()
	events := s.Kube.CoreV1().Events(s.Store.Namespace(app))
	return watchFor(t, fmt.Sprintf("status event %q of %s", msg, app), time.Minute, listWatch("", events.List, events.Watch), &corev1.Event{},
		func(_ watch.EventType, e *corev1.Event) (bool, string) {
			return e.Reason == "Status" && e.Message == msg, fmt.Sprintf("event %s: %s", e.Reason, e.Message)
		})
}

// startPromote runs `releases promote` in the background and returns once
// the promotion is rolling out.
func startPromote(t *testing.T, s *testsuite.Stack, app, release string) <-chan testsuite.Outcome {
	t.Helper()
	rolling := watchPhase(t, s, app, release, model.PhaseRollingOut)
	done := s.Background("releases", "promote", release, "-a", app)
	await(t, rolling)
	return done
}

// watchPromotion watches the app's promotion records (within 30 s of
// now) until match holds for one.
func watchPromotion(t *testing.T, s *testsuite.Stack, app, what string, match func(*records.Promotion) bool) <-chan sighting[*unstructured.Unstructured] {
	t.Helper()
	promotions := s.Dynamic.Resource(records.PromotionResource).Namespace(s.Store.Namespace(app))
	return watchFor(t, what, 30*time.Second, listWatch("", promotions.List, promotions.Watch), &unstructured.Unstructured{},
		func(_ watch.EventType, u *unstructured.Unstructured) (bool, string) {
			var p records.Promotion
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &p); err != nil {
				return false, fmt.Sprintf("promotion %s unreadable: %v", u.GetName(), err)
			}
			return match(&p), fmt.Sprintf("promotion %s of %s: phase %q, result %q", p.Spec.ID, p.Spec.Release, p.Status.Phase, p.Status.Result)
		})
}

// watchPhase sees when a promotion of release is in phase.
func watchPhase(t *testing.T, s *testsuite.Stack, app, release, phase string) <-chan sighting[*unstructured.Unstructured] {
	t.Helper()
	return watchPromotion(t, s, app, fmt.Sprintf("promotion of %s in phase %q", release, phase), func(p *records.Promotion) bool {
		return p.Spec.Release == release && p.Status.Phase == phase
	})
}

func deployments(t *testing.T, s *testsuite.Stack, app string) []appsv1.Deployment {
	t.Helper()
	l, err := s.Kube.AppsV1().Deployments(s.Store.Namespace(app)).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// Pause has stopped the Deployments by the time it prints OK; resume
// finishes the promotion; cancel goes back to the previous release. How
// fast pause and cancel act is measured by BenchmarkControl in
// testsuite/bench, not bounded here: a wall-clock bound on a shared machine
// fails on load, not on slipway.
func TestPauseResumeCancel(t *testing.T) {
	s := testsuite.Get(t)
	good := deployGood(t, s, "pausy")
	slow := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow", "-a", "pausy"))
	done := startPromote(t, s, "pausy", slow)

	if out := s.MustCLI(t, "promotions", "pause", "-a", "pausy"); out != "Pausing promotion of pausy to "+slow+"... OK\n" {
		t.Fatalf("pause printed %q", out)
	}
	for _, d := range deployments(t, s, "pausy") {
		if !d.Spec.Paused {
			t.Fatalf("deployment %s is not paused after `promotions pause` printed OK", d.Name)
		}
	}
	if info := s.MustCLI(t, "promotions", "info", "-a", "pausy"); !strings.Contains(info, "Phase     paused\n") {
		t.Fatalf("promotions info while paused:\n%s", info)
	}
	s.MustCLI(t, "promotions", "resume", "-a", "pausy")
	if r := testsuite.Wait(t, done); r.Code != 0 || !strings.HasSuffix(r.Stdout, "OK\n") {
		t.Fatalf("promote after resume: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := activeRelease(t, s, "pausy"); got != slow {
		t.Fatalf("active %s, want %s", got, slow)
	}

	slower := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow", "X=1", "-a", "pausy"))
	done = startPromote(t, s, "pausy", slower)
	s.MustCLI(t, "apps", "cancel", "-a", "pausy")
	if r := testsuite.Wait(t, done); r.Code != 1 || !strings.Contains(r.Stderr, "rollback requested") {
		t.Fatalf("cancelled promote: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if got := activeRelease(t, s, "pausy"); got != slow {
		t.Fatalf("active %s after cancel, want %s (not %s)", got, slow, good)
	}
	if rel, ok := deployed(t, s, "pausy", "web"); rel != slow || !ok {
		t.Fatalf("web runs %s (available %v) after cancel, want %s", rel, ok, slow)
	}
	if r := s.CLI(t, "promotions", "pause", "-a", "pausy"); r.Code != 1 || r.Stderr != "ERROR: app is not updating\n" {
		t.Fatalf("pause with nothing in flight: exit %d, stderr %q", r.Code, r.Stderr)
	}
}

// A second promotion while one is in flight is refused and changes nothing.
func TestSecondPromotionRefused(t *testing.T) {
	s := testsuite.Get(t)
	deployGood(t, s, "locky")
	slow := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow", "-a", "locky"))
	other := releaseOf(t, s.MustCLI(t, "env", "set", "OTHER=1", "-a", "locky"))
	done := startPromote(t, s, "locky", slow)
	before, err := s.Store.ListPromotions(context.Background(), "locky")
	if err != nil {
		t.Fatal(err)
	}
	r := s.CLI(t, "releases", "promote", other, "-a", "locky")
	if r.Code != 1 || r.Stderr != "ERROR: app is currently updating\n" {
		t.Fatalf("second promote: exit %d, stderr %q", r.Code, r.Stderr)
	}
	after, err := s.Store.ListPromotions(context.Background(), "locky")
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 {
		t.Fatal("no record of the promotion in flight")
	}
	if len(after) != len(before) {
		t.Fatalf("the refused promotion left a record: %d before, %d after", len(before), len(after))
	}
	if r := testsuite.Wait(t, done); r.Code != 0 {
		t.Fatalf("first promote: exit %d\n%s", r.Code, r.Stderr)
	}
	if got := activeRelease(t, s, "locky"); got != slow {
		t.Fatalf("active %s, want %s", got, slow)
	}
}

// A worker killed mid-rollout: a new worker finishes the same promotion.
func TestPromotionSurvivesWorkerKill(t *testing.T) {
	s := testsuite.Get(t)
	deployGood(t, s, "killy")
	slow := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow", "-a", "killy"))
	t.Cleanup(func() { s.StartWorker(t) })
	done := startPromote(t, s, "killy", slow)
	s.KillWorker(t)
	time.Sleep(time.Second)
	s.StartWorker(t)
	if r := testsuite.Wait(t, done); r.Code != 0 {
		t.Fatalf("promote: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	checkOnePromotion(t, s, "killy", slow)
}

// A Temporal restart mid-rollout (same state file): the promotion ends.
func TestPromotionSurvivesTemporalRestart(t *testing.T) {
	s := testsuite.Get(t)
	deployGood(t, s, "restarty")
	slow := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow", "-a", "restarty"))
	done := startPromote(t, s, "restarty", slow)
	s.RestartTemporal(t)
	// The CLI may lose its connection, so how it ends proves nothing; the
	// promotion must still end, which is what is checked below.
	o := testsuite.Wait(t, done)
	t.Logf("promote ended with exit %d: %s", o.Code, strings.TrimSpace(o.Stderr))
	eventually(t, slow+" active on restarty", time.Minute, 100*time.Millisecond, func(context.Context) (bool, string) {
		got := activeRelease(t, s, "restarty")
		return got == slow, "active release " + got
	})
	checkOnePromotion(t, s, "restarty", slow)
}

// checkOnePromotion: the release is active and serving, promoted by
// exactly one promotion.
func checkOnePromotion(t *testing.T, s *testsuite.Stack, app, release string) {
	t.Helper()
	if got := activeRelease(t, s, app); got != release {
		t.Fatalf("active %s, want %s", got, release)
	}
	if rel, ok := deployed(t, s, app, "web"); rel != release || !ok {
		t.Fatalf("web runs %s (available %v), want %s", rel, ok, release)
	}
	ps, err := s.Store.ListPromotions(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range ps {
		if p.Spec.Release == release {
			n++
			if p.Status.Result != model.ResultActive {
				t.Errorf("promotion %s of %s ended %q", p.Spec.ID, release, p.Status.Result)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d promotions of %s, want 1", n, release)
	}
}

// A release missing required env is refused before anything is applied:
// the app keeps running its release, every object in place.
func TestPromoteRefusesMissingRequiredEnv(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "needy")
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", "services:\n  web:\n    image: "+sample(s)+"\n    port: 5000\n    environment:\n      - NEEDED\n")
	s.MustCLI(t, "env", "set", "NEEDED=yes", "-a", "needy")
	good := releaseOf(t, s.MustCLI(t, "build", dir, "-a", "needy"))
	s.MustCLI(t, "releases", "promote", good, "-a", "needy")
	bad := releaseOf(t, s.MustCLI(t, "env", "unset", "NEEDED", "-a", "needy"))
	before := len(deployments(t, s, "needy"))
	r := s.CLI(t, "releases", "promote", bad, "-a", "needy")
	if r.Code != 1 || r.Stderr != "ERROR: required env: NEEDED\n" {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	if got := activeRelease(t, s, "needy"); got != good {
		t.Fatalf("active %s, want %s", got, good)
	}
	if rel, ok := deployed(t, s, "needy", "web"); rel != good || !ok || len(deployments(t, s, "needy")) != before {
		t.Fatalf("web runs %s (available %v); the refused promotion changed what runs", rel, ok)
	}
	if _, err := s.Kube.CoreV1().Services(s.Store.Namespace("needy")).Get(context.Background(), "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("the web Service is gone: %v", err)
	}
}
