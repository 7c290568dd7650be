package ps

import (
	"context"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

type StopOptions struct {
	*cmdutil.Factory
	App string
	ID  string
}

func NewCmdStop(f *cmdutil.Factory, runF func(context.Context, *StopOptions) error) *cobra.Command {
	opts := &StopOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "stop ID",
		Short: "Stop a process",
		Long: `Stop a process: its pod is deleted. A service's Deployment starts another
in its place; a one-off process (slipway run) is gone.`,
		Example: "  slipway ps stop web-7d9f8c6b5-abc12",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(cmd, opts, runF, stopRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func stopRun(ctx context.Context, opts *StopOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	p, err := Find(ctx, s, a, opts.ID)
	if err != nil {
		return err
	}
	return cmdutil.Step(opts.IO.Out, "Stopping "+p.Name, func() (string, error) {
		// Only the pod checked above: a pod of that name made since
		// (another UID) is not stopped.
		err := s.Core.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(p.UID))})
		if apierrors.IsNotFound(err) {
			return "", NotFoundError(p.Name)
		}
		if err != nil {
			return "", cmdutil.KubeError(err)
		}
		return "", nil
	})
}
