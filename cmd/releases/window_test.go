package releases

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

// --keep-previous lands in the options; a negative window is refused
// before anything runs.
func TestKeepPreviousFlag(t *testing.T) {
	e := cmdutiltest.New(t)
	var prom *PromoteOptions
	promote := func(_ context.Context, o *PromoteOptions) error { prom = o; return nil }
	if err := e.Run(NewCmdPromote(e.Factory, promote), "-a", "myapp"); err != nil || prom.KeepPrevious != 0 {
		t.Errorf("promote: %+v, %v; want no window by default", prom, err)
	}
	if err := e.Run(NewCmdPromote(e.Factory, promote), "-a", "myapp", "--keep-previous", "10m"); err != nil || prom.KeepPrevious != 10*time.Minute {
		t.Errorf("promote --keep-previous 10m: %+v, %v", prom, err)
	}
	prom = nil
	err := e.Run(NewCmdPromote(e.Factory, promote), "-a", "myapp", "--keep-previous", "-1m")
	if err == nil || err.Error() != "--keep-previous must be 0 (no window) or more, e.g. 10m" || prom != nil {
		t.Errorf("promote --keep-previous -1m: ran %v, %v; want refused", prom != nil, err)
	}
}

// A promotion asked to keep passes the window to the workflow, and says
// what it keeps.
func TestPromoteRunKeepsPrevious(t *testing.T) {
	e := seeded(t)
	started := e.ExpectRun("promote/myapp", func(_ context.Context, v any) error {
		*v.(*workflows.PromoteResult) = workflows.PromoteResult{Release: "RCDEFGHIJKL", From: "RBCDEFGHIJK", Result: model.ResultActive}
		return nil
	})
	if err := promoteRun(context.Background(), &PromoteOptions{Factory: e.Factory, App: "myapp", ID: "RCDEFGHIJKL", Timeout: time.Minute, KeepPrevious: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if in := started.Input.(workflows.PromoteInput); in.KeepPrevious != 10*time.Minute {
		t.Errorf("started %+v, want KeepPrevious 10m", in)
	}
	want := "Promoting RCDEFGHIJKL...\nKeeping RBCDEFGHIJK for 10m0s: `slipway releases rollback RBCDEFGHIJK -a myapp` switches back at once\nOK\n"
	if got := e.Out.String(); got != want {
		t.Errorf("printed %q, want %q", got, want)
	}
}

// A rollback inside the window says when the traffic switched.
func TestRollbackRunSaysWhenTrafficSwitched(t *testing.T) {
	e := seeded(t)
	e.ExpectRun("promote/myapp", func(_ context.Context, v any) error {
		*v.(*workflows.PromoteResult) = workflows.PromoteResult{
			Release: "RDEFGHIJKLM", From: "RCDEFGHIJKL", Result: model.ResultActive, Switched: time.Now().Add(300 * time.Millisecond),
		}
		return nil
	})
	copied(e, "RDEFGHIJKLM")
	opts := &RollbackOptions{Factory: e.Factory, App: "myapp", ID: "RBCDEFGHIJK", Timeout: time.Minute, NewID: func() string { return "RDEFGHIJKLM" }}
	if err := rollbackRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^Rolling back to RBCDEFGHIJK\.\.\. OK, RDEFGHIJKLM\nTraffic switched to RBCDEFGHIJK \(kept pods\) at \d\d:\d\d:\d\d\.\d{3}, \d+ms after the rollback began\nOK\n$`)
	if got := e.Out.String(); !want.MatchString(got) {
		t.Errorf("printed %q, want %s", got, want)
	}
}
