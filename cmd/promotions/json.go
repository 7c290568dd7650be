package promotions

import (
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

// PromotionJSON is a promotion in `promotions -o json`.
type PromotionJSON struct {
	ID         string `json:"id"`
	App        string `json:"app"`
	Release    string `json:"release"`
	From       string `json:"from"`
	Actor      string `json:"actor"`
	Started    string `json:"started"`
	Ended      string `json:"ended"`
	Phase      string `json:"phase"`
	Result     string `json:"result"`
	Reason     string `json:"reason"`
	WorkflowID string `json:"workflow"`
	RunID      string `json:"run"`
}

// PromotionInfoJSON is `promotions info -o json`: the promotion with its
// per-service progress (live while in flight) and its steps.
type PromotionInfoJSON struct {
	PromotionJSON
	Notice string `json:"notice"`
	// Step, Gate and GateUntil are where a staged rollout (or an approval)
	// waits; ContinuedBy who continued its last gate. Live only.
	Step        string        `json:"step,omitempty"`
	Gate        string        `json:"gate,omitempty"`
	GateUntil   string        `json:"gateUntil,omitempty"`
	ContinuedBy string        `json:"continuedBy,omitempty"`
	Services    []ServiceJSON `json:"services"`
	Steps       []StepJSON    `json:"steps"`
}

type ServiceJSON struct {
	Name      string `json:"name"`
	Desired   int32  `json:"desired"`
	Updated   int32  `json:"updated"`
	Ready     int32  `json:"ready"`
	Available int32  `json:"available"`
	Done      bool   `json:"done"`
	// Waiting is set while a rolled-out service converges (see
	// records.ServiceProgress).
	Waiting string `json:"waiting,omitempty"`
}

type StepJSON struct {
	Time    string `json:"time"`
	Message string `json:"message"`
}

// JSON is a promotion as `promotions -o json` shows it.
func JSON(p *records.Promotion) PromotionJSON {
	out := PromotionJSON{
		ID: p.Spec.ID, App: p.Spec.App, Release: p.Spec.Release, From: p.Spec.From, Actor: p.Spec.Actor,
		Started: cmdutil.JSONTime(p.Spec.Started.Time), Phase: p.Status.Phase, Result: p.Status.Result,
		Reason: p.Status.Reason, WorkflowID: p.Spec.WorkflowID, RunID: p.Spec.RunID,
	}
	if p.Status.Ended != nil {
		out.Ended = cmdutil.JSONTime(p.Status.Ended.Time)
	}
	return out
}

// ListJSON is `promotions -o json`: newest first, never null.
func ListJSON(ps []*records.Promotion) []PromotionJSON {
	out := make([]PromotionJSON, 0, len(ps))
	for _, p := range ps {
		out = append(out, JSON(p))
	}
	return out
}

// InfoJSON is one promotion; live state, when known, wins over the record
// as in Info.
func InfoJSON(p *records.Promotion, live *workflows.PromotionState) PromotionInfoJSON {
	out := PromotionInfoJSON{PromotionJSON: JSON(p), Services: []ServiceJSON{}, Steps: []StepJSON{}}
	services := p.Status.Services
	if live != nil {
		services, out.Phase, out.Notice = live.Services, live.Phase, live.Notice
		out.Step, out.Gate, out.ContinuedBy = live.Step, live.Gate, live.ContinuedBy
		if !live.GateUntil.IsZero() {
			out.GateUntil = cmdutil.JSONTime(live.GateUntil)
		}
		if live.Paused {
			out.Phase = model.PhasePaused
		}
	}
	for _, s := range services {
		out.Services = append(out.Services, ServiceJSON{Name: s.Name, Desired: s.Desired, Updated: s.Updated, Ready: s.Ready, Available: s.Available, Done: s.Done, Waiting: s.Waiting})
	}
	for _, s := range p.Status.Steps {
		out.Steps = append(out.Steps, StepJSON{Time: cmdutil.JSONTime(s.Time.Time), Message: s.Message})
	}
	return out
}
