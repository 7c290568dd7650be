package records

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestGetNotFound(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", "", 0)})
	ctx := context.Background()
	tests := []struct {
		name string
		get  func() error
		want string
	}{
		{"app", func() error { _, err := fs.GetApp(ctx, "nope"); return err }, "no such app: nope"},
		{"release", func() error { _, err := fs.GetRelease(ctx, "myapp", "RXXX"); return err }, "no such release: RXXX"},
		{"build", func() error { _, err := fs.GetBuild(ctx, "myapp", "BXXX"); return err }, "no such build: BXXX"},
		{"release of missing app", func() error { _, err := fs.GetRelease(ctx, "nope", "RABCDEFGHIJ"); return err }, "no such release: RABCDEFGHIJ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.get()
			if err == nil {
				t.Fatal("got no error")
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if !IsNotFound(err) {
				t.Errorf("IsNotFound(%v) = false", err)
			}
			if !IsNotFound(fmt.Errorf("wrapped: %w", err)) {
				t.Errorf("IsNotFound of a wrapped NotFoundError = false")
			}
		})
	}
	if IsNotFound(errors.New("no such app: x")) {
		t.Error("IsNotFound of a plain error = true")
	}
}

func TestGetFound(t *testing.T) {
	r := testRelease("myapp", "RABCDEFGHIJ", "", 1)
	r.Spec.Description = "first"
	b := &Build{
		TypeMeta:   typeMeta("Build"),
		ObjectMeta: metav1.ObjectMeta{Name: "babcdefghij", Namespace: "dev-myapp"},
		Spec:       BuildSpec{ID: "BABCDEFGHIJ", App: "myapp", Source: "src/x.tgz"},
		Status:     BuildStatus{Status: "complete", Images: []Image{{Service: "web", Ref: "reg/web:1"}}},
	}
	fs := newFakeStore(t, []any{testApp("myapp", "RABCDEFGHIJ", 1), r, b})
	ctx := context.Background()

	a, err := fs.GetApp(ctx, "myapp")
	if err != nil {
		t.Fatal(err)
	}
	if a.Namespace != "dev-myapp" || a.Status.Latest != "RABCDEFGHIJ" || a.Status.Sequence != 1 {
		t.Errorf("GetApp = %+v", a)
	}
	// IDs are upper case; object names are lower case.
	gr, err := fs.GetRelease(ctx, "myapp", "RABCDEFGHIJ")
	if err != nil {
		t.Fatal(err)
	}
	if gr.Spec != r.Spec || gr.Name != "rabcdefghij" {
		t.Errorf("GetRelease = %+v, want spec %+v", gr, r.Spec)
	}
	gb, err := fs.GetBuild(ctx, "myapp", "BABCDEFGHIJ")
	if err != nil {
		t.Fatal(err)
	}
	if gb.Spec != b.Spec || !slices.Equal(gb.Status.Images, b.Status.Images) {
		t.Errorf("GetBuild = %+v, want %+v", gb, b)
	}
}

func TestNames(t *testing.T) {
	s := &Store{Rack: "dev"}
	if got := s.Namespace("myapp"); got != "dev-myapp" {
		t.Errorf("Namespace = %q", got)
	}
	if got := ObjectName("RABCDEFGHIJ"); got != "rabcdefghij" {
		t.Errorf("ObjectName = %q", got)
	}
	if got := EnvSecretName("RABCDEFGHIJ"); got != "env-rabcdefghij" {
		t.Errorf("EnvSecretName = %q", got)
	}
}

func TestListAppsByRack(t *testing.T) {
	other := testApp("other", "", 0)
	other.Labels[LabelRack] = "prod"
	other.Namespace = "prod-other"
	unlabelled := testApp("stray", "", 0)
	unlabelled.Labels = nil
	fs := newFakeStore(t, []any{testApp("zeta", "", 0), other, testApp("alpha", "", 0), unlabelled, testApp("mid", "", 0)})

	apps, err := fs.ListApps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
	}
	if want := []string{"alpha", "mid", "zeta"}; !slices.Equal(names, want) {
		t.Errorf("ListApps = %v, want %v (rack %q only, sorted by name)", names, want, testRack)
	}
}

func TestListAppsEmpty(t *testing.T) {
	fs := newFakeStore(t, nil)
	apps, err := fs.ListApps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 0 {
		t.Errorf("ListApps = %d apps, want none", len(apps))
	}
}

func TestGetReleaseEnv(t *testing.T) {
	r := testRelease("myapp", "RABCDEFGHIJ", "", 1)
	fs := newFakeStore(t, []any{testApp("myapp", "RABCDEFGHIJ", 1), r},
		testSecret("myapp", "RABCDEFGHIJ", map[string]string{"FOO": "bar", "PEM": "a\nb"}))
	ctx := context.Background()

	env, err := fs.GetReleaseEnv(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(env) != 2 || env["FOO"] != "bar" || env["PEM"] != "a\nb" {
		t.Errorf("GetReleaseEnv = %q", env)
	}

	lost := testRelease("myapp", "RLOSTLOSTLO", "", 2)
	_, err = fs.GetReleaseEnv(ctx, lost)
	if err == nil {
		t.Fatal("GetReleaseEnv of a release without a Secret: no error")
	}
	if want := "release RLOSTLOSTLO has lost its env Secret env-rlostlostlo: work from another release (`slipway env set --release ID`): "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want prefix %q", err, want)
	}
	if !apierrors.IsNotFound(err) {
		t.Errorf("error %v does not say NotFound: callers tell a lost Secret from a passing failure by it", err)
	}
}

func TestSortNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	type rec struct {
		id      string
		created time.Time
	}
	tests := []struct {
		name string
		in   []rec
		want []string
	}{
		{
			name: "distinct times",
			in:   []rec{{"BA", t0}, {"BC", t0.Add(2 * time.Minute)}, {"BB", t0.Add(time.Minute)}},
			want: []string{"BC", "BB", "BA"},
		},
		{
			name: "equal times fall back to ID, descending",
			in:   []rec{{"BAAA", t0}, {"BCCC", t0}, {"BBBB", t0}},
			want: []string{"BCCC", "BBBB", "BAAA"},
		},
		{
			name: "time first, then ID",
			in:   []rec{{"BZ", t0}, {"BA", t0.Add(time.Second)}, {"BY", t0}, {"BB", t0.Add(time.Second)}},
			want: []string{"BB", "BA", "BZ", "BY"},
		},
		{
			name: "empty",
			in:   nil,
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every starting order must give the same result.
			for shift := range max(len(tt.in), 1) {
				in := append(slices.Clone(tt.in[shift:]), tt.in[:shift]...)
				sortNewestFirst(in, func(r rec) time.Time { return r.created }, func(r rec) string { return r.id })
				var got []string
				for _, r := range in {
					got = append(got, r.id)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("start rotated by %d: got %v, want %v", shift, got, tt.want)
				}
			}
		})
	}
}

func TestListBuildsNewestFirst(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	build := func(id string, created time.Time) *Build {
		return &Build{
			TypeMeta: typeMeta("Build"),
			ObjectMeta: metav1.ObjectMeta{
				Name: ObjectName(id), Namespace: "dev-myapp", CreationTimestamp: metav1.NewTime(created),
			},
			Spec: BuildSpec{ID: id, App: "myapp"},
		}
	}
	fs := newFakeStore(t, []any{
		testApp("myapp", "", 0),
		build("BAAAAAAAAAA", t0),
		build("BCCCCCCCCCC", t0.Add(time.Minute)),
		build("BBBBBBBBBBB", t0.Add(time.Minute)),
		build("BDDDDDDDDDD", t0.Add(-time.Minute)),
	})
	bs, err := fs.ListBuilds(context.Background(), "myapp")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range bs {
		got = append(got, b.Spec.ID)
	}
	want := []string{"BCCCCCCCCCC", "BBBBBBBBBBB", "BAAAAAAAAAA", "BDDDDDDDDDD"}
	if !slices.Equal(got, want) {
		t.Errorf("ListBuilds = %v, want %v", got, want)
	}
}
