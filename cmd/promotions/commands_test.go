package promotions

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/config"
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
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-a", "myapp"); err != nil || list.App != "myapp" {
		t.Errorf("list: %+v, %v; want -a myapp", list, err)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "PABCDEFGHIJ", "-a", "myapp"); err != nil || info.App != "myapp" || info.ID != "PABCDEFGHIJ" {
		t.Errorf("info: %+v, %v; want PABCDEFGHIJ of myapp", info, err)
	}
	for _, tt := range []struct {
		new     func(*cmdutil.Factory, func(context.Context, *ControlOptions) error) *cobra.Command
		control string
		path    string
	}{
		{NewCmdPause, workflows.SignalPause, "slipway promotions pause"},
		{NewCmdResume, workflows.SignalResume, "slipway promotions resume"},
		{NewCmdCancel, workflows.SignalRollback, "slipway promotions cancel"},
		{NewCmdContinue, workflows.SignalContinue, "slipway promotions continue"},
		{NewCmdAppsCancel, workflows.SignalRollback, "slipway promotions cancel"},
	} {
		var got *ControlOptions
		cmd := tt.new(e.Factory, func(_ context.Context, o *ControlOptions) error { got = o; return nil })
		root, parent := &cobra.Command{Use: "slipway"}, &cobra.Command{Use: "promotions"}
		root.AddCommand(parent)
		parent.AddCommand(cmd)
		if err := e.Run(root, "promotions", cmd.Name(), "-a", "myapp"); err != nil {
			t.Fatal(err)
		}
		if got.App != "myapp" || got.Control != tt.control || got.Command != tt.path {
			t.Errorf("%s: %+v, want %s from %q", cmd.Name(), got, tt.control, tt.path)
		}
	}
	if short := NewCmdAppsCancel(e.Factory, nil).Short; short != "Roll the promotion in flight back (Convox's name for `promotions cancel`)" {
		t.Errorf("apps cancel says %q", short)
	}
	ran := false
	never := func(context.Context, *ControlOptions) error { ran = true; return nil }
	for _, args := range [][]string{{"PABCDEFGHIJ"}, {"--nope"}} {
		if err := e.Run(NewCmdPause(e.Factory, never), args...); err == nil {
			t.Errorf("pause %q: no error", args)
		}
	}
	neverInfo := func(context.Context, *InfoOptions) error { ran = true; return nil }
	if err := e.Run(NewCmdInfo(e.Factory, neverInfo), "A", "B"); err == nil {
		t.Error("info with two IDs: no error")
	}
	neverList := func(context.Context, *ListOptions) error { ran = true; return nil }
	if err := e.Run(NewCmdList(e.Factory, neverList), "extra"); err == nil {
		t.Error("promotions with an argument: no error")
	}
	if ran {
		t.Error("a command ran with a bad command line")
	}
}

// record is a promotion's record as the store keeps it.
func record(p *records.Promotion) *records.Promotion {
	p.TypeMeta = recordstest.TypeMeta("Promotion")
	p.Name, p.Namespace = records.PromotionName(p.Spec.ID), ns
	p.Labels = map[string]string{records.LabelApp: "myapp"}
	return p
}

func TestListRun(t *testing.T) {
	// startedAgo moves a promotion's start and end by the same amount.
	startedAgo := func(p *records.Promotion, ago time.Duration) *records.Promotion {
		shift := cmdutiltest.Now.Add(-ago).Sub(p.Spec.Started.Time)
		p.Spec.Started = metav1.NewMicroTime(p.Spec.Started.Add(shift))
		if p.Status.Ended != nil {
			end := metav1.NewMicroTime(p.Status.Ended.Add(shift))
			p.Status.Ended = &end
		}
		return record(p)
	}
	e := cmdutiltest.New(t, recordstest.App("myapp"),
		startedAgo(promotion("PABCDEFGHIJ", "RBCDEFGHIJK", "", model.ResultActive, "", 640*time.Millisecond), 2*time.Hour),
		startedAgo(promotion("PBCDEFGHIJK", "RCDEFGHIJKL", "RBCDEFGHIJK", model.ResultRolledBack, "timeout: not rolled out within 10m0s", 10*time.Minute), 15*time.Minute),
		startedAgo(promotion("PCDEFGHIJKL", "RDEFGHIJKLM", "RBCDEFGHIJK", "", "", 0), time.Minute))
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run")
	err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "nope"})
	if want := "no such app: nope (create it with `slipway apps create nope`, or pass -a APP)"; err == nil || err.Error() != want {
		t.Errorf("list of a missing app: %v, want %q", err, want)
	}
}

// running describes the app's promotion as running, promoting release,
// with a rollout watch that last reported progress.
func running(e *cmdutiltest.Env, release string, progress []records.ServiceProgress) {
	dc := converter.GetDefaultDataConverter()
	rel, _ := dc.ToPayload(release)
	d := &workflowservice.DescribeWorkflowExecutionResponse{
		WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
			Status:           enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING,
			SearchAttributes: &commonpb.SearchAttributes{IndexedFields: map[string]*commonpb.Payload{config.SearchRelease: rel}},
		},
	}
	if progress != nil {
		hb, _ := dc.ToPayloads(progress)
		d.PendingActivities = []*workflowpb.PendingActivityInfo{
			{ActivityType: &commonpb.ActivityType{Name: "ApplyRelease"}},
			{ActivityType: &commonpb.ActivityType{Name: "WatchRollout"}, HeartbeatDetails: hb},
		}
	}
	e.Temporal.On("DescribeWorkflowExecution", mock.Anything, "promote/myapp", "").Return(d, nil)
}

// idle says the app's promotion has never run.
func idle(e *cmdutiltest.Env) {
	e.Temporal.On("DescribeWorkflowExecution", mock.Anything, "promote/myapp", "").Return(nil, serviceerror.NewNotFound("none"))
}

func TestInfoRun(t *testing.T) {
	ctx := context.Background()
	inflight := record(promotion("PCDEFGHIJKL", "RCDEFGHIJKL", "RBCDEFGHIJK", "", "", 0))
	inflight.Spec.Actor = "alice@example.com"
	inflight.Status.Services = []records.ServiceProgress{{Name: "web", Desired: 2}}
	done := record(promotion("PBCDEFGHIJK", "RBCDEFGHIJK", "", model.ResultActive, "", 640*time.Millisecond))
	seed := []any{recordstest.App("myapp"), inflight, done}

	// In flight: the query's state and the watch's heartbeat win over the
	// record.
	e := cmdutiltest.New(t, seed...)
	running(e, "RCDEFGHIJKL", []records.ServiceProgress{{Name: "web", Desired: 2, Updated: 2, Ready: 1, Available: 1}})
	v := &mocks.Value{}
	v.On("Get", mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(0).(*workflows.PromotionState) = workflows.PromotionState{Promotion: "PCDEFGHIJKL", Phase: model.PhaseRollingOut, Paused: true}
	}).Return(nil)
	e.Temporal.On("QueryWorkflow", mock.Anything, "promote/myapp", "", workflows.QueryState).Return(v, nil)
	if err := infoRun(ctx, &InfoOptions{Factory: e.Factory, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run_live")

	// Another promotion, by ID, while one runs: its record alone.
	e.Out.Reset()
	if err := infoRun(ctx, &InfoOptions{Factory: e.Factory, App: "myapp", ID: "PBCDEFGHIJK"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run_done")
	e.Temporal.AssertExpectations(t)

	// None in flight and no ID: nothing to show.
	e = cmdutiltest.New(t, seed...)
	idle(e)
	if err := infoRun(ctx, &InfoOptions{Factory: e.Factory, App: "myapp"}); !errors.Is(err, ErrNotUpdating) {
		t.Errorf("info with none in flight: %v, want %v", err, ErrNotUpdating)
	}
	if err := infoRun(ctx, &InfoOptions{Factory: e.Factory, App: "myapp", ID: "PZZZZZZZZZZ"}); err == nil || err.Error() != "no such promotion: PZZZZZZZZZZ" {
		t.Errorf("info of a missing promotion: %v", err)
	}
}

// expectUpdate lets the command send control once; the promotion answers
// with err.
func expectUpdate(e *cmdutiltest.Env, control string, err error) *client.UpdateWorkflowOptions {
	sent := &client.UpdateWorkflowOptions{}
	h := &mocks.WorkflowUpdateHandle{}
	h.On("Get", mock.Anything, mock.Anything).Return(err)
	e.Temporal.On("UpdateWorkflow", mock.Anything, mock.MatchedBy(func(o client.UpdateWorkflowOptions) bool { return o.UpdateName == control })).
		Run(func(args mock.Arguments) { *sent = args.Get(1).(client.UpdateWorkflowOptions) }).
		Return(h, nil).Once()
	return sent
}

func TestControlRun(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		control, command, want string
		step                   string // the step the promotion is at
	}{
		{workflows.SignalPause, "slipway promotions pause", "Pausing promotion of myapp to RCDEFGHIJKL... OK\n", ""},
		{workflows.SignalResume, "slipway promotions resume", "Resuming promotion of myapp to RCDEFGHIJKL... OK\n", ""},
		{workflows.SignalRollback, "slipway apps cancel", "Cancelling promotion of myapp to RCDEFGHIJKL... OK\n", ""},
		{workflows.SignalContinue, "slipway promotions continue", "Approving promotion of myapp to RCDEFGHIJKL... OK\n", ""},
		{workflows.SignalContinue, "slipway promotions continue", "Continuing promotion of myapp to RCDEFGHIJKL... OK\n", "web 2/3 manual pause"},
	} {
		t.Run(tt.control, func(t *testing.T) {
			e := cmdutiltest.New(t, recordstest.App("myapp"))
			running(e, "RCDEFGHIJKL", nil)
			if tt.control == workflows.SignalContinue {
				v := &mocks.Value{}
				v.On("Get", mock.Anything).Run(func(args mock.Arguments) {
					*args.Get(0).(*workflows.PromotionState) = workflows.PromotionState{Step: tt.step}
				}).Return(nil)
				e.Temporal.On("QueryWorkflow", mock.Anything, "promote/myapp", "", workflows.QueryState).Return(v, nil).Once()
			}
			sent := expectUpdate(e, tt.control, nil)
			if err := controlRun(ctx, &ControlOptions{Factory: e.Factory, App: "myapp", Control: tt.control, Command: tt.command}); err != nil {
				t.Fatal(err)
			}
			if got := e.Out.String(); got != tt.want {
				t.Errorf("output %q, want %q", got, tt.want)
			}
			// The workflow puts who into a rollback's reason: "rollback
			// requested by <who>".
			by := cmdutiltest.Actor + " (" + tt.command + ")"
			if tt.control == workflows.SignalContinue {
				// An approval is compared with who started the
				// promotion: the identity alone.
				by = cmdutiltest.Actor
			}
			if sent.WorkflowID != "promote/myapp" || len(sent.Args) != 1 || sent.Args[0] != by || sent.WaitForStage != client.WorkflowUpdateStageCompleted {
				t.Errorf("sent %+v, want %s by %q, waiting for its completion", sent, tt.control, by)
			}
			e.Temporal.AssertExpectations(t)
		})
	}
}

// Each refusal is one line that says why, and sends nothing else.
func TestControlRefuses(t *testing.T) {
	ctx := context.Background()
	opts := func(e *cmdutiltest.Env, control string) *ControlOptions {
		return &ControlOptions{Factory: e.Factory, App: "myapp", Control: control, Command: "slipway promotions " + control}
	}

	e := cmdutiltest.New(t, recordstest.App("myapp"))
	idle(e)
	if err := controlRun(ctx, opts(e, workflows.SignalPause)); !errors.Is(err, ErrNotUpdating) {
		t.Errorf("pause with none in flight: %v, want %v", err, ErrNotUpdating)
	}
	if e.Out.Len() != 0 {
		t.Errorf("output %q, want none", e.Out)
	}

	e = cmdutiltest.New(t, recordstest.App("myapp"))
	running(e, "RCDEFGHIJKL", nil)
	expectUpdate(e, workflows.SignalResume, temporal.NewApplicationError("the promotion is not paused", ""))
	err := controlRun(ctx, opts(e, workflows.SignalResume))
	if err == nil || err.Error() != "the promotion is not paused" {
		t.Errorf("resume of a running promotion: %v", err)
	}
	if got := e.Out.String(); got != "Resuming promotion of myapp to RCDEFGHIJKL... " {
		t.Errorf("output %q", got)
	}

	// It ended between the describe and the update.
	e = cmdutiltest.New(t, recordstest.App("myapp"))
	running(e, "RCDEFGHIJKL", nil)
	e.Temporal.On("UpdateWorkflow", mock.Anything, mock.Anything).Return(nil, serviceerror.NewNotFound("gone")).Once()
	if err := controlRun(ctx, opts(e, workflows.SignalRollback)); !errors.Is(err, ErrNotUpdating) {
		t.Errorf("cancel of an ended promotion: %v, want %v", err, ErrNotUpdating)
	}

	e = cmdutiltest.New(t)
	if err := controlRun(ctx, &ControlOptions{Factory: e.Factory, App: "nope", Control: workflows.SignalPause}); err == nil || err.Error() != "no such app: nope (create it with `slipway apps create nope`, or pass -a APP)" {
		t.Errorf("pause of a missing app: %v", err)
	}
}
