// Package promote runs a promotion from the CLI: starts the workflow,
// streams the namespace's events while it runs, and reports how it ended.
// `releases promote`, `releases rollback` and `env set --promote` use it.
package promote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

type Options struct {
	App        string
	Release    string // to promote; for a rollback, made by copying RollbackTo
	RollbackTo string
	Timeout    time.Duration
}

// ErrUpdating is Convox's refusal of a second promotion.
var ErrUpdating = errors.New("app is currently updating")

// Run promotes and prints Convox's output: the header, the events, then OK.
func Run(ctx context.Context, f *cmdutil.Factory, o Options) error {
	s, err := f.Store()
	if err != nil {
		return err
	}
	c, err := f.Temporal()
	if err != nil {
		return err
	}
	ns := s.Namespace(o.App)
	// Watch from before the start, so no event of this promotion is missed.
	list, err := s.Core.CoreV1().Events(ns).List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return cmdutil.KubeError(err)
	}
	// The UI's summary: app, from-release -> to-release.
	from := "(none)"
	if a, err := s.GetApp(ctx, o.App); err == nil && a.Status.Release != "" {
		from = a.Status.Release
	}
	summary := fmt.Sprintf("promote %s: %s -> %s", o.App, from, o.Release)
	if o.RollbackTo != "" {
		summary = fmt.Sprintf("roll %s back: %s -> %s (a copy of %s)", o.App, from, o.Release, o.RollbackTo)
	}
	run, err := f.Start(ctx, cmdutil.RunOptions{
		ID: workflows.PromoteWorkflowID(o.App), App: o.App, Release: o.Release, Summary: summary,
	}, workflows.Promote, workflows.PromoteInput{
		App: o.App, Release: o.Release, RollbackTo: o.RollbackTo, Timeout: o.Timeout, Actor: f.Actor(ctx),
	})
	if err != nil {
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return ErrUpdating
		}
		return err
	}
	out := f.IO.Out
	if o.RollbackTo != "" {
		fmt.Fprintf(out, "Rolling back to %s... ", o.RollbackTo)
		if err := waitCopied(ctx, c, run); err != nil {
			return err // on the same line, as cmdutil.Step does
		}
		fmt.Fprintf(out, "OK, %s\n", o.Release)
	} else {
		fmt.Fprintf(out, "Promoting %s...\n", o.Release)
	}
	sctx, stop := context.WithCancel(ctx)
	final := make(chan struct{})
	streamed := make(chan struct{})
	go func() {
		defer close(streamed)
		StreamEvents(sctx, s, ns, list.ResourceVersion, out, final)
	}()
	var res workflows.PromoteResult
	werr := run.Get(ctx, &res)
	// The promotion's last status event is written before its run ends:
	// wait until the stream has printed it (briefly: it is already there).
	select {
	case <-final:
	case <-time.After(2 * time.Second):
	}
	stop()
	<-streamed
	if ctx.Err() != nil {
		return fmt.Errorf("stopped watching; the promotion goes on: see `slipway promotions info -a %s`", o.App)
	}
	if werr != nil {
		return cmdutil.WorkflowError(werr)
	}
	fmt.Fprintln(out, "OK")
	return nil
}

// waitCopied returns once a rollback's copy of the release exists, or
// with the run's error if it ended first (the copy failed).
func waitCopied(ctx context.Context, c client.Client, run client.WorkflowRun) error {
	ended := make(chan error, 1)
	go func() { ended <- run.Get(ctx, nil) }()
	for {
		if v, err := c.QueryWorkflow(ctx, run.GetID(), run.GetRunID(), workflows.QueryState); err == nil {
			var st workflows.PromotionState
			if v.Get(&st) == nil && st.Phase != workflows.PhaseCreating {
				return nil
			}
		}
		select {
		case err := <-ended:
			return cmdutil.WorkflowError(err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StreamEvents prints the namespace's events from resourceVersion on, as
// Convox does: `TIME system/k8s/<object> <message>`, until ctx ends.
// final is closed once an app status event that ends a promotion (to
// Running or Error) has been printed.
func StreamEvents(ctx context.Context, s *records.Store, ns, resourceVersion string, out io.Writer, final chan<- struct{}) {
	closed := false
	for ctx.Err() == nil {
		w, err := s.Core.CoreV1().Events(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: resourceVersion})
		if err != nil {
			return
		}
		for ev := range w.ResultChan() {
			e, ok := ev.Object.(*corev1.Event)
			if !ok {
				continue
			}
			resourceVersion = e.ResourceVersion
			fmt.Fprintln(out, EventLine(e))
			if !closed && e.Reason == "Status" && (strings.HasSuffix(e.Message, "=> Running") || strings.HasSuffix(e.Message, "=> Error")) {
				close(final)
				closed = true
			}
		}
		w.Stop()
	}
}

// EventLine formats one event.
func EventLine(e *corev1.Event) string {
	t := e.LastTimestamp.Time
	if t.IsZero() {
		t = e.EventTime.Time
	}
	if t.IsZero() {
		t = e.FirstTimestamp.Time
	}
	object := e.InvolvedObject.Name
	if e.InvolvedObject.Kind == "App" && e.InvolvedObject.APIVersion == records.Group+"/"+records.Version {
		object = "atom/app"
	}
	msg := e.Message
	if e.Reason == "Status" {
		msg = "Status: " + msg
	}
	return fmt.Sprintf("%s system/k8s/%s %s", t.UTC().Format(time.RFC3339), object, msg)
}

// Resolve picks the release to promote: the one named, else the newest.
func Resolve(ctx context.Context, f *cmdutil.Factory, a *records.App, id string) (string, error) {
	if id == "" {
		if a.Status.Latest == "" {
			return "", fmt.Errorf("app %s has no releases: run `slipway build` first", a.Name)
		}
		return a.Status.Latest, nil
	}
	if !model.ValidReleaseID(id) {
		return "", fmt.Errorf("no such release: %s", id)
	}
	s, err := f.Store()
	if err != nil {
		return "", err
	}
	if _, err := s.GetRelease(ctx, a.Name, id); err != nil {
		return "", cmdutil.KubeError(err)
	}
	return id, nil
}
