package build

import (
	"context"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/workflows"
)

// --id and -w parse; with --id the progress goes to stderr and stdout
// holds the new release's ID alone, as Convox's build --id.
func TestBuildID(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *BuildOptions
	if err := e.Run(NewCmdBuild(e.Factory, func(_ context.Context, o *BuildOptions) error { got = o; return nil }), "--id", "-w"); err != nil {
		t.Fatal(err)
	}
	if !got.ID {
		t.Error("--id did not set ID")
	}

	pinBuildID(t)
	e = cmdutiltest.New(t, appWithEnv(map[string]string{"FOO": "bar"})...)
	e.ExpectWorkflow(workflows.BuildWorkflowID("myapp", bid), workflows.BuildResult{BuildID: bid, ReleaseID: rid}, nil)
	if err := buildRun(context.Background(), &BuildOptions{Factory: e.Factory, Options: options(sourceDir(t, manifest)), ID: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != rid+"\n" {
		t.Errorf("stdout %q, want the release ID alone", got)
	}
	if !strings.Contains(e.ErrOut.String(), "Packaging source... OK") {
		t.Errorf("stderr %q, want the progress", e.ErrOut.String())
	}
}
