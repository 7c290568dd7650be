package prod

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// CLITimeout bounds one CLI run: a command that hangs fails the test.
const CLITimeout = 3 * time.Minute

// Result of one CLI run.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// runCLI runs `slipway args...` from the CLI's home, with the CLI's
// environment only: its own home, its own kubeconfig, its own client
// certificate, and the rack's addresses. A non-zero exit is in
// Result.Code; the error says why the CLI could not run or finish.
func (tp *Topology) runCLI(ctx context.Context, args ...string) (Result, error) {
	return tp.runCLIEnv(ctx, tp.cliEnv(), args...)
}

// cliEnv is what the CLI is told: the rack's addresses, and Temporal's
// connection in the SDK's environment variables, over mTLS with the CLI's
// own certificate.
func (tp *Topology) cliEnv() []string {
	return tp.env(
		"KUBECONFIG="+filepath.Join(tp.CLIHome, "kubeconfig"),
		"TEMPORAL_ADDRESS="+tp.TemporalAddress,
		"TEMPORAL_NAMESPACE="+Namespace,
		"TEMPORAL_TLS_CLIENT_CERT_PATH="+tp.cliTLS.Cert,
		"TEMPORAL_TLS_CLIENT_KEY_PATH="+tp.cliTLS.Key,
		"TEMPORAL_TLS_SERVER_CA_CERT_PATH="+tp.cliTLS.CA,
		"TEMPORAL_TLS_SERVER_NAME="+ServerName,
	)
}

// runCLIEnv is runCLI with env (on top of an environment that names
// nothing of this machine's slipway or Temporal settings) instead of the
// CLI's own.
func (tp *Topology) runCLIEnv(ctx context.Context, env []string, args ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, CLITimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tp.Slipway, args...)
	cmd.Dir = tp.CLIHome
	cmd.Env = isolated(tp.CLIHome, env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := Result{Stdout: out.String(), Stderr: errOut.String()}
	what := "slipway " + strings.Join(args, " ")
	if ctx.Err() != nil {
		return r, fmt.Errorf("%s: no answer within %s\nstdout:\n%s\nstderr:\n%s", what, CLITimeout, r.Stdout, r.Stderr)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() >= 0 {
		r.Code = exit.ExitCode()
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("%s: %w", what, err)
	}
	return r, nil
}

// CLI runs the CLI as a user on a laptop would and returns what it
// printed; it fails the test if the CLI cannot run or finish.
func (tp *Topology) CLI(t testing.TB, args ...string) Result {
	t.Helper()
	r, err := tp.runCLI(context.Background(), args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// MustCLI is CLI for a command that must exit 0; it returns its stdout.
func (tp *Topology) MustCLI(t testing.TB, args ...string) string {
	t.Helper()
	r := tp.CLI(t, args...)
	if r.Code != 0 {
		t.Fatalf("slipway %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}
