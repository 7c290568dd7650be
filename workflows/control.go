package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/slipway-dev/slipway/model"
)

// control serves, in every phase of a promotion, what can stop or pause it:
// the deadline, the rollback control (signal or update), a cancel request
// from Temporal, and pause and resume. Signals and updates go through the
// same code, so the UI and the CLI get the same behaviour; only an update
// can hear the answer.
type control struct {
	p *promotion
	// stop says why the promotion must roll back; "" while it may go on.
	stop string
	// pending is true while a pause or resume waits for the Deployments
	// to exist: the apply takes it into account.
	pending bool

	remaining   time.Duration // of the timeout, while the clock runs
	timerF      workflow.Future
	cancelTimer workflow.CancelFunc
	timerStart  time.Time

	pauseCh, resumeCh, rollbackCh, continueCh workflow.ReceiveChannel
	requests                                  workflow.Channel // updates, handled in order by the main loop
}

// stopCancelled is why a promotion stops on a cancel request from Temporal.
const stopCancelled = "cancelled from Temporal"

// request is one control sent as an update, answered by the main loop.
type request struct {
	name, by string
	answered bool
	err      error
}

func newControl(ctx workflow.Context, p *promotion) (*control, error) {
	c := &control{
		p:          p,
		remaining:  p.in.Timeout,
		pauseCh:    workflow.GetSignalChannel(ctx, SignalPause),
		resumeCh:   workflow.GetSignalChannel(ctx, SignalResume),
		rollbackCh: workflow.GetSignalChannel(ctx, SignalRollback),
		continueCh: workflow.GetSignalChannel(ctx, SignalContinue),
		requests:   workflow.NewBufferedChannel(ctx, 16),
	}
	for _, name := range []string{SignalPause, SignalResume, SignalRollback, SignalContinue} {
		err := workflow.SetUpdateHandlerWithOptions(ctx, name,
			func(ctx workflow.Context, by string) (string, error) { return c.ask(ctx, name, by) },
			workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, by string) error { return c.refusal(name, by) }})
		if err != nil {
			return nil, err
		}
	}
	c.startClock(ctx)
	return c, nil
}

// ask hands an update to the main loop and answers once its effect is
// real (a pause: the Deployments are paused). A promotion that starts
// rolling back (or ends) first answers with why the control no longer
// applies.
func (c *control) ask(ctx workflow.Context, name, by string) (string, error) {
	r := &request{name: name, by: by}
	c.requests.Send(ctx, r)
	err := workflow.Await(ctx, func() bool { return (r.answered && !c.pending) || c.over() != nil })
	switch {
	case err != nil:
		return "", err
	case r.answered && r.err != nil:
		return "", r.err
	case r.answered && !c.pending:
		return c.p.st.Phase, nil
	case name == SignalRollback && r.answered:
		return c.p.st.Phase, nil
	}
	return "", c.over()
}

// over says why no control applies any more; nil while one may.
func (c *control) over() error {
	st := c.p.st
	switch {
	case st.Phase == model.PhaseDone:
		return fmt.Errorf("the promotion has ended (%s)", st.Result)
	case c.stop != "" || st.Phase == model.PhaseRollingBack:
		return errors.New("the promotion is already rolling back")
	}
	return nil
}

// refusal says why a control sent by `by` cannot act now; nil when it can.
func (c *control) refusal(name, by string) error {
	st := c.p.st
	if err := c.over(); err != nil {
		return err
	}
	switch {
	case name == SignalContinue:
		return c.gateRefusal(by)
	case (name == SignalPause || name == SignalResume) && st.Step != "":
		return fmt.Errorf("the promotion is at step %s of a staged rollout: %s acts on the rolling update after the steps; continue a pause with `slipway promotions continue`, or roll back", st.Step, name)
	case (name == SignalPause || name == SignalResume) && st.Gate != "":
		return fmt.Errorf("the promotion is waiting for %s: nothing is rolling out to %s", st.Gate, name)
	case name == SignalPause && st.Paused:
		return errors.New("the promotion is already paused: resume it with `slipway promotions resume`")
	case name == SignalResume && !st.Paused:
		return errors.New("the promotion is not paused")
	}
	return nil
}

func (c *control) startClock(ctx workflow.Context) {
	var tctx workflow.Context
	tctx, c.cancelTimer = workflow.WithCancel(ctx)
	c.timerF, c.timerStart = workflow.NewTimer(tctx, c.remaining), workflow.Now(ctx)
}

func (c *control) stopClock(ctx workflow.Context) {
	c.cancelTimer()
	c.remaining -= workflow.Now(ctx).Sub(c.timerStart)
	c.timerF = nil
}

// wait returns "" once f is ready, or why the promotion must stop, as soon
// as something says so. Pause and resume are served meanwhile.
func (c *control) wait(ctx workflow.Context, f workflow.Future) string {
	c.serve(ctx, f, func() bool { return c.stop != "" || f.IsReady() })
	// A cancel request also cancels f's activity, and the server may settle
	// f before this loop hears ctx.Done: f's "canceled" is then the cancel
	// request, and says so.
	if c.stop == "" && ctx.Err() != nil && temporal.IsCanceledError(f.Get(ctx, nil)) {
		c.stop = stopCancelled
	}
	return c.stop
}

// finishing waits for f whatever happens meanwhile (c.stop records it) and
// returns f's error: for steps too short and too delicate to interrupt.
func (c *control) finishing(ctx workflow.Context, f workflow.Future) error {
	c.serve(ctx, f, f.IsReady)
	return f.Get(ctx, nil)
}

// serve serves every source of control, and wakes when f is ready, until
// done says so.
func (c *control) serve(ctx workflow.Context, f workflow.Future, done func() bool) {
	for !done() {
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(f, func(workflow.Future) {})
		c.listen(ctx, sel)
		sel.Select(ctx)
	}
}

// listen adds every source of control to sel.
func (c *control) listen(ctx workflow.Context, sel workflow.Selector) {
	if c.timerF != nil {
		sel.AddFuture(c.timerF, func(f workflow.Future) {
			if f.Get(ctx, nil) == nil && c.stop == "" {
				c.stop = fmt.Sprintf("timeout: not rolled out within %s", c.p.in.Timeout)
			}
			c.timerF = nil
		})
	}
	if c.stop == "" {
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {
			c.stop = stopCancelled
		})
	}
	sel.AddReceive(c.rollbackCh, func(ch workflow.ReceiveChannel, _ bool) {
		var by string
		ch.Receive(ctx, &by)
		c.p.st.Notice = errText(c.handle(ctx, SignalRollback, by))
	})
	sel.AddReceive(c.pauseCh, func(ch workflow.ReceiveChannel, _ bool) {
		ch.Receive(ctx, nil)
		c.p.st.Notice = errText(c.handle(ctx, SignalPause, ""))
	})
	sel.AddReceive(c.resumeCh, func(ch workflow.ReceiveChannel, _ bool) {
		ch.Receive(ctx, nil)
		c.p.st.Notice = errText(c.handle(ctx, SignalResume, ""))
	})
	sel.AddReceive(c.continueCh, func(ch workflow.ReceiveChannel, _ bool) {
		var by string
		ch.Receive(ctx, &by)
		c.p.st.Notice = errText(c.handle(ctx, SignalContinue, by))
	})
	sel.AddReceive(c.requests, func(ch workflow.ReceiveChannel, _ bool) {
		var r *request
		ch.Receive(ctx, &r)
		r.err, r.answered = c.handle(ctx, r.name, r.by), true
	})
}

// handle carries out one control, or says why it cannot.
func (c *control) handle(ctx workflow.Context, name, by string) error {
	if err := c.refusal(name, by); err != nil {
		return err
	}
	p := c.p
	switch name {
	case SignalContinue:
		p.st.Gate, p.st.ContinuedBy = "", by
		p.details(ctx)
	case SignalRollback:
		c.stop = "rollback requested"
		if by != "" {
			c.stop += " by " + by
		}
	case SignalPause, SignalResume:
		paused := name == SignalPause
		// Before the Deployments exist, only the state changes: the apply
		// creates them paused, or pauses them right after.
		if p.services != nil {
			if err := p.setPaused(ctx, paused); err != nil {
				c.stop = name + " failed: " + reason(err)
				return err
			}
		} else {
			c.pending = true
		}
		p.st.Paused = paused
		if paused {
			p.st.Phase = model.PhasePaused
			c.stopClock(ctx)
		} else {
			p.st.Phase = model.PhaseRollingOut
			c.startClock(ctx)
		}
		p.details(ctx)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
