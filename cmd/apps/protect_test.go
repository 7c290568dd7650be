package apps

import (
	"context"
	"testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/workflows"
)

// protect and unprotect each run ProtectApp with what they set; a
// missing app is refused before any workflow starts.
func TestProtectRun(t *testing.T) {
	for _, protected := range []bool{true, false} {
		e := cmdutiltest.New(t, app("myapp", "running", "RBCDEFGHIJK", ""))
		started := e.ExpectWorkflow("apps/protect/myapp", workflows.ProtectResult{}, nil)
		var opts *ProtectOptions
		cmd := NewCmdProtect(e.Factory, func(_ context.Context, o *ProtectOptions) error { opts = o; return nil }, protected)
		if err := e.Run(cmd, "-a", "myapp"); err != nil {
			t.Fatal(err)
		}
		if err := protectRun(context.Background(), opts); err != nil {
			t.Fatal(err)
		}
		want := map[bool]string{true: "Protecting myapp... OK\n", false: "Unprotecting myapp... OK\n"}[protected]
		if got := e.Out.String(); got != want {
			t.Errorf("output %q, want %q", got, want)
		}
		if started.Workflow != "ProtectApp" || started.Input != (workflows.ProtectInput{App: "myapp", Protected: protected}) {
			t.Errorf("started %s(%+v), want ProtectApp(myapp, %v)", started.Workflow, started.Input, protected)
		}
		e.Temporal.AssertExpectations(t)
	}

	e := cmdutiltest.New(t)
	err := protectRun(context.Background(), &ProtectOptions{Factory: e.Factory, App: "nope", Protected: true})
	if want := "no such app: nope (create it with `slipway apps create nope`, or pass -a APP)"; err == nil || err.Error() != want {
		t.Errorf("protect of a missing app: %v, want %q", err, want)
	}
	if err := e.Run(NewCmdProtect(e.Factory, nil, true), "extra"); err == nil {
		t.Error("protect with an argument: no error")
	}
}
