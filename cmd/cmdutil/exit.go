package cmdutil

import (
	"errors"
	"fmt"
	"io"
)

// ExitError ends slipway with the exit status of a process it ran
// (`slipway exec`, `slipway run`), so scripts see the process's own
// status. The process has said what it had to: Message, when set, is
// slipway's own word on why it ended (an ERROR line).
type ExitError struct {
	Code    int
	Message string
}

func (e *ExitError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitCode is the exit status of a command that ended with err, which it
// reports on w: 0 for none, a process's own status for an ExitError, else
// 1 and one ERROR line.
func ExitCode(err error, w io.Writer) int {
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Message != "" {
			fmt.Fprintf(w, "ERROR: %s\n", exit.Message)
		}
		return exit.Code
	}
	fmt.Fprintf(w, "ERROR: %s\n", err)
	return 1
}
