package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

// With --id the build and the promotion report on stderr and stdout holds
// the promoted release's ID alone; -w is accepted.
func TestDeployID(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *DeployOptions
	if err := e.Run(NewCmdDeploy(e.Factory, func(_ context.Context, o *DeployOptions) error { got = o; return nil }), "--id", "--wait"); err != nil {
		t.Fatal(err)
	}
	if !got.ID {
		t.Error("--id did not set ID")
	}

	e = cmdutiltest.New(t, recordstest.App("myapp"))
	expectBuild(e, workflows.BuildResult{BuildID: "BABCDEFGHIJ", ReleaseID: "RBCDEFGHIJK"}, nil)
	e.ExpectWorkflow("promote/myapp", workflows.PromoteResult{Release: "RBCDEFGHIJK", Result: model.ResultActive}, nil)
	opts := &DeployOptions{Factory: e.Factory, Timeout: time.Minute, ID: true}
	opts.Build.Dir, opts.Build.App, opts.Build.Manifest = source(t), "myapp", "convox.yml"
	if err := deployRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "RBCDEFGHIJK\n" {
		t.Errorf("stdout %q, want the release ID alone", got)
	}
	if errOut := e.ErrOut.String(); !strings.Contains(errOut, "Promoting RBCDEFGHIJK...") || !strings.Contains(errOut, "Release: RBCDEFGHIJK") {
		t.Errorf("stderr %q, want the build's and the promotion's progress", errOut)
	}
}
