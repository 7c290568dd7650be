package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

const attributesLine = "Registering search attributes SlipwayApp, SlipwayRelease, SlipwayBuild... OK, "

// Against the stack's Temporal, whose dev server got the search
// attributes on its command line, install finds everything in place,
// changes nothing, and says the same twice.
func TestSystemInstallTemporalPresent(t *testing.T) {
	s := testsuite.Get(t)
	first := s.MustCLI(t, "system", "install")
	for _, want := range []string{"\nRegistering Temporal namespace default... OK, exists, retention ", "\n" + attributesLine + "all present\n"} {
		if !strings.Contains(first, want) {
			t.Errorf("system install printed:\n%s\nwant a line %q", first, strings.TrimSpace(want))
		}
	}
	if again := s.MustCLI(t, "system", "install"); again != first {
		t.Errorf("a second install said\n%s\nafter\n%s", again, first)
	}
}

// A Temporal server started without slipway's search attributes (as a
// production one is): a worker refuses to start on it and a run carrying
// them is refused; install registers them (and a missing namespace, with
// --retention), after which such a run starts; again, it changes nothing.
func TestSystemInstallTemporalBare(t *testing.T) {
	s := testsuite.Get(t)
	addr := bareTemporal(t, s)
	on := func(ns string, args ...string) testsuite.Result {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := s.Run(ctx, testsuite.Invocation{Args: args, Env: []string{"TEMPORAL_ADDRESS=" + addr, "TEMPORAL_NAMESPACE=" + ns}})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	w := on("default", "worker")
	if want := "ERROR: Temporal namespace default lacks slipway's search attributes SlipwayApp, SlipwayRelease, SlipwayBuild: run `slipway system install`"; w.Code != 1 || !strings.HasPrefix(w.Stderr, want) {
		t.Errorf("worker on a bare Temporal: exit %d\n%s\nwant it to stop with %q", w.Code, w.Stderr, want)
	}
	c := dialTemporal(t, addr, "default")
	if err := startProbe(context.Background(), c, "before"); err == nil || !strings.Contains(err.Error(), "search attribute Slipway") {
		t.Fatalf("a run with unregistered search attributes: %v, want Temporal to refuse one of slipway's", err)
	}

	r := on("default", "system", "install")
	if r.Code != 0 || !strings.Contains(r.Stdout, "\nRegistering Temporal namespace default... OK, exists, retention ") ||
		!strings.Contains(r.Stdout, "\n"+attributesLine+"added SlipwayApp, SlipwayRelease, SlipwayBuild\n") {
		t.Fatalf("install on a bare Temporal: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	probe(t, c, "after")
	if r = on("default", "system", "install"); r.Code != 0 || !strings.Contains(r.Stdout, "\n"+attributesLine+"all present\n") {
		t.Errorf("second install: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}

	r = on("slipway-e2e", "system", "install", "--retention", "48h")
	if r.Code != 0 || !strings.Contains(r.Stdout, "\nRegistering Temporal namespace slipway-e2e... OK, registered, retention 2 days\n") ||
		!strings.Contains(r.Stdout, "\n"+attributesLine+"added SlipwayApp, SlipwayRelease, SlipwayBuild\n") {
		t.Fatalf("install in a new namespace: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "slipway-e2e"})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); got != 48*time.Hour {
		t.Errorf("slipway-e2e keeps closed runs %s, want 48h", got)
	}
	probe(t, dialTemporal(t, addr, "slipway-e2e"), "new-namespace")
	if r = on("slipway-e2e", "system", "install", "--retention", "48h"); r.Code != 0 || !strings.Contains(r.Stdout, "\nRegistering Temporal namespace slipway-e2e... OK, exists, retention 2 days\n") {
		t.Errorf("second install in slipway-e2e: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// bareTemporal starts a headless Temporal dev server with no search
// attributes on free ports, stopped when the test ends, and returns its
// address once it answers.
func bareTemporal(t *testing.T, s *testsuite.Stack) string {
	t.Helper()
	var ports [3]int
	for i := range ports {
		p, err := devstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	log, err := os.Create(filepath.Join(t.TempDir(), "temporal.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(s.Tools, "temporal"), "server", "start-dev", "--headless",
		"--ip", "127.0.0.1", "--port", fmt.Sprint(ports[0]), "--http-port", fmt.Sprint(ports[1]), "--metrics-port", fmt.Sprint(ports[2]),
		"--log-level", "warn")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		log.Close()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c, err := client.DialContext(ctx, client.Options{HostPort: addr, Logger: quiet()})
		if err != nil {
			return false, nil
		}
		defer c.Close()
		_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err == nil, nil
	})
	if err != nil {
		b, _ := os.ReadFile(log.Name())
		t.Fatalf("the bare Temporal at %s did not answer within a minute: %v\n%s", addr, err, b)
	}
	return addr
}

func quiet() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

func dialTemporal(t *testing.T, addr, ns string) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: addr, Namespace: ns, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// startProbe starts a run carrying slipway's search attributes (no worker
// need run it: Temporal checks the attributes when it starts).
func startProbe(ctx context.Context, c client.Client, id string) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: "probe-" + id, TaskQueue: "probe",
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SearchApp.ValueSet("probe"), workflows.SearchRelease.ValueSet("RPROBE"), workflows.SearchBuild.ValueSet("BPROBE")),
	}, "Probe")
	return err
}

// probe starts a run carrying the attributes, which Temporal must accept
// once each frontend's namespace cache has them (it refreshes every few
// seconds), and checks they are on the run.
func probe(t *testing.T, c client.Client, id string) {
	t.Helper()
	start := time.Now()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = startProbe(ctx, c, id)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("a run with the registered search attributes was refused for 30 s: %v", errors.Join(err, last))
	}
	t.Logf("a run with the attributes started %s after install", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := c.DescribeWorkflowExecution(ctx, "probe-"+id, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields(); got["SlipwayApp"] == nil || got["SlipwayBuild"] == nil {
		t.Errorf("the probe run carries %v, want slipway's attributes", got)
	}
}
