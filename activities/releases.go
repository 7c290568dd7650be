package activities

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// ReleaseChange is what a new release changes from the one it forks. Env
// values never travel through Temporal (its history is visible in the UI):
// the CLI stages them in a Secret that the activity reads and then deletes.
type ReleaseChange struct {
	EnvSecret   string   // staged Secret with the values to set, or ""
	Unset       []string // keys to remove
	Replace     bool     // the staged values replace the whole env
	Build       string   // a new build, or "" to keep the forked one
	From        string   // fork this release rather than the newest
	Description string   // overrides the computed description
	Actor       string   // who asked for the release
}

type CreateReleaseInput struct {
	App       string
	ReleaseID string
	Change    ReleaseChange
}

type CreateReleaseResult struct {
	ReleaseID   string
	Description string
}

// CreateRelease appends a release to the app's chain (see
// records.Store.AppendRelease for why concurrent writers lose nothing).
func (a *Activities) CreateRelease(ctx context.Context, in CreateReleaseInput) (CreateReleaseResult, error) {
	s := a.Store
	r, err := s.AppendRelease(ctx, in.App, in.ReleaseID, func(ctx context.Context, latest *records.Release) (records.ReleaseSpec, map[string]string, error) {
		return a.fork(ctx, in, latest)
	})
	if err != nil {
		return CreateReleaseResult{}, classify(err)
	}
	if in.Change.EnvSecret != "" {
		err := s.Core.CoreV1().Secrets(s.Namespace(in.App)).Delete(ctx, in.Change.EnvSecret, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return CreateReleaseResult{}, err
		}
	}
	return CreateReleaseResult{ReleaseID: r.Spec.ID, Description: r.Spec.Description}, nil
}

func (a *Activities) fork(ctx context.Context, in CreateReleaseInput, latest *records.Release) (records.ReleaseSpec, map[string]string, error) {
	s, ch := a.Store, in.Change
	base := latest
	if ch.From != "" {
		var err error
		if base, err = s.GetRelease(ctx, in.App, ch.From); err != nil {
			return records.ReleaseSpec{}, nil, classify(err)
		}
	}
	baseEnv := model.Env{}
	var spec records.ReleaseSpec
	if base != nil {
		e, err := s.GetReleaseEnv(ctx, base)
		if err != nil {
			return spec, nil, err
		}
		baseEnv = model.Env(e)
		spec.Build, spec.Manifest = base.Spec.Build, base.Spec.Manifest
	}
	env := baseEnv.Clone()
	if ch.EnvSecret != "" {
		sec, err := s.Core.CoreV1().Secrets(s.Namespace(in.App)).Get(ctx, ch.EnvSecret, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return spec, nil, permanent(ErrInvalid, fmt.Errorf("the env change for release %s was lost: run the command again", in.ReleaseID))
		}
		if err != nil {
			return spec, nil, err
		}
		if ch.Replace {
			env = model.Env{}
		}
		for k, v := range sec.Data {
			env[k] = string(v)
		}
	}
	for _, k := range ch.Unset {
		delete(env, k)
	}
	if err := env.Validate(); err != nil {
		return spec, nil, permanent(ErrInvalid, err)
	}
	if ch.Build != "" {
		b, err := s.GetBuild(ctx, in.App, ch.Build)
		if err != nil {
			return spec, nil, classify(err)
		}
		spec.Build, spec.Manifest = ch.Build, b.Status.Manifest
	}
	spec.Description, spec.Actor = ch.Description, ch.Actor
	if spec.Description == "" {
		spec.Description = model.Diff(baseEnv, env).Description()
	}
	return spec, env, nil
}
