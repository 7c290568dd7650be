package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

const (
	bid = "BABCDEFGHIJ"
	rid = "RCDEFGHIJKL"
)

// pinBuildID makes the next builds' ID bid.
func pinBuildID(t *testing.T) {
	old := newBuildID
	newBuildID = func() string { return bid }
	t.Cleanup(func() { newBuildID = old })
}

// appWithEnv is myapp whose newest release RBCDEFGHIJK has env.
func appWithEnv(env map[string]string) []any {
	a := recordstest.App("myapp")
	a.Status.Latest = "RBCDEFGHIJK"
	ns := recordstest.Namespace("myapp")
	rel := &records.Release{
		TypeMeta:   recordstest.TypeMeta("Release"),
		ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName("RBCDEFGHIJK"), Namespace: ns},
		Spec:       records.ReleaseSpec{ID: "RBCDEFGHIJK", App: "myapp", Env: records.EnvSecretName("RBCDEFGHIJK")},
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: rel.Spec.Env, Namespace: ns}, Data: map[string][]byte{}}
	for k, v := range env {
		sec.Data[k] = []byte(v)
	}
	return []any{a, rel, sec}
}

const manifest = `services:
  web:
    build: .
    port: 5000
    environment:
      - FOO
`

// sourceDir is an app's source: a convox.yml and a Dockerfile.
func sourceDir(t *testing.T, manifest string) string {
	dir := t.TempDir()
	for name, body := range map[string]string{"convox.yml": manifest, "Dockerfile": "FROM scratch\nCOPY . /app\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func options(dir string) Options {
	return Options{App: "myapp", Dir: dir, Manifest: "convox.yml", MaxContext: 1 << 30, Description: "first cut"}
}

// Flags and arguments land in Options; a bad command line fails before
// anything runs.
func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *BuildOptions
	capture := func(_ context.Context, o *BuildOptions) error { got = o; return nil }
	// A nil argument list would make cobra read os.Args: pass an empty one.
	if err := e.Run(NewCmdBuild(e.Factory, capture), []string{}...); err != nil {
		t.Fatal(err)
	}
	if want := (Options{Dir: ".", Manifest: "convox.yml", MaxContext: 1 << 30}); !reflect.DeepEqual(got.Options, want) {
		t.Errorf("defaults %+v, want %+v", got.Options, want)
	}
	err := e.Run(NewCmdBuild(e.Factory, capture), "src", "-a", "myapp", "-d", "first cut", "-m", "app.yml",
		"--build-arg", "A=1", "--build-arg", "B=x=y", "--max-context", "100", "--builder", "kubernetes", "--registry", "r.test:5000")
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Dir: "src", App: "myapp", Description: "first cut", Manifest: "app.yml",
		BuildArgs: []string{"A=1", "B=x=y"}, MaxContext: 100, Builder: "kubernetes", Registry: "r.test:5000"}
	if !reflect.DeepEqual(got.Options, want) {
		t.Errorf("options %+v, want %+v", got.Options, want)
	}
	if got.Factory != e.Factory {
		t.Error("options lost the factory")
	}
	ran := false
	never := func(context.Context, *BuildOptions) error { ran = true; return nil }
	for _, args := range [][]string{{"a", "b"}, {"--max-context", "lots"}, {"--nope"}} {
		if err := e.Run(NewCmdBuild(e.Factory, never), args...); err == nil {
			t.Errorf("build %q: no error", args)
		}
	}
	if ran {
		t.Error("build ran with a bad command line")
	}
}

func TestAppName(t *testing.T) {
	if got := AppName(Options{App: "api", Dir: "/src/web"}); got != "api" {
		t.Errorf("with --app: %q", got)
	}
	if got := AppName(Options{Dir: "/src/web"}); got != "web" {
		t.Errorf("from the folder: %q, want web", got)
	}
}

func TestBuildRun(t *testing.T) {
	pinBuildID(t)
	e := cmdutiltest.New(t, appWithEnv(map[string]string{"FOO": "bar"})...)
	e.ShareBlobs(t)
	ctx := context.Background()
	log := "web: FROM scratch\nweb: pushed registry.test:5000/myapp:web.BABCDEFGHIJ\n"
	if err := e.Bucket.WriteAll(ctx, blobs.LogKey("myapp", bid), []byte(log), nil); err != nil {
		t.Fatal(err)
	}
	started := e.ExpectWorkflow(workflows.BuildWorkflowID("myapp", bid), workflows.BuildResult{BuildID: bid, ReleaseID: rid}, nil)
	o := options(sourceDir(t, manifest))
	o.BuildArgs = []string{"VERSION=1.2"}
	if err := buildRun(ctx, &BuildOptions{Factory: e.Factory, Options: o}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "build_run")
	e.Temporal.AssertExpectations(t)

	want := activities.BuildInput{App: "myapp", BuildID: bid, Description: "first cut", ManifestPath: "convox.yml",
		BuildArgsSecret: "build-args-babcdefghij", Builder: "local", Actor: cmdutiltest.Actor}
	if started.Workflow != "Build" || !reflect.DeepEqual(started.Input, want) {
		t.Errorf("started %s(%+v), want Build(%+v)", started.Workflow, started.Input, want)
	}
	if started.Options.StaticSummary != "build BABCDEFGHIJ of myapp" {
		t.Errorf("summary %q", started.Options.StaticSummary)
	}
	// The build arg went to a Secret the workflow reads, never into its
	// input, and the CLI deleted it once the build was done.
	if got, want := e.Store.Writes(), []string{"create secrets build-args-babcdefghij", "delete secrets build-args-babcdefghij"}; !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
	if got := e.Staged(t, "build-args-babcdefghij"); !reflect.DeepEqual(got, map[string]string{"VERSION": "1.2"}) {
		t.Errorf("staged %v", got)
	}
	if got := sourceFiles(t, e); !slices.Equal(got, []string{"Dockerfile", "convox.yml"}) {
		t.Errorf("uploaded source holds %q", got)
	}
}

// A failed build says why, after the log that shows it, and cleans up the
// staged build args all the same.
func TestBuildRunFails(t *testing.T) {
	pinBuildID(t)
	e := cmdutiltest.New(t, appWithEnv(map[string]string{"FOO": "bar"})...)
	e.ShareBlobs(t)
	ctx := context.Background()
	if err := e.Bucket.WriteAll(ctx, blobs.LogKey("myapp", bid), []byte("web: RUN make\n"), nil); err != nil {
		t.Fatal(err)
	}
	e.ExpectWorkflow(workflows.BuildWorkflowID("myapp", bid), nil,
		temporal.NewApplicationError("service web: RUN is not supported by the local builder", "BuildFailed"))
	o := options(sourceDir(t, manifest))
	o.BuildArgs = []string{"VERSION=1.2"}
	_, err := Run(ctx, e.Factory, o)
	if want := "build failed: service web: RUN is not supported by the local builder"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	e.Golden(t, "build_run_fails")
	if got := e.Store.Writes(); len(got) != 2 || got[1] != "delete secrets build-args-babcdefghij" {
		t.Errorf("writes %q: want the staged args deleted", got)
	}
}

// Each refusal is one line that says what to do, and changes nothing: no
// record or Secret written, nothing uploaded, no workflow (the mock fails
// the test on any call it does not expect).
func TestBuildRunRefuses(t *testing.T) {
	for _, tt := range []struct {
		name     string
		manifest string
		env      map[string]string
		edit     func(*Options)
		want     string
	}{
		{"no app", manifest, nil, func(o *Options) { o.App = "nope" },
			"no such app: nope (create it with `slipway apps create nope`, or pass -a APP)"},
		{"no manifest", manifest, nil, func(o *Options) { o.Manifest = "app.yml" },
			"no app.yml in DIR: write one, or pass --manifest FILE"},
		{"bad manifest", "services:\n  web:\n    port: [\n", nil, nil, "convox.yml"},
		{"required env", manifest, nil, nil, "required env: FOO"},
		{"builder", manifest, map[string]string{"FOO": "x"}, func(o *Options) { o.Builder = "docker" },
			`unknown builder "docker": use --builder local or --builder kubernetes`},
		{"arg without value", manifest, map[string]string{"FOO": "x"}, func(o *Options) { o.BuildArgs = []string{"VERSION"} },
			`--build-arg "VERSION" has no value: use --build-arg KEY=VALUE`},
		{"arg name", manifest, map[string]string{"FOO": "x"}, func(o *Options) { o.BuildArgs = []string{"1X=y"} },
			`--build-arg "1X": a build arg's name is letters, digits and _, not starting with a digit`},
		{"strict", strings.Replace(manifest, "    port: 5000\n", "    port: 5000\n    zenvironment: []\n", 1), map[string]string{"FOO": "x"},
			func(o *Options) { o.Strict, o.Manifest = true, "convox.yml" },
			`convox.yml:5: services.web.zenvironment: unknown field, ignored: did you mean "environment"? (--strict: 1 warning(s) in all; fix them, or build without --strict)`},
		{"too big", manifest, map[string]string{"FOO": "x"}, func(o *Options) { o.MaxContext = 10 },
			"the source is 0 MB, over the 0 MB limit: add what the build does not need to .dockerignore, or raise --max-context"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pinBuildID(t)
			e := cmdutiltest.New(t, appWithEnv(tt.env)...)
			e.ShareBlobs(t)
			dir := sourceDir(t, tt.manifest)
			o := options(dir)
			if tt.edit != nil {
				tt.edit(&o)
			}
			_, err := Run(context.Background(), e.Factory, o)
			want := strings.ReplaceAll(tt.want, "DIR", dir)
			if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line with %q", err, want)
			}
			if w := e.Store.Writes(); len(w) != 0 {
				t.Errorf("writes %v, want none", w)
			}
			if _, err := e.Bucket.Attributes(context.Background(), blobs.SourceKey("myapp", bid)); err == nil {
				t.Error("the source was uploaded")
			}
		})
	}
}

// Keys slipway ignores are warnings on stderr, one line each, naming the
// build's manifest file; the build goes on.
func TestBuildRunWarns(t *testing.T) {
	pinBuildID(t)
	e := cmdutiltest.New(t, appWithEnv(map[string]string{"FOO": "bar"})...)
	e.ShareBlobs(t)
	e.ExpectWorkflow(workflows.BuildWorkflowID("myapp", bid), workflows.BuildResult{BuildID: bid, ReleaseID: rid}, nil)
	dir := sourceDir(t, "")
	m := strings.Replace(manifest, "    port: 5000\n", "    port: 5000\n    drain: 30\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "app.yml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	o := options(dir)
	o.Manifest = "app.yml"
	if _, err := Run(context.Background(), e.Factory, o); err != nil {
		t.Fatal(err)
	}
	lines := cmdutiltest.Lines(e.ErrOut)
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "WARNING: app.yml:5: services.web.drain: ") {
		t.Errorf("stderr %q, want one warning about app.yml's drain", lines)
	}
}

// A clean git checkout describes its build by its commit, as Convox does;
// anything else has no description.
func TestGitDescription(t *testing.T) {
	dir := t.TempDir()
	if got := gitDescription(dir); got != "" {
		t.Errorf("outside a checkout: %q", got)
	}
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
	}
	git("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "convox.yml"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "my commit message")
	sha, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gitDescription(dir), "build "+string(sha[:10])+" my commit message"; got != want {
		t.Errorf("clean checkout: %q, want %q", got, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "new"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := gitDescription(dir); got != "" {
		t.Errorf("dirty checkout: %q", got)
	}
}

// sourceFiles are the names in the uploaded source tarball.
func sourceFiles(t *testing.T, e *cmdutiltest.Env) []string {
	t.Helper()
	data, err := e.Bucket.ReadAll(context.Background(), blobs.SourceKey("myapp", bid))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	slices.Sort(names)
	return names
}
