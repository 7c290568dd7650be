package promotions

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

type ListOptions struct {
	*cmdutil.Factory
	App    string
	Output string
}

func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "promotions",
		Short:   "List the app's promotions, newest first",
		Example: "  slipway promotions -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	ps, err := s.ListPromotions(ctx, a.Name)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, ListJSON(ps))
	}
	return Table(ps, opts.Now()).Print(opts.IO.Out)
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
