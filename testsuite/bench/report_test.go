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
