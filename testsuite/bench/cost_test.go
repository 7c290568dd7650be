package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.temporal.io/sdk/client"
	"k8s.io/client-go/kubernetes"

	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/workflows"
)

// meter reads the counters a cost is the growth of.
type meter struct {
	kube   kubernetes.Interface
	worker int // the worker's pid, 0 when unknown
}

type reading struct{ requests, cpu float64 }

func (m meter) read(ctx context.Context) (reading, error) {
	req, err := apiRequests(ctx, m.kube)
	if err != nil {
		return reading{}, err
	}
	return reading{requests: req, cpu: cpuSeconds(m.worker)}, nil
}

func (r reading) until(after reading) Cost {
	return Cost{APIRequests: after.requests - r.requests, WorkerCPU: after.cpu - r.cpu}
}

// apiRequests sums apiserver_request_total over all its labels.
func apiRequests(ctx context.Context, kube kubernetes.Interface) (float64, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, fmt.Errorf("the API server's metrics: %w", err)
	}
	var sum float64
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			return 0, fmt.Errorf("apiserver_request_total: %q: %w", line, err)
		}
		sum += v
	}
	return sum, sc.Err()
}

// history is the size of the app's latest promotion's history.
func history(ctx context.Context, c client.Client, app string) (events, bytes int64, err error) {
	d, err := c.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID(app), "")
	if err != nil {
		return 0, 0, fmt.Errorf("describe the promotion of %s: %w", app, err)
	}
	return d.WorkflowExecutionInfo.HistoryLength, d.WorkflowExecutionInfo.HistorySizeBytes, nil
}

// cpuSeconds is the user and system CPU time of a process, 0 when
// unknown.
func cpuSeconds(pid int) float64 {
	cpu, _, _ := devstack.ProcessCPU(pid)
	return cpu
}
