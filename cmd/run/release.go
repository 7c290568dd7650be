package run

import (
	"context"
	"fmt"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// releaseInput is what render needs to run a process of a release: its
// manifest read with its env, and its build's images pinned by digest, as
// a promotion renders the release.
func releaseInput(ctx context.Context, s *records.Store, app, release string) (render.Input, error) {
	r, err := s.GetRelease(ctx, app, release)
	if err != nil {
		return render.Input{}, cmdutil.KubeError(err)
	}
	env, err := s.GetReleaseEnv(ctx, r)
	if err != nil {
		return render.Input{}, cmdutil.KubeError(err)
	}
	m, err := model.ParseManifest([]byte(r.Spec.Manifest), env)
	if err != nil {
		return render.Input{}, fmt.Errorf("release %s: %w", release, model.InManifestFile("convox.yml", err))
	}
	images := map[string]string{}
	if r.Spec.Build != "" {
		b, err := s.GetBuild(ctx, app, r.Spec.Build)
		if records.IsNotFound(err) {
			return render.Input{}, fmt.Errorf("release %s names build %s, which no longer exists: run another release (--release)", release, r.Spec.Build)
		}
		if err != nil {
			return render.Input{}, cmdutil.KubeError(err)
		}
		for _, im := range b.Status.Images {
			images[im.Service] = im.Ref
			if im.Digest != "" {
				if images[im.Service], err = render.Pinned(im.Ref, im.Digest); err != nil {
					return render.Input{}, fmt.Errorf("build %s recorded services.%s as %s@%s, which cannot be pinned (%v): build again", r.Spec.Build, im.Service, im.Ref, im.Digest, err)
				}
			}
		}
	}
	return render.Input{
		App: app, Namespace: s.Namespace(app), Release: release, Build: r.Spec.Build,
		Manifest: m, Env: env, Images: images,
	}, nil
}

// command is a process's command line: several words as given, or one
// string split as a manifest's command is (`slipway run web "rake db:migrate"`).
func command(args []string) ([]string, error) {
	if len(args) != 1 {
		return args, nil
	}
	words, err := model.SplitCommand(args[0])
	if err != nil {
		return nil, fmt.Errorf("command: %v", err)
	}
	return words, nil
}
