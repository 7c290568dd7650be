package workflows_test

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/testsuite"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

var buildIn = activities.BuildInput{
	App: app, BuildID: "BBUILDBUILD", Description: "build 0a1b2c3d4e my commit message", ManifestPath: "convox.yml",
}

// buildFake mocks the build's activities; a nil error succeeds.
type buildFake struct {
	startErr, prepareErr, releaseErr error
	webhooks                         []string // events StartBuild says the app's webhooks are sent
	prepareAfter                     time.Duration
}

func (f buildFake) install(env *testsuite.TestWorkflowEnvironment) {
	env.OnActivity(acts.StartBuild, mock.Anything, mock.Anything).Return(activities.StartBuildResult{Webhooks: f.webhooks}, f.startErr)
	prep := env.OnActivity(acts.PrepareBuild, mock.Anything, mock.Anything).After(f.prepareAfter)
	if f.prepareErr != nil {
		prep.Return(activities.PrepareBuildResult{}, f.prepareErr)
	} else {
		prep.Return(activities.PrepareBuildResult{Services: []string{"web", "worker"}}, nil)
	}
	env.OnActivity(acts.CreateRelease, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.CreateReleaseInput) (activities.CreateReleaseResult, error) {
			if f.releaseErr != nil {
				return activities.CreateReleaseResult{}, f.releaseErr
			}
			return activities.CreateReleaseResult{ReleaseID: in.ReleaseID, Description: in.Change.Description}, nil
		})
	env.OnActivity(acts.FinishBuild, mock.Anything, mock.Anything).Return(nil)
}

func TestBuildSuccess(t *testing.T) {
	env, rec := newEnv(t)
	buildFake{}.install(env)
	env.ExecuteWorkflow(workflows.Build, buildIn)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("workflow failed: %v", err)
	}

	wantNames(t, rec, "StartBuild", "PrepareBuild", "CreateRelease", "FinishBuild")
	wantEqual(t, "StartBuild input", only[activities.BuildInput](rec, "StartBuild"), buildIn)
	wantEqual(t, "PrepareBuild input", only[activities.BuildInput](rec, "PrepareBuild"), buildIn)
	cr := only[activities.CreateReleaseInput](rec, "CreateRelease")
	if !regexp.MustCompile(`^R[A-Z]{10}$`).MatchString(cr.ReleaseID) {
		t.Errorf("release ID %q, want R and 10 upper-case letters", cr.ReleaseID)
	}
	wantEqual(t, "CreateRelease input", cr, activities.CreateReleaseInput{
		App: app, ReleaseID: cr.ReleaseID,
		Change: activities.ReleaseChange{Build: buildIn.BuildID, Description: buildIn.Description},
	})
	if id := rec.callsOf("CreateRelease")[0].WorkflowID; id != workflows.ReleaseWorkflowID(app, cr.ReleaseID) {
		t.Errorf("release made by workflow %q, want the child %q", id, workflows.ReleaseWorkflowID(app, cr.ReleaseID))
	}
	wantEqual(t, "FinishBuild input", only[activities.FinishBuildInput](rec, "FinishBuild"), activities.FinishBuildInput{
		App: app, BuildID: buildIn.BuildID, Release: cr.ReleaseID,
	})
	var res workflows.BuildResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "result", res, workflows.BuildResult{BuildID: buildIn.BuildID, ReleaseID: cr.ReleaseID})
}

func TestBuildFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     buildFake
		names []string
		msg   string
	}{
		{
			name:  "prepare fails",
			f:     buildFake{prepareErr: permanent("required env: NEEDED", activities.ErrInvalid)},
			names: []string{"StartBuild", "PrepareBuild", "FinishBuild"},
			msg:   "required env: NEEDED",
		},
		{
			name:  "release fails",
			f:     buildFake{releaseErr: permanent("build BBUILDBUILD not found", activities.ErrNotFound)},
			names: []string{"StartBuild", "PrepareBuild", "CreateRelease", "FinishBuild"},
			msg:   "build BBUILDBUILD not found",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, rec := newEnv(t)
			tc.f.install(env)
			env.ExecuteWorkflow(workflows.Build, buildIn)
			if !env.IsWorkflowCompleted() {
				t.Fatal("workflow did not complete")
			}
			if got := appError(t, env.GetWorkflowError()).Message(); got != tc.msg {
				t.Errorf("workflow error %q, want %q", got, tc.msg)
			}
			wantNames(t, rec, tc.names...)
			wantEqual(t, "FinishBuild input", only[activities.FinishBuildInput](rec, "FinishBuild"), activities.FinishBuildInput{
				App: app, BuildID: buildIn.BuildID, Release: "", Failure: tc.msg,
			})
		})
	}
}

func TestBuildStartFailure(t *testing.T) {
	env, rec := newEnv(t)
	msg := "app " + app + " not found"
	buildFake{startErr: permanent(msg, activities.ErrNotFound)}.install(env)
	env.ExecuteWorkflow(workflows.Build, buildIn)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if got := appError(t, env.GetWorkflowError()).Message(); got != msg {
		t.Errorf("workflow error %q, want %q", got, msg)
	}
	// No record was written, so there is none to finish.
	wantNames(t, rec, "StartBuild")
}

// A cancelled build is still recorded as failed, and makes no release.
func TestBuildCancelledIsRecorded(t *testing.T) {
	env, rec := newEnv(t)
	buildFake{prepareAfter: time.Hour}.install(env)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Second)
	env.ExecuteWorkflow(workflows.Build, buildIn)
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if env.GetWorkflowError() == nil {
		t.Fatal("cancelled build succeeded")
	}
	wantNames(t, rec, "StartBuild", "PrepareBuild", "FinishBuild")
	fin := only[activities.FinishBuildInput](rec, "FinishBuild")
	if fin.Release != "" || fin.Failure == "" || fin.BuildID != buildIn.BuildID {
		t.Errorf("finish %+v, want a failure and no release", fin)
	}
}

func TestCreateRelease(t *testing.T) {
	in := activities.CreateReleaseInput{
		App: app, ReleaseID: rNew,
		Change: activities.ReleaseChange{EnvSecret: records.StagedEnvName(rNew), Unset: []string{"OLD"}},
	}
	t.Run("success", func(t *testing.T) {
		env, rec := newEnv(t)
		out := activities.CreateReleaseResult{ReleaseID: rNew, Description: "env add:FOO remove:OLD"}
		env.OnActivity(acts.CreateRelease, mock.Anything, mock.Anything).Return(out, nil)
		env.ExecuteWorkflow(workflows.CreateRelease, in)
		if err := env.GetWorkflowError(); err != nil {
			t.Fatalf("workflow failed: %v", err)
		}
		wantEqual(t, "CreateRelease input", only[activities.CreateReleaseInput](rec, "CreateRelease"), in)
		var res activities.CreateReleaseResult
		if err := env.GetWorkflowResult(&res); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "result", res, out)
		if d := rec.callsOf("CreateRelease")[0].Info.StartToCloseTimeout; d != 10*time.Second {
			t.Errorf("start-to-close %s, want the record writes' 10s", d)
		}
	})
	t.Run("conflict", func(t *testing.T) {
		env, rec := newEnv(t)
		msg := "release " + rNew + " already exists"
		env.OnActivity(acts.CreateRelease, mock.Anything, mock.Anything).Return(
			activities.CreateReleaseResult{}, permanent(msg, activities.ErrConflict))
		env.ExecuteWorkflow(workflows.CreateRelease, in)
		if got := appError(t, env.GetWorkflowError()).Message(); got != msg {
			t.Errorf("workflow error %q, want %q", got, msg)
		}
		// Conflict is final: no retry.
		wantNames(t, rec, "CreateRelease")
	})
}

// The staged build args are handed to FinishBuild, which deletes them,
// whether the build succeeds or fails.
func TestBuildHandsItsStagedArgsToFinish(t *testing.T) {
	in := buildIn
	in.BuildArgsSecret = records.StagedBuildArgsName(in.BuildID)
	for _, f := range []buildFake{{}, {prepareErr: errors.New("boom")}} {
		env, rec := newEnv(t)
		f.install(env)
		env.ExecuteWorkflow(workflows.Build, in)
		if !env.IsWorkflowCompleted() {
			t.Fatal("workflow did not complete")
		}
		if got := only[activities.FinishBuildInput](rec, "FinishBuild").BuildArgsSecret; got != "build-args-bbuildbuild" {
			t.Fatalf("FinishBuild got staged args %q (prepare error %v)", got, f.prepareErr)
		}
	}
}
