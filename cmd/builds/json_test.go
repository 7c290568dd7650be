package builds

import (
	"context"
	"testing"
)

func TestOutputFlags(t *testing.T) {
	e := newEnv(t)
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-l", "2", "-o", "json"); err != nil || list.Limit != 2 || list.Output != "json" {
		t.Errorf("builds -l 2 -o json: %+v, %v", list, err)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "BABCDEFGHIJ", "-o", "json"); err != nil || info.Output != "json" {
		t.Errorf("builds info -o json: %+v, %v", info, err)
	}
	if err := e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { t.Error("list ran"); return nil }), "-o", "xml"); err == nil {
		t.Error("builds -o xml: no error")
	}
	if err := e.Run(NewCmdInfo(e.Factory, func(context.Context, *InfoOptions) error { t.Error("info ran"); return nil }), "B", "-o", "xml"); err == nil {
		t.Error("builds info -o xml: no error")
	}
}

func TestJSONRuns(t *testing.T) {
	e := newEnv(t)
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Limit: 2, Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run_json")
	e.Out.Reset()
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: "BABCDEFGHIJ", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run_json")
}
