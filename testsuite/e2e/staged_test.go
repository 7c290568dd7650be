package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// stagedApp is an app whose web (2 processes) rolls out in steps; %s are
// the image and the steps.
const stagedApp = `services:
  web:
    image: %s
    port: 5000
    scale:
      count: 2
    deployment:
      steps:
%s`

// newStagedApp makes the app and promotes its first release (a first
// promotion has nothing to stage beside: it rolls out at once).
func newStagedApp(t *testing.T, s *testsuite.Stack, app, steps string) string {
	t.Helper()
	newApp(t, s, app)
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", fmt.Sprintf(stagedApp, sample(s), steps))
	rel := releaseOf(t, s.MustCLI(t, "build", dir, "-a", app))
	s.MustCLI(t, "releases", "promote", rel, "-a", app)
	return rel
}

// webPods counts the app's web pods that are not terminating, by track
// ("" or canary) and release.
func webPods(ctx context.Context, s *testsuite.Stack, app string) (map[string]int, error) {
	l, err := s.Kube.CoreV1().Pods(s.Store.Namespace(app)).List(ctx, metav1.ListOptions{
		LabelSelector: render.LabelApp + "=" + app + "," + render.LabelService + "=web"})
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out[p.Labels[render.LabelTrack]+"/"+p.Labels[render.LabelRelease]]++
		}
	}
	return out, nil
}

var stepLine = regexp.MustCompile(`(?m)^Step +(.+)$`)

// awaitStep waits until `promotions info` shows the promotion at step.
func awaitStep(t *testing.T, s *testsuite.Stack, app, step string) string {
	t.Helper()
	var shown string
	eventually(t, "step "+step, time.Minute, 100*time.Millisecond, func(ctx context.Context) (bool, string) {
		r, err := s.CLIResult("promotions", "info", "-a", app)
		if err != nil {
			return false, err.Error()
		}
		shown = r.Stdout
		return stepLine.FindStringSubmatch(r.Stdout) != nil && stepLine.FindStringSubmatch(r.Stdout)[1] == step &&
			strings.Contains(r.Stdout, "\nWaiting "), r.Stdout + r.Stderr
	})
	return shown
}

// A staged rollout: a canary of the new release runs beside the old at
// 50% (one of each), a timed pause passes by itself, a manual pause is
// continued from the CLI and the next by a continue signal sent through
// the Temporal API; `promotions info` shows the step and who continued.
// Then the release rolls out to every process and the canary goes.
func TestStagedRollout(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	app := "staged"
	first := newStagedApp(t, s, app, "        - replicas: 50%\n        - pause: 2s\n        - pause: manual\n        - pause: manual\n")
	second := releaseOf(t, s.MustCLI(t, "env", "set", "STAGE=two", "-a", app))
	done := s.Background("releases", "promote", second, "-a", app)

	awaitStep(t, s, app, "web 3/4 manual pause")
	pods, err := webPods(ctx, s, app)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"canary/" + second: 1, "/" + first: 1}; fmt.Sprint(pods) != fmt.Sprint(want) {
		t.Fatalf("web's pods while gated: %v, want one canary of %s beside one of %s", pods, second, first)
	}
	rec, err := s.Store.GetPromotion(ctx, app, promotionOf(t, s, app))
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for _, st := range rec.Status.Steps {
		steps = append(steps, st.Message)
	}
	if !strings.Contains(strings.Join(steps, "\n"), "web 1/4 replicas 50%: 1 canary, 1 of web\nweb 2/4 pause 2s: done") {
		t.Fatalf("the promotion's steps %q lack the canary and the timed pause", steps)
	}

	r := s.CLI(t, "promotions", "continue", "-a", app)
	if r.Code != 0 || r.Stdout != "Continuing promotion of "+app+" to "+second+"... OK\n" {
		t.Fatalf("promotions continue: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	info := awaitStep(t, s, app, "web 4/4 manual pause")
	// Who started the promotion may continue its pauses.
	if !regexp.MustCompile(`(?m)^Continued by +`+regexp.QuoteMeta(rec.Spec.Actor)+`$`).MatchString(info) || !strings.Contains(info, "(anyone may)") {
		t.Errorf("promotions info at the second manual pause does not say %s continued the first:\n%s", rec.Spec.Actor, info)
	}
	if err := s.Temporal.SignalWorkflow(ctx, workflows.PromoteWorkflowID(app), "", workflows.SignalContinue, ""); err != nil {
		t.Fatal(err)
	}
	if out := testsuite.Wait(t, done); out.Err != nil || out.Code != 0 {
		t.Fatalf("staged promotion: %v, exit %d\n%s%s", out.Err, out.Code, out.Stdout, out.Stderr)
	}

	if got := activeRelease(t, s, app); got != second {
		t.Fatalf("active release %s, want %s", got, second)
	}
	if rel, ok := deployed(t, s, app, "web"); rel != second || !ok {
		t.Fatalf("web runs %s (available %v), want %s", rel, ok, second)
	}
	ns := s.Store.Namespace(app)
	if _, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, render.CanaryName("web"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the canary is still there after the promotion: %v", err)
	}
	eventually(t, "every web pod on "+second+", no canary", 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		pods, err := webPods(ctx, s, app)
		if err != nil {
			return false, err.Error()
		}
		return fmt.Sprint(pods) == fmt.Sprint(map[string]int{"/" + second: 2}), fmt.Sprint(pods)
	})
	shown := s.MustCLI(t, "promotions", "info", rec.Spec.ID, "-a", app)
	for _, want := range []string{"web 3/4 manual pause: continued by " + rec.Spec.Actor + "\n", "web 4/4 manual pause: continued by Temporal UI", model.ResultActive} {
		if !strings.Contains(shown, want) {
			t.Errorf("promotions info lacks %q:\n%s", want, shown)
		}
	}
}

// A check step that gets no 200 (nothing answers HTTP on the local
// stack's kwok nodes) rolls the promotion back: the canary goes, web is
// back on its release with all its processes, and the reason names the
// check.
func TestStagedCheckFailsRollsBack(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	app := "stagedcheck"
	first := newStagedApp(t, s, app, "        - replicas: 50%\n        - check: {http: /health, expect: 200, for: 2s}\n")
	second := releaseOf(t, s.MustCLI(t, "env", "set", "STAGE=two", "-a", app))

	r := s.CLI(t, "releases", "promote", second, "-a", app)
	if r.Code == 0 || !strings.Contains(r.Stderr, "step web 2/2 check /health answers 200 for 2s: web: check GET /health") {
		t.Fatalf("promote with a failing check: exit %d, want the check named\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stderr, "forbidden") {
		t.Fatalf("the check was refused by RBAC, not answered:\n%s", r.Stderr)
	}
	if got := activeRelease(t, s, app); got != first {
		t.Fatalf("active release %s, want %s", got, first)
	}
	if rel, ok := deployed(t, s, app, "web"); rel != first || !ok {
		t.Fatalf("web runs %s (available %v), want %s", rel, ok, first)
	}
	ns := s.Store.Namespace(app)
	d, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil || *d.Spec.Replicas != 2 {
		t.Fatalf("web's Deployment after the rollback: %v, want 2 replicas back", err)
	}
	if _, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, render.CanaryName("web"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the canary is still there after the rollback: %v", err)
	}
	eventually(t, "every web pod on "+first+", no canary", 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		pods, err := webPods(ctx, s, app)
		if err != nil {
			return false, err.Error()
		}
		return fmt.Sprint(pods) == fmt.Sprint(map[string]int{"/" + first: 2}), fmt.Sprint(pods)
	})
	ps, err := s.Store.ListPromotions(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if p := ps[0]; p.Status.Result != model.ResultRolledBack || !strings.Contains(p.Status.Reason, "check GET /health") {
		t.Errorf("promotion ended %q: %q, want rolled back with the check named", p.Status.Result, p.Status.Reason)
	}
}

// promotionOf is the ID of the app's newest promotion.
func promotionOf(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	ps, err := s.Store.ListPromotions(context.Background(), app)
	if err != nil || len(ps) == 0 {
		t.Fatalf("promotions of %s: %v (%d)", app, err, len(ps))
	}
	return ps[0].Spec.ID
}
