// Command slipway is a Convox-style release manager for Kubernetes whose
// every state change is a Temporal workflow.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/root"
)

func main() { os.Exit(run(os.Args[1:], cmdutil.System())) }

// run runs the command line args on ios and returns the exit code: 1, with
// the error on one ERROR line, when the command fails; a process's own
// status for `exec` and `run`.
func run(args []string, ios *cmdutil.IOStreams) int {
	f := cmdutil.New(ios)
	defer f.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := root.NewCmdRoot(f)
	cmd.SetArgs(args)
	return cmdutil.ExitCode(cmd.ExecuteContext(ctx), ios.ErrOut)
}
