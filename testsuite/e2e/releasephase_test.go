package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

// releasePhaseApp is an app whose web has a release command. The local
// stack's kwok nodes end the command's pod with the exit code of the
// annotation slipway.dev/simulate-release=exit:N (devstack/stages/run.yaml),
// wired here to SIMULATE_RELEASE; web's own pods ignore it.
const releasePhaseApp = `services:
  web:
    image: %s
    port: 5000
    release: bin/migrate --all
    annotations:
      - slipway.dev/simulate-release=${SIMULATE_RELEASE}
`

// newReleasePhaseApp makes the app and its first release.
func newReleasePhaseApp(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	newApp(t, s, app)
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", fmt.Sprintf(releasePhaseApp, sample(s)))
	return releaseOf(t, s.MustCLI(t, "build", dir, "-a", app))
}

// noReleasePods checks that the release commands' pods were deleted.
func noReleasePods(t *testing.T, s *testsuite.Stack, app string) {
	t.Helper()
	eventually(t, "no release command pods", 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		l, err := s.Kube.CoreV1().Pods(s.Store.Namespace(app)).List(ctx, metav1.ListOptions{LabelSelector: render.LabelReleasePhase})
		if err != nil {
			return false, err.Error()
		}
		return len(l.Items) == 0, fmt.Sprintf("%d pods", len(l.Items))
	})
}

// A release command that succeeds runs before the release is applied;
// promote shows its output as it runs, and `releases output` keeps it.
func TestReleasePhasePasses(t *testing.T) {
	s := testsuite.Get(t)
	app := "relpass"
	rel := newReleasePhaseApp(t, s, app)
	out := s.MustCLI(t, "releases", "promote", rel, "-a", app)
	// Its output shows before the rollout's events, which follow the
	// release phase.
	i, j := strings.Index(out, "Running the release command of web"), strings.Index(out, "Status: Pending => Updating")
	if !strings.HasPrefix(out, "Promoting "+rel+"...\n") || i < 0 || j < i || !strings.HasSuffix(out, "\nOK\n") {
		t.Fatalf("promote printed:\n%s", out)
	}
	for _, want := range []string{"simulated log: the local stack's kwok nodes run no containers", "The release command of web succeeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("promote output lacks %q:\n%s", want, out)
		}
	}
	if got := activeRelease(t, s, app); got != rel {
		t.Fatalf("active release %s, want %s", got, rel)
	}
	if r, ok := deployed(t, s, app, "web"); r != rel || !ok {
		t.Fatalf("web runs %s (available %v), want %s", r, ok, rel)
	}
	shown := s.MustCLI(t, "releases", "output", rel, "-a", app)
	if !strings.HasPrefix(shown, "Running the release command of web (web-release-"+strings.ToLower(rel)+")\n") ||
		!strings.Contains(shown, "simulated log: a line on stderr\n") || !strings.HasSuffix(shown, "The release command of web succeeded\n") {
		t.Errorf("releases output printed:\n%s", shown)
	}
	noReleasePods(t, s, app)

	// A release without release commands has no output to show.
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", fmt.Sprintf("services:\n  web:\n    image: %s\n    port: 5000\n", sample(s)))
	plain := releaseOf(t, s.MustCLI(t, "build", dir, "-a", app))
	s.MustCLI(t, "releases", "promote", plain, "-a", app)
	r := s.CLI(t, "releases", "output", plain, "-a", app)
	want := fmt.Sprintf("ERROR: release %s has no release command output: it has no release command, or was never promoted (`slipway releases promote %s -a %s`)\n", plain, plain, app)
	if r.Code != 1 || r.Stderr != want {
		t.Errorf("releases output of a release without one: exit %d, stderr %q, want %q", r.Code, r.Stderr, want)
	}
}

// A release command that fails rejects the release: nothing of it is
// applied, the app stays on its release, and promote says why, with the
// exit code and the command's last lines.
func TestReleasePhaseFails(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	app := "relfail"
	good := newReleasePhaseApp(t, s, app)
	s.MustCLI(t, "releases", "promote", good, "-a", app)
	bad := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE_RELEASE=exit:3", "-a", app))
	dep, err := s.Kube.AppsV1().Deployments(s.Store.Namespace(app)).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	r := s.CLI(t, "releases", "promote", bad, "-a", app)
	if r.Code != 1 {
		t.Fatalf("promote of a release whose command fails: exit %d\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "Running the release command of web") || !strings.Contains(r.Stdout, "The release command of web failed: exit code 3\n") {
		t.Errorf("promote did not show the command's output:\n%s", r.Stdout)
	}
	wantErr := "ERROR: release phase: the release command of web failed: exit code 3; its last lines:\n"
	if !strings.HasPrefix(r.Stderr, wantErr) || !strings.Contains(r.Stderr, "simulated log: a line on stderr") {
		t.Errorf("promote's error:\n%s\nwant it to start %q and quote the last lines", r.Stderr, wantErr)
	}
	if strings.Contains(r.Stdout, "Pending => Updating") {
		t.Errorf("the release was applied:\n%s", r.Stdout)
	}

	if got := activeRelease(t, s, app); got != good {
		t.Errorf("active release %s, want %s still", got, good)
	}
	after, err := s.Kube.AppsV1().Deployments(s.Store.Namespace(app)).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != dep.Generation || after.Spec.Template.Labels[render.LabelRelease] != good {
		t.Errorf("web's Deployment changed: generation %d -> %d, release %s", dep.Generation, after.Generation, after.Spec.Template.Labels[render.LabelRelease])
	}
	a, err := s.Store.GetApp(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status.Status != model.AppRunning {
		t.Errorf("app status %q, want %q", a.Status.Status, model.AppRunning)
	}
	ps, err := s.Store.ListPromotions(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 || ps[0].Spec.Release != bad || ps[0].Status.Result != model.ResultRejected ||
		!strings.Contains(ps[0].Status.Reason, "exit code 3") {
		t.Fatalf("last promotion %+v, want %s rejected with the exit code", ps[0], bad)
	}
	info := s.MustCLI(t, "promotions", "info", ps[0].Spec.ID, "-a", app)
	if !strings.Contains(info, model.ResultRejected) || !strings.Contains(info, "running the release command of web") {
		t.Errorf("promotions info:\n%s", info)
	}
	shown := s.MustCLI(t, "releases", "output", bad, "-a", app)
	if !strings.HasSuffix(shown, "The release command of web failed: exit code 3\n") {
		t.Errorf("releases output printed:\n%s", shown)
	}
	noReleasePods(t, s, app)
}
