package workflows_test

import (
	"testing"

	"github.com/stretchr/testify/mock"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/workflows"
)

func TestScale(t *testing.T) {
	env, rec := newEnv(t)
	env.OnActivity(acts.ScaleApp, mock.Anything, mock.Anything).Return(activities.ScaleResult{Release: "RBCDEFGHIJK"}, nil)
	env.ExecuteWorkflow(workflows.Scale, workflows.ScaleInput{App: app, Service: "web", Count: ptr.To[int32](3)})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantEqual(t, "ScaleApp input", only[activities.ScaleInput](rec, "ScaleApp"), activities.ScaleInput{App: app, Service: "web", Count: ptr.To[int32](3)})
	var res workflows.ScaleResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "result", res, workflows.ScaleResult{Release: "RBCDEFGHIJK"})
	if workflows.ScaleWorkflowID(app) != workflows.PromoteWorkflowID(app) {
		t.Error("a scale does not hold the deploy lock")
	}
}

// A refusal is not retried: it ends the run with its message.
func TestScaleRefused(t *testing.T) {
	env, rec := newEnv(t)
	msg := "app " + app + " is currently updating: wait for it to end"
	env.OnActivity(acts.ScaleApp, mock.Anything, mock.Anything).Return(activities.ScaleResult{}, permanent(msg, activities.ErrConflict))
	env.ExecuteWorkflow(workflows.Scale, workflows.ScaleInput{App: app, Service: "web", Count: ptr.To[int32](3)})
	if got := appError(t, env.GetWorkflowError()).Message(); got != msg {
		t.Errorf("workflow error %q, want %q", got, msg)
	}
	wantNames(t, rec, "ScaleApp")
}
