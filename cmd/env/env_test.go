package env

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

const rid = "RCDEFGHIJKL"

// pinReleaseID makes the next releases' ID rid.
func pinReleaseID(t *testing.T) {
	old := newReleaseID
	newReleaseID = func() string { return rid }
	t.Cleanup(func() { newReleaseID = old })
}

// release is a release record of myapp and the Secret holding its env.
func release(id string, env map[string]string) []any {
	ns := recordstest.Namespace("myapp")
	r := &records.Release{
		TypeMeta:   recordstest.TypeMeta("Release"),
		ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(id), Namespace: ns},
		Spec:       records.ReleaseSpec{ID: id, App: "myapp", Env: records.EnvSecretName(id)},
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: r.Spec.Env, Namespace: ns}, Data: map[string][]byte{}}
	for k, v := range env {
		s.Data[k] = []byte(v)
	}
	return []any{r, s}
}

// seeds are myapp, whose newest release RBCDEFGHIJK has FOO and BAZ, and
// an older release ROLDOLDOLDO with OLD.
func seeds() []any {
	a := recordstest.App("myapp")
	a.Status.Latest = "RBCDEFGHIJK"
	out := []any{a}
	out = append(out, release("RBCDEFGHIJK", map[string]string{"FOO": "bar", "BAZ": "a b"})...)
	return append(out, release("ROLDOLDOLDO", map[string]string{"OLD": "1"})...)
}

// asked records the promotions a command asked for, as "app release".
type asked []string

func (p *asked) promote(_ context.Context, _ *cmdutil.Factory, app, release string) error {
	*p = append(*p, app+" "+release)
	return nil
}

// Flags, arguments and stdin land in Options; a bad command line fails
// before anything runs.
func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var set *SetOptions
	e.In.WriteString("FROM_STDIN=1\nFOO=stdin\n")
	err := e.Run(NewCmdSet(e.Factory, func(_ context.Context, o *SetOptions) error { set = o; return nil }),
		"FOO=bar", "X=a=b", "-a", "myapp", "--replace", "--release", "RBCDEFGHIJK", "--promote")
	if err != nil {
		t.Fatal(err)
	}
	// The arguments win over stdin.
	if want := (model.Env{"FOO": "bar", "X": "a=b", "FROM_STDIN": "1"}); !reflect.DeepEqual(set.Env, want) {
		t.Errorf("set env %v, want %v", set.Env, want)
	}
	if set.App != "myapp" || !set.Replace || set.Release != "RBCDEFGHIJK" || !set.Promote || set.PromoteRelease == nil {
		t.Errorf("set options %+v", set)
	}
	// --replace with nothing empties the environment.
	if err := e.Run(NewCmdSet(e.Factory, func(_ context.Context, o *SetOptions) error { set = o; return nil }), "--replace"); err != nil || len(set.Env) != 0 {
		t.Errorf("set --replace alone: %v, env %v", err, set.Env)
	}

	var unset *UnsetOptions
	if err := e.Run(NewCmdUnset(e.Factory, func(_ context.Context, o *UnsetOptions) error { unset = o; return nil }),
		"FOO", "BAZ", "-a", "myapp", "--promote"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(unset.Keys, []string{"FOO", "BAZ"}) || unset.App != "myapp" || !unset.Promote || unset.PromoteRelease == nil {
		t.Errorf("unset options %+v", unset)
	}
	var get *GetOptions
	if err := e.Run(NewCmdGet(e.Factory, func(_ context.Context, o *GetOptions) error { get = o; return nil }), "FOO", "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if get.Key != "FOO" || get.App != "myapp" {
		t.Errorf("get options %+v", get)
	}
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-a", "myapp"); err != nil || list.App != "myapp" {
		t.Errorf("list: %v, options %+v", err, list)
	}
}

func TestFlagsRefuse(t *testing.T) {
	for _, tt := range []struct {
		name  string
		args  []string
		stdin string
		want  string
	}{
		{"nothing", nil, "", "nothing to set: pass KEY=VALUE arguments or lines on stdin"},
		{"no =", []string{"FOO"}, "", `invalid env pair (argument 1): no "=" in it: use KEY=VALUE`},
		{"bad name", []string{"1FOO=x"}, "", `invalid env name "1FOO": use letters, digits and underscores, not starting with a digit`},
		{"bad stdin", nil, "FOO\n", "stdin: "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := cmdutiltest.New(t)
			e.In.WriteString(tt.stdin)
			ran := false
			// A nil argument list would make cobra read os.Args.
			err := e.Run(NewCmdSet(e.Factory, func(context.Context, *SetOptions) error { ran = true; return nil }), append([]string{}, tt.args...)...)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line starting %q", err, tt.want)
			}
			if ran {
				t.Error("set ran")
			}
		})
	}
	e := cmdutiltest.New(t)
	for name, cmd := range map[string]func() error{
		"unset without keys": func() error {
			return e.Run(NewCmdUnset(e.Factory, func(context.Context, *UnsetOptions) error { t.Error("unset ran"); return nil }), []string{}...)
		},
		"get without key": func() error {
			return e.Run(NewCmdGet(e.Factory, func(context.Context, *GetOptions) error { t.Error("get ran"); return nil }), []string{}...)
		},
		"get of two": func() error {
			return e.Run(NewCmdGet(e.Factory, func(context.Context, *GetOptions) error { t.Error("get ran"); return nil }), "A", "B")
		},
		"list with an argument": func() error {
			return e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { t.Error("list ran"); return nil }), "FOO")
		},
	} {
		if err := cmd(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestListRun(t *testing.T) {
	e := cmdutiltest.New(t, seeds()...)
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run")

	// A new app has no release, so no env: an empty list.
	e = cmdutiltest.New(t, recordstest.App("new"))
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "new"}); err != nil || e.Out.Len() != 0 {
		t.Errorf("env of a new app: %v, printed %q", err, e.Out.String())
	}
	err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "nope"})
	if want := "no such app: nope (create it with `slipway apps create nope`, or pass -a APP)"; err == nil || err.Error() != want {
		t.Errorf("env of a missing app: %v, want %q", err, want)
	}
}

func TestGetRun(t *testing.T) {
	e := cmdutiltest.New(t, seeds()...)
	if err := getRun(context.Background(), &GetOptions{Factory: e.Factory, App: "myapp", Key: "BAZ"}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "a b\n" {
		t.Errorf("printed %q, want the raw value", got)
	}
	err := getRun(context.Background(), &GetOptions{Factory: e.Factory, App: "myapp", Key: "NOPE"})
	if want := "env not found: NOPE"; err == nil || err.Error() != want {
		t.Errorf("get of a missing key: %v, want %q", err, want)
	}
}

func TestSetRun(t *testing.T) {
	pinReleaseID(t)
	e := cmdutiltest.New(t, seeds()...)
	started := e.ExpectWorkflow(workflows.ReleaseWorkflowID("myapp", rid), activities.CreateReleaseResult{ReleaseID: rid, Description: "env add:NEW change:FOO"}, nil)
	var promoted asked
	err := setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "myapp",
		Env: model.Env{"FOO": "qux", "NEW": "1"}, PromoteRelease: promoted.promote})
	if err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "set_run")
	e.Temporal.AssertExpectations(t)
	want := activities.CreateReleaseInput{App: "myapp", ReleaseID: rid, Change: activities.ReleaseChange{
		EnvSecret: "env-change-rcdefghijkl", Actor: cmdutiltest.Actor}}
	if started.Workflow != "CreateRelease" || !reflect.DeepEqual(started.Input, want) {
		t.Errorf("started %s(%+v), want CreateRelease(%+v)", started.Workflow, started.Input, want)
	}
	if got := started.Options.StaticSummary; got != "release RCDEFGHIJKL of myapp: Setting FOO, NEW" {
		t.Errorf("summary %q", got)
	}
	// The values went to a Secret, never into the workflow's input, and it
	// is gone once the workflow is done.
	if got, want := e.Store.Writes(), []string{"create secrets env-change-rcdefghijkl", "delete secrets env-change-rcdefghijkl"}; !slices.Equal(got, want) {
		t.Errorf("writes %q, want %q", got, want)
	}
	if got := e.Staged(t, "env-change-rcdefghijkl"); !reflect.DeepEqual(got, map[string]string{"FOO": "qux", "NEW": "1"}) {
		t.Errorf("staged %v, want only the change", got)
	}
	if len(promoted) != 0 {
		t.Errorf("promoted %q without --promote", promoted)
	}
}

// --promote promotes the release the workflow made, after printing it.
func TestSetRunPromotes(t *testing.T) {
	pinReleaseID(t)
	e := cmdutiltest.New(t, seeds()...)
	e.ExpectWorkflow(workflows.ReleaseWorkflowID("myapp", rid), activities.CreateReleaseResult{ReleaseID: rid}, nil)
	var promoted asked
	err := setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "myapp",
		Env: model.Env{"FOO": "qux"}, Promote: true, PromoteRelease: promoted.promote})
	if err != nil {
		t.Fatal(err)
	}
	if want := (asked{"myapp " + rid}); !slices.Equal(promoted, want) {
		t.Errorf("promoted %q, want %q", promoted, want)
	}
	if got := e.Out.String(); got != "Setting FOO... OK\nRelease: RCDEFGHIJKL\n" {
		t.Errorf("output %q", got)
	}
}

// --replace stages the whole new env; --release forks an older release.
func TestSetRunReplaceFromRelease(t *testing.T) {
	pinReleaseID(t)
	e := cmdutiltest.New(t, seeds()...)
	started := e.ExpectWorkflow(workflows.ReleaseWorkflowID("myapp", rid), activities.CreateReleaseResult{ReleaseID: rid}, nil)
	err := setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "myapp",
		Env: model.Env{"ONLY": "1"}, Replace: true, Release: "ROLDOLDOLDO"})
	if err != nil {
		t.Fatal(err)
	}
	in := started.Input.(activities.CreateReleaseInput)
	if !in.Change.Replace || in.Change.From != "ROLDOLDOLDO" || in.Change.EnvSecret != "env-change-rcdefghijkl" {
		t.Errorf("change %+v, want a replace from ROLDOLDOLDO", in.Change)
	}
	if got := e.Staged(t, "env-change-rcdefghijkl"); !reflect.DeepEqual(got, map[string]string{"ONLY": "1"}) {
		t.Errorf("staged %v", got)
	}
}

func TestUnsetRun(t *testing.T) {
	pinReleaseID(t)
	e := cmdutiltest.New(t, seeds()...)
	started := e.ExpectWorkflow(workflows.ReleaseWorkflowID("myapp", rid), activities.CreateReleaseResult{ReleaseID: rid}, nil)
	var promoted asked
	err := unsetRun(context.Background(), &UnsetOptions{Factory: e.Factory, App: "myapp",
		Keys: []string{"FOO", "BAZ"}, Promote: true, PromoteRelease: promoted.promote})
	if err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "unset_run")
	want := activities.CreateReleaseInput{App: "myapp", ReleaseID: rid, Change: activities.ReleaseChange{
		Unset: []string{"FOO", "BAZ"}, Actor: cmdutiltest.Actor}}
	if !reflect.DeepEqual(started.Input, want) {
		t.Errorf("input %+v, want %+v", started.Input, want)
	}
	// Nothing to set, so nothing staged.
	if w := e.Store.Writes(); len(w) != 0 {
		t.Errorf("writes %q, want none", w)
	}
	if want := (asked{"myapp " + rid}); !slices.Equal(promoted, want) {
		t.Errorf("promoted %q, want %q", promoted, want)
	}
}

// A failed workflow fails the step, leaves no staged values behind, and
// promotes nothing.
func TestSetRunWorkflowFails(t *testing.T) {
	pinReleaseID(t)
	e := cmdutiltest.New(t, seeds()...)
	e.ExpectWorkflow(workflows.ReleaseWorkflowID("myapp", rid), nil, temporal.NewApplicationError("release RBCDEFGHIJK has lost its env Secret", "Lost"))
	var promoted asked
	err := setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "myapp",
		Env: model.Env{"FOO": "qux"}, Promote: true, PromoteRelease: promoted.promote})
	if want := "release RBCDEFGHIJK has lost its env Secret"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if got := e.Out.String(); got != "Setting FOO... " {
		t.Errorf("output %q: the error completes the step's line", got)
	}
	if got := e.Store.Writes(); len(got) != 2 || got[1] != "delete secrets env-change-rcdefghijkl" {
		t.Errorf("writes %q: want the staged values deleted", got)
	}
	if len(promoted) != 0 {
		t.Errorf("promoted %q after a failure", promoted)
	}
}

// Each refusal is one line that says what to do, and changes nothing: no
// Secret, no workflow (the mock fails the test on any call it does not
// expect), no promotion.
func TestChangeRefuses(t *testing.T) {
	// Five values of 120 KiB fit, alone or in the release; ten do not.
	half := func(prefix string) model.Env {
		env := model.Env{}
		for i := range 5 {
			env[fmt.Sprintf("%s%d", prefix, i)] = strings.Repeat("x", 120<<10)
		}
		return env
	}
	full := seeds()
	full = append(full[:1], release("RBCDEFGHIJK", half("OLD"))...)
	for _, tt := range []struct {
		name string
		seed []any
		run  func(e *cmdutiltest.Env, p *asked) error
		want string
	}{
		{"no app", seeds(), func(e *cmdutiltest.Env, p *asked) error {
			return setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "nope", Env: model.Env{"A": "1"}, Promote: true, PromoteRelease: p.promote})
		}, "no such app: nope"},
		{"unset a missing key", seeds(), func(e *cmdutiltest.Env, p *asked) error {
			return unsetRun(context.Background(), &UnsetOptions{Factory: e.Factory, App: "myapp", Keys: []string{"FOO", "NOPE"}, Promote: true, PromoteRelease: p.promote})
		}, "env not found: NOPE"},
		{"unknown release", seeds(), func(e *cmdutiltest.Env, p *asked) error {
			return setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "myapp", Env: model.Env{"A": "1"}, Release: "RNOPENOPENO", Promote: true, PromoteRelease: p.promote})
		}, "no such release: RNOPENOPENO"},
		{"too big with the release", full, func(e *cmdutiltest.Env, p *asked) error {
			return setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "myapp", Env: half("NEW"), Promote: true, PromoteRelease: p.promote})
		}, "env is 1228860 bytes in all, more than the limit of 1048576 (1 MiB): remove or shorten some values"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pinReleaseID(t)
			e := cmdutiltest.New(t, tt.seed...)
			var p asked
			err := tt.run(e, &p)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line starting %q", err, tt.want)
			}
			if w := e.Store.Writes(); len(w) != 0 {
				t.Errorf("writes %q, want none", w)
			}
			if len(p) != 0 {
				t.Errorf("promoted %q", p)
			}
		})
	}
}
