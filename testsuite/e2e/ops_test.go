package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

// The commands and flags a Convox user scripts with, on the real stack.

// cliEnv runs the CLI with extra environment; on the test's goroutine.
func cliEnv(t *testing.T, s *testsuite.Stack, env []string, args ...string) testsuite.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testsuite.CLITimeout)
	defer cancel()
	r, err := s.Run(ctx, testsuite.Invocation{Args: args, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// jsonOf runs the CLI, which must succeed, and decodes its stdout into v.
func jsonOf(t *testing.T, s *testsuite.Stack, v any, args ...string) {
	t.Helper()
	out := s.MustCLI(t, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("slipway %s printed no JSON (%v):\n%s", strings.Join(args, " "), err, out)
	}
}

func webDeployment(t *testing.T, s *testsuite.Stack, app string) *appsv1.Deployment {
	t.Helper()
	d, err := s.Kube.AppsV1().Deployments(s.Store.Namespace(app)).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wantWeb checks web's Deployment: replicas, CPU request in millicores
// and the release it runs.
func wantWeb(t *testing.T, s *testsuite.Stack, app string, replicas int32, cpu int64, release string) {
	t.Helper()
	d := webDeployment(t, s, app)
	got := d.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().MilliValue()
	if *d.Spec.Replicas != replicas || got != cpu || d.Spec.Template.Labels[render.LabelRelease] != release {
		t.Fatalf("web has %d replicas, %dm CPU, release %s; want %d, %dm, %s",
			*d.Spec.Replicas, got, d.Spec.Template.Labels[render.LabelRelease], replicas, cpu, release)
	}
}

// A scale set by hand applies at once, shows in `scale` and `apps info`,
// and survives a promotion and a rollback.
func TestScale(t *testing.T) {
	s := testsuite.Get(t)
	const app = "scaly"
	first := deployGood(t, s, app)
	table := s.MustCLI(t, "scale", "-a", app)
	if lines := strings.Split(strings.TrimSuffix(table, "\n"), "\n"); len(lines) != 3 || lines[0] != "SERVICE  DESIRED  RUNNING  CPU  MEMORY" ||
		strings.Join(strings.Fields(lines[1]), " ") != "web 2 2 250 512" || strings.Join(strings.Fields(lines[2]), " ") != "worker 1 1 250 512" {
		t.Fatalf("scale printed:\n%s", table)
	}

	if out := s.MustCLI(t, "scale", "web", "--count", "3", "--cpu", "500", "-a", app); out != "Scaling web... OK\n" {
		t.Fatalf("scale web printed %q", out)
	}
	// Applied at once to the running release, not a new one.
	wantWeb(t, s, app, 3, 500, first)
	if got := activeRelease(t, s, app); got != first {
		t.Fatalf("the scale made release %s active, want %s kept", got, first)
	}
	if info := s.MustCLI(t, "apps", "info", app); !strings.Contains(info, "Scale      web: count=3 cpu=500\n") {
		t.Fatalf("apps info does not show the scale:\n%s", info)
	}
	var a struct {
		Scale []struct {
			Service string `json:"service"`
			Count   *int32 `json:"count"`
			CPU     *int32 `json:"cpu"`
			Memory  *int32 `json:"memory"`
		} `json:"scale"`
	}
	jsonOf(t, s, &a, "apps", "info", app, "-o", "json")
	if len(a.Scale) != 1 || a.Scale[0].Service != "web" || *a.Scale[0].Count != 3 || *a.Scale[0].CPU != 500 || a.Scale[0].Memory != nil {
		t.Fatalf("apps info -o json scale %+v", a.Scale)
	}
	eventually(t, "web's 3 replicas ready", time.Minute, 500*time.Millisecond, func(context.Context) (bool, string) {
		var rows []struct {
			Desired, Running int32
			CPU              int64
		}
		jsonOf(t, s, &rows, "scale", "web", "-a", app, "-o", "json")
		return len(rows) == 1 && rows[0].Desired == 3 && rows[0].Running == 3 && rows[0].CPU == 500, fmt.Sprintf("%+v", rows)
	})

	// A promotion renders with the scale by hand, over the manifest's 2.
	second := releaseOf(t, s.MustCLI(t, "env", "set", "FOO=bar", "-a", app, "-p"))
	wantWeb(t, s, app, 3, 500, second)
	// So does a rollback, to the release before.
	copyID := strings.TrimSpace(s.MustCLI(t, "releases", "rollback", "-a", app, "--id"))
	wantWeb(t, s, app, 3, 500, copyID)

	// A service the release does not have is refused, and nothing changes.
	before := snapshot(t, s, app)
	r := s.CLI(t, "scale", "db", "--count", "2", "-a", app)
	if r.Code != 1 || r.Stderr != "ERROR: release "+copyID+" has no service db: its services are web, worker\n" {
		t.Fatalf("scale of a missing service: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if after := snapshot(t, s, app); after != before {
		t.Fatalf("a refused scale changed the records:\n%s\nwant\n%s", after, before)
	}

	// While a promotion rolls out, a scale is refused and changes nothing;
	// the promotion keeps the scale by hand.
	slow := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow:6s", "-a", app))
	done := startPromote(t, s, app, slow)
	r = s.CLI(t, "scale", "web", "--count", "4", "-a", app)
	if want := "ERROR: app " + app + " is currently updating: wait for it to end (`slipway promotions info -a " + app + "`), then scale\n"; r.Code != 1 || r.Stderr != want {
		t.Fatalf("scale during a promotion: exit %d, stderr %q, want %q", r.Code, r.Stderr, want)
	}
	// The promotion writes its records meanwhile: the scale's own record
	// is what must not have changed.
	if rec, err := s.Store.GetApp(context.Background(), app); err != nil {
		t.Fatal(err)
	} else if sc := rec.ScaleOf("web"); len(rec.Spec.Scale) != 1 || sc == nil || *sc.Count != 3 || *sc.CPU != 500 {
		t.Fatalf("the refused scale changed the recorded scale: %+v", rec.Spec.Scale)
	}
	if o := testsuite.Wait(t, done); o.Code != 0 {
		t.Fatalf("the slow promotion: exit %d, stderr %q", o.Code, o.Stderr)
	}
	wantWeb(t, s, app, 3, 500, slow)
}

// rollback with no ID goes back to the release active before the current
// one, and --id prints the copy's ID alone.
func TestRollbackPrevious(t *testing.T) {
	s := testsuite.Get(t)
	const app = "rollp"
	first := deployGood(t, s, app)
	// One promotion: nothing was active before it.
	r := s.CLI(t, "releases", "rollback", "-a", app)
	if want := "ERROR: no release was active before " + first + " on " + app + ": name the release to roll back to (`slipway releases -a " + app + "`)\n"; r.Code != 1 || r.Stderr != want {
		t.Fatalf("rollback with nothing before: exit %d, stderr %q, want %q", r.Code, r.Stderr, want)
	}
	second := strings.TrimSpace(s.MustCLI(t, "env", "set", "FOO=bar", "-a", app, "-p", "--id"))
	if got := activeRelease(t, s, app); got != second {
		t.Fatalf("env set -p --id printed %q; active is %s", second, got)
	}

	r = s.CLI(t, "releases", "rollback", "-a", app, "--id", "-w")
	copyID := strings.TrimSpace(r.Stdout)
	if r.Code != 0 || !regexp.MustCompile(`^R[A-Z]{10}\n$`).MatchString(r.Stdout) || !strings.Contains(r.Stderr, "Rolling back to "+first+"... OK, "+copyID) {
		t.Fatalf("rollback --id: exit %d, stdout %q, stderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var rel struct {
		ID, Build, Description string
		Active                 bool
		Env                    map[string]string
	}
	jsonOf(t, s, &rel, "releases", "info", copyID, "-a", app, "-o", "json")
	if !rel.Active || rel.Description != "rollback to "+first || rel.Env["FOO"] != "" {
		t.Fatalf("releases info -o json of the copy: %+v", rel)
	}
	// And again: the release before the copy is the second.
	back := strings.TrimSpace(s.MustCLI(t, "releases", "rollback", "-a", app, "--id"))
	jsonOf(t, s, &rel, "releases", "info", back, "-a", app, "-o", "json")
	if !rel.Active || rel.Description != "rollback to "+second || rel.Env["FOO"] != "bar" {
		t.Fatalf("the second rollback: %+v, want a copy of %s", rel, second)
	}
}

// env edit makes one release of what the editor left, none when nothing
// changed; env and env get read a past release.
func TestEnvEdit(t *testing.T) {
	s := testsuite.Get(t)
	const app = "editp"
	newApp(t, s, app)
	base := releaseOf(t, s.MustCLI(t, "env", "set", "A=1", "B=2", "-a", app))

	r := cliEnv(t, s, []string{`EDITOR=sed -i -e '$aC=3' -e 's/^A=1$/A=9/' -e '/^B=/d'`}, "env", "edit", "-a", app)
	if r.Code != 0 || !strings.HasPrefix(r.Stdout, "Setting A, C, unsetting B... OK\nRelease: ") {
		t.Fatalf("env edit: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	edited := releaseOf(t, r.Stdout)
	if rs := releases(t, s, app); len(rs) != 2 || rs[0] != edited || rs[1] != base {
		t.Fatalf("releases %v, want one new release %s on %s", rs, edited, base)
	}
	var env map[string]string
	jsonOf(t, s, &env, "env", "-a", app, "-o", "json")
	if len(env) != 2 || env["A"] != "9" || env["C"] != "3" {
		t.Fatalf("env after the edit %v, want A=9 C=3", env)
	}
	if out := s.MustCLI(t, "env", "-a", app, "--release", base); out != "A=1\nB=2\n" {
		t.Fatalf("env --release %s: %q", base, out)
	}
	if out := s.MustCLI(t, "env", "get", "B", "-a", app, "--release", base); out != "2\n" {
		t.Fatalf("env get B --release %s: %q", base, out)
	}

	before := snapshot(t, s, app)
	r = cliEnv(t, s, []string{"EDITOR=true"}, "env", "edit", "-a", app)
	if r.Code != 0 || r.Stdout != "No change: no release made\n" {
		t.Fatalf("an unchanged edit: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	r = cliEnv(t, s, []string{"EDITOR=sed -i s/=/:/"}, "env", "edit", "-a", app)
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "ERROR: the edited env: line ") || !strings.HasSuffix(r.Stderr, "nothing was changed\n") {
		t.Fatalf("a broken edit: exit %d, stderr %q", r.Code, r.Stderr)
	}
	if after := snapshot(t, s, app); after != before {
		t.Fatalf("edits that made no release changed the records:\n%s\nwant\n%s", after, before)
	}
}

// testdata/convox-ci.sh drives slipway as a Convox CI job drives convox:
// it deploys and prints the active release; a promotion that rolls back
// fails the job.
func TestScript(t *testing.T) {
	s := testsuite.Get(t)
	const app = "ciapp"
	script, err := filepath.Abs("testdata/convox-ci.sh")
	if err != nil {
		t.Fatal(err)
	}
	src := example(t, s)
	job := func() testsuite.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), testsuite.CLITimeout)
		defer cancel()
		cmd := s.Command(ctx)
		cmd.Path, cmd.Args = "/bin/sh", []string{"sh", script}
		cmd.Env = append(cmd.Env, "APP="+app, "SRC="+src, "SLIPWAY="+s.Slipway)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		if ctx.Err() != nil || cmd.ProcessState == nil || cmd.ProcessState.ExitCode() < 0 {
			t.Fatalf("the job did not finish: %v\nstderr:\n%s", err, errOut.String())
		}
		return testsuite.Result{Stdout: out.String(), Stderr: errOut.String(), Code: cmd.ProcessState.ExitCode()}
	}

	r := job()
	final := strings.TrimSpace(r.Stdout)
	if r.Code != 0 || !regexp.MustCompile(`^R[A-Z]{10}\n$`).MatchString(r.Stdout) {
		t.Fatalf("the job: exit %d, stdout %q, stderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := activeRelease(t, s, app); got != final {
		t.Fatalf("the job printed %s; active is %s", final, got)
	}
	if rel, ok := deployed(t, s, app, "web"); rel != final || !ok {
		t.Fatalf("web runs %s (available %v), want %s", rel, ok, final)
	}

	// The next build crash loops: the promotion rolls back, and the job
	// fails, leaving the app on what it ran.
	s.MustCLI(t, "env", "set", "SIMULATE=crashloop", "-a", app)
	r = job()
	if r.Code == 0 || !strings.Contains(r.Stderr, "ERROR: rollback: web: container main is in CrashLoopBackOff") {
		t.Fatalf("the failing job: exit %d, stdout %q, stderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	if r.Stdout != "" {
		t.Errorf("the failing job printed %q on stdout", r.Stdout)
	}
	if got := activeRelease(t, s, app); got != final {
		t.Fatalf("after the failed job the active release is %s, want %s", got, final)
	}
}
