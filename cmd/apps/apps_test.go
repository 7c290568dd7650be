package apps

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/internal/golden"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

// assertGolden compares what print writes with testdata/<name>.golden.
func assertGolden(t *testing.T, name string, print func(*bytes.Buffer) error) {
	t.Helper()
	var buf bytes.Buffer
	if err := print(&buf); err != nil {
		t.Fatal(err)
	}
	golden.NoTrailingSpace(t, buf.Bytes())
	golden.Assert(t, name+".golden", buf.Bytes())
}

func app(name, status, release, reason string) *records.App {
	a := recordstest.App(name)
	a.Status = records.AppStatus{Status: status, Release: release, Latest: release, Reason: reason}
	return a
}

func namespace(app string, owned bool) *corev1.Namespace {
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: recordstest.Namespace(app)}}
	if owned {
		n.Labels = map[string]string{model.LabelRack: recordstest.Rack, model.LabelApp: app}
	}
	return n
}

func TestAppsTable(t *testing.T) {
	apps := []*records.App{
		app("api", "running", "RBCDEFGHIJK", ""),
		app("myapp", "updating", "RCDEFGHIJKL", ""),
		app("new", "running", "", ""),
		app("worker-long-name", "rollback", "RDEFGHIJKLM", "crash loop"),
	}
	assertGolden(t, "apps_table", func(b *bytes.Buffer) error { return AppsTable(apps).Print(b) })
	assertGolden(t, "apps_table_empty", func(b *bytes.Buffer) error { return AppsTable(nil).Print(b) })
}

func TestAppInfo(t *testing.T) {
	tests := []struct {
		name string
		app  *records.App
	}{
		{"app_info", app("myapp", "running", "RBCDEFGHIJK", "")},
		{"app_info_new", app("myapp", "running", "", "")},
		{"app_info_reason", app("myapp", "running", "RBCDEFGHIJK",
			"release RCDEFGHIJKL rolled back: web: CrashLoopBackOff\nlast log line: panic: boom")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertGolden(t, tt.name, func(b *bytes.Buffer) error { return AppInfo(tt.app).Print(b) })
		})
	}
}

// Flags and arguments land in Options; a bad command line fails before
// anything runs.
func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var del *DeleteOptions
	cmd := NewCmdDelete(e.Factory, func(_ context.Context, o *DeleteOptions) error { del = o; return nil })
	if err := e.Run(cmd, "myapp", "--force"); err != nil {
		t.Fatal(err)
	}
	if del.Name != "myapp" || !del.Force {
		t.Errorf("delete options %+v, want myapp with --force", del)
	}
	var info *InfoOptions
	for args, want := range map[string][]string{"positional": {"api"}, "flag": {"-a", "api"}} {
		cmd := NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil })
		if err := e.Run(cmd, want...); err != nil || info.App != "api" {
			t.Errorf("%s: info app %q, %v; want api", args, info.App, err)
		}
	}
	ran := false
	never := func(context.Context, *CreateOptions) error { ran = true; return nil }
	for _, args := range [][]string{{}, {"a", "b"}, {"a", "--nope"}} {
		if err := e.Run(NewCmdCreate(e.Factory, never), args...); err == nil {
			t.Errorf("create %q: no error", args)
		}
	}
	if ran {
		t.Error("create ran with a bad command line")
	}
}

func TestListRun(t *testing.T) {
	e := cmdutiltest.New(t, app("myapp", "running", "RBCDEFGHIJK", ""), app("api", "updating", "RCDEFGHIJKL", ""))
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run")
}

func TestInfoRun(t *testing.T) {
	e := cmdutiltest.New(t, app("myapp", "running", "RBCDEFGHIJK", ""))
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "app_info")
	err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "nope"})
	if want := "no such app: nope (create it with `slipway apps create nope`, or pass -a APP)"; err == nil || err.Error() != want {
		t.Errorf("info of a missing app: %v, want %q", err, want)
	}
}

func TestCreateRun(t *testing.T) {
	e := cmdutiltest.New(t)
	started := e.ExpectWorkflow("apps/create/myapp", workflows.AppResult{Namespace: "dev-myapp"}, nil)
	if err := createRun(context.Background(), &CreateOptions{Factory: e.Factory, Name: "myapp"}); err != nil {
		t.Fatal(err)
	}
	if got, want := e.Out.String(), "Creating myapp... OK\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if started.Workflow != "CreateApp" || started.Input != (workflows.AppInput{App: "myapp"}) {
		t.Errorf("started %s(%+v), want CreateApp(myapp)", started.Workflow, started.Input)
	}
	if started.Options.Memo["actor"] != cmdutiltest.Actor || started.Options.StaticSummary != "create app myapp" {
		t.Errorf("start options %+v: want the actor in the memo and a summary", started.Options)
	}
	e.Temporal.AssertExpectations(t)
}

// Each refusal is one line that says what to do, and starts no workflow
// (the mock fails the test on any call it does not expect).
func TestCreateRefuses(t *testing.T) {
	for _, tt := range []struct {
		name, app string
		seed      []any
		want      string
	}{
		{"exists", "myapp", []any{app("myapp", "running", "", "")}, "app already exists: myapp"},
		{"not ours", "myapp", []any{namespace("myapp", false)}, "namespace dev-myapp exists and is not slipway's: pick another app name"},
		{"bad name", "My_App", nil, "invalid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := cmdutiltest.New(t, tt.seed...)
			err := createRun(context.Background(), &CreateOptions{Factory: e.Factory, Name: tt.app})
			if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("create %s: %v, want %q", tt.app, err, tt.want)
			}
			if w := e.Store.Writes(); len(w) != 0 {
				t.Errorf("writes %v, want none", w)
			}
		})
	}
}

func TestDeleteRun(t *testing.T) {
	ctx := context.Background()
	busy := []any{app("myapp", model.AppUpdating, "RBCDEFGHIJK", ""), namespace("myapp", true)}

	e := cmdutiltest.New(t, busy...)
	// Temporal knows of no run yet: the record alone says the app is busy.
	e.Temporal.On("DescribeWorkflowExecution", ctx, "promote/myapp", "").Return(nil, serviceerror.NewNotFound("none"))
	e.Temporal.On("ListWorkflow", ctx, mock.Anything).Return(&workflowservice.ListWorkflowExecutionsResponse{}, nil)
	err := deleteRun(ctx, &DeleteOptions{Factory: e.Factory, Name: "myapp"})
	if want := "app myapp is currently updating: wait for it or use --force"; err == nil || err.Error() != want {
		t.Errorf("delete while updating: %v, want %q", err, want)
	}

	e = cmdutiltest.New(t, busy...)
	started := e.ExpectWorkflow("apps/delete/myapp", workflows.AppResult{}, nil)
	if err := deleteRun(ctx, &DeleteOptions{Factory: e.Factory, Name: "myapp", Force: true}); err != nil {
		t.Fatal(err)
	}
	if started.Workflow != "DeleteApp" || started.Input != (workflows.AppInput{App: "myapp", Force: true}) {
		t.Errorf("started %s(%+v), want DeleteApp(myapp, force)", started.Workflow, started.Input)
	}
	if got := e.Out.String(); got != "Deleting myapp... OK\n" {
		t.Errorf("output %q", got)
	}

	// An app with resources hears that their data goes with it.
	a := app("myapp", "running", "RBCDEFGHIJK", "")
	rel := &records.Release{
		TypeMeta:   recordstest.TypeMeta("Release"),
		ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName("RBCDEFGHIJK"), Namespace: recordstest.Namespace("myapp")},
		Spec: records.ReleaseSpec{ID: "RBCDEFGHIJK", App: "myapp", Env: records.EnvSecretName("RBCDEFGHIJK"),
			Manifest: "resources:\n  database:\n    type: postgres\nservices:\n  web:\n    build: .\n    resources: [database]\n"},
	}
	env := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: rel.Spec.Env, Namespace: rel.Namespace}}
	e = cmdutiltest.New(t, a, rel, env, namespace("myapp", true))
	e.ExpectWorkflow("apps/delete/myapp", workflows.AppResult{}, nil)
	if err := deleteRun(ctx, &DeleteOptions{Factory: e.Factory, Name: "myapp", Force: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := e.Out.String(), "Deleting myapp deletes its resources and their data: database (postgres)\nDeleting myapp... OK\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}

	e = cmdutiltest.New(t, app("myapp", "running", "", ""), namespace("myapp", false))
	err = deleteRun(ctx, &DeleteOptions{Factory: e.Factory, Name: "myapp", Force: true})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("is not slipway's")) {
		t.Errorf("delete of a foreign namespace: %v", err)
	}
}
