// Package verdict judges one promotion of the chaos suite against slipway's
// promise (it ends active or completely rolled back, never half way, never
// stuck), from what the suite saw in the cluster and in Temporal. It is
// pure: the suite gathers an Observation, Check says what is wrong with it.
package verdict

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Invariants, as violations name them.
const (
	Ends           = "ends"
	NeverHalfWay   = "never half way"
	LockReleased   = "lock released"
	ControlWorks   = "control works"
	BoundedHistory = "bounded history"
)

// Outcomes of a promotion, as the table counts them.
const (
	Active     = "active"
	RolledBack = "rolled back"
	Error      = "error"
	NotBegun   = "not begun" // the run ended before it wrote a promotion record
	Violated   = "violation"
)

// ControlBound is how soon a rollback must begin after it is asked for.
const ControlBound = 2 * time.Second

// Pod is one pod of the app, as seen after the promotion ended.
type Pod struct {
	Name, Service, Release string
	Images                 []string
	Terminating            bool
}

// Observation is what the suite saw of one promotion.
type Observation struct {
	// Services of the app (its manifest's).
	Services []string
	// Closed: the workflow promote/<app> was seen closed within the bound.
	Closed bool
	// Record: the promotion record was found; Result, Reason and Phase are
	// its status once the suite stopped waiting for it.
	Record                 bool
	Result, Reason, Phase  string
	AppStatus              string // the App record's status.status
	Active                 string // the App record's status.release
	Pods                   []Pod
	WantImages             map[string]string // service -> image of the active release
	HistoryLen, HistoryMax int
	// Blocked: the next promotion of the app was refused as "updating"
	// (checked by trying one, after this one closed).
	Blocked string
	// RollbackAsked: a rollback signal or cancel request was accepted while
	// the promotion ran; RollbackAfter is how long the rollback took to
	// begin, negative if it never did.
	RollbackAsked bool
	RollbackAfter time.Duration
}

// Violation is one broken invariant.
type Violation struct {
	Invariant, Detail string
}

func (v Violation) String() string { return v.Invariant + ": " + v.Detail }

// results a promotion record may end with ("failed" is records'
// ResultFailed, a rollback that itself failed; "error" its newer name).
var results = map[string]string{"active": Active, "rolled back": RolledBack, "failed": Error, "error": Error}

// Check returns every invariant the observation breaks.
func Check(o Observation) []Violation {
	var out []Violation
	add := func(inv, format string, args ...any) {
		out = append(out, Violation{inv, fmt.Sprintf(format, args...)})
	}
	// Ends.
	if !o.Closed {
		add(Ends, "stuck: the workflow had not ended within the bound (phase %q)", o.Phase)
	}
	if o.Record {
		switch _, ok := results[o.Result]; {
		case o.Result == "":
			add(Ends, "the promotion record has no result (phase %q)", o.Phase)
		case !ok:
			add(Ends, "result %q is not active, rolled back or error", o.Result)
		case o.Result != "active" && o.Reason == "":
			add(Ends, "result %q has no reason", o.Result)
		}
	}
	// Lock released.
	if o.Closed {
		if o.AppStatus == "updating" {
			add(LockReleased, "the workflow is closed but the app's status is still %q", o.AppStatus)
		}
		if o.Blocked != "" {
			add(LockReleased, "the workflow is closed but a new promotion cannot start: %s", o.Blocked)
		}
	}
	// Never half way.
	out = append(out, halfWay(o)...)
	// Control works.
	if o.RollbackAsked {
		switch {
		case o.RollbackAfter < 0 && o.Result != "active":
			add(ControlWorks, "the rollback never began after it was asked for")
		case o.RollbackAfter > ControlBound:
			add(ControlWorks, "the rollback began %s after it was asked for, more than %s", o.RollbackAfter.Round(time.Millisecond), ControlBound)
		}
	}
	// Bounded history.
	if o.HistoryMax > 0 && o.HistoryLen > o.HistoryMax {
		add(BoundedHistory, "the workflow's history has %d events, more than %d", o.HistoryLen, o.HistoryMax)
	}
	return out
}

func halfWay(o Observation) []Violation {
	var out []Violation
	add := func(format string, args ...any) {
		out = append(out, Violation{NeverHalfWay, fmt.Sprintf(format, args...)})
	}
	if o.Active == "" {
		return []Violation{{NeverHalfWay, "the app has no active release"}}
	}
	running := map[string]int{}
	pods := append([]Pod(nil), o.Pods...)
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	for _, p := range pods {
		if p.Terminating {
			continue
		}
		running[p.Service]++
		if p.Release != o.Active {
			add("service %s runs pod %s of release %s, not the active release %s", p.Service, p.Name, p.Release, o.Active)
			continue
		}
		if want, ok := o.WantImages[p.Service]; ok {
			for _, img := range p.Images {
				if img != want {
					add("service %s pod %s runs image %s, not %s of the active release %s", p.Service, p.Name, img, want, o.Active)
				}
			}
		}
	}
	for _, svc := range o.Services {
		if running[svc] == 0 {
			add("service %s runs no pod of the active release %s", svc, o.Active)
		}
	}
	return out
}

// Outcome is one promotion's line in the table.
type Outcome struct {
	Fault      string
	Result     string // Active, RolledBack, Error, NotBegun or Violated
	Took       time.Duration
	HistoryLen int
}

// Classify is a promotion's outcome: Violated if it broke anything.
func Classify(o Observation, vs []Violation) string {
	if len(vs) > 0 {
		return Violated
	}
	if !o.Record {
		return NotBegun
	}
	return results[o.Result]
}

// Table prints fault × outcome counts, the median and longest time to the
// end, and the longest history, one row per fault in the order given.
func Table(faults []string, outs []Outcome) string {
	var b strings.Builder
	cols := []string{Active, RolledBack, Error, NotBegun, Violated}
	fmt.Fprintf(&b, "%-18s %6s %11s %5s %9s %9s %8s %8s %7s\n", "FAULT", "active", "rolled back", "error", "not begun", "violation", "p50 end", "max end", "max hist")
	row := func(name string, os []Outcome) {
		n := map[string]int{}
		var took []time.Duration
		maxHist := 0
		for _, o := range os {
			n[o.Result]++
			took = append(took, o.Took)
			maxHist = max(maxHist, o.HistoryLen)
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		p50, longest := "-", "-"
		if len(took) > 0 {
			p50 = seconds(took[(len(took)-1)/2])
			longest = seconds(took[len(took)-1])
		}
		fmt.Fprintf(&b, "%-18s %6d %11d %5d %9d %9d %8s %8s %7d\n", name, n[cols[0]], n[cols[1]], n[cols[2]], n[cols[3]], n[cols[4]], p50, longest, maxHist)
	}
	for _, f := range faults {
		var os []Outcome
		for _, o := range outs {
			if o.Fault == f {
				os = append(os, o)
			}
		}
		if len(os) > 0 {
			row(f, os)
		}
	}
	row("all", outs)
	return b.String()
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }
