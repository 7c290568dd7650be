package prod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/slipway-dev/slipway/codec"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

const app = "hello"

// The seed's whole sequence, typed at a CLI that shares nothing with the
// workers but the network, on a Temporal server backed by PostgreSQL that
// takes only mTLS clients (the CLI's settings in TEMPORAL_TLS_* variables,
// the workers' in a config file profile), with two workers: first a CLI
// without the rack's certificate is refused; then build from source, env
// set, promote, a crash-looping
// release rolled back on its own, a rollback to the first release. Both
// workers take part, every payload Temporal stores is encrypted, the runs'
// search attributes answer visibility queries, and the build's source and
// log went through the registry, not a folder.
func TestProductionTopology(t *testing.T) {
	began := time.Now()
	tp := Start(t, 2)
	up := time.Since(began)
	onlyMTLS(t, tp)
	src := helloSource(t, tp)

	if out := tp.MustCLI(t, "apps", "create", app); out != "Creating hello... OK\n" {
		t.Fatalf("apps create printed %q", out)
	}
	out := tp.MustCLI(t, "build", src, "-a", app, "-d", "hello from source")
	first, build := testsuite.ReleaseOf(t, out), buildOf(t, out)
	if want := "Pushed " + tp.Registry + "/hello:web." + build + "@sha256:"; !strings.Contains(out, want) {
		t.Fatalf("build did not push the web image (%q):\n%s", want, out)
	}
	// The log the worker wrote reaches the CLI through the registry.
	if logs := tp.MustCLI(t, "builds", "logs", build, "-a", app); !strings.Contains(logs, "COPY --chmod=0755 bin/hello /app/hello") {
		t.Fatalf("builds logs %s does not show the Dockerfile's steps:\n%s", build, logs)
	}
	withEnv := testsuite.ReleaseOf(t, tp.MustCLI(t, "env", "set", "GREETING=hi", "-a", app))
	out = tp.MustCLI(t, "releases", "promote", withEnv, "-a", app)
	if !strings.HasPrefix(out, "Promoting "+withEnv+"...\n") || !strings.HasSuffix(out, "\nOK\n") {
		t.Fatalf("releases promote printed:\n%s", out)
	}
	if a := appInfo(t, tp); a.Status != "running" || a.Release != withEnv {
		t.Fatalf("after the promotion the app is %s on %s, want running on %s", a.Status, a.Release, withEnv)
	}

	crashing := testsuite.ReleaseOf(t, tp.MustCLI(t, "env", "set", "SIMULATE=crashloop", "-a", app))
	r := tp.CLI(t, "releases", "promote", crashing, "-a", app)
	if reason := `^ERROR: rollback: web: container main is in CrashLoopBackOff \(pod web-[a-z0-9]+-[a-z0-9]+\)$`; r.Code != 1 ||
		!regexp.MustCompile(reason).MatchString(strings.TrimSpace(r.Stderr)) {
		t.Fatalf("promoting the crash-looping release: exit %d, stderr %q, want 1 and %s", r.Code, r.Stderr, reason)
	}
	if a := appInfo(t, tp); a.Status != "running" || a.Release != withEnv || !strings.Contains(a.Reason, "CrashLoopBackOff") {
		t.Fatalf("after the rollback the app is %s on %s (reason %q), want running on %s with the crash loop as reason", a.Status, a.Release, a.Reason, withEnv)
	}

	out = tp.MustCLI(t, "releases", "rollback", first, "-a", app)
	m := regexp.MustCompile(`(?m)^Rolling back to ` + first + `\.\.\. OK, (R[A-Z]{10})$`).FindStringSubmatch(out)
	if m == nil || !strings.HasSuffix(out, "\nOK\n") {
		t.Fatalf("releases rollback printed:\n%s", out)
	}
	copied := m[1]
	if a := appInfo(t, tp); a.Status != "running" || a.Release != copied {
		t.Fatalf("after the rollback to %s the app is %s on %s, want running on its copy %s", first, a.Status, a.Release, copied)
	}
	var rels []struct {
		ID, Build string
		Active    bool
	}
	decode(t, tp.MustCLI(t, "releases", "-a", app, "-o", "json"), &rels)
	if len(rels) != 4 || rels[0].ID != copied || !rels[0].Active || rels[0].Build != build {
		t.Fatalf("releases: %+v, want 4 with the active copy %s of build %s on top", rels, copied, build)
	}
	var proms []struct{ Release, Result string }
	decode(t, tp.MustCLI(t, "promotions", "-a", app, "-o", "json"), &proms)
	want := []string{copied + " " + model.ResultActive, crashing + " " + model.ResultRolledBack, withEnv + " " + model.ResultActive}
	var got []string
	for _, p := range proms {
		got = append(got, p.Release+" "+p.Result)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("promotions: %q, want %q", got, want)
	}
	sequence := time.Since(began) - up

	runs := visible(t, tp, build, crashing)
	bothWorkersTookPart(t, tp, runs)
	sharedNothing(t, tp)

	// Deleting an app asks visibility (by SlipwayApp) for its open builds.
	if out := tp.MustCLI(t, "apps", "delete", app); out != "Deleting hello... OK\n" {
		t.Fatalf("apps delete printed %q", out)
	}
	fmt.Fprintf(os.Stderr, "prod: topology up in %.1fs, the sequence in %.1fs, all in %.1fs\n",
		up.Seconds(), sequence.Seconds(), time.Since(began).Seconds())
}

// sharedNothing checks that the build's source and log went through the
// registry and through no folder: the registry holds them, the topology's
// folder has nothing but its parts' own, the stack's file bucket stayed
// empty, and each home holds only its own kubeconfig and client
// certificate (and a worker's log and Temporal profile).
func sharedNothing(t *testing.T, tp *Topology) {
	t.Helper()
	resp, err := http.Get("http://" + tp.Registry + "/v2/slipway/blobs/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tags struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&tags); err != nil || resp.StatusCode != http.StatusOK || len(tags.Tags) < 2 {
		t.Fatalf("the registry's slipway/blobs: %s, %v tags (%v), want the build's source and log", resp.Status, tags.Tags, err)
	}
	files := func(dir string) []string {
		var out []string
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, path)
				out = append(out, rel)
			}
			return err
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		return out
	}
	entries, err := os.ReadDir(tp.Dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"cli", "pki", "postgres", "slipway", "stack", "temporal"}
	for _, w := range tp.Workers {
		want = append(want, w.Name)
	}
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("the topology's folder holds %v, want only %v", names, want)
	}
	if got := files(filepath.Join(tp.StackDir, "blobs")); len(got) != 0 {
		t.Errorf("the stack's file bucket holds %v, want nothing", got)
	}
	if got, want := files(tp.CLIHome), []string{"kubeconfig", "tls/ca.pem", "tls/cli-key.pem", "tls/cli.pem"}; !slices.Equal(got, want) {
		t.Errorf("the CLI's home holds %v, want only %v", got, want)
	}
	for _, w := range tp.Workers {
		want := []string{"kubeconfig", "temporal.toml", "tls/ca.pem", "tls/" + w.Name + "-key.pem", "tls/" + w.Name + ".pem", "worker.log"}
		if got := files(w.Home); !slices.Equal(got, want) {
			t.Errorf("%s's home holds %v, want only %v", w.Name, got, want)
		}
	}
}

// helloSource copies examples/hello as a laptop's checkout would hold it,
// its images pointed at the rack's registry and its web service wired to
// the kwok nodes' failure simulation, and compiles its binary.
func helloSource(t *testing.T, tp *Topology) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"Dockerfile", "convox.yml", ".dockerignore", "main.go"} {
		b, err := os.ReadFile(filepath.Join(tp.Root, "examples", "hello", f))
		if err != nil {
			t.Fatal(err)
		}
		body := strings.ReplaceAll(string(b), "127.0.0.1:5000/", tp.Registry+"/")
		if f == "convox.yml" {
			const port = "    port: 5000\n"
			if strings.Count(body, port) != 1 {
				t.Fatalf("examples/hello/convox.yml has no single %q line to wire SIMULATE after", port)
			}
			body = strings.Replace(body, port, port+"    annotations:\n      - slipway.dev/simulate=${SIMULATE}\n", 1)
		}
		if err := os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "bin", "hello"), filepath.Join(tp.Root, "examples", "hello", "main.go"))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build hello: %v\n%s", err, out)
	}
	return dir
}

var buildLine = regexp.MustCompile(`(?m)^Build: +(B[A-Z]{10})$`)

func buildOf(t *testing.T, out string) string {
	t.Helper()
	m := buildLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Build: line in\n%s", out)
	}
	return m[1]
}

type appJSON struct{ Status, Release, Reason string }

func appInfo(t *testing.T, tp *Topology) appJSON {
	t.Helper()
	var a appJSON
	decode(t, tp.MustCLI(t, "apps", "info", app, "-o", "json"), &a)
	return a
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
}

// visible waits until the production server's visibility store (SQL, a
// moment behind) lists the app's runs by their search attributes, and
// returns the app's: each promotion and the build by SlipwayApp, the build
// by SlipwayBuild, the rolled-back promotion by SlipwayRelease.
func visible(t *testing.T, tp *Topology, build, crashing string) []*workflowExecution {
	t.Helper()
	ctx := context.Background()
	promote := workflows.PromoteWorkflowID(app)
	checks := []struct {
		query string
		want  func([]*workflowExecution) bool
	}{
		{fmt.Sprintf("%s = '%s'", config.SearchApp, app), func(es []*workflowExecution) bool {
			return count(es, promote) == 3 && count(es, workflows.BuildWorkflowID(app, build)) == 1
		}},
		{fmt.Sprintf("%s = '%s'", config.SearchBuild, build), func(es []*workflowExecution) bool {
			return count(es, workflows.BuildWorkflowID(app, build)) == 1
		}},
		{fmt.Sprintf("%s = '%s' AND WorkflowId = '%s'", config.SearchRelease, crashing, promote), func(es []*workflowExecution) bool {
			return len(es) == 1
		}},
	}
	var all []*workflowExecution
	for _, c := range checks {
		var es []*workflowExecution
		deadline := time.Now().Add(30 * time.Second)
		for {
			var err error
			if es, err = list(ctx, tp, c.query); err != nil {
				t.Fatalf("visibility query %q: %v", c.query, err)
			}
			if c.want(es) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("visibility query %q lists %v within 30s", c.query, es)
			}
			time.Sleep(250 * time.Millisecond)
		}
		if all == nil {
			all = es
		}
	}
	return all
}

type workflowExecution struct{ ID, Run string }

func (e *workflowExecution) String() string { return e.ID + "@" + e.Run }

func count(es []*workflowExecution, id string) int {
	n := 0
	for _, e := range es {
		if e.ID == id {
			n++
		}
	}
	return n
}

func list(ctx context.Context, tp *Topology, query string) ([]*workflowExecution, error) {
	var out []*workflowExecution
	req := &workflowservice.ListWorkflowExecutionsRequest{Query: query}
	for {
		resp, err := tp.Temporal.ListWorkflow(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			out = append(out, &workflowExecution{ID: e.GetExecution().GetWorkflowId(), Run: e.GetExecution().GetRunId()})
		}
		if len(resp.GetNextPageToken()) == 0 {
			return out, nil
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}

// bothWorkersTookPart reads the runs' histories: each worker started
// some of their workflow or activity tasks, and every run's input is
// encrypted with the rack's codec key.
func bothWorkersTookPart(t *testing.T, tp *Topology, runs []*workflowExecution) {
	t.Helper()
	ctx := context.Background()
	tasks := map[string]int{}
	for _, run := range runs {
		it := tp.Temporal.GetWorkflowHistory(ctx, run.ID, run.Run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatalf("history of %s: %v", run, err)
			}
			switch a := ev.GetAttributes().(type) {
			case *historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes:
				for _, p := range a.WorkflowExecutionStartedEventAttributes.GetInput().GetPayloads() {
					if enc := string(p.GetMetadata()["encoding"]); enc != codec.Encoding {
						t.Errorf("%s's input is stored as %q, want %q (encrypted)", run, enc, codec.Encoding)
					}
				}
			case *historypb.HistoryEvent_WorkflowTaskStartedEventAttributes:
				tasks[a.WorkflowTaskStartedEventAttributes.GetIdentity()]++
			case *historypb.HistoryEvent_ActivityTaskStartedEventAttributes:
				tasks[a.ActivityTaskStartedEventAttributes.GetIdentity()]++
			}
		}
	}
	for _, w := range tp.Workers {
		n := 0
		for id, c := range tasks {
			if strings.HasPrefix(id, w.Identity()) {
				n += c
			}
		}
		if n == 0 {
			t.Errorf("%s (identity %s…) started none of the %d runs' tasks: %v", w.Name, w.Identity(), len(runs), tasks)
		}
		t.Logf("%s started %d workflow and activity tasks", w.Name, n)
	}
}
