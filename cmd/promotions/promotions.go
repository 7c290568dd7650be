// Package promotions is `slipway promotions`: an app's promotions, past and
// in flight, and the operator's controls over the one in flight.
package promotions

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

// ErrNotUpdating is Convox's answer when there is nothing to act on.
var ErrNotUpdating = errors.New("app is not updating")

func NewCmdPromotions(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "promotions",
		Short:   "List the app's promotions, newest first",
		Example: "  slipway promotions -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, s, err := f.AppStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			ps, err := s.ListPromotions(cmd.Context(), a.Name)
			if err != nil {
				return cmdutil.KubeError(err)
			}
			return Table(ps, f.Now()).Print(f.IO.Out)
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	cmd.AddCommand(newCmdInfo(f),
		NewCmdSignal(f, "pause", workflows.SignalPause, "Pausing", "Pause the rollout in flight: its Deployments stop and its timeout clock stops"),
		NewCmdSignal(f, "resume", workflows.SignalResume, "Resuming", "Resume a paused rollout"),
		NewCmdSignal(f, "cancel", workflows.SignalRollback, "Cancelling", "Roll the promotion in flight back to the release before it"),
	)
	return cmd
}

// Table lists promotions.
func Table(ps []*records.Promotion, now time.Time) *cmdutil.Table {
	t := cmdutil.NewTable("ID", "RELEASE", "FROM", "STARTED", "DURATION", "RESULT", "REASON")
	for _, p := range ps {
		t.Add(p.Spec.ID, p.Spec.Release, p.Spec.From, cmdutil.Ago(p.Spec.Started.Time, now), duration(p), result(p), p.Status.Reason)
	}
	return t
}

func duration(p *records.Promotion) string {
	if p.Status.Ended == nil {
		return ""
	}
	return p.Status.Ended.Sub(p.Spec.Started.Time).Round(100 * time.Millisecond).String()
}

// result is the outcome, or the phase while in flight.
func result(p *records.Promotion) string {
	if p.Status.Result != "" {
		return p.Status.Result
	}
	return p.Status.Phase
}

// Info shows one promotion; live state, when known, wins over the record.
func Info(p *records.Promotion, live *workflows.PromotionState) *cmdutil.Info {
	services, phase := p.Status.Services, p.Status.Phase
	if live != nil {
		services, phase = live.Services, live.Phase
		if live.Paused {
			phase = records.PhasePaused
		}
	}
	i := cmdutil.NewInfo()
	i.Add("Id", p.Spec.ID)
	i.Add("Release", p.Spec.Release)
	i.Add("From", p.Spec.From)
	i.Add("Started", p.Spec.Started.UTC().Format(time.RFC3339))
	i.Add("By", p.Spec.Actor)
	i.Add("Duration", duration(p))
	i.Add("Phase", phase)
	i.Add("Result", p.Status.Result)
	i.Add("Reason", p.Status.Reason)
	if live != nil && live.Notice != "" {
		// A control sent as a signal (from the Temporal UI) and refused.
		i.Add("Notice", live.Notice)
	}
	i.Add("Workflow", p.Spec.WorkflowID+" "+p.Spec.RunID)
	var sv strings.Builder
	for _, s := range services {
		fmt.Fprintf(&sv, "%s: %d desired, %d updated, %d ready, %d available\n", s.Name, s.Desired, s.Updated, s.Ready, s.Available)
	}
	i.Add("Services", sv.String())
	var steps strings.Builder
	for _, s := range p.Status.Steps {
		fmt.Fprintf(&steps, "%s %s\n", s.Time.UTC().Format(time.RFC3339), s.Message)
	}
	i.Add("Steps", steps.String())
	return i
}

func newCmdInfo(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "info [ID]",
		Short:   "Show a promotion (default: the one in flight) with its steps and per-service progress",
		Example: "  slipway promotions info -a myapp",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			a, err := f.App(ctx, app)
			if err != nil {
				return err
			}
			live, _ := state(ctx, f, a.Name)
			id := ""
			if len(args) == 1 {
				id = args[0]
			} else if live != nil {
				id = live.Promotion
			} else {
				return ErrNotUpdating
			}
			s, err := f.Store()
			if err != nil {
				return err
			}
			p, err := s.GetPromotion(ctx, a.Name, id)
			if err != nil {
				return cmdutil.KubeError(err)
			}
			if live != nil && live.Promotion != id {
				live = nil
			}
			return Info(p, live).Print(f.IO.Out)
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}

// state queries the promotion in flight; ErrNotUpdating when none runs.
// The per-service progress of a rollout is its watch's last heartbeat,
// which Temporal keeps outside the run's history.
func state(ctx context.Context, f *cmdutil.Factory, app string) (*workflows.PromotionState, error) {
	c, err := f.Temporal()
	if err != nil {
		return nil, err
	}
	id := workflows.PromoteWorkflowID(app)
	d, err := c.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, ErrNotUpdating
	}
	if err != nil {
		return nil, err
	}
	if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, ErrNotUpdating
	}
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryState)
	if err != nil {
		return nil, fmt.Errorf("the promotion in flight does not answer (%v): is a worker running? `slipway dev status`", err)
	}
	var st workflows.PromotionState
	if err := v.Get(&st); err != nil {
		return nil, err
	}
	if live := heartbeatProgress(f, d.GetPendingActivities()); live != nil {
		st.Services = live
	}
	return &st, nil
}

// inFlight returns the release the app's running promotion promotes, from
// its search attributes: no query, so no wait for a worker before the
// control is sent; ErrNotUpdating when none runs.
func inFlight(ctx context.Context, f *cmdutil.Factory, app string) (string, error) {
	c, err := f.Temporal()
	if err != nil {
		return "", err
	}
	d, err := c.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID(app), "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return "", ErrNotUpdating
	}
	if err != nil {
		return "", err
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return "", ErrNotUpdating
	}
	var release string
	if p := info.GetSearchAttributes().GetIndexedFields()[config.SearchRelease]; p != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &release)
	}
	return release, nil
}

// heartbeatProgress decodes the progress a pending WatchRollout last
// reported; nil when there is none.
func heartbeatProgress(f *cmdutil.Factory, pending []*workflowpb.PendingActivityInfo) []records.ServiceProgress {
	dc := converter.GetDefaultDataConverter()
	if s, err := f.Settings(); err == nil && s.Temporal.DataConverter != nil {
		dc = s.Temporal.DataConverter
	}
	for _, a := range pending {
		if a.GetActivityType().GetName() != "WatchRollout" || a.GetHeartbeatDetails() == nil {
			continue
		}
		var p []records.ServiceProgress
		if dc.FromPayloads(a.GetHeartbeatDetails(), &p) == nil && len(p) > 0 {
			return p
		}
	}
	return nil
}

// answerTimeout bounds the wait for a promotion to answer a control. A
// pause sent while the release is being applied is answered once the
// Deployments exist and are paused.
const answerTimeout = 30 * time.Second

// NewCmdSignal makes pause, resume and cancel. Each is an update that the
// promotion answers once its effect is real, or refuses with the reason.
// A rollback must work even with no worker running: if none answers, it
// is sent as a signal, which Temporal keeps until a worker acts on it.
func NewCmdSignal(f *cmdutil.Factory, use, control, doing, short string) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     use,
		Short:   short,
		Example: fmt.Sprintf("  slipway promotions %s -a myapp", use),
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := f.App(ctx, app)
			if err != nil {
				return err
			}
			release, err := inFlight(ctx, f, a.Name)
			if err != nil {
				return err
			}
			return cmdutil.Step(f.IO.Out, fmt.Sprintf("%s promotion of %s to %s", doing, a.Name, release), func() (string, error) {
				return send(ctx, f, a.Name, control, actor(cmd))
			})
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}

// actor says who sent a control, for the promotion's reason.
func actor(cmd *cobra.Command) string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username + " (" + cmd.CommandPath() + ")"
	}
	return cmd.CommandPath()
}

// send delivers one control and returns what to print after OK.
func send(ctx context.Context, f *cmdutil.Factory, app, control, by string) (string, error) {
	c, err := f.Temporal()
	if err != nil {
		return "", err
	}
	id := workflows.PromoteWorkflowID(app)
	uctx, cancel := context.WithTimeout(ctx, answerTimeout)
	defer cancel()
	h, err := c.UpdateWorkflow(uctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: control, Args: []any{by}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(uctx, nil)
	}
	var appErr *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &appErr):
		return "", errors.New(appErr.Message())
	case errors.As(err, &nf):
		return "", ErrNotUpdating
	case uctx.Err() != nil && ctx.Err() == nil && control == workflows.SignalRollback:
		if err := c.SignalWorkflow(ctx, id, "", control, by); err != nil {
			return "", err
		}
		return "requested: no worker answered; it rolls back as soon as one runs", nil
	case uctx.Err() != nil && ctx.Err() == nil:
		return "", fmt.Errorf("no answer within %s: is a worker running? `slipway dev status`", answerTimeout)
	}
	return "", err
}
