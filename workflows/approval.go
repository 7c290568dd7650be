package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/model"
)

// GateApproval is the gate of a protected app's promotion: nothing is
// applied until someone other than who started the promotion continues it.
const GateApproval = "approval"

// awaitApproval holds a protected app's promotion before anything is
// applied until another person continues it, and returns "" then, or why
// it must end instead: a rollback or cancel, or no approval within
// approvalTimeout. The promotion's own timeout does not run meanwhile, as
// when it is paused: it bounds the rollout, not a person's answer.
func (p *promotion) awaitApproval(ctx workflow.Context) string {
	c := p.ctl
	c.stopClock(ctx)
	tctx, cancelTimer := workflow.WithCancel(ctx)
	defer cancelTimer()
	timer := workflow.NewTimer(tctx, approvalTimeout)
	p.st.Phase, p.st.Gate = model.PhaseAwaitingApproval, GateApproval
	p.st.GateUntil = workflow.Now(ctx).Add(approvalTimeout)
	p.details(ctx)
	c.serve(ctx, timer, func() bool { return c.stop != "" || p.st.Gate == "" || timer.IsReady() })
	if c.stop == "" && p.st.Gate != "" {
		c.stop = fmt.Sprintf("not approved within %.0f hours: promote it again, and ask someone else to run `slipway promotions continue -a %s`", approvalTimeout.Hours(), p.in.App)
	}
	p.st.Gate, p.st.GateUntil = "", time.Time{}
	if c.stop != "" {
		return c.stop
	}
	c.startClock(ctx)
	return ""
}

// gateRefusal says why `by` cannot continue the promotion now; nil when
// they can.
func (c *control) gateRefusal(by string) error {
	st := c.p.st
	switch {
	case st.Gate == "":
		return errors.New("the promotion is not waiting to be continued")
	case st.Gate == GateApproval && by == "":
		return errors.New("an approval must say who gives it: send the continue signal with your name as its input")
	case st.Gate == GateApproval && by == c.p.in.Actor:
		return fmt.Errorf("%s started this promotion of a protected app: someone else must approve it", by)
	}
	return nil
}

// applyStep is the promotion record's step for the apply, which names who
// approved it.
func (p *promotion) applyStep() string {
	step := "applying " + p.in.Release
	if p.st.ContinuedBy != "" {
		step += " (approved by " + p.st.ContinuedBy + ")"
	}
	return step
}
