package records

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
)

// ListReleases returns the app's releases newest first, at most limit
// (0: all). The order is the release chain back from the app's Latest, so it
// is total, and a release whose making was interrupted never shows.
func (s *Store) ListReleases(ctx context.Context, app *App, limit int) ([]*Release, error) {
	if newest := app.Status.Sequence; limit > 0 && newest > 0 {
		// The newest few by their sequence labels: an app with thousands
		// of releases is not read whole to show ten. A chain that comes
		// up short (releases written before the label) reads them all.
		seqs := make([]string, 0, limit)
		for n := newest; n > 0 && n > newest-int64(limit); n-- {
			seqs = append(seqs, strconv.FormatInt(n, 10))
		}
		some, err := list[Release](ctx, s, ReleaseResource, app.Namespace, metav1.ListOptions{
			LabelSelector: LabelSequence + " in (" + strings.Join(seqs, ",") + ")",
		})
		if err != nil {
			return nil, err
		}
		if c := chain(some, app.Status.Latest, limit); len(c) == len(seqs) {
			return c, nil
		}
	}
	all, err := list[Release](ctx, s, ReleaseResource, app.Namespace, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	return chain(all, app.Status.Latest, limit), nil
}

func chain(all []*Release, latest string, limit int) []*Release {
	byID := make(map[string]*Release, len(all))
	for _, r := range all {
		byID[r.Spec.ID] = r
	}
	var out []*Release
	for id := latest; id != "" && (limit <= 0 || len(out) < limit); {
		r, ok := byID[id]
		if !ok {
			break
		}
		out = append(out, r)
		delete(byID, id) // a damaged chain must not loop
		id = r.Spec.Parent
	}
	return out
}

// Fork computes a new release from the app's newest release (nil for the
// first one): its spec (ID, Parent, Sequence and Env are filled in by
// AppendRelease) and its env.
type Fork func(ctx context.Context, latest *Release) (ReleaseSpec, map[string]string, error)

// AppendRelease makes release id the app's newest release. Concurrent
// writers are serialised by the app record's resourceVersion: each attempt
// forks the newest release, writes the release and its env, then moves the
// app's Latest to it only if nobody else did first; a loser deletes what it
// wrote and forks again, so no update is ever lost. Calling it again with
// the same id (a retried activity) returns the release it already made.
func (s *Store) AppendRelease(ctx context.Context, app, id string, fork Fork) (*Release, error) {
	if r, err := s.GetRelease(ctx, app, id); err == nil {
		a, err := s.GetApp(ctx, app)
		if err != nil {
			return nil, err
		}
		onChain, err := s.ListReleases(ctx, a, 0)
		if err != nil {
			return nil, err
		}
		for _, c := range onChain {
			if c.Spec.ID == id {
				return r, nil
			}
		}
		// Written by an attempt that died before it won: start again.
		if err := s.deleteRelease(ctx, r); err != nil {
			return nil, err
		}
	} else if !IsNotFound(err) {
		return nil, err
	}

	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a, err := s.GetApp(ctx, app)
		if err != nil {
			return nil, err
		}
		var latest *Release
		if a.Status.Latest != "" {
			if latest, err = s.GetRelease(ctx, app, a.Status.Latest); err != nil {
				return nil, err
			}
		}
		spec, env, err := fork(ctx, latest)
		if err != nil {
			return nil, err
		}
		spec.ID, spec.App, spec.Env = id, app, EnvSecretName(id)
		spec.Parent, spec.Sequence = a.Status.Latest, a.Status.Sequence+1
		r, err := create(ctx, s, ReleaseResource, a.Namespace, &Release{
			TypeMeta: typeMeta("Release"),
			ObjectMeta: metav1.ObjectMeta{Name: ObjectName(id), Namespace: a.Namespace, Labels: map[string]string{
				LabelApp: app, LabelSequence: strconv.FormatInt(spec.Sequence, 10),
			}},
			Spec: spec,
		})
		if err != nil {
			return nil, fmt.Errorf("write release %s: %w", id, err)
		}
		if err := s.writeEnv(ctx, r, env); err != nil {
			return nil, fmt.Errorf("write env of release %s: %w", id, err)
		}
		a.Status.Latest, a.Status.Sequence = id, spec.Sequence
		if _, err := s.UpdateApp(ctx, a); err == nil {
			return r, nil
		} else if !apierrors.IsConflict(err) {
			return nil, err
		}
		// Another release won this sequence number: fork the new newest.
		if err := s.deleteRelease(ctx, r); err != nil {
			return nil, err
		}
		time.Sleep(time.Duration(attempt%8) * 5 * time.Millisecond)
	}
}

// writeEnv creates the env Secret of release r, which was just created. A
// Secret of that name can only be left by an earlier attempt at the same
// release that died after deleting its release but before deleting its env;
// the garbage collector removes it in time, but a retry comes sooner. It is
// replaced (deleted, not updated, so that a garbage collector's delete of
// the old Secret, which is conditional on its UID, cannot hit the new one).
func (s *Store) writeEnv(ctx context.Context, r *Release, env map[string]string) error {
	secrets := s.Core.CoreV1().Secrets(r.Namespace)
	sec := envSecret(r, env)
	_, err := secrets.Create(ctx, sec, metav1.CreateOptions{})
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := secrets.Delete(ctx, sec.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	_, err = secrets.Create(ctx, sec, metav1.CreateOptions{})
	return err
}

// deleteRelease removes a release and its env at once (rather than leaving
// the env to the garbage collector), so the same ID can be written again.
func (s *Store) deleteRelease(ctx context.Context, r *Release) error {
	err := s.Dynamic.Resource(ReleaseResource).Namespace(r.Namespace).Delete(ctx, r.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	err = s.Core.CoreV1().Secrets(r.Namespace).Delete(ctx, r.Spec.Env, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return nil
}

// ReleaseManifest parses a release's manifest with the release's env,
// for what a promotion reads of it before anything is applied. It reads
// nothing and returns nil when none of keys appears in the manifest's
// text (no key of them can be set then), and nil when the manifest does
// not parse (applying the release then fails with the manifest's error,
// before anything is written) or its env is lost (the apply says so).
func (s *Store) ReleaseManifest(ctx context.Context, r *Release, keys ...string) (*model.Manifest, error) {
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(r.Spec.Manifest, k) }) {
		return nil, nil
	}
	env, err := s.GetReleaseEnv(ctx, r)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	m, err := model.ParseManifest([]byte(r.Spec.Manifest), env)
	if err != nil {
		return nil, nil
	}
	return m, nil
}

// ReleaseCommands are the services of a release that have a release
// command, in the manifest's order (see ReleaseManifest for when there
// are none). The CLI reads them to show the release phase's output.
func (s *Store) ReleaseCommands(ctx context.Context, r *Release) ([]string, error) {
	m, err := s.ReleaseManifest(ctx, r, "release")
	return ReleaseCommandsOf(m), err
}

// ReleaseCommandsOf are the services of m (nil: none) that have a
// release command, in the manifest's order.
func ReleaseCommandsOf(m *model.Manifest) []string {
	if m == nil {
		return nil
	}
	var names []string
	for _, svc := range m.Services {
		if svc.Release != "" {
			names = append(names, svc.Name)
		}
	}
	return names
}
