package records

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
)

// Store reads and writes the records of one rack.
type Store struct {
	Dynamic dynamic.Interface
	Core    kubernetes.Interface
	Rack    string
}

// NotFoundError is returned for an app, build or release that does not
// exist; its message is what the CLI prints.
type NotFoundError struct{ Kind, Name string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("no such %s: %s", e.Kind, e.Name) }

// IsNotFound reports whether err says a record does not exist.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// Namespace of an app: <rack>-<app>.
func (s *Store) Namespace(app string) string { return s.Rack + "-" + app }

// ObjectName is the Kubernetes name of a build or release ID (names are
// lower case; IDs are upper case).
func ObjectName(id string) string { return strings.ToLower(id) }

// EnvSecretName is the Secret that holds a release's env.
func EnvSecretName(release string) string { return "env-" + ObjectName(release) }

// StagedEnvName is the Secret the CLI stages an env change in, for the
// release workflow to read: values never travel through Temporal.
func StagedEnvName(release string) string { return "env-change-" + ObjectName(release) }

// StagedBuildArgsName is the Secret the CLI stages a build's args in.
func StagedBuildArgsName(build string) string { return "build-args-" + ObjectName(build) }

func kindOf(gvr schema.GroupVersionResource) string {
	return strings.TrimSuffix(gvr.Resource, "s")
}

// toUnstructured and fromUnstructured follow the json tags of the record
// types, and the MicroTime fields keep their microseconds (the unit tests
// hold them to what a JSON round trip gives).
func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func fromUnstructured[T any](u *unstructured.Unstructured) (*T, error) {
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

func get[T any](ctx context.Context, s *Store, gvr schema.GroupVersionResource, ns, name, id string) (*T, error) {
	u, err := s.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, &NotFoundError{Kind: kindOf(gvr), Name: id}
	}
	if err != nil {
		return nil, err
	}
	return fromUnstructured[T](u)
}

func list[T any](ctx context.Context, s *Store, gvr schema.GroupVersionResource, ns string, opts metav1.ListOptions) ([]*T, error) {
	l, err := s.Dynamic.Resource(gvr).Namespace(ns).List(ctx, opts)
	if err != nil {
		return nil, err
	}
	out := make([]*T, 0, len(l.Items))
	for i := range l.Items {
		t, err := fromUnstructured[T](&l.Items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// create writes a new record. The API server drops the status of a
// create (every CRD has the status subresource), so a record made with a
// status takes two writes: the create, then the status through its own
// endpoint (finishCreate). A retry of a create whose status write never
// happened (the caller died in between) finds the record without a status
// and finishes it, provided the record is its own: created-by annotations
// equal (records named after a fresh random ID carry none, so a record of
// that name is an earlier attempt at the same create). Any other existing
// record is the API server's AlreadyExists, for the caller to judge.
func create[T any](ctx context.Context, s *Store, gvr schema.GroupVersionResource, ns string, obj *T) (*T, error) {
	u, err := toUnstructured(obj)
	if err != nil {
		return nil, err
	}
	status, withStatus := u.Object["status"]
	delete(u.Object, "status")
	ri := s.Dynamic.Resource(gvr).Namespace(ns)
	made, err := ri.Create(ctx, u, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) && withStatus {
		existing, getErr := ri.Get(ctx, u.GetName(), metav1.GetOptions{})
		if getErr != nil || hasStatus(existing) ||
			existing.GetAnnotations()[AnnotationCreatedBy] != u.GetAnnotations()[AnnotationCreatedBy] {
			return nil, err
		}
		made, err = existing, nil
	}
	if err != nil {
		return nil, err
	}
	if withStatus {
		if made, err = finishCreate(ctx, ri, made, status); err != nil {
			return nil, fmt.Errorf("write the status of new %s %s: %w", kindOf(gvr), u.GetName(), err)
		}
	}
	return fromUnstructured[T](made)
}

// finishCreate writes the first status of a record that was just created,
// through the status endpoint. It writes only onto a record that has no
// status yet: one that has was finished by a concurrent attempt, or has
// moved on since, and is returned as it is.
func finishCreate(ctx context.Context, ri dynamic.ResourceInterface, made *unstructured.Unstructured, status any) (*unstructured.Unstructured, error) {
	cur := made
	err := retry.RetryOnConflict(conflictBackoff, func() error {
		if cur == nil {
			var err error
			if cur, err = ri.Get(ctx, made.GetName(), metav1.GetOptions{}); err != nil {
				return err
			}
		}
		if hasStatus(cur) {
			return nil
		}
		next := cur.DeepCopy()
		next.Object["status"] = status
		out, err := ri.UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if err != nil {
			cur = nil // read it again before the next attempt
			return err
		}
		cur = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cur, nil
}

// hasStatus reports whether a record's status was ever written.
func hasStatus(u *unstructured.Unstructured) bool {
	st, ok := u.Object["status"].(map[string]any)
	return ok && len(st) > 0
}

// updateStatus writes a record's status through the status endpoint, only
// if nobody wrote the record since it was read (its resourceVersion); a
// conflict comes back as apierrors.IsConflict. Changes to anything but the
// status are not written.
func updateStatus[T any](ctx context.Context, s *Store, gvr schema.GroupVersionResource, ns string, obj *T) (*T, error) {
	u, err := toUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u, err = s.Dynamic.Resource(gvr).Namespace(ns).UpdateStatus(ctx, u, metav1.UpdateOptions{})
	if err != nil {
		return nil, err
	}
	return fromUnstructured[T](u)
}

// conflictBackoff paces mutate's attempts. It is longer than
// retry.DefaultRetry (5 tries within about 50ms) because an app record also
// takes a write from every concurrent `env set` (AppendRelease), and a
// promotion's status write must outlast a burst of those: 10 tries, growing
// from 10ms, spread over about a second.
var conflictBackoff = wait.Backoff{Steps: 10, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 0.5}

// mutate applies change to the newest version of a record and writes what
// it changed, reading again and reapplying change after a conflict, so
// concurrent writers never lose an update. If every attempt conflicts it
// returns the conflict (apierrors.IsConflict), for the caller to retry
// later.
func mutate[T any](ctx context.Context, s *Store, gvr schema.GroupVersionResource, ns, name, id string, change func(*T)) (*T, error) {
	ri := s.Dynamic.Resource(gvr).Namespace(ns)
	var out *T
	err := retry.RetryOnConflict(conflictBackoff, func() error {
		obj, err := get[T](ctx, s, gvr, ns, name, id)
		if err != nil {
			return err
		}
		// before goes through the same conversion as after, so only what
		// change did tells them apart.
		before, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		change(obj)
		after, err := toUnstructured(obj)
		if err != nil {
			return err
		}
		written, err := write(ctx, ri, before, after)
		if err != nil {
			return err
		}
		out, err = fromUnstructured[T](written)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// write sends each part of a record that changed from before to after to
// the endpoint that takes it: spec and metadata to the main endpoint (which
// ignores status), then status to the status endpoint (which ignores the
// rest). Each write is conditional on the resourceVersion before it; a
// conflict on the second leaves the first written, and mutate's retry then
// finds only the status to write. Nothing changed, nothing is written.
func write(ctx context.Context, ri dynamic.ResourceInterface, before, after *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	cur := before
	if !equality.Semantic.DeepEqual(withoutStatus(before), withoutStatus(after)) {
		var err error
		if cur, err = ri.Update(ctx, after, metav1.UpdateOptions{}); err != nil {
			return nil, err
		}
	}
	if !equality.Semantic.DeepEqual(before.Object["status"], after.Object["status"]) {
		next := cur.DeepCopy()
		if st, ok := after.Object["status"]; ok {
			next.Object["status"] = st
		} else {
			delete(next.Object, "status")
		}
		return ri.UpdateStatus(ctx, next, metav1.UpdateOptions{})
	}
	return cur, nil
}

func withoutStatus(u *unstructured.Unstructured) map[string]any {
	m := make(map[string]any, len(u.Object))
	for k, v := range u.Object {
		if k != "status" {
			m[k] = v
		}
	}
	return m
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: Group + "/" + Version, Kind: kind}
}

// GetApp returns the app's record, or a NotFoundError.
func (s *Store) GetApp(ctx context.Context, app string) (*App, error) {
	return get[App](ctx, s, AppResource, s.Namespace(app), app, app)
}

// ListApps returns the rack's apps, sorted by name.
func (s *Store) ListApps(ctx context.Context) ([]*App, error) {
	apps, err := list[App](ctx, s, AppResource, "", metav1.ListOptions{LabelSelector: LabelRack + "=" + s.Rack})
	if err != nil {
		return nil, err
	}
	sortBy(apps, func(a *App) string { return a.Name })
	return apps, nil
}

// CreateApp writes a new app record; the namespace must exist.
func (s *Store) CreateApp(ctx context.Context, app *App) (*App, error) {
	app.TypeMeta = typeMeta("App")
	app.Namespace = s.Namespace(app.Name)
	return create(ctx, s, AppResource, app.Namespace, app)
}

// UpdateApp writes the app's status if the record did not change since it
// was read. The write goes to the status endpoint, so any other change is
// not written: the spec (the scale set by hand) changes through MutateApp.
func (s *Store) UpdateApp(ctx context.Context, app *App) (*App, error) {
	return updateStatus(ctx, s, AppResource, app.Namespace, app)
}

// GetBuild returns a build by ID, or a NotFoundError.
func (s *Store) GetBuild(ctx context.Context, app, id string) (*Build, error) {
	return get[Build](ctx, s, BuildResource, s.Namespace(app), ObjectName(id), id)
}

// ListBuilds returns the app's builds, newest first.
func (s *Store) ListBuilds(ctx context.Context, app string) ([]*Build, error) {
	builds, err := list[Build](ctx, s, BuildResource, s.Namespace(app), metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	sortNewestFirst(builds, func(b *Build) time.Time {
		if b.Status.Started != nil {
			return b.Status.Started.Time
		}
		return b.CreationTimestamp.Time
	}, func(b *Build) string { return b.Spec.ID })
	return builds, nil
}

func (s *Store) CreateBuild(ctx context.Context, b *Build) (*Build, error) {
	b.TypeMeta = typeMeta("Build")
	b.Name = ObjectName(b.Spec.ID)
	b.Namespace = s.Namespace(b.Spec.App)
	return create(ctx, s, BuildResource, b.Namespace, b)
}

// MutateBuild applies change to the newest version of a build record.
func (s *Store) MutateBuild(ctx context.Context, app, id string, change func(*Build)) (*Build, error) {
	return mutate(ctx, s, BuildResource, s.Namespace(app), ObjectName(id), id, change)
}

// GetRelease returns a release by ID, or a NotFoundError.
func (s *Store) GetRelease(ctx context.Context, app, id string) (*Release, error) {
	return get[Release](ctx, s, ReleaseResource, s.Namespace(app), ObjectName(id), id)
}

// ReleaseEnv returns the env of an app's release by ID; an empty env for
// "" (an app with no release yet).
func (s *Store) ReleaseEnv(ctx context.Context, app, id string) (map[string]string, error) {
	if id == "" {
		return map[string]string{}, nil
	}
	r, err := s.GetRelease(ctx, app, id)
	if err != nil {
		return nil, err
	}
	return s.GetReleaseEnv(ctx, r)
}

// GetReleaseEnv returns the env of a release from its Secret.
func (s *Store) GetReleaseEnv(ctx context.Context, r *Release) (map[string]string, error) {
	sec, err := s.Core.CoreV1().Secrets(r.Namespace).Get(ctx, r.Spec.Env, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("release %s has lost its env Secret %s: work from another release (`slipway env set --release ID`): %w", r.Spec.ID, r.Spec.Env, err)
	}
	if err != nil {
		return nil, fmt.Errorf("env of release %s: %w", r.Spec.ID, err)
	}
	env := make(map[string]string, len(sec.Data))
	for k, v := range sec.Data {
		env[k] = string(v)
	}
	return env, nil
}

// envSecret builds the Secret that holds a release's env, owned by the
// release so that deleting the release deletes its env.
func envSecret(r *Release, env map[string]string) *corev1.Secret {
	data := make(map[string][]byte, len(env))
	for k, v := range env {
		data[k] = []byte(v)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:      r.Spec.Env,
			Namespace: r.Namespace,
			Labels:    map[string]string{LabelApp: r.Spec.App},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: Group + "/" + Version, Kind: "Release", Name: r.Name, UID: r.UID,
			}},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

// NewStore connects to the records of a rack.
func NewStore(rc *rest.Config, rack string) (*Store, error) {
	core, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	return &Store{Dynamic: dyn, Core: core, Rack: rack}, nil
}
