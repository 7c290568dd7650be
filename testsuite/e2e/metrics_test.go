package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// scrape GETs url and returns the status and body.
func scrape(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// sampleSum sums, in Prometheus text, the samples of series name whose
// labels include every one of labels (`key="value"`), and says whether
// there was any.
func sampleSum(text, name string, labels ...string) (float64, bool) {
	var sum float64
	found := false
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// The value follows the last space: a label value may hold one.
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		series, value := line[:i], line[i+1:]
		metric, rest, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		all := true
		for _, l := range labels {
			all = all && strings.Contains(rest, l)
		}
		if !all {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		sum, found = sum+v, true
	}
	return sum, found
}

// A worker started with --listen answers /healthz and serves the Temporal
// SDK's metrics and slipway's promotions on /metrics, counted by result.
func TestWorkerMetricsAndHealth(t *testing.T) {
	s := testsuite.Get(t)
	port, err := devstack.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	s.StartExtraWorkerArgs(t, []string{"--listen", fmt.Sprintf("127.0.0.1:%d", port)})
	eventually(t, "/healthz answers 200 ok", 10*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, string) {
		code, body, err := scrape(ctx, base+"/healthz")
		return err == nil && code == http.StatusOK && body == "ok\n", fmt.Sprintf("%d %q %v", code, body, err)
	})

	// The stack's worker stops for this test, so the extra one runs every
	// task and its metrics see every promotion.
	t.Cleanup(func() { s.StartWorker(t) })
	s.KillWorker(t)

	deployGood(t, s, "metricky")
	if r := s.CLI(t, "env", "set", "SIMULATE=crashloop", "--promote", "-a", "metricky"); r.Code != 1 || !strings.Contains(r.Stderr, "rollback: ") {
		t.Fatalf("crash-looping release: exit %d, stderr %q; want it rolled back", r.Code, r.Stderr)
	}

	started := workflows.MetricPromotionsStarted + "_total"
	ended := workflows.MetricPromotionsEnded + "_total"
	active := workflows.MetricTagResult + `="active"`
	rolledBack := workflows.MetricTagResult + `="rolled back"`
	var text string
	// tally hands counts to the registry every second.
	eventually(t, "/metrics counts both promotions", 10*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		code, body, err := scrape(ctx, base+"/metrics")
		if err != nil || code != http.StatusOK {
			return false, fmt.Sprintf("%d %v", code, err)
		}
		text = body
		nStarted, _ := sampleSum(body, started)
		nActive, _ := sampleSum(body, ended, active)
		nRolledBack, _ := sampleSum(body, ended, rolledBack)
		var slipway []string
		for line := range strings.Lines(body) {
			if strings.HasPrefix(line, "slipway_promotions_") {
				slipway = append(slipway, line)
			}
		}
		return nStarted >= 2 && nActive >= 1 && nRolledBack >= 1,
			fmt.Sprintf("started %v, ended active %v, rolled back %v; slipway's series:\n%s", nStarted, nActive, nRolledBack, strings.Join(slipway, ""))
	})
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{workflows.MetricPromotionDuration + "_seconds_count", []string{active, `workflow_type="Promote"`}},
		{workflows.MetricPromotionDuration + "_seconds_count", []string{rolledBack}},
		{workflows.MetricRolloutDuration + "_seconds_count", nil},
		// The SDK's own: requests to Temporal, workflow tasks polled,
		// workflows completed (the good promotion) and failed (the one
		// rolled back), and activities run.
		{"temporal_request_total", nil},
		{"temporal_workflow_task_queue_poll_succeed_total", nil},
		{"temporal_workflow_completed_total", []string{`workflow_type="Promote"`}},
		{"temporal_workflow_failed_total", []string{`workflow_type="Promote"`}},
		{"temporal_activity_execution_latency_seconds_count", []string{`activity_type="WatchRollout"`}},
	} {
		if n, ok := sampleSum(text, c.name, c.labels...); !ok || n < 1 {
			t.Errorf("/metrics: %s%v = %v (present %v), want at least 1", c.name, c.labels, n, ok)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
}
