package bench

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
)

var histories = flag.String("releases", "10,1000", "how many past releases the app of BenchmarkHistory has, comma-separated")

// BenchmarkHistory times what a user does every day on an app with many
// past releases: `releases`, `env set` and `releases promote`, each from
// the command's start to its end. None of them should grow with the
// number of releases behind them.
func BenchmarkHistory(b *testing.B) {
	ns, err := counts(*histories)
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range ns {
		// -bench runs a point once per b.N it tries: writing 10,000
		// releases once is enough (each run adds two more, which changes
		// nothing at that size), and the app goes when the point is done.
		app := ""
		b.Run(fmt.Sprintf("releases=%d", n), func(b *testing.B) {
			if app == "" {
				app = seedHistory(b, testsuite.Get(b), n)
			}
			historyPoint(b, app, n)
		})
		if app != "" {
			testsuite.Get(b).MustCLI(b, "apps", "delete", app)
		}
	}
}

func historyPoint(b *testing.B, app string, past int) {
	s := testsuite.Get(b)

	var list, set, promote []time.Duration
	timed := func(into *[]time.Duration, args ...string) string {
		b.StartTimer()
		start := time.Now()
		out := s.MustCLI(b, args...)
		*into = append(*into, time.Since(start))
		b.StopTimer()
		return out
	}
	b.StopTimer()
	b.ResetTimer()
	for i := range b.N {
		timed(&list, "releases", "-a", app)
		rel := testsuite.ReleaseOf(b, timed(&set, "env", "set", fmt.Sprintf("REV=%d", i+1), "-a", app))
		timed(&promote, "releases", "promote", rel, "-a", app)
	}
	l, e, p := median(list), median(set), median(promote)
	b.ReportMetric(float64(l.Milliseconds()), "releases-ms")
	b.ReportMetric(float64(e.Milliseconds()), "env-set-ms")
	b.ReportMetric(float64(p.Milliseconds()), "promote-ms")
	record(b, func(r *Report) {
		r.History = replace(r.History, HistoryPoint{Releases: past, Runs: b.N, List: l, EnvSet: e, Promote: p}, func(h HistoryPoint) bool { return h.Releases == past })
	})
	fmt.Printf("%d past releases, median of %d: releases %s, env set %s, releases promote %s\n",
		past, b.N, l.Round(time.Millisecond), e.Round(time.Millisecond), p.Round(time.Millisecond))
}

// seedHistory makes an app with one promoted release and past more,
// written through the records store as a release workflow writes them
// (forking the newest), which is quicker than a CLI run each.
func seedHistory(b *testing.B, s *testsuite.Stack, past int) string {
	ctx := context.Background()
	app := fmt.Sprintf("h%d", past)
	dir, _ := appDir(b, s, manifestOf(b, 1, 2))
	s.MustCLI(b, "apps", "create", app)
	s.MustCLI(b, "releases", "promote", testsuite.ReleaseOf(b, s.MustCLI(b, "build", dir, "-a", app, "-d", "bench")), "-a", app)
	for i := range past {
		_, err := s.Store.AppendRelease(ctx, app, model.NewReleaseID(), func(ctx context.Context, latest *records.Release) (records.ReleaseSpec, map[string]string, error) {
			env, err := s.Store.GetReleaseEnv(ctx, latest)
			if err != nil {
				return records.ReleaseSpec{}, nil, err
			}
			env = maps.Clone(env)
			env["PAST"] = fmt.Sprint(i)
			return records.ReleaseSpec{App: app, Build: latest.Spec.Build, Manifest: latest.Spec.Manifest, Description: "past"}, env, nil
		})
		if err != nil {
			b.Fatalf("release %d of %d: %v", i+1, past, err)
		}
	}
	return app
}
