// Package testsuite starts slipway's real stack (Temporal dev server,
// Kubernetes control plane with kwok nodes, registry, worker) once per test
// binary, on free ports in a temporary folder, for end-to-end tests,
// benchmarks and the demo. It never uses a stack that `slipway dev up`
// started, and it tears everything down even if the test binary crashes.
package testsuite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/records"
)

// Stack is a running stack and ready clients for it.
type Stack struct {
	Home     string // SLIPWAY_HOME of the stack: its state and logs
	Root     string // slipway's checkout
	Slipway  string // the slipway binary built for this test run
	Tools    string // the stack's programs (make tools)
	Settings *config.Settings
	Temporal client.Client
	Kube     kubernetes.Interface
	Dynamic  dynamic.Interface
	Store    *records.Store

	dev      *devstack.Stack
	guardian *exec.Cmd
}

var shared *Stack

// Main starts the stack, runs the tests and stops the stack. Call it from
// TestMain: func TestMain(m *testing.M) { testsuite.Main(m) }.
func Main(m *testing.M) {
	s, err := Start(context.Background())
	if err != nil {
		fmt.Fprintf(os.Stderr, "testsuite: cannot start the stack: %v\n", err)
		if s != nil {
			s.Stop()
		}
		os.Exit(1)
	}
	shared = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// Get returns the stack that Main started.
func Get(t testing.TB) *Stack {
	t.Helper()
	if shared == nil {
		t.Fatal("testsuite: no stack: call testsuite.Main(m) from TestMain")
	}
	return shared
}

// Start builds slipway and starts a stack in a new temporary folder.
func Start(ctx context.Context) (*Stack, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	home, err := os.MkdirTemp("", "slipway-e2e-")
	if err != nil {
		return nil, err
	}
	s := &Stack{Home: home, Root: root, Slipway: filepath.Join(home, "slipway")}
	build := exec.CommandContext(ctx, "go", "build", "-o", s.Slipway, "./cmd/slipway")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return s, fmt.Errorf("build slipway: %v\n%s", err, out)
	}
	tools := os.Getenv("SLIPWAY_TOOLS")
	if tools == "" {
		tools = filepath.Join(root, ".tools", "bin")
	}
	s.Tools = tools
	if err := s.guard(tools); err != nil {
		return s, err
	}
	var ports [2]int
	for i := range ports {
		if ports[i], err = devstack.FreePort(); err != nil {
			return s, err
		}
	}
	opts := devstack.Options{
		Home: home, Tools: tools, Slipway: s.Slipway,
		TemporalPort: ports[0], RegistryPort: ports[1], Headless: true,
		Ephemeral: true, AfterKubernetes: records.InstallCRDsFromKubeconfig,
		Out: prefixWriter{},
	}
	// The benchmarks at scale need more nodes than the tests.
	if err := opts.SizeFromEnv(os.Getenv); err != nil {
		return s, err
	}
	s.dev = devstack.New(opts)
	start := time.Now()
	if err := s.dev.Up(ctx); err != nil {
		return s, err
	}
	fmt.Fprintf(os.Stderr, "testsuite: stack up in %.1fs in %s\n", time.Since(start).Seconds(), home)
	return s, s.connect()
}

// connect resolves settings exactly as the CLI does, from the stack file.
func (s *Stack) connect() error {
	if err := os.Setenv("SLIPWAY_HOME", s.Home); err != nil {
		return err
	}
	for _, k := range []string{"KUBECONFIG", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_PROFILE", "SLIPWAY_RACK", "SLIPWAY_BLOB_URL", "SLIPWAY_REGISTRY"} {
		if err := os.Unsetenv(k); err != nil {
			return err
		}
	}
	settings, err := config.Resolve(config.Overrides{})
	if err != nil {
		return err
	}
	s.Settings = settings
	rc, err := settings.RESTConfig()
	if err != nil {
		return err
	}
	if s.Store, err = records.NewStore(rc, settings.Rack); err != nil {
		return err
	}
	s.Kube, s.Dynamic = s.Store.Core, s.Store.Dynamic
	s.Temporal, err = client.Dial(settings.Temporal)
	return err
}

// guard starts a watchdog that resets the stack if this process dies
// without calling Stop (a panicking test ends the binary at once).
func (s *Stack) guard(tools string) error {
	script := fmt.Sprintf(`while kill -0 %d 2>/dev/null; do sleep 0.5; done; "$SLIPWAY" dev reset >/dev/null 2>&1`, os.Getpid())
	g := exec.Command("sh", "-c", script)
	g.Env = append(os.Environ(), "SLIPWAY="+s.Slipway, "SLIPWAY_HOME="+s.Home, "SLIPWAY_TOOLS="+tools)
	g.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := g.Start(); err != nil {
		return err
	}
	s.guardian = g
	return nil
}

// Stop tears the stack down and deletes its folder.
func (s *Stack) Stop() {
	if s.Temporal != nil {
		s.Temporal.Close()
	}
	if s.guardian != nil {
		// The watchdog only waits for this process; killing it can fail
		// only if it is already gone, and Wait then reports the kill
		// itself ("signal: killed"): neither is worth a word.
		_ = s.guardian.Process.Kill()
		_ = s.guardian.Wait()
	}
	if s.dev != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := s.dev.Reset(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "testsuite: reset: %v\n", err)
		}
	}
	if err := os.RemoveAll(s.Home); err != nil {
		fmt.Fprintf(os.Stderr, "testsuite: remove %s: %v\n", s.Home, err)
	}
}

// RepoRoot is slipway's checkout, the folder of its go.mod.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("testsuite must run inside slipway's checkout")
	}
	return filepath.Dir(mod), nil
}

type prefixWriter struct{}

func (prefixWriter) Write(p []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		fmt.Fprintf(os.Stderr, "testsuite: %s\n", l)
	}
	return len(p), nil
}

// KillWorker SIGKILLs the stack's worker; StartWorker brings one back.
func (s *Stack) KillWorker(t testing.TB) {
	t.Helper()
	if err := s.dev.KillWorker(); err != nil {
		t.Fatal(err)
	}
}

// WorkerPID is the stack's worker process, 0 when it does not run.
func (s *Stack) WorkerPID() int { return s.dev.WorkerPID() }

// StartWorker starts a worker and waits until it polls; tests that kill
// the worker call it in a Cleanup so later tests find one.
func (s *Stack) StartWorker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.dev.StartWorker(ctx); err != nil {
		t.Fatal(err)
	}
}

// RestartTemporal restarts the Temporal dev server on its state file.
func (s *Stack) RestartTemporal(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.dev.RestartTemporal(ctx); err != nil {
		t.Fatal(err)
	}
}

// RestartKubeAPIServer restarts kube-apiserver alone, with the same flags,
// and returns once it is ready again.
func (s *Stack) RestartKubeAPIServer(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.dev.RestartKubeAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
}

// WorkerLog is the last n lines of the worker's log that mention word: a
// failing test prints them, so its CI output alone says what the worker
// saw.
func (s *Stack) WorkerLog(word string, n int) string {
	data, err := os.ReadFile(s.Settings.Stack.WorkerLog)
	if err != nil {
		return "(no worker log: " + err.Error() + ")"
	}
	var lines []string
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, word) {
			lines = append(lines, "    "+line)
		}
	}
	return strings.Join(lines[max(0, len(lines)-n):], "")
}
