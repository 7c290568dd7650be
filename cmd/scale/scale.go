// Package scale is `slipway scale`: show each service's scale, or set one
// by hand. A scale set by hand is recorded on the app and applied at once;
// every later promotion and rollback keeps it.
package scale

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/temporal"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

type ScaleOptions struct {
	*cmdutil.Factory
	App     string
	Service string // "" for every service (show only)
	// Count, CPU and Memory are the flags given; nil when not given.
	Count, CPU, Memory *int32
	Output             string
}

// Setting reports whether the command sets a scale rather than shows it.
func (o *ScaleOptions) Setting() bool { return o.Count != nil || o.CPU != nil || o.Memory != nil }

func NewCmdScale(f *cmdutil.Factory, runF func(context.Context, *ScaleOptions) error) *cobra.Command {
	opts := &ScaleOptions{Factory: f}
	var count, cpu, memory int32
	cmd := &cobra.Command{
		Use:   "scale [SERVICE] [--count N] [--cpu N] [--memory N]",
		Short: "Show each service's scale, or set a service's by hand",
		Long: `Show each service's scale, or set a service's by hand.

With no flag it lists every service (or SERVICE): its desired and running
processes and what each requests. --count, --cpu (millicores) and --memory
(MB) set a service's scale by hand: it is recorded on the app, applied to
the running Deployment at once, and kept by every later promotion and
rollback, over the manifest's scale. A scale is refused while a promotion
runs.`,
		Example: `  slipway scale -a myapp
  slipway scale web --count 3 -a myapp
  slipway scale web --cpu 500 --memory 1024 -a myapp`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: f.CompleteServices(&opts.App),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Service = args[0]
			}
			fl := cmd.Flags()
			if fl.Changed("count") {
				opts.Count = ptr.To(count)
			}
			if fl.Changed("cpu") {
				opts.CPU = ptr.To(cpu)
			}
			if fl.Changed("memory") {
				opts.Memory = ptr.To(memory)
			}
			if err := cmdutil.CheckOutput(opts.Output); err != nil {
				return err
			}
			if opts.Setting() {
				if opts.Service == "" {
					return errors.New("which service? name it: `slipway scale SERVICE --count N`")
				}
				if opts.Output != "" {
					return errors.New("--output is for showing the scale: leave it out when setting one")
				}
				if err := opts.scale().Validate(); err != nil {
					return err
				}
			}
			return cmdutil.Run(cmd, opts, runF, scaleRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().Int32Var(&count, "count", 0, "how many processes of SERVICE to run")
	cmd.Flags().Int32Var(&cpu, "cpu", 0, "CPU each process of SERVICE requests, in millicores (1000 is one core)")
	cmd.Flags().Int32Var(&memory, "memory", 0, "memory each process of SERVICE requests, in MB")
	cmdutil.AddWaitFlag(cmd)
	cmdutil.AddOutputFlag(cmd, &opts.Output)
	return cmd
}

func (o *ScaleOptions) scale() records.ServiceScale {
	return records.ServiceScale{Service: o.Service, Count: o.Count, CPU: o.CPU, Memory: o.Memory}
}

func scaleRun(ctx context.Context, opts *ScaleOptions) error {
	if opts.Setting() {
		return setRun(ctx, opts)
	}
	return showRun(ctx, opts)
}

// showRun prints the services' scale from their Deployments.
func showRun(ctx context.Context, opts *ScaleOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	deps, err := s.Core.AppsV1().Deployments(a.Namespace).List(ctx, metav1.ListOptions{LabelSelector: model.LabelApp + "=" + a.Name})
	if err != nil {
		return cmdutil.KubeError(err)
	}
	rows := Rows(deps.Items)
	if opts.Service != "" {
		var one []Row
		for _, r := range rows {
			if r.Service == opts.Service {
				one = append(one, r)
			}
		}
		if len(one) == 0 {
			return fmt.Errorf("no service %s runs in %s: `slipway scale -a %s` lists them", opts.Service, a.Name, a.Name)
		}
		rows = one
	}
	if opts.Output == cmdutil.OutputJSON {
		return cmdutil.JSON(opts.IO.Out, rows)
	}
	return Table(rows).Print(opts.IO.Out)
}

// setRun runs the Scale workflow, which records the scale and applies it.
// It holds the app's deploy lock, so Temporal refuses it while a
// promotion runs; the record's status refuses it sooner, with no run.
func setRun(ctx context.Context, opts *ScaleOptions) error {
	a, _, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	switch a.Status.Status {
	case model.AppUpdating, model.AppRollback, model.AppDeleting:
		return records.ScaleBusyError(a.Name, a.Status.Status)
	}
	if a.Status.Release == "" {
		return fmt.Errorf("app %s has no active release to scale: promote one first (`slipway releases promote -a %s`)", a.Name, a.Name)
	}
	return cmdutil.Step(opts.IO.Out, "Scaling "+opts.Service, func() (string, error) {
		var res workflows.ScaleResult
		err := opts.RunWorkflow(ctx, cmdutil.RunOptions{
			ID: workflows.ScaleWorkflowID(a.Name), App: a.Name, Release: a.Status.Release,
			Summary: fmt.Sprintf("scale %s of %s: %s", opts.Service, a.Name, Describe(opts.scale())),
		}, workflows.Scale, workflows.ScaleInput{
			App: a.Name, Service: opts.Service, Count: opts.Count, CPU: opts.CPU, Memory: opts.Memory,
		}, &res)
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return "", records.ScaleBusyError(a.Name, model.AppUpdating)
		}
		return "", err
	})
}

// Describe is a scale as a person writes it: "count=3 cpu=500".
func Describe(sc records.ServiceScale) string {
	var out string
	for _, f := range []struct {
		name string
		v    *int32
	}{{"count", sc.Count}, {"cpu", sc.CPU}, {"memory", sc.Memory}} {
		if f.v != nil {
			if out != "" {
				out += " "
			}
			out += fmt.Sprintf("%s=%d", f.name, *f.v)
		}
	}
	return out
}
