package main

import (
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/testsuite/bench"
)

func TestSplice(t *testing.T) {
	doc := "# slipway\n\n" + begin + "old table\n" + end + "\nafter\n"
	got, err := splice(doc, "new table\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# slipway\n\n" + begin + "new table\n" + end + "\nafter\n"; got != want {
		t.Errorf("spliced:\n%s\nwant:\n%s", got, want)
	}
	if _, err := splice("# no markers\n", "x"); err == nil || !strings.Contains(err.Error(), "no bench markers") {
		t.Errorf("error %v, want one saying the markers are missing", err)
	}
}

func TestMarkdown(t *testing.T) {
	var p bench.Point
	p.Services, p.Replicas, p.Runs = 10, 2, 10
	p.Median = [4]time.Duration{2 * time.Second, 3 * time.Second, 4 * time.Second, time.Second}
	p.VsFloor = [4]float64{2, 3, 4, 1}
	p.Cost[0] = bench.Cost{APIRequests: 120, HistoryEvents: 60, WorkerCPU: 0.25}
	p.Cost[3] = bench.Cost{APIRequests: 80}
	r := bench.Report{
		Machine:  "2 × Test CPU",
		Promote:  []bench.Point{p},
		History:  []bench.HistoryPoint{{Releases: 1000, Runs: 10, List: 150 * time.Millisecond, EnvSet: 300 * time.Millisecond, Promote: 700 * time.Millisecond}},
		Recovery: &bench.Recovery{Runs: 5, WorkerResumed: 1700 * time.Millisecond, CrashLoopToRollingBack: 800 * time.Millisecond},
	}
	md := r.Markdown()
	for _, want := range []string{
		"on 2 × Test CPU",
		"| 10 services × 2 replicas | 1.00 s | 2.00 s (2.00× floor) | 3.00 s (3.00× floor) | 4.00 s (4.00× floor) | 0.67 | 0.50 | 120 / 80 | 60 | 0.25 s |",
		"| 1000 | 0.15 s | 0.30 s | 0.70 s |",
		"| a SIGKILLed worker → its watch resumed, from the new worker's first poll | 1.70 s |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("tables lack %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "apps of 3 services") || strings.Contains(md, "promotions pause") {
		t.Errorf("tables for what was not measured:\n%s", md)
	}
}

// The CPU table is the most apps' point, and only when it was sampled.
func TestMarkdownConcurrentCPU(t *testing.T) {
	s := bench.Percentiles{P50: 2 * time.Second, P95: 3 * time.Second, Max: 4 * time.Second}
	f := bench.Percentiles{P50: time.Second, P95: 2 * time.Second, Max: 2 * time.Second}
	r := bench.Report{Concurrent: []bench.ConcurrentPoint{
		{Apps: 1, Rounds: 3, Slipway: s, Floor: f, CPU: []bench.ComponentCPU{{Name: "etcd", Slipway: 9, Floor: 9}}},
		{Apps: 10, Rounds: 3, Slipway: s, Floor: f, CPU: []bench.ComponentCPU{{Name: "kube-apiserver", Slipway: 4.5, Floor: 2.25}}},
	}}
	md := r.Markdown()
	for _, want := range []string{
		"| 10 | 2.00 s / 3.00 s / 4.00 s | 1.00 s / 2.00 s / 2.00 s | 1.50 |",
		"| CPU seconds a round, 10 apps at once | slipway | floor |",
		"| kube-apiserver | 4.50 | 2.25 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("tables lack %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "etcd") {
		t.Errorf("the CPU table shows a point other than the most apps':\n%s", md)
	}
	r.Concurrent = r.Concurrent[1:]
	r.Concurrent[0].CPU = nil
	if md := r.Markdown(); strings.Contains(md, "CPU seconds") {
		t.Errorf("a CPU table without samples:\n%s", md)
	}
}
