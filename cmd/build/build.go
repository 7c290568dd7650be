// Package build is `slipway build`: package a directory, upload it, and run
// the Build workflow, which makes a Build and then a Release of it.
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
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/source"
	"github.com/slipway-dev/slipway/workflows"
)

type Options struct {
	Dir         string
	App         string
	Description string
	Manifest    string
	BuildArgs   []string // KEY=VALUE
	MaxContext  int64    // bytes
	Builder     string   // local or kubernetes; "" for the setting
	Registry    string   // "" for the worker's
}

func NewCmdBuild(f *cmdutil.Factory) *cobra.Command {
	var o Options
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build the app from a directory (default: the current one) and make a release of it",
		Example: `  slipway build -a myapp
  slipway build examples/myapp -a myapp --description "first cut"`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = "."
			if len(args) == 1 {
				o.Dir = args[0]
			}
			res, err := Run(cmd.Context(), f, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(f.IO.Out, "Build:   %s\nRelease: %s\n", res.BuildID, res.ReleaseID)
			return nil
		},
	}
	cmdutil.AddAppFlag(cmd, &o.App)
	cmd.Flags().StringVarP(&o.Description, "description", "d", "", "build description (default: the git commit of a clean checkout)")
	cmd.Flags().StringVarP(&o.Manifest, "manifest", "m", "convox.yml", "manifest file, relative to DIR")
	AddBuildFlags(cmd, &o)
	return cmd
}

// AddBuildFlags adds the flags `build` and `deploy` share.
func AddBuildFlags(cmd *cobra.Command, o *Options) {
	cmd.Flags().StringArrayVar(&o.BuildArgs, "build-arg", nil, "build argument KEY=VALUE for every Dockerfile (repeatable)")
	cmd.Flags().Int64Var(&o.MaxContext, "max-context", 1<<30, "refuse a source larger than this many bytes")
	cmd.Flags().StringVar(&o.Registry, "registry", "", "registry host[:port] to push images to (default: the worker's, $SLIPWAY_REGISTRY)")
	cmd.Flags().StringVar(&o.Builder, "builder", "", "local (runs nothing, the default) or kubernetes (a Job per service; $SLIPWAY_BUILDER)")
}

// Run builds and returns the new build and release; `deploy` reuses it.
func Run(ctx context.Context, f *cmdutil.Factory, o Options) (workflows.BuildResult, error) {
	var res workflows.BuildResult
	a, err := f.App(ctx, AppName(o))
	if err != nil {
		return res, err
	}
	if err := checkManifest(ctx, f, a, o); err != nil {
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
	buildArgs := map[string]string{}
	for _, kv := range o.BuildArgs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return res, fmt.Errorf("--build-arg %q has no value: use --build-arg KEY=VALUE", kv)
		}
		if !argName.MatchString(k) {
			return res, fmt.Errorf("--build-arg %q: a build arg's name is letters, digits and _, not starting with a digit", k)
		}
		buildArgs[k] = v
	}
	if o.Description == "" {
		o.Description = gitDescription(o.Dir)
	}
	bid := model.NewBuildID()
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
	if err := cmdutil.Step(f.IO.Out, "Uploading source", func() (string, error) {
		c := cmdutil.StartCounter(f.IO.Out, f.IO.OutTTY, "Uploading source")
		defer c.Stop()
		return "", upload(ctx, f, c, tarball, blobs.SourceKey(a.Name, bid))
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
		in.BuildArgsSecret = activities.StagedBuildArgsName(bid)
		s, err := f.Store()
		if err != nil {
			return res, err
		}
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
	done := make(chan struct{})
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followLog(ctx, f, blobs.LogKey(a.Name, bid), done)
	}()
	werr := cmdutil.WorkflowError(run.Get(ctx, &res))
	close(done)
	<-followed
	if werr != nil {
		return res, fmt.Errorf("build failed: %w", werr)
	}
	return res, nil
}

// argName is what a build arg may be called: a name that Dockerfiles, the
// kubernetes builder's environment and Secret keys all accept.
var argName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkManifest fails fast, before anything is uploaded or recorded, on a
// manifest the build would reject.
func checkManifest(ctx context.Context, f *cmdutil.Factory, a *records.App, o Options) error {
	raw, err := os.ReadFile(filepath.Join(o.Dir, o.Manifest))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no %s in %s: write one, or pass --manifest FILE", o.Manifest, o.Dir)
	}
	if err != nil {
		return err
	}
	s, err := f.Store()
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
	return m.CheckEnv(env)
}

// followLog prints the build log as the worker writes it, until done is
// closed; then it prints whatever is left. The log is a blob that the
// worker rewrites as it grows, so reading it again every tick is the watch.
func followLog(ctx context.Context, f *cmdutil.Factory, key string, done <-chan struct{}) {
	bucket, err := f.Blobs(ctx)
	if err != nil {
		return
	}
	defer bucket.Close()
	printed := 0
	show := func() {
		data, err := bucket.ReadAll(ctx, key)
		if err == nil && len(data) > printed {
			f.IO.Out.Write(data[printed:])
			printed = len(data)
		}
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			show()
		case <-done:
			show()
			return
		case <-ctx.Done():
			return
		}
	}
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
func upload(ctx context.Context, f *cmdutil.Factory, c *cmdutil.Counter, file *os.File, key string) error {
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	bucket, err := f.Blobs(ctx)
	if err != nil {
		return err
	}
	defer bucket.Close()
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

// AppName is the app a build is for: --app, else the source folder's name.
func AppName(o Options) string {
	if o.App != "" {
		return o.App
	}
	if abs, err := filepath.Abs(o.Dir); err == nil {
		return filepath.Base(abs)
	}
	return ""
}
