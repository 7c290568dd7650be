package promotions

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/internal/golden"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

var start = time.Date(2026, 1, 1, 0, 0, 49, 0, time.UTC)

func promotion(id, release, from, result, reason string, took time.Duration) *records.Promotion {
	p := &records.Promotion{
		ObjectMeta: metav1.ObjectMeta{Name: id},
		Spec: records.PromotionSpec{
			ID: id, App: "myapp", Release: release, From: from,
			WorkflowID: "promote/myapp", RunID: "01a214b5-6185-76b7-b685-4093ec413ce0",
			Started: metav1.NewMicroTime(start),
		},
		Status: records.PromotionStatus{Phase: model.PhaseDone, Result: result, Reason: reason},
	}
	if took > 0 {
		end := metav1.NewMicroTime(start.Add(took))
		p.Status.Ended = &end
	} else {
		p.Status.Phase = model.PhaseRollingOut
	}
	return p
}

func check(t *testing.T, name string, print func(*bytes.Buffer) error) {
	t.Helper()
	var buf bytes.Buffer
	if err := print(&buf); err != nil {
		t.Fatal(err)
	}
	golden.NoTrailingSpace(t, buf.Bytes())
	golden.Assert(t, name+".golden", buf.Bytes())
}

func TestTable(t *testing.T) {
	ps := []*records.Promotion{
		promotion("PCDEFGHIJKL", "RCDEFGHIJKL", "RBCDEFGHIJK", "", "", 0),
		promotion("PBCDEFGHIJK", "RXYZXYZXYZX", "RBCDEFGHIJK", model.ResultRolledBack, "web: container main is in CrashLoopBackOff (pod web-745f845dc-rzl2q)", 1300*time.Millisecond),
		promotion("PABCDEFGHIJ", "RBCDEFGHIJK", "", model.ResultActive, "", 640*time.Millisecond),
	}
	check(t, "table", func(b *bytes.Buffer) error { return Table(ps, start.Add(5*time.Minute)).Print(b) })
}

func TestInfo(t *testing.T) {
	p := promotion("PBCDEFGHIJK", "RXYZXYZXYZX", "RBCDEFGHIJK", model.ResultRolledBack, "timeout: not rolled out within 3s", 3900*time.Millisecond)
	p.Status.Services = []records.ServiceProgress{
		{Name: "web", Desired: 2, Updated: 2, Ready: 1, Available: 1},
		{Name: "worker", Desired: 1, Updated: 1, Ready: 1, Available: 1, Done: true},
	}
	p.Status.Steps = []records.Step{
		{Time: metav1.NewTime(start), Message: "applying RXYZXYZXYZX"},
		{Time: metav1.NewTime(start.Add(3 * time.Second)), Message: "rolling back to RBCDEFGHIJK: timeout: not rolled out within 3s"},
		{Time: metav1.NewTime(start.Add(4 * time.Second)), Message: model.ResultRolledBack},
	}
	check(t, "info", func(b *bytes.Buffer) error { return Info(p, nil).Print(b) })

	// In flight, the live state (here: paused) wins over the record.
	live := &workflows.PromotionState{Phase: model.PhaseRollingOut, Paused: true, Notice: "the promotion is already paused: resume it with `slipway promotions resume`",
		Services: []records.ServiceProgress{{Name: "web", Desired: 2, Updated: 1, Ready: 1, Available: 1}}}
	inflight := promotion("PCDEFGHIJKL", "RCDEFGHIJKL", "RBCDEFGHIJK", "", "", 0)
	check(t, "info_live", func(b *bytes.Buffer) error { return Info(inflight, live).Print(b) })
}

// A rolled-out service that waits for its pods to converge says on what.
func TestInfoWaiting(t *testing.T) {
	live := &workflows.PromotionState{Phase: model.PhaseRollingOut, Services: []records.ServiceProgress{
		{Name: "web", Desired: 2, Updated: 2, Ready: 2, Available: 2, Waiting: "pod web-old of release RBCDEFGHIJK remains beside release RCDEFGHIJKL"},
		{Name: "worker", Desired: 1, Updated: 1, Ready: 1, Available: 1, Done: true},
	}}
	var b bytes.Buffer
	if err := Info(promotion("PCDEFGHIJKL", "RCDEFGHIJKL", "RBCDEFGHIJK", "", "", 0), live).Print(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"web: 2 desired, 2 updated, 2 ready, 2 available; waiting: pod web-old of release RBCDEFGHIJK remains beside release RCDEFGHIJKL\n",
		"worker: 1 desired, 1 updated, 1 ready, 1 available\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("info lacks %q:\n%s", want, b.String())
		}
	}
	j := InfoJSON(promotion("PCDEFGHIJKL", "RCDEFGHIJKL", "RBCDEFGHIJK", "", "", 0), live)
	if j.Services[0].Waiting != live.Services[0].Waiting || j.Services[1].Waiting != "" {
		t.Errorf("json services %+v, want web's waiting only", j.Services)
	}
}
