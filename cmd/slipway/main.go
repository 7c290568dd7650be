// Command slipway is a Convox-style release manager for Kubernetes whose
// every state change is a Temporal workflow.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/root"
)

func main() { os.Exit(run()) }

func run() int {
	ios := cmdutil.System()
	f := cmdutil.New(ios)
	defer f.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.NewCmdRoot(f).ExecuteContext(ctx); err != nil {
		fmt.Fprintf(ios.ErrOut, "ERROR: %s\n", err)
		return 1
	}
	return 0
}
