package records

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stesting "k8s.io/client-go/testing"
)

const (
	r1 = "RAAAAAAAAAA"
	r2 = "RBBBBBBBBBB"
	r3 = "RCCCCCCCCCC"
	r4 = "RDDDDDDDDDD"
	r5 = "REEEEEEEEEE"
)

func TestListReleasesFollowsChain(t *testing.T) {
	// r1 <- r2 <- r3 <- r4 <- r5 (Latest), plus two releases that are not on
	// the chain: a fork of r3 that never became Latest, and a release whose
	// parent is r5 but which lost its race.
	recs := []any{
		testRelease("myapp", r3, r2, 3),
		testRelease("myapp", r1, "", 1),
		testRelease("myapp", r5, r4, 5),
		testRelease("myapp", "RFORKFORKFO", r3, 4),
		testRelease("myapp", r2, r1, 2),
		testRelease("myapp", "RLOSTLOSTLO", r5, 6),
		testRelease("myapp", r4, r3, 4),
		// Another app's release with the same ID shape must not leak in.
		testRelease("other", "ROTHEROTHER", "", 1),
	}
	tests := []struct {
		name   string
		latest string
		limit  int
		want   []string
	}{
		{"all", r5, 0, []string{r5, r4, r3, r2, r1}},
		{"limit stops the walk", r5, 2, []string{r5, r4}},
		{"limit one", r5, 1, []string{r5}},
		{"limit equal to length", r5, 5, []string{r5, r4, r3, r2, r1}},
		{"limit above length", r5, 10, []string{r5, r4, r3, r2, r1}},
		{"negative limit is all", r5, -1, []string{r5, r4, r3, r2, r1}},
		{"from the middle", r3, 0, []string{r3, r2, r1}},
		{"no latest", "", 0, nil},
		{"latest missing", "RMISSINGMIS", 0, nil},
	}
	fs := newFakeStore(t, recs)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fs.ListReleases(context.Background(), testApp("myapp", tt.latest, 5), tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if ids := chainIDs(got); !slices.Equal(ids, tt.want) {
				t.Errorf("ListReleases = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestChainDamaged(t *testing.T) {
	loop := []*Release{testRelease("a", r1, r2, 1), testRelease("a", r2, r1, 2)}
	if got := chainIDs(chain(loop, r2, 0)); !slices.Equal(got, []string{r2, r1}) {
		t.Errorf("a looping chain gave %v, want each release once", got)
	}
	broken := []*Release{testRelease("a", r3, r2, 3), testRelease("a", r1, "", 1)}
	if got := chainIDs(chain(broken, r3, 0)); !slices.Equal(got, []string{r3}) {
		t.Errorf("a chain with a missing parent gave %v, want it to stop at the gap", got)
	}
}

// recordingFork returns a Fork that records the latest release it was given
// and makes a release whose env says which release it forked.
func recordingFork(build string, seen *[]string) Fork {
	return func(_ context.Context, latest *Release) (ReleaseSpec, map[string]string, error) {
		from := ""
		if latest != nil {
			from = latest.Spec.ID
		}
		*seen = append(*seen, from)
		return ReleaseSpec{
				Build: build, Description: "forked " + from,
				// Fields AppendRelease owns: it must overwrite them.
				ID: "RWRONGWRONG", App: "wrong", Parent: "RWRONGWRONG", Sequence: 99, Env: "wrong",
			},
			map[string]string{"FROM": from, "BUILD": build}, nil
	}
}

func getSecret(t *testing.T, fs *fakeStore, ns, name string) *corev1.Secret {
	t.Helper()
	sec, err := fs.core.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret %s/%s: %v", ns, name, err)
	}
	return sec
}

func secretEnv(sec *corev1.Secret) map[string]string {
	env := map[string]string{}
	for k, v := range sec.Data {
		env[k] = string(v)
	}
	return env
}

func TestAppendReleaseFirstAndSecond(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", "", 0)})
	ctx := context.Background()
	var seen []string

	first, err := fs.AppendRelease(ctx, "myapp", r1, recordingFork("BAAAAAAAAAA", &seen))
	if err != nil {
		t.Fatal(err)
	}
	wantSpec := ReleaseSpec{ID: r1, App: "myapp", Build: "BAAAAAAAAAA", Description: "forked ", Parent: "", Sequence: 1, Env: "env-raaaaaaaaaa"}
	if first.Spec != wantSpec {
		t.Errorf("first release spec = %+v, want %+v", first.Spec, wantSpec)
	}
	if first.Name != "raaaaaaaaaa" || first.Namespace != "dev-myapp" || first.Labels[LabelApp] != "myapp" {
		t.Errorf("first release meta = %s/%s labels %v", first.Namespace, first.Name, first.Labels)
	}
	if first.UID == "" {
		t.Fatal("the created release has no UID: the fake's create reactor did not run")
	}
	if a := mustApp(t, fs.Store, "myapp"); a.Status.Latest != r1 || a.Status.Sequence != 1 || a.Status.Release != "" {
		t.Errorf("app after first release: %+v", a.Status)
	}

	sec := getSecret(t, fs, "dev-myapp", "env-raaaaaaaaaa")
	wantOwner := []metav1.OwnerReference{{APIVersion: "slipway.dev/v1", Kind: "Release", Name: "raaaaaaaaaa", UID: first.UID}}
	if !slices.Equal(sec.OwnerReferences, wantOwner) {
		t.Errorf("secret owner references = %+v, want %+v", sec.OwnerReferences, wantOwner)
	}
	if sec.Type != corev1.SecretTypeOpaque || sec.Labels[LabelApp] != "myapp" {
		t.Errorf("secret type %q labels %v", sec.Type, sec.Labels)
	}
	if env := secretEnv(sec); !maps.Equal(env, map[string]string{"FROM": "", "BUILD": "BAAAAAAAAAA"}) {
		t.Errorf("secret env = %v", env)
	}
	// The env lives in the Secret only, never in the record.
	if u, err := fs.dyn.Resource(ReleaseResource).Namespace("dev-myapp").Get(ctx, "raaaaaaaaaa", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	} else if b, _ := u.MarshalJSON(); strings.Contains(string(b), "FROM") {
		t.Errorf("release record holds env values: %s", b)
	}

	second, err := fs.AppendRelease(ctx, "myapp", r2, recordingFork("BBBBBBBBBBB", &seen))
	if err != nil {
		t.Fatal(err)
	}
	if second.Spec.Parent != r1 || second.Spec.Sequence != 2 || second.Spec.ID != r2 || second.Spec.Env != "env-rbbbbbbbbbb" {
		t.Errorf("second release spec = %+v", second.Spec)
	}
	if !slices.Equal(seen, []string{"", r1}) {
		t.Errorf("fork saw latest %q, want [\"\" %s]", seen, r1)
	}
	if a := mustApp(t, fs.Store, "myapp"); a.Status.Latest != r2 || a.Status.Sequence != 2 {
		t.Errorf("app after second release: %+v", a.Status)
	}
	if sec := getSecret(t, fs, "dev-myapp", "env-rbbbbbbbbbb"); sec.OwnerReferences[0].UID != second.UID || sec.OwnerReferences[0].UID == first.UID {
		t.Errorf("second secret owned by %q, want %q", sec.OwnerReferences[0].UID, second.UID)
	}
	rs, err := fs.ListReleases(ctx, mustApp(t, fs.Store, "myapp"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids := chainIDs(rs); !slices.Equal(ids, []string{r2, r1}) {
		t.Errorf("ListReleases = %v", ids)
	}
}

func TestAppendReleaseIdempotent(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", r1, 1), testRelease("myapp", r1, "", 1)},
		testSecret("myapp", r1, map[string]string{"A": "1"}))
	ctx := context.Background()
	var seen []string
	made, err := fs.AppendRelease(ctx, "myapp", r2, recordingFork("BBBBBBBBBBB", &seen))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create releases rbbbbbbbbbb", "update apps/status myapp", "create secrets env-rbbbbbbbbbb"}
	if got := fs.writes(); !slices.Equal(got, want) {
		t.Errorf("first call wrote %q, want %q", got, want)
	}
	fs.clearActions()

	// A retried activity calls again with the same ID.
	for i := range 2 {
		again, err := fs.AppendRelease(ctx, "myapp", r2, recordingFork("BOTHEROTHER", &seen))
		if err != nil {
			t.Fatalf("retry %d: %v", i, err)
		}
		if again.Spec != made.Spec || again.UID != made.UID {
			t.Errorf("retry %d returned %+v (uid %s), want %+v (uid %s)", i, again.Spec, again.UID, made.Spec, made.UID)
		}
	}
	if got := fs.writes(); len(got) != 0 {
		t.Errorf("retries wrote %q, want nothing", got)
	}
	if len(seen) != 1 {
		t.Errorf("fork called %d times, want once", len(seen))
	}
	if a := mustApp(t, fs.Store, "myapp"); a.Status.Latest != r2 || a.Status.Sequence != 2 {
		t.Errorf("app after retries: %+v", a.Status)
	}
	if env := secretEnv(getSecret(t, fs, "dev-myapp", "env-rbbbbbbbbbb")); env["BUILD"] != "BBBBBBBBBBB" {
		t.Errorf("retry changed the env: %v", env)
	}
}

// An older release on the chain is also "already made": a retry that comes
// after other releases were appended must not redo it.
func TestAppendReleaseIdempotentDeepInChain(t *testing.T) {
	fs := newFakeStore(t, []any{
		testApp("myapp", r3, 3),
		testRelease("myapp", r1, "", 1), testRelease("myapp", r2, r1, 2), testRelease("myapp", r3, r2, 3),
	})
	var seen []string
	got, err := fs.AppendRelease(context.Background(), "myapp", r2, recordingFork("BX", &seen))
	if err != nil {
		t.Fatal(err)
	}
	if got.Spec.ID != r2 || got.Spec.Sequence != 2 || len(seen) != 0 || len(fs.writes()) != 0 {
		t.Errorf("got %+v, fork calls %d, writes %q", got.Spec, len(seen), fs.writes())
	}
}

func TestAppendReleaseRedoesLeftover(t *testing.T) {
	// An earlier attempt wrote r2 and its env, then died before it moved the
	// app's Latest: r2 is not on the chain.
	left := testRelease("myapp", r2, r1, 2)
	left.Spec.Build = "BSTALESTALE"
	fs := newFakeStore(t, []any{testApp("myapp", r1, 1), testRelease("myapp", r1, "", 1), left},
		testSecret("myapp", r1, map[string]string{"A": "1"}),
		testSecret("myapp", r2, map[string]string{"STALE": "yes"}))
	ctx := context.Background()
	var seen []string

	got, err := fs.AppendRelease(ctx, "myapp", r2, recordingFork("BFRESHFRESH", &seen))
	if err != nil {
		t.Fatal(err)
	}
	wantWrites := []string{
		"delete releases rbbbbbbbbbb", "create releases rbbbbbbbbbb", "update apps/status myapp",
		"delete secrets env-rbbbbbbbbbb", "create secrets env-rbbbbbbbbbb",
	}
	if w := fs.writes(); !slices.Equal(w, wantWrites) {
		t.Errorf("writes = %q, want %q", w, wantWrites)
	}
	if got.Spec.Build != "BFRESHFRESH" || got.Spec.Parent != r1 || got.Spec.Sequence != 2 {
		t.Errorf("redone release = %+v", got.Spec)
	}
	if !slices.Equal(seen, []string{r1}) {
		t.Errorf("fork saw %q, want [%s]", seen, r1)
	}
	sec := getSecret(t, fs, "dev-myapp", "env-rbbbbbbbbbb")
	if env := secretEnv(sec); !maps.Equal(env, map[string]string{"FROM": r1, "BUILD": "BFRESHFRESH"}) {
		t.Errorf("env = %v, want the redone release's env only", env)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != got.UID {
		t.Errorf("secret owner = %+v, want uid %s", sec.OwnerReferences, got.UID)
	}
	if a := mustApp(t, fs.Store, "myapp"); a.Status.Latest != r2 || a.Status.Sequence != 2 {
		t.Errorf("app = %+v", a.Status)
	}
}

// An attempt that died after deleting its losing release but before deleting
// that release's env leaves an env Secret with no release. The retry must
// still succeed and own the Secret.
func TestAppendReleaseOrphanEnvSecret(t *testing.T) {
	orphan := testSecret("myapp", r2, map[string]string{"STALE": "yes"})
	orphan.OwnerReferences = []metav1.OwnerReference{{APIVersion: "slipway.dev/v1", Kind: "Release", Name: "rbbbbbbbbbb", UID: "uid-gone"}}
	fs := newFakeStore(t, []any{testApp("myapp", r1, 1), testRelease("myapp", r1, "", 1)}, orphan)
	var seen []string

	got, err := fs.AppendRelease(context.Background(), "myapp", r2, recordingFork("BFRESHFRESH", &seen))
	if err != nil {
		t.Fatal(err)
	}
	wantWrites := []string{
		"create releases rbbbbbbbbbb", "update apps/status myapp",
		"create secrets env-rbbbbbbbbbb", "delete secrets env-rbbbbbbbbbb", "create secrets env-rbbbbbbbbbb",
	}
	if w := fs.writes(); !slices.Equal(w, wantWrites) {
		t.Errorf("writes = %q, want %q", w, wantWrites)
	}
	sec := getSecret(t, fs, "dev-myapp", "env-rbbbbbbbbbb")
	if env := secretEnv(sec); !maps.Equal(env, map[string]string{"FROM": r1, "BUILD": "BFRESHFRESH"}) {
		t.Errorf("env = %v, want the new release's env only", env)
	}
	if len(sec.OwnerReferences) != 1 || sec.OwnerReferences[0].UID != got.UID {
		t.Errorf("secret owner = %+v, want uid %s", sec.OwnerReferences, got.UID)
	}
	if a := mustApp(t, fs.Store, "myapp"); a.Status.Latest != r2 {
		t.Errorf("app = %+v", a.Status)
	}
}

func TestAppendReleaseConflictForksAgain(t *testing.T) {
	const winner = "RWINNERWINN"
	fs := newFakeStore(t, []any{testApp("myapp", r1, 1), testRelease("myapp", r1, "", 1)},
		testSecret("myapp", r1, map[string]string{"A": "1"}))
	ctx := context.Background()

	// The fake dynamic client does not check resourceVersion. On the first
	// App update, play a concurrent writer that appends its own release
	// first, and answer with the API server's conflict.
	updates := 0
	fs.dyn.PrependReactor("update", "apps", func(a k8stesting.Action) (bool, runtime.Object, error) {
		updates++
		if updates > 1 {
			return false, nil, nil
		}
		tr := fs.dyn.Tracker()
		w, err := toUnstructured(testRelease("myapp", winner, r1, 2))
		if err != nil {
			return true, nil, err
		}
		if err := tr.Create(ReleaseResource, w, "dev-myapp"); err != nil {
			return true, nil, err
		}
		app, err := toUnstructured(testApp("myapp", winner, 2))
		if err != nil {
			return true, nil, err
		}
		if err := tr.Update(AppResource, app, "dev-myapp"); err != nil {
			return true, nil, err
		}
		return true, nil, apierrors.NewConflict(schema.GroupResource{Group: Group, Resource: "apps"}, "myapp",
			errors.New("the object has been modified; please apply your changes to the latest version and try again"))
	})

	var seen []string
	got, err := fs.AppendRelease(ctx, "myapp", r3, recordingFork("BCCCCCCCCCC", &seen))
	if err != nil {
		t.Fatal(err)
	}
	if updates != 2 {
		t.Errorf("app updated %d times, want 2 (one conflict, one win)", updates)
	}
	if !slices.Equal(seen, []string{r1, winner}) {
		t.Errorf("fork saw %q, want [%s %s]: the second attempt must fork the winner", seen, r1, winner)
	}

	// The losing attempt's release (parent r1, sequence 2) was written,
	// then deleted with its env before the second attempt wrote again.
	var creates []*Release
	for _, a := range fs.dyn.Actions() {
		if c, ok := a.(k8stesting.CreateAction); ok && c.GetResource() == ReleaseResource {
			r, err := fromUnstructured[Release](c.GetObject().(*unstructured.Unstructured))
			if err != nil {
				t.Fatal(err)
			}
			creates = append(creates, r)
		}
	}
	if len(creates) != 2 {
		t.Fatalf("release created %d times, want 2", len(creates))
	}
	if creates[0].Spec.Parent != r1 || creates[0].Spec.Sequence != 2 {
		t.Errorf("losing attempt wrote parent %q sequence %d, want %s 2", creates[0].Spec.Parent, creates[0].Spec.Sequence, r1)
	}
	wantWrites := []string{
		"create releases rcccccccccc", "update apps/status myapp", "delete releases rcccccccccc",
		"create releases rcccccccccc", "update apps/status myapp",
		"create secrets env-rcccccccccc", "delete secrets env-rcccccccccc", "create secrets env-rcccccccccc",
	}
	if w := fs.writes(); !slices.Equal(w, wantWrites) {
		t.Errorf("writes = %q, want %q", w, wantWrites)
	}

	// The final release comes from a re-read of the app.
	if got.Spec.Parent != winner || got.Spec.Sequence != 3 {
		t.Errorf("final release parent %q sequence %d, want %s 3", got.Spec.Parent, got.Spec.Sequence, winner)
	}
	if env := secretEnv(getSecret(t, fs, "dev-myapp", "env-rcccccccccc")); env["FROM"] != winner {
		t.Errorf("env = %v, want the second fork's", env)
	}
	a := mustApp(t, fs.Store, "myapp")
	if a.Status.Latest != r3 || a.Status.Sequence != 3 {
		t.Errorf("app = %+v", a.Status)
	}
	rs, err := fs.ListReleases(ctx, a, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ids := chainIDs(rs); !slices.Equal(ids, []string{r3, winner, r1}) {
		t.Errorf("chain = %v: no update may be lost", ids)
	}
}

func TestAppendReleaseErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("fork error writes nothing", func(t *testing.T) {
		fs := newFakeStore(t, []any{testApp("myapp", "", 0)})
		boom := errors.New("required env: FOO")
		_, err := fs.AppendRelease(ctx, "myapp", r1, func(context.Context, *Release) (ReleaseSpec, map[string]string, error) {
			return ReleaseSpec{}, nil, boom
		})
		if !errors.Is(err, boom) {
			t.Errorf("error = %v, want %v", err, boom)
		}
		if w := fs.writes(); len(w) != 0 {
			t.Errorf("writes = %q", w)
		}
	})
	t.Run("missing app", func(t *testing.T) {
		fs := newFakeStore(t, nil)
		var seen []string
		_, err := fs.AppendRelease(ctx, "nope", r1, recordingFork("B", &seen))
		if err == nil || err.Error() != "no such app: nope" {
			t.Errorf("error = %v, want no such app: nope", err)
		}
	})
	t.Run("update error then retry", func(t *testing.T) {
		fs := newFakeStore(t, []any{testApp("myapp", r1, 1), testRelease("myapp", r1, "", 1)})
		fail := true
		fs.dyn.PrependReactor("update", "apps", func(k8stesting.Action) (bool, runtime.Object, error) {
			if fail {
				return true, nil, apierrors.NewInternalError(errors.New("etcd timeout"))
			}
			return false, nil, nil
		})
		var seen []string
		if _, err := fs.AppendRelease(ctx, "myapp", r2, recordingFork("B1", &seen)); !apierrors.IsInternalError(err) {
			t.Fatalf("error = %v, want the update's error", err)
		}
		if a := mustApp(t, fs.Store, "myapp"); a.Status.Latest != r1 {
			t.Fatalf("a failed update moved Latest: %+v", a.Status)
		}
		// The retried activity finds its own leftover and redoes it.
		fail = false
		got, err := fs.AppendRelease(ctx, "myapp", r2, recordingFork("B2", &seen))
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Build != "B2" || got.Spec.Parent != r1 || got.Spec.Sequence != 2 {
			t.Errorf("release = %+v", got.Spec)
		}
		if a := mustApp(t, fs.Store, "myapp"); a.Status.Latest != r2 || a.Status.Sequence != 2 {
			t.Errorf("app = %+v", a.Status)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		fs := newFakeStore(t, []any{testApp("myapp", "", 0)})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		var seen []string
		if _, err := fs.AppendRelease(cctx, "myapp", r1, recordingFork("B", &seen)); !errors.Is(err, context.Canceled) {
			t.Errorf("error = %v, want context.Canceled", err)
		}
		if w := fs.writes(); len(w) != 0 {
			t.Errorf("writes = %q", w)
		}
	})
}

// The newest few releases are read by their sequence labels, not by
// reading every release of the app.
func TestListReleasesNewestBySequence(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", "", 0)})
	ctx := context.Background()
	var ids []string
	for i := range 30 {
		id := fmt.Sprintf("R%010d", i)
		if _, err := fs.AppendRelease(ctx, "myapp", id, recordingFork("BAAAAAAAAAA", new([]string))); err != nil {
			t.Fatal(err)
		}
		ids = append([]string{id}, ids...)
	}
	fs.dyn.ClearActions()
	rs, err := fs.ListReleases(ctx, mustApp(t, fs.Store, "myapp"), 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := chainIDs(rs); !slices.Equal(got, ids[:10]) {
		t.Errorf("ListReleases = %v, want %v", got, ids[:10])
	}
	var lists []string
	for _, a := range fs.dyn.Actions() {
		if l, ok := a.(k8stesting.ListAction); ok {
			lists = append(lists, l.GetListRestrictions().Labels.String())
		}
	}
	if want := []string{"slipway.dev/sequence in (21,22,23,24,25,26,27,28,29,30)"}; !slices.Equal(lists, want) {
		t.Errorf("lists with selectors %q, want %q: one list of the newest ten", lists, want)
	}
}
