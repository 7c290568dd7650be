package promotions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

const ns = "dev-myapp"

// at is the time of the n-th event of a test promotion.
func at(n int) metav1.Time {
	return metav1.NewTime(cmdutiltest.Now.Add(time.Duration(n) * time.Second))
}

// statusEvent is an app status event as the promotion's activities write it.
func statusEvent(rv int, msg string) *corev1.Event {
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("myapp.status-%d", rv), Namespace: ns,
			UID: types.UID(fmt.Sprintf("uid-%d", rv)), ResourceVersion: fmt.Sprint(rv)},
		InvolvedObject: corev1.ObjectReference{APIVersion: records.Group + "/" + records.Version, Kind: "App", Name: "myapp", Namespace: ns},
		Reason:         "Status", Message: msg, LastTimestamp: at(rv), FirstTimestamp: at(rv),
	}
}

// kubeEvent is an event Kubernetes writes about one of the app's objects.
func kubeEvent(rv int, object, msg string) *corev1.Event {
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%d", object, rv), Namespace: ns,
			UID: types.UID(fmt.Sprintf("uid-%d", rv)), ResourceVersion: fmt.Sprint(rv)},
		InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: object, Namespace: ns},
		Reason:         "ScalingReplicaSet", Message: msg, EventTime: metav1.NewMicroTime(at(rv).Time),
	}
}

// lines is the command's output as the runner writes it, from the event
// stream's goroutine and its own: a test waits on next for an event
// printed.
type lines struct {
	mu   sync.Mutex
	buf  *bytes.Buffer
	next chan string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if bytes.Contains(p, []byte(" system/k8s/")) {
		select {
		case l.next <- string(p):
		default:
		}
	}
	return l.buf.Write(p)
}

// promoteEnv is an app whose active release is RBCDEFGHIJK, with an event
// from before the promotion that must not be printed.
func promoteEnv(t *testing.T) (*cmdutiltest.Env, *lines) {
	t.Helper()
	a := recordstest.App("myapp")
	a.Status.Release, a.Status.Latest = "RBCDEFGHIJK", "RCDEFGHIJKL"
	e := cmdutiltest.New(t, a, release("RBCDEFGHIJK"), release("RCDEFGHIJKL"),
		kubeEvent(1, "web", "Scaled up replica set web-old to 1"))
	out := &lines{buf: e.Out, next: make(chan string, 1)}
	e.Factory.IO.Out = out
	return e, out
}

func release(id string) *records.Release {
	return &records.Release{
		TypeMeta:   recordstest.TypeMeta("Release"),
		ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(id), Namespace: ns},
		Spec:       records.ReleaseSpec{ID: id, App: "myapp"},
	}
}

// write is what a worker writes while the run goes on: the first event is
// written and streamed before the others, which the run's end races with.
func write(t *testing.T, e *cmdutiltest.Env, out *lines, evs ...*corev1.Event) {
	t.Helper()
	for i, ev := range evs {
		if _, err := e.Store.Core.CoreV1().Events(ns).Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
		if i == 0 {
			<-out.next
		}
	}
}

func TestPromote(t *testing.T) {
	e, out := promoteEnv(t)
	started := e.ExpectRun("promote/myapp", func(_ context.Context, v any) error {
		write(t, e, out,
			statusEvent(10, "Running => Pending"),
			statusEvent(11, "Pending => Updating"),
			kubeEvent(12, "web", "Scaled up replica set web-745f845dc to 1"),
			statusEvent(13, "Updating => Running"))
		*v.(*workflows.PromoteResult) = workflows.PromoteResult{Promotion: "PABCDEFGHIJ", Release: "RCDEFGHIJKL", From: "RBCDEFGHIJK", Result: model.ResultActive}
		return nil
	})
	ctx := context.Background()
	if err := Promote(ctx, e.Factory, PromoteOptions{App: "myapp", Release: "RCDEFGHIJKL", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "promote")
	want := workflows.PromoteInput{App: "myapp", Release: "RCDEFGHIJKL", Timeout: time.Minute, Actor: cmdutiltest.Actor}
	if started.Workflow != "Promote" || started.Input != want {
		t.Errorf("started %s(%+v), want Promote(%+v)", started.Workflow, started.Input, want)
	}
	if got := started.Options.StaticSummary; got != "promote myapp: RBCDEFGHIJK -> RCDEFGHIJKL" {
		t.Errorf("summary %q", got)
	}
	if w := e.Store.Writes(); len(w) != 4 {
		t.Errorf("writes %v: want only the test's four events", w)
	}
	e.Temporal.AssertExpectations(t)
}

// A promotion that rolls back prints its events, then the reason, and
// fails; the events the run wrote last are printed even when the stream
// has not delivered them yet.
func TestPromoteFails(t *testing.T) {
	e, out := promoteEnv(t)
	e.ExpectRun("promote/myapp", func(context.Context, any) error {
		write(t, e, out,
			statusEvent(10, "Running => Pending"),
			statusEvent(11, "Pending => Updating"),
			kubeEvent(12, "web", "Scaled up replica set web-745f845dc to 1"),
			statusEvent(13, "Updating => Rollback"),
			statusEvent(14, "Rollback => Running"))
		return temporal.NewApplicationErrorWithCause("workflow failed", "", temporal.NewNonRetryableApplicationError(
			"rollback: timeout: not rolled out within 1m0s", "RolledBack", nil))
	})
	err := Promote(context.Background(), e.Factory, PromoteOptions{App: "myapp", Release: "RCDEFGHIJKL", Timeout: time.Minute})
	if want := "rollback: timeout: not rolled out within 1m0s"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	e.Golden(t, "promote_fails")
}

func copied(app, release string) client.HistoryEventIterator {
	return cmdutiltest.History(
		&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED},
		&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED},
		&historypb.HistoryEvent{
			EventType: enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
			Attributes: &historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes{
				ChildWorkflowExecutionCompletedEventAttributes: &historypb.ChildWorkflowExecutionCompletedEventAttributes{
					WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: workflows.ReleaseWorkflowID(app, release)},
				},
			},
		},
	)
}

func TestPromoteRollback(t *testing.T) {
	e, out := promoteEnv(t)
	started := e.ExpectRun("promote/myapp", func(_ context.Context, v any) error {
		write(t, e, out,
			statusEvent(10, "Running => Pending"),
			statusEvent(11, "Pending => Updating"),
			statusEvent(12, "Updating => Running"))
		*v.(*workflows.PromoteResult) = workflows.PromoteResult{Release: "RDEFGHIJKLM", Result: model.ResultActive}
		return nil
	})
	e.Temporal.On("GetWorkflowHistory", mock.Anything, "promote/myapp", "run-1", true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).
		Return(copied("myapp", "RDEFGHIJKLM")).Once()
	o := PromoteOptions{App: "myapp", Release: "RDEFGHIJKLM", RollbackTo: "RBCDEFGHIJK", Timeout: time.Minute}
	if err := Promote(context.Background(), e.Factory, o); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "promote_rollback")
	if in := started.Input.(workflows.PromoteInput); in.RollbackTo != "RBCDEFGHIJK" || in.Release != "RDEFGHIJKLM" {
		t.Errorf("input %+v: want a copy of RBCDEFGHIJK as RDEFGHIJKLM", in)
	}
	if got := started.Options.StaticSummary; got != "roll myapp back: RBCDEFGHIJK -> RDEFGHIJKLM (a copy of RBCDEFGHIJK)" {
		t.Errorf("summary %q", got)
	}
	e.Temporal.AssertExpectations(t)
}

// A rollback whose copy fails ends on the header's line with the reason,
// and streams nothing.
func TestPromoteRollbackCopyFails(t *testing.T) {
	e, _ := promoteEnv(t)
	e.ExpectRun("promote/myapp", func(context.Context, any) error {
		return temporal.NewApplicationErrorWithCause("workflow failed", "", temporal.NewNonRetryableApplicationError(
			"release RBCDEFGHIJK has lost its env Secret env-rbcdefghijk", "Invalid", nil))
	})
	e.Temporal.On("GetWorkflowHistory", mock.Anything, "promote/myapp", "run-1", true, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT).
		Return(cmdutiltest.History(&historypb.HistoryEvent{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED})).Once()
	err := Promote(context.Background(), e.Factory, PromoteOptions{App: "myapp", Release: "RDEFGHIJKLM", RollbackTo: "RBCDEFGHIJK"})
	if want := "release RBCDEFGHIJK has lost its env Secret env-rbcdefghijk"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	if got := e.Out.String(); got != "Rolling back to RBCDEFGHIJK... " {
		t.Errorf("output %q", got)
	}
}

func TestPromoteRefusesSecond(t *testing.T) {
	e, _ := promoteEnv(t)
	e.Temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("running", "", "")).Once()
	err := Promote(context.Background(), e.Factory, PromoteOptions{App: "myapp", Release: "RCDEFGHIJKL"})
	if !errors.Is(err, ErrUpdating) {
		t.Errorf("error %v, want %v", err, ErrUpdating)
	}
	if e.Out.Len() != 0 || len(e.Store.Writes()) != 0 {
		t.Errorf("output %q, writes %v: want none", e.Out, e.Store.Writes())
	}
}

// Ctrl-C stops the watching, not the promotion, and says where to look.
func TestPromoteInterrupted(t *testing.T) {
	e, _ := promoteEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	e.ExpectRun("promote/myapp", func(ctx context.Context, _ any) error {
		cancel()
		return ctx.Err()
	})
	err := Promote(ctx, e.Factory, PromoteOptions{App: "myapp", Release: "RCDEFGHIJKL"})
	if want := "stopped watching; the promotion goes on: see `slipway promotions info -a myapp`"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
}

// The events left when the run ends are printed in the stream's order
// (resourceVersion), once each, and none from before the promotion.
func TestCatchUp(t *testing.T) {
	e := cmdutiltest.New(t,
		kubeEvent(3, "web", "before"),
		statusEvent(12, "Updating => Running"),
		kubeEvent(9, "web", "streamed"),
		kubeEvent(10, "worker", "missed"),
	)
	var out bytes.Buffer
	ev := &events{client: e.Store.Core.CoreV1().Events(ns), out: &out, from: "5", printed: map[eventKey]bool{}}
	ev.print(kubeEvent(9, "web", "streamed"))
	if err := ev.catchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"2026-11-26T12:00:09Z system/k8s/web streamed\n" +
		"2026-11-26T12:00:10Z system/k8s/worker missed\n" +
		"2026-11-26T12:00:12Z system/k8s/atom/app Status: Updating => Running\n"
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestResolve(t *testing.T) {
	e, _ := promoteEnv(t)
	ctx := context.Background()
	a, s, err := e.Factory.AppStore(ctx, "myapp")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"": "RCDEFGHIJKL", "RBCDEFGHIJK": "RBCDEFGHIJK"} {
		if got, err := Resolve(ctx, s, a, id); err != nil || got != want {
			t.Errorf("resolve %q: %q, %v; want %s", id, got, err, want)
		}
	}
	for id, want := range map[string]string{
		"nope":        "no such release: nope",
		"RZZZZZZZZZZ": "no such release: RZZZZZZZZZZ",
	} {
		if _, err := Resolve(ctx, s, a, id); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("resolve %q: %v, want %q", id, err, want)
		}
	}
	a.Status.Latest = ""
	if _, err := Resolve(ctx, s, a, ""); err == nil || err.Error() != "app myapp has no releases: run `slipway build` first" {
		t.Errorf("resolve with no releases: %v", err)
	}
}
