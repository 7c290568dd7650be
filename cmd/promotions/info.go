package promotions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/converter"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/runs"
	"github.com/slipway-dev/slipway/workflows"
)

type InfoOptions struct {
	*cmdutil.Factory
	App    string
	ID     string // "" for the promotion in flight
	Output string
}

func NewCmdInfo(f *cmdutil.Factory, runF func(context.Context, *InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "info [ID]",
		Short:   "Show a promotion (default: the one in flight) with its steps and per-service progress",
		Example: "  slipway promotions info -a myapp",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ID = args[0]
			}
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, infoRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func infoRun(ctx context.Context, opts *InfoOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	// The live state only adds to the record: a promotion that does not
	// answer is shown as recorded.
	live, _ := state(ctx, opts.Factory, a.Name)
	id := opts.ID
	if id == "" {
		if live == nil {
			return ErrNotUpdating
		}
		id = live.Promotion
	}
	p, err := s.GetPromotion(ctx, a.Name, id)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if live != nil && live.Promotion != id {
		live = nil
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, InfoJSON(p, live))
	}
	return Info(p, live).Print(opts.IO.Out)
}

// Info shows one promotion; live state, when known, wins over the record.
func Info(p *records.Promotion, live *workflows.PromotionState) *cmdutil.Info {
	services, phase := p.Status.Services, p.Status.Phase
	if live != nil {
		services, phase = live.Services, live.Phase
		if live.Paused {
			phase = model.PhasePaused
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
	if live != nil && live.Step != "" {
		i.Add("Step", live.Step)
	}
	if live != nil && live.Gate != "" {
		i.Add("Waiting", waiting(p, live))
	}
	if live != nil && live.ContinuedBy != "" {
		if live.Step != "" {
			i.Add("Continued by", live.ContinuedBy) // the last pause of a staged rollout
		} else {
			i.Add("Approved by", live.ContinuedBy)
		}
	}
	if live != nil && live.Notice != "" {
		// A control sent as a signal (from the Temporal UI) and refused.
		i.Add("Notice", live.Notice)
	}
	i.Add("Workflow", p.Spec.WorkflowID+" "+p.Spec.RunID)
	var sv strings.Builder
	for _, s := range services {
		fmt.Fprintf(&sv, "%s: %d desired, %d updated, %d ready, %d available", s.Name, s.Desired, s.Updated, s.Ready, s.Available)
		if s.Waiting != "" {
			fmt.Fprintf(&sv, "; waiting: %s", s.Waiting)
		}
		sv.WriteString("\n")
	}
	i.Add("Services", sv.String())
	var steps strings.Builder
	for _, s := range p.Status.Steps {
		fmt.Fprintf(&steps, "%s %s\n", s.Time.UTC().Format(time.RFC3339), s.Message)
	}
	i.Add("Steps", steps.String())
	return i
}

// now is the clock a gate's countdown is measured on (tests set it).
var now = time.Now

// waiting says what the gate a promotion waits at needs, and until when.
func waiting(p *records.Promotion, live *workflows.PromotionState) string {
	until := live.GateUntil.UTC().Format(time.RFC3339)
	left := live.GateUntil.Sub(now()).Round(time.Second)
	switch live.Gate {
	case workflows.GatePause:
		return fmt.Sprintf("until %s (%s left), or `slipway promotions continue -a %s` ends the pause now", until, left, p.Spec.App)
	case workflows.GateManual:
		return fmt.Sprintf("for `slipway promotions continue -a %s` (anyone may), until %s (%s left), then it rolls back", p.Spec.App, until, left)
	}
	return fmt.Sprintf("for %s, until %s (%s left): `slipway promotions continue -a %s` by someone other than %s",
		live.Gate, until, left, p.Spec.App, p.Spec.Actor)
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
	d, err := runs.Open(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if d == nil {
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
