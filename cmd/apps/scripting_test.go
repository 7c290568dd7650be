package apps

import (
	"context"
	"testing"

	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
)

func TestOutputFlag(t *testing.T) {
	e := cmdutiltest.New(t)
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-o", "json"); err != nil || list.Output != "json" {
		t.Errorf("apps -o json: %+v, %v", list, err)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "myapp", "--output", "json"); err != nil || info.Output != "json" {
		t.Errorf("apps info -o json: %+v, %v", info, err)
	}
	ran := false
	if err := e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { ran = true; return nil }), "-o", "csv"); err == nil {
		t.Error("apps -o csv: no error")
	}
	if err := e.Run(NewCmdInfo(e.Factory, func(context.Context, *InfoOptions) error { ran = true; return nil }), "-o", "csv"); err == nil {
		t.Error("apps info -o csv: no error")
	}
	if ran {
		t.Error("ran with a bad --output")
	}
}

// scaled is myapp with a scale set by hand.
func scaled() *records.App {
	a := app("myapp", "running", "RBCDEFGHIJK", "")
	a.SetScale(records.ServiceScale{Service: "web", Count: ptr.To[int32](3), CPU: ptr.To[int32](500)})
	a.SetScale(records.ServiceScale{Service: "worker", Memory: ptr.To[int32](128)})
	return a
}

func TestJSONRuns(t *testing.T) {
	e := cmdutiltest.New(t, scaled(), app("api", "updating", "RCDEFGHIJKL", ""))
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run_json")
	e.Out.Reset()
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run_json")
	// No apps is an empty list, never null.
	none := cmdutiltest.New(t)
	if err := listRun(context.Background(), &ListOptions{Factory: none.Factory, Output: "json"}); err != nil || none.Out.String() != "[]\n" {
		t.Errorf("no apps: %q, %v; want []", none.Out.String(), err)
	}
}

// apps info shows the scale set by hand.
func TestInfoRunScale(t *testing.T) {
	e := cmdutiltest.New(t, scaled())
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "app_info_scale")
}
