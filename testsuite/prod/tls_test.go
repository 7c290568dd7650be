package prod

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
)

// refusedWithin bounds how long a refused CLI may take to say so: the
// CLI gives up dialing after 10 s, and a refusal must never hang.
const refusedWithin = 30 * time.Second

// onlyMTLS checks that the rack's Temporal takes no client but one with a
// certificate of the rack's CA: a CLI told only the address (plaintext),
// one that checks the server's certificate but has none of its own, and
// one whose certificate another CA signed each fail with one clear line,
// quickly, and create nothing. The server's own system worker, a client
// of its frontend like any other, got through.
func onlyMTLS(t *testing.T, tp *Topology) {
	t.Helper()
	systemWorkerPolls(t, tp)
	stranger, err := newCA(filepath.Join(t.TempDir(), "stranger"))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := stranger.client(filepath.Join(t.TempDir(), "foreign"), "cli")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{
		"KUBECONFIG=" + filepath.Join(tp.CLIHome, "kubeconfig"),
		"TEMPORAL_ADDRESS=" + tp.TemporalAddress,
		"TEMPORAL_NAMESPACE=" + Namespace,
	}
	serverCA := []string{"TEMPORAL_TLS_SERVER_CA_CERT_PATH=" + tp.cliTLS.CA, "TEMPORAL_TLS_SERVER_NAME=" + ServerName}
	cases := []struct {
		name string
		env  []string
	}{
		{"plaintext", nil},
		{"no-cert", serverCA},
		{"foreign-cert", append([]string{
			"TEMPORAL_TLS_CLIENT_CERT_PATH=" + foreign.Cert,
			"TEMPORAL_TLS_CLIENT_KEY_PATH=" + foreign.Key,
		}, serverCA...)},
	}
	// Side by side: each waits out the CLI's dial timeout.
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Go(func() {
			began := time.Now()
			r, err := tp.runCLIEnv(context.Background(), tp.env(append(base, c.env...)...), "apps", "create", "refused-"+c.name)
			took := time.Since(began)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				return
			}
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			want := "ERROR: cannot reach Temporal at " + tp.TemporalAddress + ": "
			if r.Code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], "TEMPORAL_TLS") {
				t.Errorf("%s: slipway apps create: exit %d, stderr %q; want exit 1 and one line %q… naming the TEMPORAL_TLS_* settings", c.name, r.Code, r.Stderr, want)
			}
			if took > refusedWithin {
				t.Errorf("%s: the refusal took %s, want under %s", c.name, took, refusedWithin)
			}
			t.Logf("%s: refused in %.1fs: %s", c.name, took.Seconds(), strings.TrimSpace(r.Stderr))
		})
	}
	wg.Wait()
	if out := tp.MustCLI(t, "apps"); strings.Contains(out, "refused-") {
		t.Errorf("a refused CLI created an app:\n%s", out)
	}
}

// systemWorkerPolls waits until the Temporal server's system worker
// (schedules, batch operations, namespace deletion) polls its task queue:
// it reaches the frontend through the server's own TLS client settings.
func systemWorkerPolls(t *testing.T, tp *Topology) {
	t.Helper()
	req := &workflowservice.DescribeTaskQueueRequest{
		Namespace:     systemNamespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: systemTaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	}
	var last string
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := tp.Temporal.WorkflowService().DescribeTaskQueue(ctx, req)
		cancel()
		if err == nil && len(resp.GetPollers()) > 0 {
			return
		}
		last = fmt.Sprintf("%d pollers, %v", len(resp.GetPollers()), err)
		if time.Now().After(deadline) {
			t.Fatalf("the server's system worker does not poll %s/%s within a minute (%s): it cannot reach the frontend over mTLS; see %s",
				systemNamespace, systemTaskQueue, last, tp.server.proc.log)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// The Temporal server's own namespace and its system worker's task queue
// (go.temporal.io/server's primitives.SystemLocalNamespace and
// DefaultWorkerTaskQueue).
const (
	systemNamespace = "temporal-system"
	systemTaskQueue = "default-worker-tq"
)
