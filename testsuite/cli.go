package testsuite

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Result of one CLI run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// CLI runs `slipway args...` against the stack, from dir (the stack's home
// when empty), as a user would, and returns what it printed.
func (s *Stack) CLI(t testing.TB, args ...string) Result {
	t.Helper()
	return s.CLIIn(t, "", "", args...)
}

// CLIIn runs the CLI in dir with stdin (not a terminal) when stdin is set.
func (s *Stack) CLIIn(t testing.TB, dir, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := s.Command(ctx, args...)
	if dir != "" {
		cmd.Dir = dir
	}
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errOut.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.Code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("slipway %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// Command prepares `slipway args...` with the stack's environment.
func (s *Stack) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, s.Slipway, args...)
	cmd.Dir = s.Home
	cmd.Env = append(os.Environ(), "SLIPWAY_HOME="+s.Home)
	return cmd
}

// MustCLI runs the CLI and fails the test unless it exits 0.
func (s *Stack) MustCLI(t testing.TB, args ...string) string {
	t.Helper()
	r := s.CLI(t, args...)
	if r.Code != 0 {
		t.Fatalf("slipway %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}
