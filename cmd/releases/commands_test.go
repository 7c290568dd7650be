package releases

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

// Flags and arguments land in Options; a bad command line fails before
// anything runs.
func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-a", "myapp", "--limit", "3"); err != nil || list.App != "myapp" || list.Limit != 3 {
		t.Errorf("list: %+v, %v", list, err)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "RBCDEFGHIJK", "-a", "myapp"); err != nil || info.ID != "RBCDEFGHIJK" || info.App != "myapp" {
		t.Errorf("info: %+v, %v", info, err)
	}
	var man *ManifestOptions
	if err := e.Run(NewCmdManifest(e.Factory, func(_ context.Context, o *ManifestOptions) error { man = o; return nil }), "RBCDEFGHIJK", "-a", "myapp"); err != nil || man.ID != "RBCDEFGHIJK" {
		t.Errorf("manifest: %+v, %v", man, err)
	}
	var prom *PromoteOptions
	promote := func(_ context.Context, o *PromoteOptions) error { prom = o; return nil }
	if err := e.Run(NewCmdPromote(e.Factory, promote), "-a", "myapp"); err != nil || prom.ID != "" || prom.Timeout != workflows.DefaultTimeout {
		t.Errorf("promote: %+v, %v; want the newest, default timeout", prom, err)
	}
	if err := e.Run(NewCmdPromote(e.Factory, promote), "RBCDEFGHIJK", "--timeout", "5m"); err != nil || prom.ID != "RBCDEFGHIJK" || prom.Timeout != 5*time.Minute {
		t.Errorf("promote: %+v, %v; want RBCDEFGHIJK within 5m", prom, err)
	}
	var rb *RollbackOptions
	if err := e.Run(NewCmdRollback(e.Factory, func(_ context.Context, o *RollbackOptions) error { rb = o; return nil }), "RBCDEFGHIJK", "--timeout", "90s"); err != nil || rb.ID != "RBCDEFGHIJK" || rb.Timeout != 90*time.Second || rb.NewID == nil {
		t.Errorf("rollback: %+v, %v", rb, err)
	}

	ran := false
	for name, bad := range map[string]func() error{
		"releases --limit 0": func() error {
			return e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { ran = true; return nil }), "--limit", "0")
		},
		"releases x": func() error {
			return e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { ran = true; return nil }), "x")
		},
		"info": func() error {
			return e.Run(NewCmdInfo(e.Factory, func(context.Context, *InfoOptions) error { ran = true; return nil }))
		},
		"manifest A B": func() error {
			return e.Run(NewCmdManifest(e.Factory, func(context.Context, *ManifestOptions) error { ran = true; return nil }), "A", "B")
		},
		"promote A B":            func() error { return e.Run(NewCmdPromote(e.Factory, promote), "A", "B") },
		"promote --timeout soon": func() error { return e.Run(NewCmdPromote(e.Factory, promote), "--timeout", "soon") },
		"rollback A B": func() error {
			return e.Run(NewCmdRollback(e.Factory, func(context.Context, *RollbackOptions) error { ran = true; return nil }), "A", "B")
		},
	} {
		prom = nil
		if err := bad(); err == nil {
			t.Errorf("%s: no error", name)
		}
		if prom != nil {
			ran = true
		}
	}
	if err := e.Run(NewCmdList(e.Factory, nil), "--limit", "0"); err == nil || err.Error() != "--limit must be at least 1" {
		t.Errorf("--limit 0: %v", err)
	}
	if ran {
		t.Error("a command ran with a bad command line")
	}
}

// seeded is an app whose chain of releases is RCDEFGHIJKL on top of the
// active RBCDEFGHIJK, each with its env.
func seeded(t *testing.T, extra ...any) *cmdutiltest.Env {
	a := recordstest.App("myapp")
	a.Status.Release, a.Status.Latest = "RBCDEFGHIJK", "RCDEFGHIJKL"
	first := stored(release("RBCDEFGHIJK", "BABCDEFGHIJ", "build 0a1b2c3d4e my commit message", now.Add(-5*time.Minute)))
	first.Spec.Manifest = "services:\n  web:\n    build: .\n    port: 3000\n"
	second := stored(release("RCDEFGHIJKL", "BABCDEFGHIJ", "env add:FOO", now.Add(-time.Minute)))
	second.Spec.Parent = "RBCDEFGHIJK"
	second.Spec.Actor = "alice@example.com"
	return cmdutiltest.New(t, append([]any{a, first, second, envSecret(first, nil), envSecret(second, map[string]string{"FOO": "bar"})}, extra...)...)
}

func stored(r *records.Release) *records.Release {
	r.TypeMeta = recordstest.TypeMeta("Release")
	return r
}

func envSecret(r *records.Release, env map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: r.Spec.Env, Namespace: r.Namespace}, Data: map[string][]byte{}}
	for k, v := range env {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestListRun(t *testing.T) {
	e := seeded(t)
	e.Factory.Now = func() time.Time { return now }
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Limit: 10}); err != nil {
		t.Fatal(err)
	}
	// The reference table, from the records.
	e.Golden(t, "releases_table")
	e.Out.Reset()
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if got := cmdutiltest.Lines(e.Out); len(got) != 2 || !strings.HasPrefix(got[1], "RCDEFGHIJKL ") {
		t.Errorf("--limit 1 listed:\n%s", e.Out)
	}
}

func TestInfoRun(t *testing.T) {
	e := seeded(t)
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: "RCDEFGHIJKL"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run")
	err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: "RZZZZZZZZZZ"})
	if err == nil || err.Error() != "no such release: RZZZZZZZZZZ" {
		t.Errorf("info of a missing release: %v", err)
	}
	if w := e.Store.Writes(); len(w) != 0 {
		t.Errorf("writes %v, want none", w)
	}
}

func TestManifestRun(t *testing.T) {
	e := seeded(t)
	if err := manifestRun(context.Background(), &ManifestOptions{Factory: e.Factory, App: "myapp", ID: "RBCDEFGHIJK"}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "services:\n  web:\n    build: .\n    port: 3000\n" {
		t.Errorf("manifest %q", got)
	}
	err := manifestRun(context.Background(), &ManifestOptions{Factory: e.Factory, App: "myapp", ID: "RCDEFGHIJKL"})
	if want := "release RCDEFGHIJKL has no manifest: it has no build yet"; err == nil || err.Error() != want {
		t.Errorf("manifest of a release without one: %v, want %q", err, want)
	}
}

// promoted ends the run of the app's promotion as active, with the
// status events a worker writes.
func promoted(t *testing.T, e *cmdutiltest.Env, release string) *cmdutiltest.Started {
	return e.ExpectRun("promote/myapp", func(_ context.Context, v any) error {
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "myapp.1", Namespace: "dev-myapp", UID: "uid-1", ResourceVersion: "100"},
			InvolvedObject: corev1.ObjectReference{APIVersion: records.Group + "/" + records.Version, Kind: "App", Name: "myapp"},
			Reason:         "Status", Message: "Updating => Running", LastTimestamp: metav1.NewTime(cmdutiltest.Now),
		}
		if _, err := e.Store.Core.CoreV1().Events("dev-myapp").Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
		*v.(*workflows.PromoteResult) = workflows.PromoteResult{Release: release, Result: model.ResultActive}
		return nil
	})
}

func TestPromoteRun(t *testing.T) {
	ctx := context.Background()
	for id, want := range map[string]string{"": "RCDEFGHIJKL", "RBCDEFGHIJK": "RBCDEFGHIJK"} {
		e := seeded(t)
		started := promoted(t, e, want)
		if err := promoteRun(ctx, &PromoteOptions{Factory: e.Factory, App: "myapp", ID: id, Timeout: time.Minute}); err != nil {
			t.Fatal(err)
		}
		wantOut := "Promoting " + want + "...\n2026-11-26T12:00:00Z system/k8s/atom/app Status: Updating => Running\nOK\n"
		if got := e.Out.String(); got != wantOut {
			t.Errorf("promote %q printed %q, want %q", id, got, wantOut)
		}
		if in := started.Input.(workflows.PromoteInput); in.Release != want || in.Timeout != time.Minute || in.RollbackTo != "" {
			t.Errorf("promote %q started %+v", id, in)
		}
	}

	// A release that is not there starts nothing.
	e := seeded(t)
	err := promoteRun(ctx, &PromoteOptions{Factory: e.Factory, App: "myapp", ID: "RZZZZZZZZZZ"})
	if err == nil || err.Error() != "no such release: RZZZZZZZZZZ" {
		t.Errorf("promote of a missing release: %v", err)
	}
}

func TestRollbackRun(t *testing.T) {
	e := seeded(t)
	started := promoted(t, e, "RDEFGHIJKLM")
	copied(e, "RDEFGHIJKLM")
	opts := &RollbackOptions{Factory: e.Factory, App: "myapp", ID: "RBCDEFGHIJK", Timeout: time.Minute, NewID: func() string { return "RDEFGHIJKLM" }}
	if err := rollbackRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "rollback_run")
	want := workflows.PromoteInput{App: "myapp", Release: "RDEFGHIJKLM", RollbackTo: "RBCDEFGHIJK", Timeout: time.Minute, Actor: cmdutiltest.Actor}
	if started.Input != want {
		t.Errorf("started %+v, want %+v", started.Input, want)
	}
	e.Temporal.AssertExpectations(t)

	e = seeded(t)
	opts.Factory, opts.ID = e.Factory, "nope"
	if err := rollbackRun(context.Background(), opts); err == nil || err.Error() != "no such release: nope" {
		t.Errorf("rollback to a bad ID: %v", err)
	}
}

// copied answers the rollback's look at the promotion's history: the
// child workflow that copied the release to rel has completed.
func copied(e *cmdutiltest.Env, rel string) {
	e.Temporal.On("GetWorkflowHistory", mock.Anything, "promote/myapp", "run-1", true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).
		Return(cmdutiltest.History(&historypb.HistoryEvent{
			EventType: enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
			Attributes: &historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes{
				ChildWorkflowExecutionCompletedEventAttributes: &historypb.ChildWorkflowExecutionCompletedEventAttributes{
					WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "release/myapp/" + rel},
				},
			},
		})).Once()
}
