package promotions

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/mocks"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

func TestOutputFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-o", "json"); err != nil || list.Output != "json" {
		t.Errorf("promotions -o json: %+v, %v", list, err)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "PABCDEFGHIJ", "-o", "json"); err != nil || info.Output != "json" {
		t.Errorf("promotions info -o json: %+v, %v", info, err)
	}
	if err := e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { t.Error("list ran"); return nil }), "-o", "x"); err == nil {
		t.Error("promotions -o x: no error")
	}
	if err := e.Run(NewCmdInfo(e.Factory, func(context.Context, *InfoOptions) error { t.Error("info ran"); return nil }), "-o", "x"); err == nil {
		t.Error("promotions info -o x: no error")
	}
}

func TestJSONRuns(t *testing.T) {
	ctx := context.Background()
	done := record(promotion("PBCDEFGHIJK", "RBCDEFGHIJK", "", model.ResultActive, "", 640*time.Millisecond))
	done.Spec.Actor = "alice@example.com"
	done.Status.Services = []records.ServiceProgress{{Name: "web", Desired: 2, Updated: 2, Ready: 2, Available: 2, Done: true}}
	done.Status.Steps = []records.Step{{Time: metav1.NewTime(cmdutiltest.Now), Message: "applying RBCDEFGHIJK"}}
	inflight := record(promotion("PCDEFGHIJKL", "RCDEFGHIJKL", "RBCDEFGHIJK", "", "", 0))
	e := cmdutiltest.New(t, recordstest.App("myapp"), done, inflight)
	if err := listRun(ctx, &ListOptions{Factory: e.Factory, App: "myapp", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run_json")

	// In flight: the live state wins, as in the table.
	e.Out.Reset()
	running(e, "RCDEFGHIJKL", []records.ServiceProgress{{Name: "web", Desired: 2, Updated: 1}})
	v := &mocks.Value{}
	v.On("Get", mock.Anything).Run(func(args mock.Arguments) {
		*args.Get(0).(*workflows.PromotionState) = workflows.PromotionState{Promotion: "PCDEFGHIJKL", Phase: model.PhaseRollingOut, Paused: true, Notice: "cannot resume: not paused"}
	}).Return(nil)
	e.Temporal.On("QueryWorkflow", mock.Anything, "promote/myapp", "", workflows.QueryState).Return(v, nil)
	if err := infoRun(ctx, &InfoOptions{Factory: e.Factory, App: "myapp", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run_live_json")
	e.Out.Reset()
	if err := infoRun(ctx, &InfoOptions{Factory: e.Factory, App: "myapp", ID: "PBCDEFGHIJK", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "info_run_done_json")
}
