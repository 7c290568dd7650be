package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/testsuite"
)

// The seed's sequence: build, env set, releases, releases info, releases
// manifest, printed as the convox CLI prints them.
func TestSeedSequence(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "seed")

	out := s.MustCLI(t, "build", example(t, s), "-a", "seed", "--description", "first cut")
	want := regexp.MustCompile(`^Packaging source\.\.\. OK
Uploading source\.\.\. OK
Starting build\.\.\. OK
(?s:.*)Build:   (B[A-Z]{10})
Release: (R[A-Z]{10})
$`)
	m := want.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("build printed:\n%s", out)
	}
	build, first := m[1], m[2]

	out = s.MustCLI(t, "env", "set", "FOO=bar", "-a", "seed")
	if !strings.HasPrefix(out, "Setting FOO... OK\nRelease: R") {
		t.Fatalf("env set printed:\n%s", out)
	}
	second := releaseOf(t, out)

	out = s.MustCLI(t, "releases", "-a", "seed")
	rows := regexp.MustCompile(`^ID +STATUS +BUILD +CREATED +DESCRIPTION
` + second + ` {10}` + build + `  (now|\d+ seconds? ago) +env add:FOO
` + first + ` {10}` + build + `  (now|\d+ seconds? ago) +first cut
$`)
	if !rows.MatchString(out) {
		t.Fatalf("releases printed:\n%s", out)
	}

	out = s.MustCLI(t, "releases", "info", second, "-a", "seed")
	info := regexp.MustCompile(`^Id           ` + second + `
Build        ` + build + `
Created      \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ
Description  env add:FOO
By           \S+
Env          FOO=bar
$`)
	if !info.MatchString(out) {
		t.Fatalf("releases info printed:\n%s", out)
	}

	manifest := s.MustCLI(t, "releases", "manifest", second, "-a", "seed")
	if !strings.Contains(manifest, "services:\n  web:\n") || !strings.Contains(manifest, "port: 5000") {
		t.Fatalf("releases manifest printed:\n%s", manifest)
	}

	out = s.MustCLI(t, "builds", "-a", "seed")
	if !regexp.MustCompile(`(?m)^` + build + `  complete  ` + first + `  `).MatchString(out) {
		t.Fatalf("builds printed:\n%s", out)
	}
	if logs := s.MustCLI(t, "builds", "logs", build, "-a", "seed"); !strings.Contains(logs, "web: image ") {
		t.Fatalf("builds logs printed:\n%s", logs)
	}
	if env := s.MustCLI(t, "env", "get", "FOO", "-a", "seed"); env != "bar\n" {
		t.Fatalf("env get printed %q", env)
	}
}

// 20 concurrent env set on one app: 20 releases with distinct IDs, the
// newest has every key, and the order is total.
func TestConcurrentEnvSetLosesNothing(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "busy")
	const n = 20
	// The goroutines only run the CLI; what it did is judged below, on
	// the test's goroutine.
	var wg sync.WaitGroup
	results := make([]testsuite.Result, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.CLIResult("env", "set", fmt.Sprintf("K%d=V%d", i, i), "-a", "busy")
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("env set K%d: %v", i, errs[i])
		}
		if r.Code != 0 {
			t.Fatalf("env set K%d failed: exit %d: %s", i, r.Code, r.Stderr)
		}
		id := releaseOf(t, r.Stdout)
		if seen[id] {
			t.Fatalf("release %s made twice", id)
		}
		seen[id] = true
	}
	ctx := context.Background()
	app, err := s.Store.GetApp(ctx, "busy")
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Store.ListReleases(ctx, app, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != n {
		t.Fatalf("%d releases on the chain, want %d", len(rs), n)
	}
	for i, r := range rs {
		if !seen[r.Spec.ID] {
			t.Errorf("release %s on the chain was not printed by any env set", r.Spec.ID)
		}
		if want := int64(n - i); r.Spec.Sequence != want {
			t.Errorf("release %d from the top has sequence %d, want %d", i, r.Spec.Sequence, want)
		}
	}
	env, err := s.Store.GetReleaseEnv(ctx, rs[0])
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got := env[fmt.Sprintf("K%d", i)]; got != fmt.Sprintf("V%d", i) {
			t.Errorf("newest release has K%d=%q", i, got)
		}
	}
}

// A worker killed while env set waits: once a worker is back, the command
// completes and exactly one release exists for the change.
func TestEnvSetSurvivesWorkerDeath(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "crash")
	t.Cleanup(func() { s.StartWorker(t) })
	s.KillWorker(t)

	done := s.Background("env", "set", "SURVIVOR=yes", "-a", "crash")
	time.Sleep(time.Second)
	if rs := releases(t, s, "crash"); len(rs) != 0 {
		t.Fatalf("a release was made with no worker: %v", rs)
	}
	s.StartWorker(t)
	o := testsuite.Wait(t, done)
	if o.Code != 0 {
		t.Fatalf("env set: exit %d\n%s%s", o.Code, o.Stdout, o.Stderr)
	}
	rs := releases(t, s, "crash")
	if len(rs) != 1 || rs[0] != releaseOf(t, o.Stdout) {
		t.Fatalf("releases %v after the change, want exactly the one printed:\n%s", rs, o.Stdout)
	}
}

func releases(t *testing.T, s *testsuite.Stack, app string) []string {
	t.Helper()
	a, err := s.Store.GetApp(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := s.Store.ListReleases(context.Background(), a, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.Spec.ID)
	}
	return ids
}

// Each bad input gets one line on stderr, exit 1, and changes nothing.
func TestBadInputChangesNothing(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "strict")
	s.MustCLI(t, "env", "set", "KEEP=1", "-a", "strict")
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", "services:\n  web:\n    port: 0\n    image: x\n")
	missing := t.TempDir()
	writeFile(t, missing, "convox.yml", "services:\n  web:\n    image: x\n    environment:\n      - NEEDED\n")
	big := "BIG=" + strings.Repeat("x", model.MaxEnvValueBytes+1)

	for _, c := range []struct {
		name  string
		args  []string
		err   string // a substring of the one-line error
		stdin string
	}{
		{"no equals", []string{"env", "set", "FOO", "-a", "strict"}, `invalid env pair (argument 1): no "=" in it`, ""},
		{"bad key", []string{"env", "set", "1FOO=x", "-a", "strict"}, "1FOO", ""},
		{"empty key", []string{"env", "set", "=x", "-a", "strict"}, `invalid env pair (argument 1): no name before "="`, ""},
		{"oversized value", []string{"env", "set", "-a", "strict"}, "BIG", big},
		{"stdin line without =", []string{"env", "set", "-a", "strict"}, "line 2", "OK=1\nNOPE\n"},
		{"unset unknown", []string{"env", "unset", "NOPE", "-a", "strict"}, "env not found: NOPE", ""},
		{"get unknown", []string{"env", "get", "NOPE", "-a", "strict"}, "env not found: NOPE", ""},
		{"unknown release", []string{"releases", "info", "RNOTAREALID", "-a", "strict"}, "no such release: RNOTAREALID", ""},
		{"fork unknown release", []string{"env", "set", "A=1", "--release", "RNOTAREALID", "-a", "strict"}, "no such release: RNOTAREALID", ""},
		{"unknown build", []string{"builds", "info", "BNOTAREALID", "-a", "strict"}, "no such build: BNOTAREALID", ""},
		{"unknown app", []string{"releases", "-a", "nosuchapp"}, "no such app: nosuchapp", ""},
		{"bad app name", []string{"apps", "create", "Bad_Name"}, "invalid app name", ""},
		{"existing app", []string{"apps", "create", "strict"}, "app already exists: strict", ""},
		{"invalid manifest", []string{"build", dir, "-a", "strict"}, `services.web.port: must be a number between 1 and 65535`, ""},
		{"missing manifest", []string{"build", t.TempDir(), "-a", "strict"}, "no convox.yml", ""},
		{"required env", []string{"build", missing, "-a", "strict"}, "required env: NEEDED", ""},
		{"bad limit", []string{"releases", "--limit", "0", "-a", "strict"}, "--limit", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, s, "strict")
			r := s.CLIIn(t, "", c.stdin, c.args...)
			if r.Code != 1 {
				t.Errorf("exit %d, want 1", r.Code)
			}
			if !strings.HasPrefix(r.Stderr, "ERROR: ") || strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, c.err) {
				t.Errorf("stderr %q, want one ERROR line containing %q", r.Stderr, c.err)
			}
			if after := snapshot(t, s, "strict"); after != before {
				t.Errorf("records changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// apps delete returns once the app's namespace is gone; the app is no
// longer listed and its name can be used again.
func TestAppsDelete(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "gone")
	s.MustCLI(t, "env", "set", "A=1", "-a", "gone")
	if out := s.MustCLI(t, "apps", "delete", "gone"); out != "Deleting gone... OK\n" {
		t.Fatalf("apps delete printed %q", out)
	}
	if _, err := s.Kube.CoreV1().Namespaces().Get(context.Background(), s.Store.Namespace("gone"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace still there after apps delete returned: %v", err)
	}
	if out := s.MustCLI(t, "apps"); strings.Contains(out, "gone") {
		t.Fatalf("apps still lists the deleted app:\n%s", out)
	}
	newApp(t, s, "gone")
	if rs := releases(t, s, "gone"); len(rs) != 0 {
		t.Fatalf("the new app inherited releases %v", rs)
	}
}
