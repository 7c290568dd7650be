package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// point is one point of the promotion matrix: the medians of each tool's
// runs, their ratios to the floor's, and the median cost of each.
type point struct {
	Services int                  `json:"services"`
	Replicas int                  `json:"replicas"`
	Runs     int                  `json:"runs"`
	Median   [tools]time.Duration `json:"medianNanoseconds"`
	VsFloor  [tools]float64       `json:"vsFloor"`
	Cost     [tools]cost          `json:"medianCost"`
	Tools    [tools]string        `json:"tools"`
}

func summarize(n, r int, times [tools][]time.Duration, costs [tools][]cost) point {
	p := point{Services: n, Replicas: r, Runs: len(times[0]), Tools: toolNames}
	for t := range tools {
		p.Median[t] = median(times[t])
		c := costs[t]
		p.Cost[t] = cost{
			APIRequests:   median(pluck(c, func(c cost) float64 { return c.APIRequests })),
			HistoryEvents: median(pluck(c, func(c cost) int64 { return c.HistoryEvents })),
			HistoryBytes:  median(pluck(c, func(c cost) int64 { return c.HistoryBytes })),
			WorkerCPU:     median(pluck(c, func(c cost) float64 { return c.WorkerCPU })),
		}
	}
	for t := range tools {
		p.VsFloor[t] = float64(p.Median[t]) / float64(p.Median[toolFloor])
	}
	return p
}

func pluck[T any](cs []cost, f func(cost) T) []T {
	out := make([]T, len(cs))
	for i, c := range cs {
		out[i] = f(c)
	}
	return out
}

// printTable prints the matrix, one row per point: each tool's median time
// and its ratio to the floor, slipway's ratios to kubectl and helm, and
// the median cost of a run.
func printTable(points []point) {
	var out strings.Builder
	w := tabwriter.NewWriter(&out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "services\treplicas\truns\tfloor\tslipway\tkubectl\thelm\tslipway/kubectl\tslipway/helm\tAPI requests slipway/floor\thistory events\thistory KiB\tworker CPU s\t")
	for _, p := range points {
		ratio := func(t int) string {
			return fmt.Sprintf("%s (%.2f×)", p.Median[t].Round(10*time.Millisecond), p.VsFloor[t])
		}
		fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%.0f / %.0f\t%d\t%.1f\t%.2f\t\n",
			p.Services, p.Replicas, p.Runs, p.Median[toolFloor].Round(10*time.Millisecond),
			ratio(toolSlipway), ratio(toolKubectl), ratio(toolHelm),
			float64(p.Median[toolSlipway])/float64(p.Median[toolKubectl]),
			float64(p.Median[toolSlipway])/float64(p.Median[toolHelm]),
			p.Cost[toolSlipway].APIRequests, p.Cost[toolFloor].APIRequests,
			p.Cost[toolSlipway].HistoryEvents, float64(p.Cost[toolSlipway].HistoryBytes)/1024,
			p.Cost[toolSlipway].WorkerCPU)
	}
	w.Flush()
	// Straight to stdout: a parent benchmark's log is shown only with -v.
	fmt.Printf("promotion matrix on %s, medians (ratio to the floor):\n%s", machine(), out.String())
}

func writeJSON(path string, points []point) error {
	data, err := json.MarshalIndent(struct {
		Machine string  `json:"machine"`
		Points  []point `json:"points"`
	}{machine(), points}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
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
