// Package apps is `slipway apps`: list, create, inspect and delete apps.
package apps

import (
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/runs"
	"github.com/slipway-dev/slipway/workflows"
)

func NewCmdApps(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "apps",
		Short:   "List apps",
		Example: "  slipway apps",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.Store()
			if err != nil {
				return err
			}
			apps, err := s.ListApps(cmd.Context())
			if err != nil {
				return cmdutil.KubeError(err)
			}
			return AppsTable(apps).Print(f.IO.Out)
		},
	}
	cmd.AddCommand(newCmdCreate(f), newCmdInfo(f), newCmdDelete(f),
		promotions.NewCmdSignal(f, "cancel", workflows.SignalRollback, "Cancelling", "Roll the promotion in flight back (Convox's name for `promotions cancel`)"))
	return cmd
}

// AppsTable is Convox's apps table.
func AppsTable(apps []*records.App) *cmdutil.Table {
	t := cmdutil.NewTable("APP", "STATUS", "RELEASE")
	for _, a := range apps {
		t.Add(a.Name, a.Status.Status, a.Status.Release)
	}
	return t
}

func newCmdCreate(f *cmdutil.Factory) *cobra.Command {
	return &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an app",
		Example: "  slipway apps create myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			settings, err := f.Settings()
			if err != nil {
				return err
			}
			if err := model.ValidateApp(settings.Rack, name); err != nil {
				return err
			}
			s, err := f.Store()
			if err != nil {
				return err
			}
			if _, err := s.GetApp(cmd.Context(), name); err == nil {
				return fmt.Errorf("app already exists: %s", name)
			}
			// Fail fast on a namespace that is someone else's; the workflow
			// checks again (a user may not be allowed to read namespaces).
			if n, err := s.Core.CoreV1().Namespaces().Get(cmd.Context(), s.Namespace(name), metav1.GetOptions{}); err == nil && !model.Owned(n.Labels, s.Rack, name) {
				return model.NotOwnedError(n.Name)
			}
			return cmdutil.Step(f.IO.Out, "Creating "+name, func() (string, error) {
				var res workflows.AppResult
				return "", f.RunWorkflow(cmd.Context(), cmdutil.RunOptions{
					ID: workflows.AppWorkflowID("create", name), App: name, Summary: "create app " + name,
				}, workflows.CreateApp, workflows.AppInput{App: name}, &res)
			})
		},
	}
}

func newCmdInfo(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "info [NAME]",
		Short:   "Show an app",
		Example: "  slipway apps info myapp",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				app = args[0]
			}
			a, err := f.App(cmd.Context(), app)
			if err != nil {
				return err
			}
			return AppInfo(a).Print(f.IO.Out)
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}

// AppInfo is the info block of `apps info`.
func AppInfo(a *records.App) *cmdutil.Info {
	i := cmdutil.NewInfo()
	i.Add("Name", a.Name)
	i.Add("Namespace", a.Namespace)
	i.Add("Status", a.Status.Status)
	i.Add("Release", a.Status.Release)
	if a.Status.Reason != "" {
		i.Add("Reason", a.Status.Reason)
	}
	return i
}

func newCmdDelete(f *cmdutil.Factory) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an app and everything in its namespace; waits until it is gone",
		Long: `Delete an app and everything in its namespace; waits until it is gone.

It is refused while a build or promotion of the app runs; --force cancels
them first (a cancelled promotion rolls back), then deletes. A namespace
without slipway's labels is never deleted.`,
		Example: "  slipway apps delete myapp\n  slipway apps delete myapp --force",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			settings, err := f.Settings()
			if err != nil {
				return err
			}
			if err := model.ValidateApp(settings.Rack, args[0]); err != nil {
				return err
			}
			a, s, err := f.AppStore(ctx, args[0])
			if err != nil {
				return err
			}
			// The workflow checks all of this again; these checks only make
			// a refusal fast and start no workflow.
			if n, err := s.Core.CoreV1().Namespaces().Get(ctx, s.Namespace(a.Name), metav1.GetOptions{}); err == nil && !model.Owned(n.Labels, s.Rack, a.Name) {
				return model.NotOwnedDeleteError(n.Name)
			}
			if !force {
				tc, err := f.Temporal()
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
			return cmdutil.Step(f.IO.Out, "Deleting "+a.Name, func() (string, error) {
				var res workflows.AppResult
				return "", f.RunWorkflow(ctx, cmdutil.RunOptions{
					ID: workflows.AppWorkflowID("delete", a.Name), App: a.Name, Summary: "delete app " + a.Name,
				}, workflows.DeleteApp, workflows.AppInput{App: a.Name, Force: force}, &res)
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "cancel a running build or promotion of the app (the promotion rolls back), then delete")
	return cmd
}
