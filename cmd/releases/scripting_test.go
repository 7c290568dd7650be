package releases

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

func TestScriptingFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-l", "3", "-o", "json"); err != nil || list.Limit != 3 || list.Output != "json" {
		t.Errorf("list: %+v, %v", list, err)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "RBCDEFGHIJK", "--output", "json"); err != nil || info.Output != "json" {
		t.Errorf("info: %+v, %v", info, err)
	}
	var rb *RollbackOptions
	if err := e.Run(NewCmdRollback(e.Factory, func(_ context.Context, o *RollbackOptions) error { rb = o; return nil }), "--id", "-w"); err != nil || rb.ID != "" || !rb.IDOnly {
		t.Errorf("rollback: %+v, %v; want the previous release, --id", rb, err)
	}
	var prom *PromoteOptions
	if err := e.Run(NewCmdPromote(e.Factory, func(_ context.Context, o *PromoteOptions) error { prom = o; return nil }), "-w"); err != nil || prom == nil {
		t.Errorf("promote -w: %v", err)
	}
	ran := false
	for _, cmd := range [][]string{{"-o", "yaml"}, {"-o", "table"}} {
		if err := e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { ran = true; return nil }), cmd...); err == nil {
			t.Errorf("releases %q: no error", cmd)
		}
		if err := e.Run(NewCmdInfo(e.Factory, func(context.Context, *InfoOptions) error { ran = true; return nil }), append([]string{"R"}, cmd...)...); err == nil {
			t.Errorf("releases info %q: no error", cmd)
		}
	}
	if ran {
		t.Error("a command ran with a bad --output")
	}
}

func TestJSONRuns(t *testing.T) {
	e := seeded(t)
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Limit: 10, Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run_json")
	e.Out.Reset()
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: "RCDEFGHIJKL", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run_json")
}

func promotion(id, release, from, result string, started time.Time) *records.Promotion {
	return &records.Promotion{
		TypeMeta:   recordstest.TypeMeta("Promotion"),
		ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(id), Namespace: "dev-myapp"},
		Spec:       records.PromotionSpec{ID: id, App: "myapp", Release: release, From: from, Started: metav1.NewMicroTime(started)},
		Status:     records.PromotionStatus{Phase: model.PhaseDone, Result: result},
	}
}

// The release active before the current one is that of the newest
// promotion that ended active before the one that made the current
// release active; failed promotions and promotions of the current release
// again do not count.
func TestPreviousRelease(t *testing.T) {
	a := recordstest.App("myapp")
	a.Status.Release = "R3"
	at := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
	ps := []*records.Promotion{ // newest first
		promotion("P6", "R4", "R3", model.ResultRolledBack, at(6)),
		promotion("P5", "R3", "R3", model.ResultActive, at(5)),
		promotion("P4", "R3", "R2", model.ResultActive, at(4)),
		promotion("P3", "R9", "R2", model.ResultRolledBack, at(3)),
		promotion("P2", "R2", "R1", model.ResultActive, at(2)),
		promotion("P1", "R1", "", model.ResultActive, at(1)),
	}
	if got, err := PreviousRelease(a, ps); err != nil || got != "R2" {
		t.Errorf("previous release %q, %v; want R2", got, err)
	}
	a.Status.Release = "R1"
	_, err := PreviousRelease(a, ps[5:])
	if want := "no release was active before R1 on myapp: name the release to roll back to (`slipway releases -a myapp`)"; err == nil || err.Error() != want {
		t.Errorf("first release: %v, want %q", err, want)
	}
	a.Status.Release = ""
	_, err = PreviousRelease(a, ps)
	if want := "app myapp has no active release to roll back from: promote one with `slipway releases promote`"; err == nil || err.Error() != want {
		t.Errorf("no active release: %v, want %q", err, want)
	}
}

// rollback with no ID copies the previous release; with --id stdout holds
// the copy's ID alone.
func TestRollbackRunPrevious(t *testing.T) {
	older := stored(release("RAAAAAAAAAA", "BABCDEFGHIJ", "first", now.Add(-time.Hour)))
	e := seeded(t, older, envSecret(older, nil),
		promotion("PBBBBBBBBBB", "RBCDEFGHIJK", "RAAAAAAAAAA", model.ResultActive, now),
		promotion("PAAAAAAAAAA", "RAAAAAAAAAA", "", model.ResultActive, now.Add(-time.Hour)))
	started := promoted(t, e, "RDEFGHIJKLM")
	copied(e, "RDEFGHIJKLM")
	opts := &RollbackOptions{Factory: e.Factory, App: "myapp", Timeout: time.Minute, IDOnly: true, NewID: func() string { return "RDEFGHIJKLM" }}
	if err := rollbackRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if in := started.Input.(workflows.PromoteInput); in.RollbackTo != "RAAAAAAAAAA" || in.Release != "RDEFGHIJKLM" {
		t.Errorf("started %+v, want a copy of RAAAAAAAAAA", in)
	}
	if e.Out.String() != "RDEFGHIJKLM\n" || !strings.Contains(e.ErrOut.String(), "Rolling back to RAAAAAAAAAA... OK, RDEFGHIJKLM") {
		t.Errorf("stdout %q, stderr %q", e.Out.String(), e.ErrOut.String())
	}

	// No promotion records: nothing to go back to, nothing started.
	e = seeded(t)
	err := rollbackRun(context.Background(), &RollbackOptions{Factory: e.Factory, App: "myapp", NewID: func() string { return "RDEFGHIJKLM" }})
	if err == nil || !strings.HasPrefix(err.Error(), "no release was active before RBCDEFGHIJK on myapp") {
		t.Errorf("rollback without history: %v", err)
	}
}
