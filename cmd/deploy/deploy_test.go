package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

// Flags and arguments land in Options; a bad command line fails before
// anything runs.
func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *DeployOptions
	capture := func(_ context.Context, o *DeployOptions) error { got = o; return nil }
	if err := e.Run(NewCmdDeploy(e.Factory, capture), "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if got.Build.Dir != "." || got.Build.App != "myapp" || got.Build.Manifest != "convox.yml" || got.Timeout != workflows.DefaultTimeout {
		t.Errorf("defaults %+v", got)
	}
	err := e.Run(NewCmdDeploy(e.Factory, capture), "src", "-a", "myapp", "-d", "first cut", "-m", "other.yml",
		"--timeout", "3m", "--build-arg", "VERSION=2.0", "--registry", "registry.test:5000/mirror", "--builder", "kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	b := got.Build
	if b.Dir != "src" || b.Description != "first cut" || b.Manifest != "other.yml" || got.Timeout != 3*time.Minute ||
		len(b.BuildArgs) != 1 || b.BuildArgs[0] != "VERSION=2.0" || b.Registry != "registry.test:5000/mirror" || b.Builder != "kubernetes" {
		t.Errorf("options %+v", got)
	}
	got = nil
	for _, args := range [][]string{{"a", "b"}, {"--timeout", "soon"}, {"--nope"}} {
		if err := e.Run(NewCmdDeploy(e.Factory, capture), args...); err == nil {
			t.Errorf("deploy %q: no error", args)
		}
	}
	if got != nil {
		t.Error("deploy ran with a bad command line")
	}
}

// source is a directory with a convox.yml.
func source(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "convox.yml"), []byte("services:\n  web:\n    build: .\n    port: 3000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// expectBuild lets the command start one build of myapp, which ends with
// res and err.
func expectBuild(e *cmdutiltest.Env, res workflows.BuildResult, err error) {
	run := &mocks.WorkflowRun{}
	run.On("Get", mock.Anything, mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(1).(*workflows.BuildResult) = res
	}).Return(err)
	e.Temporal.On("ExecuteWorkflow", mock.Anything,
		mock.MatchedBy(func(o client.StartWorkflowOptions) bool { return strings.HasPrefix(o.ID, "build/myapp/") }),
		mock.Anything, mock.Anything).Return(run, nil).Once()
}

func TestDeployRun(t *testing.T) {
	e := cmdutiltest.New(t, recordstest.App("myapp"))
	expectBuild(e, workflows.BuildResult{BuildID: "BABCDEFGHIJ", ReleaseID: "RBCDEFGHIJK"}, nil)
	started := e.ExpectRun("promote/myapp", func(_ context.Context, v any) error {
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: "myapp.1", Namespace: "dev-myapp", UID: "uid-1", ResourceVersion: "100"},
			InvolvedObject: corev1.ObjectReference{APIVersion: records.Group + "/" + records.Version, Kind: "App", Name: "myapp"},
			Reason:         "Status", Message: "Updating => Running", LastTimestamp: metav1.NewTime(cmdutiltest.Now),
		}
		if _, err := e.Store.Core.CoreV1().Events("dev-myapp").Create(context.Background(), ev, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
		*v.(*workflows.PromoteResult) = workflows.PromoteResult{Release: "RBCDEFGHIJK", Result: model.ResultActive}
		return nil
	})
	opts := &DeployOptions{Factory: e.Factory, Timeout: 3 * time.Minute}
	opts.Build.Dir, opts.Build.App, opts.Build.Manifest = source(t), "myapp", "convox.yml"
	if err := deployRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "deploy_run")
	want := workflows.PromoteInput{App: "myapp", Release: "RBCDEFGHIJK", Timeout: 3 * time.Minute, Actor: cmdutiltest.Actor}
	if started.Input != want {
		t.Errorf("promoted %+v, want %+v", started.Input, want)
	}
	e.Temporal.AssertExpectations(t)
}

// A failed build promotes nothing (the mock fails the test on a start it
// does not expect).
func TestDeployRunBuildFails(t *testing.T) {
	e := cmdutiltest.New(t, recordstest.App("myapp"))
	expectBuild(e, workflows.BuildResult{}, temporal.NewNonRetryableApplicationError("web: Dockerfile: no such file", "BuildFailed", nil))
	opts := &DeployOptions{Factory: e.Factory, Timeout: time.Minute}
	opts.Build.Dir, opts.Build.App, opts.Build.Manifest = source(t), "myapp", "convox.yml"
	err := deployRun(context.Background(), opts)
	if want := "build failed: web: Dockerfile: no such file"; err == nil || err.Error() != want {
		t.Errorf("deploy of a failing build: %v, want %q", err, want)
	}
	if strings.Contains(e.Out.String(), "Promoting") {
		t.Errorf("promoted after a failed build:\n%s", e.Out)
	}
}
