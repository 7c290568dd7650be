// Package promotions is `slipway promotions`: an app's promotions, past and
// in flight, and the operator's controls over the one in flight.
package promotions

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
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
	i.Add("Duration", duration(p))
	i.Add("Phase", phase)
	i.Add("Result", p.Status.Result)
	i.Add("Reason", p.Status.Reason)
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
	return &st, v.Get(&st)
}

// NewCmdSignal makes pause, resume and cancel: send the signal (as the
// Temporal UI can), then print OK only once its effect is seen.
func NewCmdSignal(f *cmdutil.Factory, use, signal, doing, short string) *cobra.Command {
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
			st, err := state(ctx, f, a.Name)
			if err != nil {
				return err
			}
			return cmdutil.Step(f.IO.Out, fmt.Sprintf("%s promotion of %s to %s", doing, a.Name, st.Release), func() (string, error) {
				c, _ := f.Temporal()
				var arg any
				if signal == workflows.SignalRollback {
					arg = "slipway promotions cancel"
				}
				if err := c.SignalWorkflow(ctx, workflows.PromoteWorkflowID(a.Name), "", signal, arg); err != nil {
					return "", err
				}
				return "", waitEffect(ctx, f, a.Name, signal)
			})
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}

func waitEffect(ctx context.Context, f *cmdutil.Factory, app, signal string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		st, err := state(ctx, f, app)
		switch {
		case errors.Is(err, ErrNotUpdating):
			return nil // the promotion ended: nothing left to pause, resume or cancel
		case err != nil:
			return err
		case signal == workflows.SignalPause && st.Paused,
			signal == workflows.SignalResume && !st.Paused,
			signal == workflows.SignalRollback && (st.Phase == records.PhaseRollingBack || st.Phase == records.PhaseDone):
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no effect seen yet: see `slipway promotions info -a %s`", app)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
