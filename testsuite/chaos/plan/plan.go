// Package plan is the fault schedule of slipway's chaos suite: which app
// each promotion runs on, what release it promotes, which fault hits it,
// when, and for how long. It is a pure function of a seed, so a failing run
// is replayed exactly by giving its seed again.
package plan

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Fault is one thing that goes wrong outside the app's pods while a
// promotion runs.
type Fault string

const (
	None             Fault = "none"              // a control: no fault
	KillWorker       Fault = "kill-worker"       // SIGKILL the worker; a new one starts
	RestartTemporal  Fault = "restart-temporal"  // restart the Temporal dev server
	RestartAPIServer Fault = "restart-apiserver" // restart kube-apiserver
	DeleteEnvSecret  Fault = "delete-env-secret" // delete the release's env Secret
	DenyWrites       Fault = "deny-writes"       // an admission policy denies writes in the app's namespace
	Quota            Fault = "quota"             // a ResourceQuota admits no more pods
	ClusterFull      Fault = "cluster-full"      // every node cordoned
	Cancel           Fault = "cancel"            // CancelWorkflow on promote/<app>
	Terminate        Fault = "terminate"         // TerminateWorkflow on promote/<app>
	Signals          Fault = "signals"           // pause / resume / rollback at random moments
)

// Faults lists every fault, in the order tables show them.
var Faults = []Fault{
	None, KillWorker, RestartTemporal, RestartAPIServer, DeleteEnvSecret,
	DenyWrites, Quota, ClusterFull, Cancel, Terminate, Signals,
}

// Held reports whether the fault is a condition that stays until cleared
// (rather than a single act).
func (f Fault) Held() bool { return f == DenyWrites || f == Quota || f == ClusterFull }

// Promotion phases a trigger can wait for (model.PhaseRollingOut and
// model.PhaseRollingBack; repeated here to keep this package pure).
const (
	PhaseRollingOut  = "rolling out"
	PhaseRollingBack = "rolling back"
)

// Trigger is when the fault strikes: Delay after the promotion starts, or,
// when Phase is set, Delay after the promotion record first shows Phase.
type Trigger struct {
	Phase string
	Delay time.Duration
}

func (t Trigger) String() string {
	if t.Phase != "" {
		return fmt.Sprintf("%s after phase %q", t.Delay.Round(time.Millisecond), t.Phase)
	}
	return fmt.Sprintf("%s after start", t.Delay.Round(time.Millisecond))
}

// Signal is one operator signal, At after the trigger.
type Signal struct {
	Name string // pause, resume or rollback
	At   time.Duration
}

// Step is one promotion of the run.
type Step struct {
	N       int    // 1-based
	App     string // round-robin over the apps
	Key     int    // the release is made by `env set K=<Key>`
	Crash   bool   // and SIMULATE=crashloop: it fails by itself
	Fault   Fault
	Trigger Trigger
	// Hold is how long a held fault stays before it is cleared.
	Hold time.Duration
	// Signals are sent for the Signals fault, in order.
	Signals []Signal
}

func (s Step) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d app=%s K=%d", s.N, s.App, s.Key)
	if s.Crash {
		b.WriteString(" SIMULATE=crashloop")
	}
	fmt.Fprintf(&b, " fault=%s at %s", s.Fault, s.Trigger)
	if s.Fault.Held() {
		fmt.Fprintf(&b, " held %s", s.Hold.Round(time.Millisecond))
	}
	for _, sig := range s.Signals {
		fmt.Fprintf(&b, " %s@+%s", sig.Name, sig.At.Round(time.Millisecond))
	}
	return b.String()
}

// Make is the schedule of n promotions over apps for a seed. Every fault
// comes once in each round of len(Faults) steps, in an order the seed
// shuffles, so a run of n >= len(Faults) meets every fault.
func Make(seed uint64, n int, apps []string) []Step {
	if n <= 0 || len(apps) == 0 {
		return nil
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5eed5eed5eed5eed))
	steps := make([]Step, 0, n)
	var round []Fault
	for i := range n {
		if len(round) == 0 {
			round = append([]Fault(nil), Faults...)
			r.Shuffle(len(round), func(a, b int) { round[a], round[b] = round[b], round[a] })
		}
		s := Step{N: i + 1, App: apps[i%len(apps)], Key: i + 1, Fault: round[0]}
		round = round[1:]
		// About one release in four fails by itself.
		s.Crash = r.IntN(4) == 0
		if r.IntN(2) == 0 {
			s.Trigger = Trigger{Delay: between(r, 0, 3*time.Second)}
		} else {
			s.Trigger = Trigger{Phase: PhaseRollingOut, Delay: between(r, 0, time.Second)}
			if s.Crash && r.IntN(2) == 0 {
				s.Trigger.Phase = PhaseRollingBack
			}
		}
		if s.Fault.Held() {
			s.Hold = between(r, 500*time.Millisecond, 8*time.Second)
		}
		if s.Fault == Signals {
			s.Signals = signals(r)
		}
		steps = append(steps, s)
	}
	return steps
}

// signals is one to three signals a fraction of a second to two seconds
// apart. A promotion is never left paused: an operator who pauses resumes
// or rolls back, and a paused promotion is meant to wait for them.
func signals(r *rand.Rand) []Signal {
	names := []string{"pause", "resume", "rollback"}
	var out []Signal
	at := between(r, 0, time.Second)
	paused := false
	for range 1 + r.IntN(3) {
		name := names[r.IntN(len(names))]
		out = append(out, Signal{Name: name, At: at})
		at += between(r, 200*time.Millisecond, 2*time.Second)
		switch name {
		case "pause":
			paused = true
		case "resume":
			paused = false
		case "rollback":
			return out
		}
	}
	if paused {
		out = append(out, Signal{Name: "resume", At: at})
	}
	return out
}

// PausedFor is the longest the signals keep the promotion paused: time the
// promotion's timeout does not count.
func PausedFor(sigs []Signal) time.Duration {
	var total time.Duration
	var since time.Duration = -1
	for _, s := range sigs {
		switch s.Name {
		case "pause":
			if since < 0 {
				since = s.At
			}
		case "resume", "rollback":
			if since >= 0 {
				total += s.At - since
				since = -1
			}
		}
	}
	return total
}

func between(r *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(r.Int64N(int64(hi-lo)+1))
}
