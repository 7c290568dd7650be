package verdict

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// good is a promotion that ended active with every pod on the release.
func good() Observation {
	return Observation{
		Services: []string{"api", "web"},
		Closed:   true, Record: true, Result: "active", Phase: "done",
		AppStatus: "running", Active: "R1",
		Pods: []Pod{
			{Name: "web-1", Service: "web", Release: "R1", Images: []string{"reg/app@sha256:w"}},
			{Name: "api-1", Service: "api", Release: "R1", Images: []string{"reg/app@sha256:a"}},
			{Name: "api-0", Service: "api", Release: "R0", Images: []string{"reg/app@sha256:old"}, Terminating: true},
		},
		WantImages: map[string]string{"web": "reg/app@sha256:w", "api": "reg/app@sha256:a"},
		HistoryLen: 40, HistoryMax: 360,
		RollbackAfter: -1,
	}
}

func TestGoodHasNoViolation(t *testing.T) {
	o := good()
	if vs := Check(o); len(vs) != 0 {
		t.Fatalf("violations: %v", vs)
	}
	if got := Classify(o, nil); got != Active {
		t.Fatalf("outcome %q", got)
	}
	o.Result, o.Reason = "rolled back", "rollback: web: CrashLoopBackOff"
	if vs := Check(o); len(vs) != 0 || Classify(o, vs) != RolledBack {
		t.Fatalf("a rolled back promotion: %v", vs)
	}
	o.Result = "failed"
	if vs := Check(o); len(vs) != 0 || Classify(o, vs) != Error {
		t.Fatalf("a failed rollback with its reason: %v", vs)
	}
	o.Record, o.Result = false, ""
	if vs := Check(o); len(vs) != 0 || Classify(o, vs) != NotBegun {
		t.Fatalf("a run that never wrote its record: %v", vs)
	}
}

func TestEachInvariant(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*Observation)
		want   []string
	}{
		{"stuck", func(o *Observation) { o.Closed, o.Result, o.Phase = false, "", "rolling out" },
			[]string{`ends: stuck: the workflow had not ended within the bound (phase "rolling out")`, `ends: the promotion record has no result (phase "rolling out")`}},
		{"no result after close", func(o *Observation) { o.Result = "" },
			[]string{`ends: the promotion record has no result (phase "done")`}},
		{"odd result", func(o *Observation) { o.Result = "half" },
			[]string{`ends: result "half" is not active, rolled back or error`}},
		{"no reason", func(o *Observation) { o.Result = "rolled back" },
			[]string{`ends: result "rolled back" has no reason`}},
		{"still updating", func(o *Observation) { o.AppStatus = "updating" },
			[]string{`lock released: the workflow is closed but the app's status is still "updating"`}},
		{"blocked", func(o *Observation) { o.Blocked = "ERROR: app is currently updating" },
			[]string{`lock released: the workflow is closed but a new promotion cannot start: ERROR: app is currently updating`}},
		{"mixed releases", func(o *Observation) {
			o.Pods = append(o.Pods, Pod{Name: "web-0", Service: "web", Release: "R0", Images: []string{"reg/app@sha256:old"}})
		}, []string{`never half way: service web runs pod web-0 of release R0, not the active release R1`}},
		{"wrong image", func(o *Observation) { o.Pods[0].Images = []string{"reg/app:latest"} },
			[]string{`never half way: service web pod web-1 runs image reg/app:latest, not reg/app@sha256:w of the active release R1`}},
		{"service gone", func(o *Observation) { o.Pods = o.Pods[1:] },
			[]string{`never half way: service web runs no pod of the active release R1`}},
		{"no active release", func(o *Observation) { o.Active = "" },
			[]string{`never half way: the app has no active release`}},
		{"slow rollback", func(o *Observation) {
			o.Result, o.Reason, o.RollbackAsked, o.RollbackAfter = "rolled back", "x", true, 2500*time.Millisecond
		},
			[]string{`control works: the rollback began 2.5s after it was asked for, more than 2s`}},
		{"rollback never", func(o *Observation) { o.Result, o.Reason, o.RollbackAsked = "rolled back", "x", true },
			[]string{`control works: the rollback never began after it was asked for`}},
		{"long history", func(o *Observation) { o.HistoryLen = 361 },
			[]string{`bounded history: the workflow's history has 361 events, more than 360`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := good()
			c.change(&o)
			var got []string
			vs := Check(o)
			for _, v := range vs {
				got = append(got, v.String())
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %q\nwant %q", got, c.want)
			}
			if Classify(o, vs) != Violated {
				t.Fatalf("not classified a violation")
			}
		})
	}
}

// A rollback asked for as the rollout finished may lose the race: the
// promotion ends active, which is not a broken control.
func TestRollbackRacingTheEnd(t *testing.T) {
	o := good()
	o.RollbackAsked = true
	if vs := Check(o); len(vs) != 0 {
		t.Fatalf("violations: %v", vs)
	}
	o.RollbackAfter = 300 * time.Millisecond
	o.Result, o.Reason = "rolled back", "rollback requested"
	if vs := Check(o); len(vs) != 0 {
		t.Fatalf("violations: %v", vs)
	}
}

func TestTable(t *testing.T) {
	outs := []Outcome{
		{Fault: "none", Result: Active, Took: 2 * time.Second, HistoryLen: 30},
		{Fault: "none", Result: RolledBack, Took: 4 * time.Second, HistoryLen: 50},
		{Fault: "none", Result: Active, Took: 3 * time.Second, HistoryLen: 31},
		{Fault: "terminate", Result: Violated, Took: 120 * time.Second, HistoryLen: 12},
	}
	got := Table([]string{"none", "cancel", "terminate"}, outs)
	want := strings.Join([]string{
		"FAULT              active rolled back error not begun violation  p50 end  max end max hist",
		"none                    2           1     0         0         0     3.0s     4.0s      50",
		"terminate               0           0     0         0         1   120.0s   120.0s      12",
		"all                     2           1     0         0         1     3.0s   120.0s      50",
	}, "\n") + "\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
