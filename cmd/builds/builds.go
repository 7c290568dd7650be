// Package builds is `slipway builds`: an app's builds and their logs.
package builds

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

// NewCmdBuilds is `slipway builds`, which lists, and its subcommands.
func NewCmdBuilds(f *cmdutil.Factory) *cobra.Command {
	cmd := NewCmdList(f, nil)
	cmd.AddCommand(
		NewCmdInfo(f, nil),
		NewCmdLogs(f, nil),
	)
	return cmd
}

func started(b *records.Build) time.Time {
	if b.Status.Started != nil {
		return b.Status.Started.Time
	}
	return b.CreationTimestamp.Time
}

func elapsed(b *records.Build) string {
	if b.Status.Ended == nil {
		return ""
	}
	return cmdutil.Elapsed(started(b), b.Status.Ended.Time)
}
