package apps

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

type CreateOptions struct {
	*cmdutil.Factory
	Name string
}

func NewCmdCreate(f *cmdutil.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	opts := &CreateOptions{Factory: f}
	return &cobra.Command{
		Use:     "create NAME",
		Short:   "Create an app",
		Example: "  slipway apps create myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			return cmdutil.Run(cmd, opts, runF, createRun)
		},
	}
}

func createRun(ctx context.Context, opts *CreateOptions) error {
	name := opts.Name
	settings, err := opts.Settings()
	if err != nil {
		return err
	}
	if err := model.ValidateApp(settings.Rack, name); err != nil {
		return err
	}
	s, err := opts.Store()
	if err != nil {
		return err
	}
	if _, err := s.GetApp(ctx, name); err == nil {
		return fmt.Errorf("app already exists: %s", name)
	}
	// Fail fast on a namespace that is someone else's; the workflow
	// checks again (a user may not be allowed to read namespaces).
	if n, err := s.Core.CoreV1().Namespaces().Get(ctx, s.Namespace(name), metav1.GetOptions{}); err == nil && !model.Owned(n.Labels, s.Rack, name) {
		return model.NotOwnedError(n.Name)
	}
	return cmdutil.Step(opts.IO.Out, "Creating "+name, func() (string, error) {
		var res workflows.AppResult
		return "", opts.RunWorkflow(ctx, cmdutil.RunOptions{
			ID: workflows.AppWorkflowID("create", name), App: name, Summary: "create app " + name,
		}, workflows.CreateApp, workflows.AppInput{App: name}, &res)
	})
}
