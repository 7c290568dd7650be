package build

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	"gocloud.dev/blob"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/source"
	"github.com/slipway-dev/slipway/workflows"
)

// newBuildID names each build; tests pin it.
var newBuildID = model.NewBuildID

// Run builds and returns the new build and release; `deploy` reuses it.
func Run(ctx context.Context, f *cmdutil.Factory, o Options) (workflows.BuildResult, error) {
	var res workflows.BuildResult
	a, s, err := f.AppStore(ctx, AppName(o))
	if err != nil {
		return res, err
	}
	if err := checkManifest(ctx, f.IO.ErrOut, s, a, o); err != nil {
		return res, err
	}
	settings, err := f.Settings()
	if err != nil {
		return res, err
	}
	builderName := cmp.Or(o.Builder, settings.Builder)
	if builderName != activities.BuilderLocal && builderName != activities.BuilderKubernetes {
		return res, fmt.Errorf("unknown builder %q: use --builder local or --builder kubernetes", builderName)
	}
	buildArgs, err := parseBuildArgs(o.BuildArgs)
	if err != nil {
		return res, err
	}
	if o.Description == "" {
		o.Description = gitDescription(o.Dir)
	}
	bid := newBuildID()
	// The tarball goes to a temporary file, not memory: sources can be big.
	tarball, err := os.CreateTemp("", "slipway-source-*.tgz")
	if err != nil {
		return res, err
	}
	defer os.Remove(tarball.Name())
	defer tarball.Close()
	if err := cmdutil.Step(f.IO.Out, "Packaging source", func() (string, error) {
		c := cmdutil.StartCounter(f.IO.Out, f.IO.OutTTY, "Packaging source")
		st, err := source.Package(o.Dir, c.Writer(tarball))
		c.Stop()
		if err == nil && o.MaxContext > 0 && st.Bytes > o.MaxContext {
			err = fmt.Errorf("the source is %d MB, over the %d MB limit: add what the build does not need to .dockerignore, or raise --max-context", st.Bytes>>20, o.MaxContext>>20)
		}
		return "", err
	}); err != nil {
		return res, err
	}
	// One bucket for the upload and the log that follows.
	var bucket *blob.Bucket
	defer func() {
		if bucket != nil {
			bucket.Close()
		}
	}()
	if err := cmdutil.Step(f.IO.Out, "Uploading source", func() (string, error) {
		c := cmdutil.StartCounter(f.IO.Out, f.IO.OutTTY, "Uploading source")
		defer c.Stop()
		if bucket, err = f.Blobs(ctx); err != nil {
			return "", err
		}
		return "", upload(ctx, bucket, c, tarball, blobs.SourceKey(a.Name, bid))
	}); err != nil {
		return res, err
	}
	in := activities.BuildInput{
		App: a.Name, BuildID: bid, Description: o.Description, ManifestPath: o.Manifest,
		Builder: builderName, Registry: o.Registry, Actor: f.Actor(ctx),
	}
	if len(buildArgs) > 0 {
		// Values go to a Secret, never into the workflow's input (its
		// history is readable in the Temporal UI); the build deletes it.
		in.BuildArgsSecret = records.StagedBuildArgsName(bid)
		if err := cmdutil.StageSecret(ctx, s, a, in.BuildArgsSecret, buildArgs); err != nil {
			return res, err
		}
		defer func() {
			// After a Ctrl-C the build still runs and needs them.
			if ctx.Err() == nil {
				_ = s.Core.CoreV1().Secrets(a.Namespace).Delete(ctx, in.BuildArgsSecret, metav1.DeleteOptions{})
			}
		}()
	}
	var run interface {
		Get(context.Context, any) error
	}
	if err := cmdutil.Step(f.IO.Out, "Starting build", func() (string, error) {
		r, err := f.Start(ctx, cmdutil.RunOptions{
			ID: workflows.BuildWorkflowID(a.Name, bid), App: a.Name, Build: bid,
			Summary: "build " + bid + " of " + a.Name,
		}, workflows.Build, in)
		run = r
		return "", err
	}); err != nil {
		return res, err
	}
	werr := followWhile(ctx, &logTail{bucket: bucket, key: blobs.LogKey(a.Name, bid), out: f.IO.Out}, func() error {
		return cmdutil.WorkflowError(run.Get(ctx, &res))
	})
	if werr != nil {
		return res, fmt.Errorf("build failed: %w", werr)
	}
	return res, nil
}

// argName is what a build arg may be called: a name that Dockerfiles, the
// kubernetes builder's environment and Secret keys all accept.
var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseBuildArgs reads the --build-arg KEY=VALUE flags.
func parseBuildArgs(args []string) (map[string]string, error) {
	buildArgs := map[string]string{}
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--build-arg %q has no value: use --build-arg KEY=VALUE", kv)
		}
		if !argName.MatchString(k) {
			return nil, fmt.Errorf("--build-arg %q: a build arg's name is letters, digits and _, not starting with a digit", k)
		}
		buildArgs[k] = v
	}
	return buildArgs, nil
}

// checkManifest fails fast, before anything is uploaded or recorded, on a
// manifest the build would reject, and prints what it ignores to warn: one
// `WARNING:` line each on stderr, or, with --strict, an error.
func checkManifest(ctx context.Context, warn io.Writer, s *records.Store, a *records.App, o Options) error {
	raw, err := os.ReadFile(filepath.Join(o.Dir, o.Manifest))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no %s in %s: write one, or pass --manifest FILE", o.Manifest, o.Dir)
	}
	if err != nil {
		return err
	}
	e, err := s.ReleaseEnv(ctx, a.Name, a.Status.Latest)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	env := model.Env(e)
	m, err := model.ParseManifest(raw, env)
	if err != nil {
		return model.InManifestFile(o.Manifest, err)
	}
	for _, w := range m.Warnings {
		// The parser names the file convox.yml; the build's may differ.
		if rest, ok := strings.CutPrefix(w, "convox.yml"); ok {
			w = o.Manifest + rest
		}
		if o.Strict {
			return fmt.Errorf("%s (--strict: %d warning(s) in all; fix them, or build without --strict)", w, len(m.Warnings))
		}
		fmt.Fprintln(warn, "WARNING: "+w)
	}
	return m.CheckEnv(env)
}

// gitDescription is Convox's build description for a clean git checkout:
// `build <sha, 10 chars> <subject>`; empty otherwise.
func gitDescription(dir string) string {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	if status, err := git("status", "--porcelain", "--", "."); err != nil || status != "" {
		return ""
	}
	line, err := git("log", "-1", "--format=%H %s")
	if err != nil || len(line) < 41 {
		return ""
	}
	return "build " + line[:10] + " " + line[41:]
}

// upload streams a file to the blob store.
func upload(ctx context.Context, bucket *blob.Bucket, c *cmdutil.Counter, file *os.File, key string) error {
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w, err := bucket.NewWriter(ctx, key, nil)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, c.Reader(file)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
