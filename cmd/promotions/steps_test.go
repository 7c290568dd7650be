package promotions

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/workflows"
)

// A staged rollout's promotion shows its step, the pause's countdown and
// who continued the last pause, in text and in JSON.
func TestInfoStagedStep(t *testing.T) {
	now = func() time.Time { return start.Add(time.Minute) }
	t.Cleanup(func() { now = time.Now })
	p := promotion("PCDEFGHIJKL", "RCDEFGHIJKL", "RBCDEFGHIJK", "", "", 0)
	p.Spec.Actor = "alice"
	live := &workflows.PromotionState{Phase: model.PhaseRollingOut, Step: "web 3/4 manual pause",
		Gate: workflows.GateManual, GateUntil: start.Add(24 * time.Hour), ContinuedBy: "bob"}
	check(t, "info_staged_manual", func(b *bytes.Buffer) error { return Info(p, live).Print(b) })
	live = &workflows.PromotionState{Phase: model.PhaseRollingOut, Step: "web 2/4 pause 1m30s",
		Gate: workflows.GatePause, GateUntil: start.Add(90 * time.Second)}
	check(t, "info_staged_pause", func(b *bytes.Buffer) error { return Info(p, live).Print(b) })

	live = &workflows.PromotionState{Phase: model.PhaseRollingOut, Step: "web 3/4 manual pause",
		Gate: workflows.GateManual, GateUntil: start.Add(24 * time.Hour), ContinuedBy: "Temporal UI"}
	raw, err := json.Marshal(InfoJSON(p, live))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"step": "web 3/4 manual pause", "gate": workflows.GateManual, "gateUntil": "2026-01-02T00:00:49Z", "continuedBy": "Temporal UI",
	} {
		if got[k] != want {
			t.Errorf("JSON %s = %v, want %q", k, got[k], want)
		}
	}
}
