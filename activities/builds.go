package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"go.temporal.io/sdk/activity"
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
	// BuildArgs (--build-arg) win over the manifest's build args. Only
	// names and values the user typed: never the release env.
	BuildArgs map[string]string
	// Builder is BuilderLocal (also when empty) or BuilderKubernetes.
	Builder string
	// Registry overrides the worker's registry for this build (--registry).
	Registry string
}

type PrepareBuildResult struct {
	Services []string
}

type FinishBuildInput struct {
	App     string
	BuildID string
	Release string // the release the build made, when it succeeded
	Failure string // why it failed, when it did
}

// StartBuild writes the Build record as running. A retry finds it written.
func (a *Activities) StartBuild(ctx context.Context, in BuildInput) error {
	if _, err := a.Store.GetApp(ctx, in.App); err != nil {
		return classify(err)
	}
	now := metav1.NowMicro()
	_, err := a.Store.CreateBuild(ctx, &records.Build{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{records.LabelApp: in.App}},
		Spec: records.BuildSpec{
			ID: in.BuildID, App: in.App, Description: in.Description,
			Source: blobs.SourceKey(in.App, in.BuildID), ManifestPath: in.ManifestPath,
		},
		Status: records.BuildStatus{Status: model.BuildRunning, Started: &now},
	})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// PrepareBuild reads and checks the manifest from the source, resolves the
// image of every service, and stores the build log. Services with a
// Dockerfile are built by a builder step that slots in after this one.
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
	r, err := a.Blobs.NewReader(ctx, b.Spec.Source, nil)
	if err != nil {
		return fail(fmt.Errorf("source of build %s is missing from the blob store: build again", in.BuildID))
	}
	raw, err := source.ReadFile(r, b.Spec.ManifestPath)
	r.Close()
	if err != nil {
		return fail(err)
	}
	env, err := a.latestEnv(ctx, in.App)
	if err != nil {
		return PrepareBuildResult{}, err
	}
	m, err := model.ParseManifest(raw, env)
	if err != nil {
		return fail(fmt.Errorf("%s: %w", b.Spec.ManifestPath, err))
	}
	if err := m.CheckEnv(env); err != nil {
		return fail(err)
	}
	fmt.Fprintf(log, "Manifest %s: %d services\n", b.Spec.ManifestPath, len(m.Services))
	var images []records.Image
	var services []string
	var srcDir string
	for _, svc := range m.Services {
		services = append(services, svc.Name)
		registry := cmp.Or(in.Registry, a.Registry)
		if registry == "" {
			return fail(errors.New("no image registry to push to: pass --registry, set SLIPWAY_REGISTRY, or run `slipway dev up`"))
		}
		target, err := name.ParseReference(fmt.Sprintf("%s/%s:%s.%s", registry, in.App, svc.Name, in.BuildID))
		if err != nil {
			return fail(fmt.Errorf("services.%s: image name: %v", svc.Name, err))
		}
		if svc.Build == nil {
			digest, err := retag(ctx, svc.Image, target)
			if err != nil {
				return fail(fmt.Errorf("services.%s.image: %w", svc.Name, err))
			}
			fmt.Fprintf(log, "%s: image %s is %s@%s\n", svc.Name, svc.Image, target.Name(), digest)
			images = append(images, records.Image{Service: svc.Name, Ref: target.Name(), Digest: digest})
			continue
		}
		if srcDir == "" && in.Builder != BuilderKubernetes {
			if srcDir, err = a.unpack(ctx, b.Spec.Source); err != nil {
				return fail(err)
			}
			defer os.RemoveAll(srcDir)
		}
		fmt.Fprintf(log, "%s: building %s with the %s builder\n", svc.Name, path.Join(svc.Build.Path, svc.Build.Manifest), builderName(in.Builder))
		args := buildArgs(svc.Build.Args, env, in.BuildArgs)
		var digest string
		if in.Builder == BuilderKubernetes {
			digest, err = a.buildInCluster(ctx, log, b, svc, target, args)
		} else {
			stop := heartbeatEvery(ctx, 5*time.Second)
			var res builder.Result
			res, err = builder.Local(ctx, builder.Input{
				Context:    filepath.Join(srcDir, svc.Build.Path),
				Dockerfile: filepath.Join(srcDir, svc.Build.Path, svc.Build.Manifest),
				Args:       args,
				Target:     target,
				Remote:     []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)},
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

// unpack downloads and extracts a build's source into a new folder.
func (a *Activities) unpack(ctx context.Context, key string) (string, error) {
	r, err := a.Blobs.NewReader(ctx, key, nil)
	if err != nil {
		return "", fmt.Errorf("source is missing from the blob store: build again")
	}
	defer r.Close()
	dir, err := os.MkdirTemp("", "slipway-build-")
	if err != nil {
		return "", err
	}
	if err := source.Extract(r, dir, a.sourceLimits()); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
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

// heartbeatEvery keeps a long step alive in Temporal's eyes until stopped.
func heartbeatEvery(ctx context.Context, d time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			case <-done:
				return
			}
		}
	}()
	return func() { close(done) }
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
func retag(ctx context.Context, image string, target name.Reference) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", err
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return "", fmt.Errorf("cannot fetch %s: %v", image, err)
	}
	if err := remote.Write(target, img, opts...); err != nil {
		return "", fmt.Errorf("copy %s to %s: %v", image, target.Name(), err)
	}
	d, err := img.Digest()
	return d.String(), err
}

// sourceLimits are the worker's caps on a build source.
func (a *Activities) sourceLimits() source.Limits {
	if a.SourceLimits == (source.Limits{}) {
		return source.DefaultLimits
	}
	return a.SourceLimits
}
