package testsuite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/devstack"
)

// CLITimeout bounds one CLI run started by CLI, CLIIn, MustCLI, CLIResult
// or Background: a command that hangs fails its test after this long
// instead of holding the test binary until its own timeout.
const CLITimeout = 5 * time.Minute

// Result of one CLI run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Invocation is one CLI run: its arguments and, when set, the folder it
// runs in (the stack's home when empty), its stdin (not a terminal) and
// environment added to the stack's.
type Invocation struct {
	Args  []string
	Dir   string
	Stdin string
	Env   []string
}

// Run runs `slipway args...` against the stack as a user would and returns
// what it printed and its exit code. It never touches a testing.T, so it
// may run on any goroutine; the error says why the CLI could not start or
// did not finish before ctx ended (a non-zero exit is not an error: it is
// in Result.Code).
func (s *Stack) Run(ctx context.Context, in Invocation) (Result, error) {
	cmd := s.Command(ctx, in.Args...)
	if in.Dir != "" {
		cmd.Dir = in.Dir
	}
	if in.Stdin != "" {
		cmd.Stdin = strings.NewReader(in.Stdin)
	}
	cmd.Env = append(cmd.Env, in.Env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errOut.String()}
	what := "slipway " + strings.Join(in.Args, " ")
	// A command killed because ctx ended exits by a signal: that is the
	// harness's doing, not the CLI's answer, so it is an error.
	if ctx.Err() != nil {
		return r, fmt.Errorf("%s: did not finish in time (%v)\nstdout:\n%s\nstderr:\n%s", what, context.Cause(ctx), r.Stdout, r.Stderr)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.Code = exit.ExitCode()
		if r.Code < 0 {
			return r, fmt.Errorf("%s: %v\nstdout:\n%s\nstderr:\n%s", what, err, r.Stdout, r.Stderr)
		}
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// CLIResult is Run with no folder, stdin or extra environment, bounded by
// CLITimeout; like Run it is safe off the test's goroutine.
func (s *Stack) CLIResult(args ...string) (Result, error) {
	ctx, cancel := context.WithTimeoutCause(context.Background(), CLITimeout, fmt.Errorf("no answer within %s", CLITimeout))
	defer cancel()
	return s.Run(ctx, Invocation{Args: args})
}

// Outcome is how a CLI run started by Background ended.
type Outcome struct {
	Result
	Err   error     // as Run returns it
	Ended time.Time // when the command ended
}

// Background starts `slipway args...` in its own goroutine, bounded by
// CLITimeout, and returns a channel that gets its one Outcome and is then
// closed. The goroutine never touches a testing.T: the test receives the
// Outcome on its own goroutine and reports from there (see Wait).
func (s *Stack) Background(args ...string) <-chan Outcome {
	return s.BackgroundWithin(CLITimeout, args...)
}

// BackgroundWithin is Background with another bound than CLITimeout, for
// a command that is meant to run longer.
func (s *Stack) BackgroundWithin(within time.Duration, args ...string) <-chan Outcome {
	done := make(chan Outcome, 1)
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeoutCause(context.Background(), within, fmt.Errorf("no answer within %s", within))
		defer cancel()
		r, err := s.Run(ctx, Invocation{Args: args})
		done <- Outcome{Result: r, Err: err, Ended: time.Now()}
	}()
	return done
}

// Wait receives the outcome of a Background run on the test's goroutine
// and fails the test if the CLI could not run or finish; the receive is
// bounded because the run is.
func Wait(t testing.TB, done <-chan Outcome) Outcome {
	t.Helper()
	o, ok := <-done
	if !ok {
		t.Fatal("testsuite: the outcome of this background CLI run was already received")
	}
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	return o
}

// CLI runs `slipway args...` against the stack, from the stack's home, as
// a user would, and returns what it printed. It fails the test if the CLI
// cannot run or finish, so call it on the test's goroutine only; other
// goroutines use CLIResult or Background.
func (s *Stack) CLI(t testing.TB, args ...string) Result {
	t.Helper()
	return s.CLIIn(t, "", "", args...)
}

// CLIIn runs the CLI in dir with stdin (not a terminal) when stdin is set;
// on the test's goroutine only, as CLI.
func (s *Stack) CLIIn(t testing.TB, dir, stdin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeoutCause(context.Background(), CLITimeout, fmt.Errorf("no answer within %s", CLITimeout))
	defer cancel()
	r, err := s.Run(ctx, Invocation{Args: args, Dir: dir, Stdin: stdin})
	if err != nil {
		t.Fatal(err)
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

// MustCLI runs the CLI and fails the test unless it exits 0; on the
// test's goroutine only, as CLI.
func (s *Stack) MustCLI(t testing.TB, args ...string) string {
	t.Helper()
	r := s.CLI(t, args...)
	if r.Code != 0 {
		t.Fatalf("slipway %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

var releaseLine = regexp.MustCompile(`(?m)^Release: (R[A-Z]{10})$`)

// ReleaseOf returns the ID a command printed on its `Release:` line.
func ReleaseOf(t testing.TB, out string) string {
	t.Helper()
	m := releaseLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Release: line in\n%s", out)
	}
	return m[1]
}

// SampleImage is the stack registry's sample image (see
// devstack.SampleImage), which tests run in place of public images.
func (s *Stack) SampleImage() string { return s.Settings.Registry + "/" + devstack.SampleImage }
