package bench

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Report is what one run of the benchmarks measured. `-json FILE` writes
// it as the run goes, and `go run ./hack/benchreadme FILE README.md` turns
// it into the README's performance tables (Markdown below).
type Report struct {
	Machine    string            `json:"machine"`
	Promote    []Point           `json:"promote,omitempty"`
	Concurrent []ConcurrentPoint `json:"concurrent,omitempty"`
	History    []HistoryPoint    `json:"history,omitempty"`
	Control    *Control          `json:"control,omitempty"`
	Recovery   *Recovery         `json:"recovery,omitempty"`
}

// The tools a promotion is measured with, in the order each iteration
// runs them, so that the machine's noise falls on all alike.
const (
	toolSlipway = iota
	toolKubectl
	toolHelm
	toolFloor
	tools
)

var toolNames = [tools]string{"slipway", "kubectl", "helm", "floor"}

// Point is one point of the promotion matrix: the medians of each tool's
// runs, their ratios to the floor's, and the median cost of each.
type Point struct {
	Services int                  `json:"services"`
	Replicas int                  `json:"replicas"`
	Runs     int                  `json:"runs"`
	Median   [tools]time.Duration `json:"medianNanoseconds"`
	VsFloor  [tools]float64       `json:"vsFloor"`
	Cost     [tools]Cost          `json:"medianCost"`
	Tools    [tools]string        `json:"tools"`
}

// Cost is what one run spent besides time.
type Cost struct {
	// APIRequests is the growth of the API server's
	// apiserver_request_total over the run: every client's requests, the
	// controllers' and kwok's included, which the same rollout costs
	// whichever tool starts it. The difference between two tools is theirs.
	APIRequests float64 `json:"apiRequests"`
	// HistoryEvents and HistoryBytes are the promotion's Temporal history
	// (slipway only).
	HistoryEvents int64 `json:"historyEvents,omitempty"`
	HistoryBytes  int64 `json:"historyBytes,omitempty"`
	// WorkerCPU is the CPU seconds slipway's worker used in the run.
	WorkerCPU float64 `json:"workerCPUSeconds,omitempty"`
}

// ConcurrentPoint is k apps promoting at once, against the floor rolling
// the same objects in k namespaces at once.
type ConcurrentPoint struct {
	Apps    int         `json:"apps"`
	Rounds  int         `json:"rounds"`
	Slipway Percentiles `json:"slipway"`
	Floor   Percentiles `json:"floor"`
	// CPU is where the machine's CPU went in a round, each side's.
	CPU []ComponentCPU `json:"cpuPerRound,omitempty"`
}

// ComponentCPU is the CPU seconds a part of the machine used in a round,
// while slipway promoted and while the floor rolled.
type ComponentCPU struct {
	Name    string  `json:"name"`
	Slipway float64 `json:"slipwaySeconds"`
	Floor   float64 `json:"floorSeconds"`
}

type Percentiles struct {
	P50 time.Duration `json:"p50Nanoseconds"`
	P95 time.Duration `json:"p95Nanoseconds"`
	Max time.Duration `json:"maxNanoseconds"`
}

// HistoryPoint is the everyday commands' medians on an app with Releases
// past releases.
type HistoryPoint struct {
	Releases int           `json:"releases"`
	Runs     int           `json:"runs"`
	List     time.Duration `json:"releasesNanoseconds"`
	EnvSet   time.Duration `json:"envSetNanoseconds"`
	Promote  time.Duration `json:"promoteNanoseconds"`
}

// Control is how fast a person's hand reaches a rollout in flight.
type Control struct {
	Runs                int           `json:"runs"`
	Pause               time.Duration `json:"pauseNanoseconds"`
	CancelToRollingBack time.Duration `json:"cancelToRollingBackNanoseconds"`
}

// Recovery is how fast a promotion recovers from what goes wrong around it.
type Recovery struct {
	Runs                   int           `json:"runs"`
	WorkerResumed          time.Duration `json:"workerResumedNanoseconds"`
	CrashLoopToRollingBack time.Duration `json:"crashLoopToRollingBackNanoseconds"`
}

// Markdown is the report as the README's tables.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `make bench` on %s, in one run; times are medians.\n", r.Machine)
	if len(r.Promote) > 0 {
		b.WriteString("\n| a promotion of | floor | slipway | kubectl | helm | slipway / kubectl | slipway / helm | API requests, slipway / floor | history events | worker CPU |\n|---|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range r.Promote {
			vs := func(t int) string { return fmt.Sprintf("%s (%.2f× floor)", seconds(p.Median[t]), p.VsFloor[t]) }
			c := p.Cost[toolSlipway]
			fmt.Fprintf(&b, "| %s × %d replicas | %s | %s | %s | %s | %.2f | %.2f | %.0f / %.0f | %d | %.2f s |\n",
				plural(p.Services, "service"), p.Replicas, seconds(p.Median[toolFloor]),
				vs(toolSlipway), vs(toolKubectl), vs(toolHelm),
				float64(p.Median[toolSlipway])/float64(p.Median[toolKubectl]),
				float64(p.Median[toolSlipway])/float64(p.Median[toolHelm]),
				c.APIRequests, p.Cost[toolFloor].APIRequests, c.HistoryEvents, c.WorkerCPU)
		}
	}
	if len(r.Concurrent) > 0 {
		b.WriteString("\n| apps of 3 services promoting at once | slipway p50 / p95 / max | floor p50 / p95 / max | p95, slipway / floor |\n|---|---|---|---|\n")
		for _, c := range r.Concurrent {
			fmt.Fprintf(&b, "| %d | %s | %s | %.2f |\n", c.Apps, c.Slipway, c.Floor, float64(c.Slipway.P95)/float64(c.Floor.P95))
		}
		// Where the CPU went, at the most apps: the machine is shared by
		// the cluster, Temporal and slipway, and its cores bound them all.
		if c := r.Concurrent[len(r.Concurrent)-1]; len(c.CPU) > 0 {
			fmt.Fprintf(&b, "\n| CPU seconds a round, %s at once | slipway | floor |\n|---|---|---|\n", plural(c.Apps, "app"))
			for _, p := range c.CPU {
				fmt.Fprintf(&b, "| %s | %.2f | %.2f |\n", p.Name, p.Slipway, p.Floor)
			}
		}
	}
	if len(r.History) > 0 {
		b.WriteString("\n| past releases | `releases` | `env set` | `releases promote` |\n|---|---|---|---|\n")
		for _, h := range r.History {
			fmt.Fprintf(&b, "| %d | %s | %s | %s |\n", h.Releases, seconds(h.List), seconds(h.EnvSet), seconds(h.Promote))
		}
	}
	if r.Control != nil || r.Recovery != nil {
		b.WriteString("\n| a rollout in flight | time |\n|---|---|\n")
	}
	if c := r.Control; c != nil {
		fmt.Fprintf(&b, "| `promotions pause`, the CLI's start-up included | %s |\n", seconds(c.Pause))
		fmt.Fprintf(&b, "| `apps cancel` → the promotion rolling back | %s |\n", seconds(c.CancelToRollingBack))
	}
	if rc := r.Recovery; rc != nil {
		fmt.Fprintf(&b, "| a SIGKILLed worker → its watch resumed, from the new worker's first poll | %s |\n", seconds(rc.WorkerResumed))
		fmt.Fprintf(&b, "| a crash-looping release → rolling back, from `releases promote`'s start | %s |\n", seconds(rc.CrashLoopToRollingBack))
	}
	return b.String()
}

func (p Percentiles) String() string {
	return seconds(p.P50) + " / " + seconds(p.P95) + " / " + seconds(p.Max)
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// machine names the CPU and its count, so results say where they ran.
func machine() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	model, cpus := "unknown CPU", 0
	for line := range strings.Lines(string(data)) {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name":
			model = strings.TrimSpace(v)
		case "processor":
			cpus++
		}
	}
	return fmt.Sprintf("%d × %s", cpus, model)
}
