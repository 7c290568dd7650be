package promotions

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

// PromoteOptions say what to promote.
type PromoteOptions struct {
	App        string
	Release    string // to promote; for a rollback, the ID its copy of RollbackTo gets
	RollbackTo string
	Timeout    time.Duration
	// KeepPrevious is the rollback window (window.go); 0 for none.
	KeepPrevious time.Duration
}

// ErrUpdating is Convox's refusal of a second promotion.
var ErrUpdating = errors.New("app is currently updating")

// Promote runs a promotion and prints Convox's output: the header, the
// namespace's events while it runs, then OK or why it failed. The run's
// result says when it is over; its last status event is written before
// the run ends, so a list of the events once it has ended holds it.
func Promote(ctx context.Context, f *cmdutil.Factory, o PromoteOptions) error {
	s, err := f.Store()
	if err != nil {
		return err
	}
	c, err := f.Temporal()
	if err != nil {
		return err
	}
	out := f.IO.Out
	ev, err := startEvents(ctx, s.Core.CoreV1().Events(s.Namespace(o.App)), out)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	app, _ := s.GetApp(ctx, o.App)
	// A release with release commands gets its promotion's ID here, so
	// that their output can be shown as it comes (releaseoutput.go).
	rel, promotion := followReleaseOutput(ctx, f, s, o)
	if rel != nil {
		defer rel.bucket.Close()
	}
	began := time.Now()
	run, err := f.Start(ctx, cmdutil.RunOptions{
		ID: workflows.PromoteWorkflowID(o.App), App: o.App, Release: o.Release, Summary: summary(app, o),
	}, workflows.Promote, workflows.PromoteInput{
		App: o.App, Release: o.Release, RollbackTo: o.RollbackTo, Timeout: o.Timeout, Actor: f.Actor(ctx),
		Promotion: promotion, KeepPrevious: o.KeepPrevious,
	})
	if err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return ErrUpdating
		}
		return err
	}
	if o.RollbackTo != "" {
		fmt.Fprintf(out, "Rolling back to %s... ", o.RollbackTo)
		if err := waitCopied(ctx, c, run, o.App, o.Release); err != nil {
			return err // on the same line, as cmdutil.Step does
		}
		fmt.Fprintf(out, "OK, %s\n", o.Release)
	} else {
		fmt.Fprintf(out, "Promoting %s...\n", o.Release)
		if app != nil && app.Spec.Protected {
			fmt.Fprintf(out, "%s is protected: nothing is applied until someone else runs `slipway promotions continue -a %s`\n", o.App, o.App)
		}
	}
	sctx, stop := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		ev.follow(sctx)
	}()
	relFollowed := make(chan struct{})
	go func() {
		defer close(relFollowed)
		if rel != nil {
			rel.follow(sctx)
		}
	}()
	var res workflows.PromoteResult
	werr := run.Get(ctx, &res)
	stop()
	<-followed
	<-relFollowed
	if ctx.Err() != nil {
		return fmt.Errorf("stopped watching; the promotion goes on: see `slipway promotions info -a %s`", o.App)
	}
	if rel != nil {
		rel.show(ctx)
	}
	// The events only show the way; the run's result is the outcome, so a
	// list that fails here does not change it.
	_ = ev.catchUp(ctx)
	if werr != nil {
		return cmdutil.WorkflowError(werr)
	}
	printWindow(out, o, res, began) // window.go
	fmt.Fprintln(out, "OK")
	return nil
}

// summary is the Temporal UI's line for the run: app, from -> to.
func summary(a *records.App, o PromoteOptions) string {
	from := "(none)"
	if a != nil && a.Status.Release != "" {
		from = a.Status.Release
	}
	if o.RollbackTo != "" {
		return fmt.Sprintf("roll %s back: %s -> %s (a copy of %s)", o.App, from, o.Release, o.RollbackTo)
	}
	return fmt.Sprintf("promote %s: %s -> %s", o.App, from, o.Release)
}

// waitCopied returns once a rollback's copy of the release exists: the
// promotion makes it with a child workflow, whose completion its
// history records. The history is read with a long poll, which the server
// answers as events are written. If the run ends without the copy, the
// run's error says why.
func waitCopied(ctx context.Context, c client.Client, run client.WorkflowRun, app, release string) error {
	copyID := workflows.ReleaseWorkflowID(app, release)
	it := c.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if e.GetEventType() == enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED &&
			e.GetChildWorkflowExecutionCompletedEventAttributes().GetWorkflowExecution().GetWorkflowId() == copyID {
			return nil
		}
	}
	if err := run.Get(ctx, nil); err != nil {
		return cmdutil.WorkflowError(err)
	}
	return fmt.Errorf("the rollback ended before %s was made: see `slipway promotions -a %s`", release, app)
}

// Resolve picks the release to promote: the one named, else the newest.
func Resolve(ctx context.Context, s *records.Store, a *records.App, id string) (string, error) {
	if id == "" {
		if a.Status.Latest == "" {
			return "", fmt.Errorf("app %s has no releases: run `slipway build` first", a.Name)
		}
		return a.Status.Latest, nil
	}
	if !model.ValidReleaseID(id) {
		return "", fmt.Errorf("no such release: %s", id)
	}
	if _, err := s.GetRelease(ctx, a.Name, id); err != nil {
		return "", cmdutil.KubeError(err)
	}
	return id, nil
}
