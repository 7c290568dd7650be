package bench

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

var concurrent = flag.String("apps", "1,10", "how many apps promote at once in BenchmarkConcurrent, comma-separated")

// BenchmarkConcurrent promotes k apps of 3 services × 2 replicas at once
// on the one worker, and the floor rolls the same objects in k namespaces
// at once; each iteration does both, one after the other. Every promotion
// must end active. It reports each side's p50, p95 and max over all the
// apps of all iterations, and slipway's p95 over the floor's.
func BenchmarkConcurrent(b *testing.B) {
	ks, err := counts(*concurrent)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range ks {
		// -bench runs a point once per b.N it tries: its apps are made
		// once, and deleted when the last run of the point has ended, so
		// the next benchmark has the nodes to itself.
		var f *fleet
		b.Run(fmt.Sprintf("apps=%d", k), func(b *testing.B) {
			if f == nil {
				f = newFleet(b, testsuite.Get(b), k)
			}
			concurrentPoint(b, f)
		})
		if f != nil {
			f.delete(b, testsuite.Get(b))
		}
	}
}

func concurrentPoint(b *testing.B, f *fleet) {
	s := testsuite.Get(b)
	ctx := context.Background()
	k, apps, floorNS, manifest := len(f.apps), f.apps, f.floorNS, f.manifest
	kube := floorClient(b, s)

	var slipway, floors []time.Duration
	var slipwayCPU, floorCPU [][2]cpuSample
	b.StopTimer()
	b.ResetTimer()
	for range b.N {
		f.rounds++
		rev := fmt.Sprint(f.rounds)
		next := make([]string, k)
		for i := range k {
			next[i] = testsuite.ReleaseOf(b, s.MustCLI(b, "env", "set", "REV="+rev, "-a", apps[i]))
		}
		b.StartTimer()
		before := sampleCPU()
		slipway = append(slipway, atOnce(k, func(i int) error {
			// Not s.CLI: a goroutine other than the benchmark's may not
			// fail it.
			r, err := s.CLIResult("releases", "promote", next[i], "-a", apps[i])
			if err != nil {
				return err
			}
			if r.Code != 0 {
				return fmt.Errorf("promote %s: exit %d\n%s%s", apps[i], r.Code, r.Stdout, r.Stderr)
			}
			return nil
		}, b)...)
		slipwayCPU = append(slipwayCPU, [2]cpuSample{before, sampleCPU()})
		objs := make([][]render.Service, k)
		for i := range k {
			objs[i] = rendered(b, manifest, floorNS[i], rev)
		}
		before = sampleCPU()
		floors = append(floors, atOnce(k, func(i int) error { return floor(ctx, kube, floorNS[i], objs[i]) }, b)...)
		floorCPU = append(floorCPU, [2]cpuSample{before, sampleCPU()})
		b.StopTimer()
	}
	sp, fp := percentiles(slipway), percentiles(floors)
	b.ReportMetric(float64(sp.P95.Milliseconds()), "slipway-p95-ms")
	b.ReportMetric(float64(fp.P95.Milliseconds()), "floor-p95-ms")
	b.ReportMetric(float64(sp.P95)/float64(fp.P95), "p95-slipway/floor")
	record(b, func(r *Report) {
		r.Concurrent = replace(r.Concurrent, ConcurrentPoint{Apps: k, Rounds: b.N, Slipway: sp, Floor: fp, CPU: cpuSpent(slipwayCPU, floorCPU)}, func(c ConcurrentPoint) bool { return c.Apps == k })
	})
	fmt.Printf("%d apps at once, %d rounds: slipway p50/p95/max %s; floor %s; p95 slipway/floor %.2f\n",
		k, b.N, sp, fp, float64(sp.P95)/float64(fp.P95))
}

// fleet is the k apps of a point and the floor's k namespaces.
type fleet struct {
	apps, floorNS []string
	manifest      []byte
	rounds        int // so far: each round rolls a REV no round rolled before
}

func newFleet(b *testing.B, s *testsuite.Stack, k int) *fleet {
	dir, manifest := appDir(b, s, manifestOf(b, 3, 2))
	f := &fleet{apps: make([]string, k), floorNS: make([]string, k), manifest: manifest}
	for i := range k {
		f.apps[i] = fmt.Sprintf("c%di%d", k, i)
		s.MustCLI(b, "apps", "create", f.apps[i])
		s.MustCLI(b, "releases", "promote", testsuite.ReleaseOf(b, s.MustCLI(b, "build", dir, "-a", f.apps[i], "-d", "bench")), "-a", f.apps[i])
		f.floorNS[i] = f.apps[i] + "-floor"
		if _, err := s.Kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.floorNS[i]}}, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return f
}

func (f *fleet) delete(b *testing.B, s *testsuite.Stack) {
	for i := range f.apps {
		s.MustCLI(b, "apps", "delete", f.apps[i])
		_ = s.Kube.CoreV1().Namespaces().Delete(context.Background(), f.floorNS[i], metav1.DeleteOptions{})
	}
}

// atOnce runs do(0..k-1) each on its own goroutine and returns how long
// each took; any error fails the benchmark.
func atOnce(k int, do func(int) error, b *testing.B) []time.Duration {
	took := make([]time.Duration, k)
	errs := make([]error, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Go(func() {
			start := time.Now()
			errs[i] = do(i)
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return took
}

// percentiles are the p50, p95 and maximum of d.
func percentiles(d []time.Duration) Percentiles {
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return Percentiles{P50: at(0.50), P95: at(0.95), Max: s[len(s)-1]}
}

// counts parses a comma-separated list of positive whole numbers.
func counts(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-apps=%s: give whole numbers of at least 1, comma-separated", list)
		}
		out = append(out, n)
	}
	return out, nil
}
