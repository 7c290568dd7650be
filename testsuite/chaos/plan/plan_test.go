package plan

import (
	"reflect"
	"testing"
	"time"
)

var apps = []string{"a", "b", "c"}

func TestSameSeedSamePlan(t *testing.T) {
	if a, b := Make(42, 50, apps), Make(42, 50, apps); !reflect.DeepEqual(a, b) {
		t.Fatal("two plans of seed 42 differ")
	}
	if a, b := Make(42, 50, apps), Make(43, 50, apps); reflect.DeepEqual(a, b) {
		t.Fatal("seeds 42 and 43 give the same plan")
	}
}

// A plan's prefix does not depend on its length: `-n 5` replays the first
// five promotions of a `-n 200` run of the same seed.
func TestPrefixStable(t *testing.T) {
	long, short := Make(7, 200, apps), Make(7, 5, apps)
	if !reflect.DeepEqual(long[:5], short) {
		t.Fatalf("first steps differ:\n%v\n%v", long[:5], short)
	}
}

func TestEveryFaultEachRound(t *testing.T) {
	for seed := range uint64(20) {
		steps := Make(seed, 3*len(Faults), apps)
		for r := range 3 {
			seen := map[Fault]int{}
			for _, s := range steps[r*len(Faults) : (r+1)*len(Faults)] {
				seen[s.Fault]++
			}
			for _, f := range Faults {
				if seen[f] != 1 {
					t.Fatalf("seed %d round %d: fault %s comes %d times", seed, r, f, seen[f])
				}
			}
		}
	}
}

func TestStepsWithinBounds(t *testing.T) {
	crashes := 0
	for seed := range uint64(50) {
		for i, s := range Make(seed, 40, apps) {
			if s.N != i+1 || s.Key != i+1 || s.App != apps[i%len(apps)] {
				t.Fatalf("seed %d step %d: %v", seed, i, s)
			}
			if s.Crash {
				crashes++
			}
			switch s.Trigger.Phase {
			case "":
				if s.Trigger.Delay < 0 || s.Trigger.Delay > 3*time.Second {
					t.Fatalf("delay out of 0–3s: %v", s)
				}
			case PhaseRollingOut, PhaseRollingBack:
				if s.Trigger.Delay < 0 || s.Trigger.Delay > time.Second {
					t.Fatalf("delay after phase out of 0–1s: %v", s)
				}
				if s.Trigger.Phase == PhaseRollingBack && !s.Crash {
					t.Fatalf("waits for a rollback that only a crashing release has: %v", s)
				}
			default:
				t.Fatalf("unknown phase: %v", s)
			}
			if s.Fault.Held() != (s.Hold > 0) || s.Hold > 8*time.Second {
				t.Fatalf("hold: %v", s)
			}
			if (s.Fault == Signals) != (len(s.Signals) > 0) {
				t.Fatalf("signals: %v", s)
			}
			checkSignals(t, s)
		}
	}
	if crashes == 0 {
		t.Fatal("no release crashes in 2000 steps")
	}
}

// Signals come in time order and never leave a promotion paused.
func checkSignals(t *testing.T, s Step) {
	t.Helper()
	paused := false
	for i, sig := range s.Signals {
		if i > 0 && sig.At <= s.Signals[i-1].At {
			t.Fatalf("signals out of order: %v", s)
		}
		switch sig.Name {
		case "pause":
			paused = true
		case "resume":
			paused = false
		case "rollback":
			if i != len(s.Signals)-1 {
				t.Fatalf("signals after a rollback: %v", s)
			}
			return
		default:
			t.Fatalf("unknown signal: %v", s)
		}
	}
	if paused {
		t.Fatalf("left paused: %v", s)
	}
}

func TestPausedFor(t *testing.T) {
	for _, c := range []struct {
		sigs []Signal
		want time.Duration
	}{
		{nil, 0},
		{[]Signal{{"resume", 1}}, 0},
		{[]Signal{{"pause", 1 * time.Second}, {"pause", 2 * time.Second}, {"resume", 4 * time.Second}}, 3 * time.Second},
		{[]Signal{{"pause", 1 * time.Second}, {"rollback", 3 * time.Second}}, 2 * time.Second},
		{[]Signal{{"pause", 0}, {"resume", time.Second}, {"pause", 2 * time.Second}, {"resume", 5 * time.Second}}, 4 * time.Second},
	} {
		if got := PausedFor(c.sigs); got != c.want {
			t.Errorf("PausedFor(%v) = %s, want %s", c.sigs, got, c.want)
		}
	}
}

func TestEmpty(t *testing.T) {
	if Make(1, 0, apps) != nil || Make(1, 3, nil) != nil {
		t.Fatal("a plan of no steps or no apps is not empty")
	}
}

func TestStepString(t *testing.T) {
	s := Step{N: 3, App: "b", Key: 3, Crash: true, Fault: DenyWrites, Trigger: Trigger{Phase: PhaseRollingOut, Delay: 250 * time.Millisecond}, Hold: 2 * time.Second}
	want := `#3 app=b K=3 SIMULATE=crashloop fault=deny-writes at 250ms after phase "rolling out" held 2s`
	if got := s.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
