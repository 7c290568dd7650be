package cmdutil

import (
	"fmt"

	"github.com/spf13/cobra"
)

// AddIDFlag adds --id: progress goes to standard error and standard output
// carries the ID alone, for `ID=$(slipway ... --id)`.
func AddIDFlag(cmd *cobra.Command, id *bool, what string) {
	cmd.Flags().BoolVar(id, "id", false, "print only the "+what+" ID on standard output (progress goes to standard error)")
}

// AddWaitFlag accepts Convox's -w/--wait, which slipway's commands need
// not: they always wait for what they started to end.
func AddWaitFlag(cmd *cobra.Command) {
	var wait bool
	cmd.Flags().BoolVarP(&wait, "wait", "w", false, "accepted for Convox's scripts and ignored: slipway always waits")
}

// ForID is the Factory a command runs on: with --id, one whose standard
// output is standard error, so progress stays off the ID's stream.
func (f *Factory) ForID(id bool) *Factory {
	if !id {
		return f
	}
	g := *f
	streams := *f.IO
	streams.Out = f.IO.ErrOut
	streams.OutTTY = false
	g.IO = &streams
	return &g
}

// PrintID writes the ID a --id command made, alone on its line.
func (f *Factory) PrintID(id string) error {
	_, err := fmt.Fprintln(f.IO.Out, id)
	return err
}
