package ps

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/render"
)

type ListOptions struct {
	*cmdutil.Factory
	App     string
	Service string
	Release string
}

func NewCmdList(f *cmdutil.Factory, runF func(context.Context, *ListOptions) error) *cobra.Command {
	opts := &ListOptions{Factory: f}
	cmd := &cobra.Command{
		Use:     "ps",
		Short:   "List the app's processes",
		Example: "  slipway ps -a myapp\n  slipway ps --service web",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, listRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVar(&opts.Service, "service", "", "only this service's processes")
	cmd.Flags().StringVar(&opts.Release, "release", "", "only this release's processes")
	return cmd
}

func listRun(ctx context.Context, opts *ListOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	sel := Selector(a.Name)
	if opts.Release != "" {
		sel = render.LabelApp + "=" + a.Name + "," + render.LabelRelease + "=" + opts.Release
	}
	pods, err := s.Core.CoreV1().Pods(s.Namespace(a.Name)).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return cmdutil.KubeError(err)
	}
	var procs []Process
	for i := range pods.Items {
		p := &pods.Items[i]
		if !IsProcess(p, a.Name) {
			continue
		}
		pr := FromPod(p)
		if opts.Service != "" && pr.Service != opts.Service {
			continue
		}
		procs = append(procs, pr)
	}
	return ProcessTable(procs, opts.Now()).Print(opts.IO.Out)
}

// ProcessTable is Convox's ps table, by service then ID.
func ProcessTable(procs []Process, now time.Time) *cmdutil.Table {
	procs = slices.Clone(procs)
	slices.SortFunc(procs, func(a, b Process) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.ID, b.ID))
	})
	t := cmdutil.NewTable("ID", "SERVICE", "STATUS", "RELEASE", "STARTED", "COMMAND")
	for _, p := range procs {
		t.Add(p.ID, p.Service, p.Status, p.Release, cmdutil.Ago(p.Started, now), p.Command)
	}
	return t
}
