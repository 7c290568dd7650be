// Package root assembles the slipway command tree.
package root

import (
	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/apps"
	"github.com/slipway-dev/slipway/cmd/build"
	"github.com/slipway-dev/slipway/cmd/builds"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/codecserver"
	"github.com/slipway-dev/slipway/cmd/deploy"
	"github.com/slipway-dev/slipway/cmd/dev"
	"github.com/slipway-dev/slipway/cmd/env"
	"github.com/slipway-dev/slipway/cmd/logs"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/cmd/ps"
	"github.com/slipway-dev/slipway/cmd/releases"
	"github.com/slipway-dev/slipway/cmd/run"
	"github.com/slipway-dev/slipway/cmd/scale"
	"github.com/slipway-dev/slipway/cmd/services"
	"github.com/slipway-dev/slipway/cmd/system"
	"github.com/slipway-dev/slipway/cmd/webhooks"
	"github.com/slipway-dev/slipway/cmd/worker"
)

// NewCmdRoot returns `slipway` with every command.
func NewCmdRoot(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "slipway",
		Short: "Ship apps to Kubernetes: builds, releases and durable rolling promotions",
		Long: `slipway is a Convox-style release manager. A Build is a set of images made
from an app's source and its convox.yml; a Release is a Build plus a set of
environment variables; promoting a Release rolls it out until it is active on
every process or completely rolled back. Every state change is a Temporal
workflow: open the Temporal UI to watch one.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	cmd.SetOut(f.IO.Out)
	cmd.SetErr(f.IO.ErrOut)
	cmd.SetIn(f.IO.In)
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.Overrides.Kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, else the local stack's)")
	pf.StringVar(&f.Overrides.TemporalAddress, "temporal-address", "", "Temporal frontend host:port (default: $TEMPORAL_ADDRESS, the Temporal profile, else the local stack's)")
	pf.StringVar(&f.Overrides.Namespace, "namespace", "", "Temporal namespace (default: $TEMPORAL_NAMESPACE, the Temporal profile, else default)")
	cmd.AddCommand(
		apps.NewCmdApps(f),
		build.NewCmdBuild(f, nil),
		builds.NewCmdBuilds(f),
		deploy.NewCmdDeploy(f, nil),
		env.NewCmdEnv(f),
		releases.NewCmdReleases(f),
		services.NewCmdServices(f, nil),
		promotions.NewCmdPromotions(f),
		ps.NewCmdPs(f),
		logs.NewCmdLogs(f, nil),
		run.NewCmdRun(f, nil),
		run.NewCmdExec(f, nil),
		scale.NewCmdScale(f, nil),
		webhooks.NewCmdWebhooks(f),
		dev.NewCmdDev(f),
		system.NewCmdSystem(f),
		worker.NewCmdWorker(f, nil),
		codecserver.NewCmdCodecServer(f, nil),
	)
	cmdutil.RegisterAppCompletion(cmd, f) // -a/--app completes app names everywhere
	return cmd
}
