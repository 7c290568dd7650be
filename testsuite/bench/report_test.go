package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

func summarize(n, r int, times [tools][]time.Duration, costs [tools][]Cost) Point {
	p := Point{Services: n, Replicas: r, Runs: len(times[0]), Tools: toolNames}
	for t := range tools {
		p.Median[t] = median(times[t])
		c := costs[t]
		p.Cost[t] = Cost{
			APIRequests:   median(pluck(c, func(c Cost) float64 { return c.APIRequests })),
			HistoryEvents: median(pluck(c, func(c Cost) int64 { return c.HistoryEvents })),
			HistoryBytes:  median(pluck(c, func(c Cost) int64 { return c.HistoryBytes })),
			WorkerCPU:     median(pluck(c, func(c Cost) float64 { return c.WorkerCPU })),
		}
	}
	for t := range tools {
		p.VsFloor[t] = float64(p.Median[t]) / float64(p.Median[toolFloor])
	}
	return p
}

func pluck[T any](cs []Cost, f func(Cost) T) []T {
	out := make([]T, len(cs))
	for i, c := range cs {
		out[i] = f(c)
	}
	return out
}

// printTable prints the matrix as the README shows it. Straight to
// stdout: a parent benchmark's log is shown only with -v.
func printTable(points []Point) {
	fmt.Print(Report{Machine: machine(), Promote: points}.Markdown())
}

// results is what this run measured so far; with -json FILE, every
// benchmark writes it whole when it ends, so a run cut short keeps what
// was done.
var (
	resultsMu sync.Mutex
	results   = Report{Machine: machine()}
)

// record updates the results and writes them to -json's file. A benchmark
// runs once per b.N tried: a point measured again replaces the earlier.
func record(b *testing.B, update func(*Report)) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	update(&results)
	if *report == "" {
		return
	}
	data, err := json.MarshalIndent(results, "", "  ")
	if err == nil {
		err = os.WriteFile(*report, append(data, '\n'), 0o644)
	}
	if err != nil {
		b.Fatalf("-json %s: %v", *report, err)
	}
}

// replace puts p in ps in place of the one same(p) matches, or at the end.
func replace[T any](ps []T, p T, same func(T) bool) []T {
	if i := slices.IndexFunc(ps, same); i >= 0 {
		ps[i] = p
		return ps
	}
	return append(ps, p)
}

// cpuSpent averages each part's growth over rounds, folds what is small
// into everything else with what no process accounts for, and ends with
// the machine's total.
func TestCPUSpent(t *testing.T) {
	sample := func(machine float64, by map[string]float64) cpuSample {
		return cpuSample{machine: machine, byName: by}
	}
	slipway := [][2]cpuSample{
		{sample(100, map[string]float64{"etcd": 10, "kwok": 5, "tiny": 1}), sample(110, map[string]float64{"etcd": 12, "kwok": 9, "tiny": 1.02})},
		{sample(200, map[string]float64{"etcd": 20, "kwok": 9, "tiny": 2}), sample(206, map[string]float64{"etcd": 22, "kwok": 11, "tiny": 2.02})},
	}
	floor := [][2]cpuSample{
		{sample(300, map[string]float64{"etcd": 30, "gone": 7}), sample(304, map[string]float64{"etcd": 33, "kwok": 1})},
	}
	got := cpuSpent(slipway, floor)
	want := []ComponentCPU{
		{Name: "kwok", Slipway: 3, Floor: 1},
		{Name: "etcd", Slipway: 2, Floor: 3},
		{Name: cpuOther, Slipway: 3, Floor: 0},
		{Name: cpuMachine, Slipway: 8, Floor: 4},
	}
	if !slices.Equal(got, want) {
		t.Errorf("cpuSpent:\n%+v\nwant\n%+v", got, want)
	}
}
