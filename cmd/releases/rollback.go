package releases

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

type RollbackOptions struct {
	*cmdutil.Factory
	App     string
	ID      string // the release to roll back to; "" for the one active before the current one
	Timeout time.Duration
	// IDOnly prints only the new release's ID on stdout (--id).
	IDOnly bool
	// NewID names the copy of the release; model.NewReleaseID unless a
	// test sets it.
	NewID func() string
}

func NewCmdRollback(f *cmdutil.Factory, runF func(context.Context, *RollbackOptions) error) *cobra.Command {
	opts := &RollbackOptions{Factory: f, NewID: model.NewReleaseID}
	cmd := &cobra.Command{
		Use:   "rollback [ID]",
		Short: "Copy an earlier release (its build and env) into a new release and promote it",
		Long: `Copy an earlier release (its build and env) into a new release and promote it.

Without an ID it rolls back to the release that was active before the
current one: the release of the newest promotion that ended active before
the promotion that made the current release active.`,
		Example:           "  slipway releases rollback -a myapp\n  slipway releases rollback RABCDEFGHIJ -a myapp",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: f.CompleteReleases(&opts.App),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.ID = args[0]
			}
			return cmdutil.Run(cmd, opts, runF, rollbackRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", workflows.DefaultTimeout, "roll back if the rollout is not done within this")
	cmdutil.AddIDFlag(cmd, &opts.IDOnly, "new release's")
	cmdutil.AddWaitFlag(cmd)
	return cmd
}

func rollbackRun(ctx context.Context, opts *RollbackOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	id := opts.ID
	if id == "" {
		ps, err := s.ListPromotions(ctx, a.Name)
		if err != nil {
			return cmdutil.KubeError(err)
		}
		if id, err = PreviousRelease(a, ps); err != nil {
			return err
		}
	}
	target, err := promotions.Resolve(ctx, s, a, id)
	if err != nil {
		return err
	}
	copyID := opts.NewID()
	if err := promotions.Promote(ctx, opts.ForID(opts.IDOnly), promotions.PromoteOptions{
		App: a.Name, Release: copyID, RollbackTo: target, Timeout: opts.Timeout,
	}); err != nil {
		return err
	}
	if opts.IDOnly {
		return opts.PrintID(copyID)
	}
	return nil
}

// PreviousRelease is the release that was active before the app's current
// one, from the promotion records (newest first): the promotion that made
// the current release active is the newest that ended active with it; the
// answer is the release of the newest promotion before that one which
// ended active with another release. Promotions of an app never overlap
// (the deploy lock), so their start order is their end order.
func PreviousRelease(a *records.App, newestFirst []*records.Promotion) (string, error) {
	cur := a.Status.Release
	if cur == "" {
		return "", fmt.Errorf("app %s has no active release to roll back from: promote one with `slipway releases promote`", a.Name)
	}
	seenCurrent := false
	for _, p := range newestFirst {
		if p.Status.Result != model.ResultActive {
			continue
		}
		if !seenCurrent {
			seenCurrent = p.Spec.Release == cur
			continue
		}
		if p.Spec.Release != cur {
			return p.Spec.Release, nil
		}
	}
	return "", fmt.Errorf("no release was active before %s on %s: name the release to roll back to (`slipway releases -a %s`)", cur, a.Name, a.Name)
}
