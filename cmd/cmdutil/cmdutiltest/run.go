package cmdutiltest

import (
	"context"

	"github.com/stretchr/testify/mock"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
)

// ExpectRun lets a command start the workflow with ID id once, like
// ExpectWorkflow, but the run's Get calls get: a test makes the run do
// what a worker would meanwhile (write events, fill the result) and says
// how it ends.
func (e *Env) ExpectRun(id string, get func(ctx context.Context, valuePtr any) error) *Started {
	s := &Started{}
	run := &mocks.WorkflowRun{}
	run.On("GetID").Return(id).Maybe()
	run.On("GetRunID").Return("run-1").Maybe()
	run.On("Get", mock.Anything, mock.Anything).Return(get).Maybe()
	e.Temporal.On("ExecuteWorkflow", mock.Anything,
		mock.MatchedBy(func(o client.StartWorkflowOptions) bool { return o.ID == id }),
		mock.Anything, mock.Anything).
		Run(func(args mock.Arguments) {
			s.Options = args.Get(1).(client.StartWorkflowOptions)
			s.Workflow = funcName(args.Get(2))
			s.Input = args.Get(3)
		}).
		Return(run, nil).Once()
	return s
}

// History is a run's history as GetWorkflowHistory iterates it: the events
// given, then the end.
func History(events ...*historypb.HistoryEvent) client.HistoryEventIterator {
	return &history{events: events}
}

type history struct{ events []*historypb.HistoryEvent }

func (h *history) HasNext() bool { return len(h.events) > 0 }

func (h *history) Next() (*historypb.HistoryEvent, error) {
	e := h.events[0]
	h.events = h.events[1:]
	return e, nil
}
