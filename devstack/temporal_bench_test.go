package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// BenchmarkTemporalSQLite runs the dev server with the stack's SQLite
// pragmas beside one with SQLite's defaults, in one run: each iteration
// runs a round of 10 promotion-shaped workflows (four activities in a row)
// at once on each server in turn, and the benchmark reports the medians of
// each server's CPU seconds and wall time a round, and their ratios.
//
//	go test ./devstack -run '^$' -bench TemporalSQLite -benchtime 10x
func BenchmarkTemporalSQLite(b *testing.B) {
	tools := os.Getenv("SLIPWAY_TOOLS")
	if tools == "" {
		tools = filepath.Join("..", ".tools", "bin")
	}
	tools, err := filepath.Abs(tools) // the server runs in its own folder
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tools, "temporal")); err != nil {
		b.Fatalf("no temporal in %s: run `make tools`, or set SLIPWAY_TOOLS", tools)
	}
	sides := []struct {
		name    string
		pragmas []string
	}{{"defaults", nil}, {"stack", sqlitePragmas}}
	type server struct {
		t   *temporal
		c   client.Client
		cpu []float64
		run []time.Duration
	}
	servers := make([]*server, len(sides))
	ctx := context.Background()
	for i, side := range sides {
		port, err := FreePort()
		if err != nil {
			b.Fatal(err)
		}
		s := New(Options{Home: b.TempDir(), Tools: tools, TemporalPort: port, Headless: true, Ephemeral: true})
		t := &temporal{s: s, pragmas: side.pragmas}
		if err := t.start(ctx); err != nil {
			b.Fatalf("%s server: %v", side.name, err)
		}
		b.Cleanup(func() { _ = t.stop(ctx) })
		c, err := client.DialContext(ctx, client.Options{HostPort: t.address(), Logger: quietLogger()})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Close)
		w := sdkworker.New(c, "bench", sdkworker.Options{})
		w.RegisterWorkflow(promotionShaped)
		w.RegisterActivity(noop)
		if err := w.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(w.Stop)
		servers[i] = &server{t: t, c: c}
	}
	round := func(sv *server, n int) error {
		pid := sv.t.proc().pid()
		cpu0, _, _ := ProcessCPU(pid)
		start := time.Now()
		errs := make([]error, 10)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				run, err := sv.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("r%d-%d", n, i), TaskQueue: "bench"}, promotionShaped)
				if err == nil {
					err = run.Get(ctx, nil)
				}
				errs[i] = err
			})
		}
		wg.Wait()
		sv.run = append(sv.run, time.Since(start))
		cpu1, _, ok := ProcessCPU(pid)
		if !ok {
			return fmt.Errorf("the server (pid %d) is gone", pid)
		}
		sv.cpu = append(sv.cpu, cpu1-cpu0)
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	// One round each first: the servers' first writes create their tables'
	// pages, which no later round pays for.
	for _, sv := range servers {
		if err := round(sv, -1); err != nil {
			b.Fatal(err)
		}
		sv.cpu, sv.run = nil, nil
	}
	b.ResetTimer()
	for n := range b.N {
		for _, sv := range servers {
			if err := round(sv, n); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	secs := func(d []time.Duration) []float64 {
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = x.Seconds()
		}
		return out
	}
	def, stack := servers[0], servers[1]
	b.ReportMetric(med(def.cpu), "defaults-cpu-s")
	b.ReportMetric(med(stack.cpu), "stack-cpu-s")
	b.ReportMetric(med(stack.cpu)/med(def.cpu), "cpu-stack/defaults")
	b.ReportMetric(med(secs(stack.run))/med(secs(def.run)), "wall-stack/defaults")
	fmt.Printf("10 workflows at once, median of %d rounds: server CPU %.2f s with SQLite's defaults, %.2f s with %v (%.2f×); wall %.2f s and %.2f s (%.2f×)\n",
		b.N, med(def.cpu), med(stack.cpu), sqlitePragmas, med(stack.cpu)/med(def.cpu),
		med(secs(def.run)), med(secs(stack.run)), med(secs(stack.run))/med(secs(def.run)))
}

// promotionShaped is a promotion's skeleton: four activities in a row.
func promotionShaped(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	for range 4 {
		if err := workflow.ExecuteActivity(ctx, noop).Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

func noop(context.Context) error { return nil }
