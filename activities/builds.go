package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/builder"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/source"
)

type BuildInput struct {
	App          string
	BuildID      string
	Description  string
	ManifestPath string // inside the source; convox.yml by default
	// BuildArgsSecret names the Secret in the app's namespace where the
	// CLI staged the --build-arg values, which win over the manifest's
	// build args: values never travel through Temporal, whose history
	// anyone with UI access can read. FinishBuild deletes it.
	BuildArgsSecret string
	// BuildArgs is how builds started before BuildArgsSecret passed the
	// values; read only for them, never written.
	BuildArgs map[string]string
	// Builder is BuilderLocal (also when empty) or BuilderKubernetes.
	Builder string
	// Registry overrides the worker's registry for this build (--registry).
	Registry string
	// Actor is who started the build.
	Actor string
}

type PrepareBuildResult struct {
	Services []string
}

type FinishBuildInput struct {
	App     string
	BuildID string
	Release string // the release the build made, when it succeeded
	Failure string // why it failed, when it did
	// BuildArgsSecret is the staged Secret of the build's args, deleted
	// now that the build is over.
	BuildArgsSecret string
}

// stagedBuildArgs reads the build's --build-arg values from their Secret.
func (a *Activities) stagedBuildArgs(ctx context.Context, in BuildInput) (map[string]string, error) {
	if in.BuildArgsSecret == "" {
		return in.BuildArgs, nil
	}
	sec, err := a.Store.Core.CoreV1().Secrets(a.Store.Namespace(in.App)).Get(ctx, in.BuildArgsSecret, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, permanent(ErrInvalid, fmt.Errorf("the build args of build %s were lost: run the build again", in.BuildID))
	}
	if err != nil {
		return nil, classify(err)
	}
	args := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		args[k] = string(v)
	}
	return args, nil
}

type StartBuildResult struct {
	// Webhooks are the events the app's webhooks are sent (none: the
	// build sends nothing).
	Webhooks []string
}

// StartBuild writes the Build record as running. A retry finds it written.
func (a *Activities) StartBuild(ctx context.Context, in BuildInput) (StartBuildResult, error) {
	if _, err := a.Store.GetApp(ctx, in.App); err != nil {
		return StartBuildResult{}, classify(err)
	}
	hooks, err := a.subscribed(ctx, in.App)
	if err != nil {
		return StartBuildResult{}, err
	}
	now := metav1.NowMicro()
	_, err = a.Store.CreateBuild(ctx, &records.Build{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{records.LabelApp: in.App}},
		Spec: records.BuildSpec{
			ID: in.BuildID, App: in.App, Description: in.Description,
			Source: blobs.SourceKey(in.App, in.BuildID), ManifestPath: in.ManifestPath, Actor: in.Actor,
		},
		Status: records.BuildStatus{Status: model.BuildRunning, Started: &now},
	})
	if apierrors.IsAlreadyExists(err) {
		err = nil
	}
	return StartBuildResult{Webhooks: hooks}, err
}

// PrepareBuild checks the source and unpacks it (see source.Extract: it
// is untrusted input), reads and checks the manifest, resolves the image of
// every service, builds the Dockerfile ones, and stores the build log.
func (a *Activities) PrepareBuild(ctx context.Context, in BuildInput) (PrepareBuildResult, error) {
	b, err := a.Store.GetBuild(ctx, in.App, in.BuildID)
	if err != nil {
		return PrepareBuildResult{}, classify(err)
	}
	log := newBuildLog(ctx, a.Blobs, blobs.LogKey(in.App, in.BuildID))
	defer log.Close()
	fail := func(err error) (PrepareBuildResult, error) {
		fmt.Fprintf(log, "ERROR: %v\n", err)
		return PrepareBuildResult{}, permanent(ErrInvalid, err)
	}
	// Every builder gets only a source that passed the extractor's checks:
	// the local one reads this very folder, the kubernetes one a tarball
	// pinned to the digest of what was checked here.
	stop := heartbeatEvery(ctx, 5*time.Second)
	src, err := a.unpack(ctx, b.Spec.Source)
	stop()
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(src.dir)
	raw, err := src.manifest(b.Spec.ManifestPath)
	if err != nil {
		return fail(err)
	}
	env, err := a.latestEnv(ctx, in.App)
	if err != nil {
		return PrepareBuildResult{}, err
	}
	m, err := model.ParseManifest(raw, env)
	if err != nil {
		return fail(model.InManifestFile(b.Spec.ManifestPath, err))
	}
	if err := m.CheckEnv(env); err != nil {
		return fail(err)
	}
	flags, err := a.stagedBuildArgs(ctx, in)
	if err != nil {
		return PrepareBuildResult{}, err
	}
	fmt.Fprintf(log, "Manifest %s: %d services\n", b.Spec.ManifestPath, len(m.Services))
	policy := a.registries()
	var images []records.Image
	var services []string
	for _, svc := range m.Services {
		services = append(services, svc.Name)
		registry, what := a.Registry, "the worker's registry"
		if in.Registry != "" {
			registry, what = in.Registry, "--registry "+in.Registry
		}
		if registry == "" {
			return fail(errors.New("no image registry to push to: pass --registry, set SLIPWAY_REGISTRY, or run `slipway dev up`"))
		}
		target, err := policy.Parse(fmt.Sprintf("%s/%s:%s.%s", registry, in.App, svc.Name, in.BuildID), what)
		if err != nil {
			return fail(fmt.Errorf("services.%s: image name: %v", svc.Name, err))
		}
		if svc.Build == nil {
			digest, err := retag(ctx, policy, svc.Image, target, "services."+svc.Name+".image")
			if err != nil {
				return fail(fmt.Errorf("services.%s.image: %w", svc.Name, err))
			}
			fmt.Fprintf(log, "%s: image %s is %s@%s\n", svc.Name, svc.Image, target.Name(), digest)
			images = append(images, records.Image{Service: svc.Name, Ref: target.Name(), Digest: digest})
			continue
		}
		dockerfile := path.Join(svc.Build.Path, svc.Build.Manifest)
		if err := src.inside(svc.Build.Path, dockerfile); err != nil {
			return fail(fmt.Errorf("services.%s.build: %w", svc.Name, err))
		}
		fmt.Fprintf(log, "%s: building %s with the %s builder\n", svc.Name, dockerfile, builderName(in.Builder))
		args := buildArgs(svc.Build.Args, env, flags)
		var digest string
		if in.Builder == BuilderKubernetes {
			digest, err = a.buildInCluster(ctx, log, b, svc, target, args, src.sha256)
		} else {
			stop := heartbeatEvery(ctx, 5*time.Second)
			var res builder.Result
			res, err = builder.Local(ctx, builder.Input{
				Source:     src.dir,
				Context:    svc.Build.Path,
				Dockerfile: dockerfile,
				Args:       args,
				Target:     target,
				Remote:     append(policy.Options(), remote.WithAuthFromKeychain(authn.DefaultKeychain)),
				Registries: policy,
				Log:        log,
			})
			stop()
			digest = res.Digest
		}
		if err != nil {
			return fail(fmt.Errorf("services.%s: %w", svc.Name, err))
		}
		images = append(images, records.Image{Service: svc.Name, Ref: target.Name(), Digest: digest})
	}
	err = a.updateBuild(ctx, in.App, in.BuildID, func(b *records.Build) {
		b.Status.Manifest = string(raw)
		b.Status.Images = images
		b.Status.Logs = blobs.LogKey(in.App, in.BuildID)
		b.Status.Builder = builderName(in.Builder)
	})
	return PrepareBuildResult{Services: services}, err
}

// FinishBuild records the outcome: complete with its release, or failed
// with the reason.
func (a *Activities) FinishBuild(ctx context.Context, in FinishBuildInput) error {
	if in.BuildArgsSecret != "" {
		err := a.Store.Core.CoreV1().Secrets(a.Store.Namespace(in.App)).Delete(ctx, in.BuildArgsSecret, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return classify(err)
		}
	}
	return a.updateBuild(ctx, in.App, in.BuildID, func(b *records.Build) {
		if b.Status.Ended == nil {
			now := metav1.NowMicro()
			b.Status.Ended = &now
		}
		b.Status.Release = in.Release
		b.Status.Status, b.Status.Reason = model.BuildComplete, ""
		if in.Failure != "" {
			b.Status.Status, b.Status.Reason = model.BuildFailed, in.Failure
			b.Status.Logs = blobs.LogKey(in.App, in.BuildID)
		}
	})
}

func (a *Activities) updateBuild(ctx context.Context, app, id string, change func(*records.Build)) error {
	_, err := a.Store.MutateBuild(ctx, app, id, change)
	return classify(err)
}

// latestEnv is the env of the app's newest release (empty for a new app):
// the env a build's release will have.
func (a *Activities) latestEnv(ctx context.Context, app string) (model.Env, error) {
	rec, err := a.Store.GetApp(ctx, app)
	if err != nil {
		return nil, classify(err)
	}
	env, err := a.Store.ReleaseEnv(ctx, app, rec.Status.Latest)
	return model.Env(env), classify(err)
}

// unpacked is a build's source, checked and unpacked into dir.
type unpacked struct {
	dir    string
	sha256 string // of the tarball as it was read
}

// unpack downloads a build's source and extracts it into a new folder with
// the worker's limits, hashing what it reads.
func (a *Activities) unpack(ctx context.Context, key string) (*unpacked, error) {
	r, err := a.Blobs.NewReader(ctx, key, nil)
	if err != nil {
		return nil, fmt.Errorf("source is missing from the blob store: build again")
	}
	defer r.Close()
	dir, err := os.MkdirTemp("", "slipway-build-")
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if err := source.Extract(io.TeeReader(r, h), dir, a.sourceLimits()); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &unpacked{dir: dir, sha256: hex.EncodeToString(h.Sum(nil))}, nil
}

// manifest reads the manifest from the source, through an os.Root.
func (u *unpacked) manifest(name string) ([]byte, error) {
	name = strings.TrimPrefix(path.Clean(filepath.ToSlash(name)), "./")
	root, err := os.OpenRoot(u.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%s not found in the source", name)
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s not found in the source", name)
	}
	return io.ReadAll(io.LimitReader(f, 4<<20))
}

// inside checks that the build path and the Dockerfile, symlinks
// followed, are in the source: the manifest checks their text, this checks
// where they lead. Every builder relies on it.
func (u *unpacked) inside(context, dockerfile string) error {
	root, err := os.OpenRoot(u.dir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, p := range []struct{ what, path string }{{"path", context}, {"manifest", dockerfile}} {
		if _, err := root.Stat(p.path); err != nil && strings.Contains(err.Error(), "path escapes from parent") {
			return fmt.Errorf("%s %s leads outside the source through a symlink: point it at something inside the source", p.what, p.path)
		}
	}
	return nil
}

// buildArgs are a service's build args: a bare KEY takes the release env's
// value (and stays unset without one), KEY=default its default.
func buildArgs(args []model.EnvVar, env model.Env, flags map[string]string) map[string]string {
	out := maps.Clone(flags)
	if out == nil {
		out = map[string]string{}
	}
	for _, a := range args {
		if _, ok := flags[a.Key]; ok {
			continue
		}
		if v, ok := env[a.Key]; ok && a.Required {
			out[a.Key] = v
		} else if !a.Required {
			out[a.Key] = a.Default
		}
	}
	return out
}

func builderName(b string) string {
	if b == "" {
		return BuilderLocal
	}
	return b
}

// retag resolves an `image:` reference to its digest and copies it into the
// app's repository as the build's tag, so a release runs exactly that image
// even if the tag it named moves later.
func retag(ctx context.Context, policy *builder.Registries, image string, target name.Reference, what string) (string, error) {
	ref, err := policy.Parse(image, what)
	if err != nil {
		return "", err
	}
	opts := append(policy.Options(), remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return "", fmt.Errorf("cannot fetch %s: %v", image, builder.Plain(err))
	}
	if err := remote.Write(target, img, opts...); err != nil {
		return "", fmt.Errorf("copy %s to %s: %v", image, target.Name(), builder.Plain(err))
	}
	d, err := img.Digest()
	return d.String(), err
}

// registries is the worker's registry policy for a build.
func (a *Activities) registries() *builder.Registries {
	return &builder.Registries{Insecure: a.InsecureRegistries, Allow: a.RegistryAllow, Own: a.Registry}
}

// sourceLimits are the worker's caps on a build source.
func (a *Activities) sourceLimits() source.Limits {
	if a.SourceLimits == (source.Limits{}) {
		return source.DefaultLimits
	}
	return a.SourceLimits
}
