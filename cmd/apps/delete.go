package apps

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/runs"
	"github.com/slipway-dev/slipway/workflows"
)

type DeleteOptions struct {
	*cmdutil.Factory
	Name  string
	Force bool
}

func NewCmdDelete(f *cmdutil.Factory, runF func(context.Context, *DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an app and everything in its namespace; waits until it is gone",
		Long: `Delete an app and everything in its namespace; waits until it is gone.

It is refused while a build or promotion of the app runs; --force cancels
them first (a cancelled promotion rolls back), then deletes. A namespace
without slipway's labels is never deleted.`,
		Example:           "  slipway apps delete myapp\n  slipway apps delete myapp --force",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: f.CompleteAppArg(),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return cmdutil.Run(cmd, opts, runF, deleteRun)
		},
	}
	cmd.Flags().BoolVar(&opts.Force, "force", false, "cancel a running build or promotion of the app (the promotion rolls back), then delete")
	return cmd
}

func deleteRun(ctx context.Context, opts *DeleteOptions) error {
	settings, err := opts.Settings()
	if err != nil {
		return err
	}
	if err := model.ValidateApp(settings.Rack, opts.Name); err != nil {
		return err
	}
	a, s, err := opts.AppStore(ctx, opts.Name)
	if err != nil {
		return err
	}
	// The workflow checks all of this again; these checks only make a
	// refusal fast and start no workflow.
	if n, err := s.Core.CoreV1().Namespaces().Get(ctx, s.Namespace(a.Name), metav1.GetOptions{}); err == nil && !model.Owned(n.Labels, s.Rack, a.Name) {
		return model.NotOwnedDeleteError(n.Name)
	}
	if !opts.Force {
		tc, err := opts.Temporal()
		if err != nil {
			return err
		}
		busy, err := runs.Find(ctx, s, tc, a.Name, workflows.AppRuns(a.Name))
		if err != nil {
			return cmdutil.KubeError(err)
		}
		if busy.Busy() {
			return runs.BusyError(a.Name)
		}
	}
	// A resource's data goes with the app: say so before it does.
	if rs := resourcesOf(ctx, s, a); len(rs) > 0 {
		var names []string
		for _, r := range rs {
			names = append(names, r.Name+" ("+r.Type+")")
		}
		fmt.Fprintf(opts.IO.Out, "Deleting %s deletes its resources and their data: %s\n", a.Name, strings.Join(names, ", "))
	}
	return cmdutil.Step(opts.IO.Out, "Deleting "+a.Name, func() (string, error) {
		var res workflows.AppResult
		return "", opts.RunWorkflow(ctx, cmdutil.RunOptions{
			ID: workflows.AppWorkflowID("delete", a.Name), App: a.Name, Summary: "delete app " + a.Name,
		}, workflows.DeleteApp, workflows.AppInput{App: a.Name, Force: opts.Force}, &res)
	})
}

// resourcesOf are the resources of the app's active release; none when it
// has none or its manifest cannot be read (the delete goes on: what it
// removes does not depend on the manifest).
func resourcesOf(ctx context.Context, s *records.Store, a *records.App) []model.Resource {
	if a.Status.Release == "" {
		return nil
	}
	r, err := s.GetRelease(ctx, a.Name, a.Status.Release)
	if err != nil {
		return nil
	}
	env, err := s.GetReleaseEnv(ctx, r)
	if err != nil {
		return nil
	}
	m, err := model.ParseManifest([]byte(r.Spec.Manifest), env)
	if err != nil {
		return nil
	}
	return m.Resources
}
