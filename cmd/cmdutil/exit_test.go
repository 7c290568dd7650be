package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
		out  string
	}{
		{nil, 0, ""},
		{errors.New("no such app: x"), 1, "ERROR: no such app: x\n"},
		{&ExitError{Code: 3}, 3, ""},
		{fmt.Errorf("wrapped: %w", &ExitError{Code: 42}), 42, ""},
		{&ExitError{Code: 1, Message: "the process ran past --timeout 1m0s and was stopped"}, 1, "ERROR: the process ran past --timeout 1m0s and was stopped\n"},
	} {
		var b bytes.Buffer
		if code := ExitCode(tt.err, &b); code != tt.code || b.String() != tt.out {
			t.Errorf("ExitCode(%v) = %d, %q; want %d, %q", tt.err, code, b.String(), tt.code, tt.out)
		}
	}
}
