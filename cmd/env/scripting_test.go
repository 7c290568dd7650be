package env

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/workflows"
)

// The scripting flags land in Options; a bad --output is refused before
// anything runs.
func TestScriptingFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }),
		"--release", "ROLDOLDOLDO", "-o", "json"); err != nil {
		t.Fatal(err)
	}
	if list.Release != "ROLDOLDOLDO" || list.Output != "json" {
		t.Errorf("env options %+v", list)
	}
	var get *GetOptions
	if err := e.Run(NewCmdGet(e.Factory, func(_ context.Context, o *GetOptions) error { get = o; return nil }), "FOO", "--release", "ROLDOLDOLDO"); err != nil {
		t.Fatal(err)
	}
	if get.Release != "ROLDOLDOLDO" || get.Key != "FOO" {
		t.Errorf("get options %+v", get)
	}
	var set *SetOptions
	if err := e.Run(NewCmdSet(e.Factory, func(_ context.Context, o *SetOptions) error { set = o; return nil }), "A=1", "-p", "--id", "-w"); err != nil {
		t.Fatal(err)
	}
	if !set.Promote || !set.ID {
		t.Errorf("set options %+v, want -p and --id", set)
	}
	var unset *UnsetOptions
	if err := e.Run(NewCmdUnset(e.Factory, func(_ context.Context, o *UnsetOptions) error { unset = o; return nil }), "A", "-p", "--id"); err != nil {
		t.Fatal(err)
	}
	if !unset.Promote || !unset.ID {
		t.Errorf("unset options %+v, want -p and --id", unset)
	}
	var ed *EditOptions
	if err := e.Run(NewCmdEdit(e.Factory, func(_ context.Context, o *EditOptions) error { ed = o; return nil }), "-a", "myapp", "-p"); err != nil {
		t.Fatal(err)
	}
	if ed.App != "myapp" || !ed.Promote || ed.Edit == nil {
		t.Errorf("edit options %+v", ed)
	}
	ran := false
	if err := e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { ran = true; return nil }), "-o", "yaml"); err == nil || ran {
		t.Errorf("env -o yaml: %v, ran %v; want a refusal", err, ran)
	}
	if err := e.Run(NewCmdEdit(e.Factory, func(context.Context, *EditOptions) error { ran = true; return nil }), "extra"); err == nil || ran {
		t.Errorf("env edit extra: %v, ran %v; want a refusal", err, ran)
	}
}

func TestListRunReleaseJSON(t *testing.T) {
	e := cmdutiltest.New(t, seeds()...)
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run_json")
	e.Out.Reset()
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Release: "ROLDOLDOLDO"}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "OLD=1\n" {
		t.Errorf("env of ROLDOLDOLDO %q, want OLD=1", got)
	}
	e.Out.Reset()
	if err := getRun(context.Background(), &GetOptions{Factory: e.Factory, App: "myapp", Key: "OLD", Release: "ROLDOLDOLDO"}); err != nil || e.Out.String() != "1\n" {
		t.Errorf("get OLD of ROLDOLDOLDO: %v, %q", err, e.Out.String())
	}
	err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Release: "RNOPENOPENO"})
	if err == nil || !strings.Contains(err.Error(), "no such release: RNOPENOPENO") {
		t.Errorf("env of a missing release: %v", err)
	}
}

// With --id the progress goes to stderr and stdout holds the release ID;
// a promotion reports on stderr too.
func TestSetRunID(t *testing.T) {
	pinReleaseID(t)
	e := cmdutiltest.New(t, seeds()...)
	e.ExpectWorkflow(workflows.ReleaseWorkflowID("myapp", rid), activities.CreateReleaseResult{ReleaseID: rid}, nil)
	var promoted asked
	if err := setRun(context.Background(), &SetOptions{Factory: e.Factory, App: "myapp",
		Env: map[string]string{"FOO": "qux"}, ID: true, Promote: true, PromoteRelease: promoted.promote}); err != nil {
		t.Fatal(err)
	}
	if e.Out.String() != rid+"\n" || e.ErrOut.String() != "Setting FOO... OK\nRelease: RCDEFGHIJKL\n" {
		t.Errorf("stdout %q, stderr %q", e.Out.String(), e.ErrOut.String())
	}
	if len(promoted) != 1 {
		t.Errorf("promoted %q, want the new release", promoted)
	}
}

// editTo is an editor that writes text into the file it is given, after
// checking the file held the env it was handed.
func editTo(t *testing.T, want, text string) func(context.Context, string) error {
	return func(_ context.Context, path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("the env file's mode is %v: it holds secrets", fi.Mode().Perm())
		}
		if !strings.HasSuffix(string(b), want) {
			t.Errorf("the editor got %q, want it to end in %q", b, want)
		}
		return os.WriteFile(path, []byte(text), 0o600)
	}
}

func TestEditRun(t *testing.T) {
	pinReleaseID(t)
	e := cmdutiltest.New(t, seeds()...)
	started := e.ExpectWorkflow(workflows.ReleaseWorkflowID("myapp", rid), activities.CreateReleaseResult{ReleaseID: rid}, nil)
	var promoted asked
	err := editRun(context.Background(), &EditOptions{Factory: e.Factory, App: "myapp", Promote: true, PromoteRelease: promoted.promote,
		Edit: editTo(t, "BAZ=a b\nFOO=bar\n", "# a comment\nFOO=changed\nNEW=1\n")})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "Setting FOO, NEW, unsetting BAZ... OK\nRelease: RCDEFGHIJKL\n" {
		t.Errorf("output %q", got)
	}
	// One release: the changed and new keys staged, the deleted one unset.
	in := started.Input.(activities.CreateReleaseInput)
	if !slices.Equal(in.Change.Unset, []string{"BAZ"}) || in.Change.Replace || in.Change.EnvSecret != "env-change-rcdefghijkl" {
		t.Errorf("change %+v, want FOO and NEW staged, BAZ unset", in.Change)
	}
	if got := e.Staged(t, "env-change-rcdefghijkl"); !reflect.DeepEqual(got, map[string]string{"FOO": "changed", "NEW": "1"}) {
		t.Errorf("staged %v", got)
	}
	if want := (asked{"myapp " + rid}); !slices.Equal(promoted, want) {
		t.Errorf("promoted %q, want %q", promoted, want)
	}
	e.Temporal.AssertExpectations(t)
}

// An unchanged file makes no release, and an edit that does not parse
// changes nothing: no workflow (the mock fails on any), no write.
func TestEditRunNoChange(t *testing.T) {
	for _, tt := range []struct{ name, text, out, err string }{
		{"unchanged", "FOO=bar\nBAZ=a b\n", "No change: no release made\n", ""},
		{"bad line", "FOO\n", "", "the edited env: line 1 has no \"=\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := cmdutiltest.New(t, seeds()...)
			err := editRun(context.Background(), &EditOptions{Factory: e.Factory, App: "myapp", Edit: editTo(t, "FOO=bar\n", tt.text)})
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("edit: %v, want %q", err, tt.err)
			}
			if e.Out.String() != tt.out {
				t.Errorf("output %q, want %q", e.Out.String(), tt.out)
			}
			if w := e.Store.Writes(); len(w) != 0 {
				t.Errorf("writes %q, want none", w)
			}
		})
	}
}

// The editor is $EDITOR run through the shell on the file.
func TestEditor(t *testing.T) {
	e := cmdutiltest.New(t)
	path := t.TempDir() + "/env"
	if err := os.WriteFile(path, []byte("A=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EDITOR", "sed -i s/1/2/")
	if err := editor(e.Factory.IO)(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "A=2\n" {
		t.Errorf("after the editor: %q", b)
	}
	t.Setenv("EDITOR", "false")
	if err := editor(e.Factory.IO)(context.Background(), path); err == nil || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("a failing editor: %v", err)
	}
}
