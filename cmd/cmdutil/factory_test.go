package cmdutil_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records/recordstest"
)

func TestAppStore(t *testing.T) {
	e := cmdutiltest.New(t, recordstest.App("myapp"))
	a, s, err := e.Factory.AppStore(context.Background(), "myapp")
	if err != nil || a.Name != "myapp" || s != e.Store.Store {
		t.Fatalf("AppStore(myapp) = %v, %v, %v; want the app and the store", a, s, err)
	}
	_, _, err = e.Factory.AppStore(context.Background(), "nope")
	if want := "no such app: nope (create it with `slipway apps create nope`, or pass -a APP)"; err == nil || err.Error() != want {
		t.Errorf("AppStore(nope) = %v, want %q", err, want)
	}
}

// Without -a, the app is the current directory's name, as with Convox.
func TestAppNameFromDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	if name, err := cmdutil.AppName(""); err != nil || name != "shop" {
		t.Errorf("AppName(\"\") = %q, %v; want shop", name, err)
	}
	if name, err := cmdutil.AppName("api"); err != nil || name != "api" {
		t.Errorf("AppName(api) = %q, %v; want api", name, err)
	}
}

// A workflow is started on slipway's queue with a readable ID, the search
// attributes the CLI and UI filter by, the actor and a summary; starting
// an ID that runs is an error, never a silent join.
func TestStart(t *testing.T) {
	e := cmdutiltest.New(t)
	started := e.ExpectWorkflow("build/myapp/BABCDEFGHIJ", nil, nil)
	workflow := func() error { return nil }
	_, err := e.Factory.Start(context.Background(), cmdutil.RunOptions{
		ID: "build/myapp/BABCDEFGHIJ", App: "myapp", Build: "BABCDEFGHIJ", Summary: "build myapp",
	}, workflow, "input")
	if err != nil {
		t.Fatal(err)
	}
	o := started.Options
	if o.TaskQueue != config.TaskQueue || !o.WorkflowExecutionErrorWhenAlreadyStarted || o.StaticSummary != "build myapp" || o.Memo["actor"] != cmdutiltest.Actor {
		t.Errorf("start options %+v", o)
	}
	attrs := o.TypedSearchAttributes
	if attrs.Size() != 2 {
		t.Errorf("%d search attributes, want app and build only (no empty release)", attrs.Size())
	}
	if v, _ := attrs.GetKeyword(temporal.NewSearchAttributeKeyKeyword(config.SearchApp)); v != "myapp" {
		t.Errorf("app attribute %q, want myapp", v)
	}
	if v, _ := attrs.GetKeyword(temporal.NewSearchAttributeKeyKeyword(config.SearchBuild)); v != "BABCDEFGHIJ" {
		t.Errorf("build attribute %q, want BABCDEFGHIJ", v)
	}
	if started.Input != "input" {
		t.Errorf("input %v", started.Input)
	}
}

// RunWorkflow gives the workflow's own message, not Temporal's wrapping.
func TestRunWorkflowError(t *testing.T) {
	e := cmdutiltest.New(t)
	failed := temporal.NewApplicationError("release RX: convox.yml:3: services.web.port: must be a number", "Invalid")
	e.ExpectWorkflow("apps/create/x", nil, failed)
	err := e.Factory.RunWorkflow(context.Background(), cmdutil.RunOptions{ID: "apps/create/x"}, func() error { return nil }, nil, nil)
	if err == nil || err.Error() != "release RX: convox.yml:3: services.web.port: must be a number" {
		t.Errorf("RunWorkflow error %v", err)
	}
	e.Temporal.AssertExpectations(t)
}

func TestStartRefusesWhatTemporalRefuses(t *testing.T) {
	e := cmdutiltest.New(t)
	refused := errors.New("namespace not found")
	e.Temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).Return(nil, refused)
	if _, err := e.Factory.Start(context.Background(), cmdutil.RunOptions{ID: "x"}, func() {}, nil); !errors.Is(err, refused) {
		t.Errorf("Start = %v, want Temporal's refusal", err)
	}
}

// The real Factory says what to do when Temporal cannot be reached.
func TestNewSaysHowToReachTemporal(t *testing.T) {
	t.Setenv("SLIPWAY_HOME", t.TempDir())
	f := cmdutil.New(cmdutil.System())
	defer f.Close()
	f.Overrides = config.Overrides{TemporalAddress: "127.0.0.1:1"} // nothing listens on port 1
	_, err := f.Temporal()
	if err == nil || !strings.HasPrefix(err.Error(), "cannot reach Temporal at 127.0.0.1:1: ") || !strings.Contains(err.Error(), "connection refused") ||
		!strings.HasSuffix(err.Error(), ": run `slipway dev up`, or set TEMPORAL_ADDRESS, and for a server that requires TLS the TEMPORAL_TLS_* variables or a TEMPORAL_PROFILE") {
		t.Errorf("Temporal() = %v", err)
	}
}
