package workflows_test

import (
	"log/slog"
	"path/filepath"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/slipway-dev/slipway/workflows"
)

// TestReplayHistories replays every history in testdata/ through the
// current workflow code. Each history was exported from a real run, so a
// nondeterminism error here means a change to a workflow would break the
// runs in flight when a new worker takes over.
//
// Changing a workflow's shape (the activities, timers, child workflows,
// side effects it issues, or their order) is expected to fail here: either
// guard the change with workflow.GetVersion, or, when no old run can still
// be in flight, re-record the histories. To record one, start the local
// stack with `slipway dev up`, run the scenario (a build, a promotion, a
// rollback...), then export its run:
//
//	temporal workflow show -w ID -r RUN -o json \
//	  --codec-endpoint http://127.0.0.1:8234 > workflows/testdata/NAME.json
//
// (the local stack encrypts payloads: the codec endpoint, which `slipway dev
// status` names, stores them decoded)
// (ID and RUN as `temporal workflow list` or the Web UI show them). Add a
// history for every new path through a workflow.
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no histories in workflows/testdata: record some (see this test's comment)")
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(workflows.Promote)
			r.RegisterWorkflow(workflows.Build)
			r.RegisterWorkflow(workflows.CreateRelease)
			r.RegisterWorkflow(workflows.CreateApp)
			r.RegisterWorkflow(workflows.DeleteApp)
			r.RegisterWorkflow(workflows.Notify)
			r.RegisterWorkflow(workflows.PreviousWindow)
			r.RegisterWorkflow(workflows.ProtectApp)
			if err := r.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
