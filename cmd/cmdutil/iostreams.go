// Package cmdutil holds what every slipway command shares: the Factory of
// lazily built clients, the I/O streams, and Convox-style output.
package cmdutil

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams; tests use buffers.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY is true when standard input is a terminal, so commands know
	// whether to read KEY=VALUE lines from it.
	InTTY bool
	// OutTTY is true when standard output is a terminal: progress shows.
	OutTTY bool
}

// System returns the process's streams.
func System() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr, InTTY: term.IsTerminal(int(os.Stdin.Fd())), OutTTY: term.IsTerminal(int(os.Stdout.Fd()))}
}
