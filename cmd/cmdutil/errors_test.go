package cmdutil

import (
	"errors"
	"fmt"
	"testing"

	"go.temporal.io/sdk/temporal"
)

func TestWorkflowError(t *testing.T) {
	inner := temporal.NewNonRetryableApplicationError("rollback: web: container main is in CrashLoopBackOff", "RolledBack", nil)
	plain := errors.New("connection refused")
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"innermost application error", fmt.Errorf("workflow execution error: %w", temporal.NewApplicationErrorWithCause("activity error", "X", inner)), "rollback: web: container main is in CrashLoopBackOff"},
		{"terminated", fmt.Errorf("workflow execution error: %w", &temporal.TerminatedError{}), "its workflow was terminated before it finished: slipway's workers put right what it left within a minute"},
		{"anything else as it is", plain, plain.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := WorkflowError(tc.err).Error(); got != tc.want {
				t.Errorf("WorkflowError = %q, want %q", got, tc.want)
			}
		})
	}
}
