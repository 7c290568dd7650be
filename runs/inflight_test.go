package runs

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/mocks"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
)

const app = "myapp"

func appRecord(status string) *records.App {
	return &records.App{
		TypeMeta:   recordstest.TypeMeta("App"),
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: recordstest.Namespace(app)},
		Status:     records.AppStatus{Status: status},
	}
}

func build(id, status string) *records.Build {
	now := metav1.NowMicro()
	return &records.Build{
		TypeMeta:   recordstest.TypeMeta("Build"),
		ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(id), Namespace: recordstest.Namespace(app)},
		Spec:       records.BuildSpec{ID: id, App: app},
		Status:     records.BuildStatus{Status: status, Started: &now},
	}
}

func TestFindFromRecords(t *testing.T) {
	fs := recordstest.NewStore(t,
		appRecord(model.AppUpdating),
		build("BAAAAAAAAAA", model.BuildComplete), build("BBBBBBBBBBB", model.BuildRunning), build("BCCCCCCCCCC", model.BuildFailed))
	f, err := Find(context.Background(), fs.Store, nil, app, AppRuns{})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Promotion || !slices.Equal(f.Builds, []string{"BBBBBBBBBBB"}) || !f.Busy() {
		t.Errorf("in flight %+v, want the promotion and build BBBBBBBBBBB", f)
	}
	fs = recordstest.NewStore(t, appRecord(model.AppRunning), build("BAAAAAAAAAA", model.BuildComplete))
	if f, err := Find(context.Background(), fs.Store, nil, app, AppRuns{}); err != nil || f.Busy() {
		t.Errorf("in flight %+v, %v; want nothing", f, err)
	}
}

func describe(status enumspb.WorkflowExecutionStatus) *workflowservice.DescribeWorkflowExecutionResponse {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{Status: status}}
}

// Temporal sees runs the records do not have yet: a promotion that has
// not written its record, and a build listed by visibility.
func TestFindAsksTemporal(t *testing.T) {
	fs := recordstest.NewStore(t, appRecord(model.AppRunning))
	tc := &mocks.Client{}
	tc.On("DescribeWorkflowExecution", mock.Anything, "promote/"+app, "").
		Return(describe(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), nil)
	tc.On("ListWorkflow", mock.Anything, mock.MatchedBy(func(r *workflowservice.ListWorkflowExecutionsRequest) bool {
		return r.Query == "SlipwayApp = 'myapp' AND ExecutionStatus = 'Running'"
	})).Return(&workflowservice.ListWorkflowExecutionsResponse{Executions: []*workflowpb.WorkflowExecutionInfo{
		{Execution: &commonpb.WorkflowExecution{WorkflowId: "build/myapp/BDDDDDDDDDD"}},
		{Execution: &commonpb.WorkflowExecution{WorkflowId: "promote/myapp"}}, // not a build
	}}, nil)
	f, err := Find(context.Background(), fs.Store, tc, app, AppRuns{Promote: "promote/" + app, BuildPrefix: "build/" + app + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Promotion || !slices.Equal(f.Builds, []string{"BDDDDDDDDDD"}) {
		t.Errorf("in flight %+v, want the promotion and build BDDDDDDDDDD", f)
	}
	tc.AssertExpectations(t)
}

func TestRunning(t *testing.T) {
	for _, tt := range []struct {
		name string
		resp *workflowservice.DescribeWorkflowExecutionResponse
		err  error
		want bool
	}{
		{"running", describe(enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING), nil, true},
		{"completed", describe(enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED), nil, false},
		{"never started", nil, serviceerror.NewNotFound("no such workflow"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tc := &mocks.Client{}
			tc.On("DescribeWorkflowExecution", mock.Anything, "promote/x", "").Return(tt.resp, tt.err)
			got, err := Running(context.Background(), tc, "promote/x")
			if err != nil || got != tt.want {
				t.Errorf("Running = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
	tc := &mocks.Client{}
	unavailable := serviceerror.NewUnavailable("down")
	tc.On("DescribeWorkflowExecution", mock.Anything, "promote/x", "").Return(nil, unavailable)
	if _, err := Running(context.Background(), tc, "promote/x"); !errors.Is(err, unavailable) {
		t.Errorf("Running with Temporal down = %v, want the error", err)
	}
}
