package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/workflows"
)

func TestCreateApp(t *testing.T) {
	env, rec := newEnv(t)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.AppWorkflowID("create", app)})
	env.OnActivity(acts.CreateApp, mock.Anything, mock.Anything).Return(activities.AppResult{Namespace: "slipway-" + app}, nil)
	env.ExecuteWorkflow(workflows.CreateApp, workflows.AppInput{App: app})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	run := rec.callsOf("CreateApp")
	if len(run) != 1 {
		t.Fatalf("CreateApp started %d times, want once", len(run))
	}
	exec := run[0].Info.WorkflowExecution
	if exec.ID != workflows.AppWorkflowID("create", app) || exec.RunID == "" {
		t.Fatalf("workflow execution %+v, want ID %s and a run ID", exec, workflows.AppWorkflowID("create", app))
	}
	wantEqual(t, "CreateApp input", only[activities.AppInput](rec, "CreateApp"), activities.AppInput{
		App: app, CreatedBy: exec.ID + "/" + exec.RunID,
	})
	var res workflows.AppResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "result", res, workflows.AppResult{Namespace: "slipway-" + app})
}

func TestCreateAppConflict(t *testing.T) {
	env, rec := newEnv(t)
	msg := "app already exists: " + app
	env.OnActivity(acts.CreateApp, mock.Anything, mock.Anything).Return(activities.AppResult{}, permanent(msg, activities.ErrConflict))
	env.ExecuteWorkflow(workflows.CreateApp, workflows.AppInput{App: app})
	if got := appError(t, env.GetWorkflowError()).Message(); got != msg {
		t.Errorf("workflow error %q, want %q", got, msg)
	}
	wantNames(t, rec, "CreateApp")
}

func TestDeleteApp(t *testing.T) {
	env, rec := newEnv(t)
	env.OnActivity(acts.StopAppWork, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.MarkAppDeleting, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.DeleteNamespace, mock.Anything, mock.Anything).After(2 * time.Minute).Return(nil)
	env.ExecuteWorkflow(workflows.DeleteApp, workflows.AppInput{App: app})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	wantNames(t, rec, "StopAppWork", "MarkAppDeleting", "DeleteNamespace")
	want := activities.AppInput{App: app, Runs: activities.AppRuns{Promote: "promote/" + app, BuildPrefix: "build/" + app + "/"}}
	wantEqual(t, "StopAppWork input", only[activities.AppInput](rec, "StopAppWork"), want)
	wantEqual(t, "MarkAppDeleting input", only[activities.AppInput](rec, "MarkAppDeleting"), want)
	wantEqual(t, "DeleteNamespace input", only[activities.AppInput](rec, "DeleteNamespace"), want)
	info := rec.callsOf("DeleteNamespace")[0].Info
	if info.StartToCloseTimeout != 10*time.Minute || info.HeartbeatTimeout != 10*time.Second {
		t.Errorf("DeleteNamespace: start-to-close %s, heartbeat %s; want 10m and 10s", info.StartToCloseTimeout, info.HeartbeatTimeout)
	}
	if info := rec.callsOf("StopAppWork")[0].Info; info.HeartbeatTimeout == 0 || info.StartToCloseTimeout < 5*time.Minute {
		t.Errorf("StopAppWork: start-to-close %s, heartbeat %s; want a heartbeat and room for a rollback", info.StartToCloseTimeout, info.HeartbeatTimeout)
	}
}

func TestDeleteAppForcePassesForce(t *testing.T) {
	env, rec := newEnv(t)
	env.OnActivity(acts.StopAppWork, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.MarkAppDeleting, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.DeleteNamespace, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(workflows.DeleteApp, workflows.AppInput{App: app, Force: true})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	for _, name := range []string{"StopAppWork", "MarkAppDeleting", "DeleteNamespace"} {
		if !only[activities.AppInput](rec, name).Force {
			t.Errorf("%s was not told to force", name)
		}
	}
}

// A delete refused because the app is busy (or its namespace is not
// slipway's) touches nothing: no mark, no delete.
func TestDeleteAppBusyChangesNothing(t *testing.T) {
	env, rec := newEnv(t)
	msg := "app " + app + " is currently updating: wait for it or use --force"
	env.OnActivity(acts.StopAppWork, mock.Anything, mock.Anything).Return(permanent(msg, activities.ErrConflict))
	env.OnActivity(acts.MarkAppDeleting, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.DeleteNamespace, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(workflows.DeleteApp, workflows.AppInput{App: app})
	if got := appError(t, env.GetWorkflowError()).Message(); got != msg {
		t.Errorf("workflow error %q, want %q", got, msg)
	}
	wantNames(t, rec, "StopAppWork")
}

func TestDeleteAppMarkFailure(t *testing.T) {
	env, rec := newEnv(t)
	msg := "app " + app + " not found"
	env.OnActivity(acts.StopAppWork, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(acts.MarkAppDeleting, mock.Anything, mock.Anything).Return(permanent(msg, activities.ErrNotFound))
	env.OnActivity(acts.DeleteNamespace, mock.Anything, mock.Anything).Return(nil)
	env.ExecuteWorkflow(workflows.DeleteApp, workflows.AppInput{App: app})
	if got := appError(t, env.GetWorkflowError()).Message(); got != msg {
		t.Errorf("workflow error %q, want %q", got, msg)
	}
	// The namespace is left alone when the app could not be marked.
	wantNames(t, rec, "StopAppWork", "MarkAppDeleting")
}
