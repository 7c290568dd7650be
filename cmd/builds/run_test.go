package builds

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
)

// newEnv is a Factory whose records hold myapp and its builds(), at now.
func newEnv(t *testing.T) *cmdutiltest.Env {
	seeds := []any{recordstest.App("myapp")}
	for _, b := range builds() {
		b.TypeMeta = recordstest.TypeMeta("Build")
		seeds = append(seeds, b)
	}
	e := cmdutiltest.New(t, seeds...)
	e.Factory.Now = func() time.Time { return now }
	return e
}

// Flags and arguments land in Options; a bad command line fails before
// anything runs.
func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var list *ListOptions
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), "-a", "myapp", "--limit", "3"); err != nil {
		t.Fatal(err)
	}
	if list.App != "myapp" || list.Limit != 3 {
		t.Errorf("list options %+v", list)
	}
	// A nil argument list would make cobra read os.Args.
	if err := e.Run(NewCmdList(e.Factory, func(_ context.Context, o *ListOptions) error { list = o; return nil }), []string{}...); err != nil || list.Limit != 10 {
		t.Errorf("list defaults: %v, limit %d, want 10", err, list.Limit)
	}
	var info *InfoOptions
	if err := e.Run(NewCmdInfo(e.Factory, func(_ context.Context, o *InfoOptions) error { info = o; return nil }), "BABCDEFGHIJ", "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if info.ID != "BABCDEFGHIJ" || info.App != "myapp" {
		t.Errorf("info options %+v", info)
	}
	var logs *LogsOptions
	if err := e.Run(NewCmdLogs(e.Factory, func(_ context.Context, o *LogsOptions) error { logs = o; return nil }), "BABCDEFGHIJ", "-a", "myapp"); err != nil {
		t.Fatal(err)
	}
	if logs.ID != "BABCDEFGHIJ" || logs.App != "myapp" {
		t.Errorf("logs options %+v", logs)
	}
	for name, run := range map[string]func() error{
		"list with an argument": func() error {
			return e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { t.Error("list ran"); return nil }), "BABCDEFGHIJ")
		},
		"list --limit x": func() error {
			return e.Run(NewCmdList(e.Factory, func(context.Context, *ListOptions) error { t.Error("list ran"); return nil }), "--limit", "x")
		},
		"info without ID": func() error {
			return e.Run(NewCmdInfo(e.Factory, func(context.Context, *InfoOptions) error { t.Error("info ran"); return nil }), []string{}...)
		},
		"logs of two": func() error {
			return e.Run(NewCmdLogs(e.Factory, func(context.Context, *LogsOptions) error { t.Error("logs ran"); return nil }), "A", "B")
		},
	} {
		if err := run(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestListRun(t *testing.T) {
	e := newEnv(t)
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Limit: 10}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "builds_table") // newest first, as the table test has them
	e = newEnv(t)
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Limit: 2}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "list_run_limit")
	err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "nope"})
	if want := "no such app: nope (create it with `slipway apps create nope`, or pass -a APP)"; err == nil || err.Error() != want {
		t.Errorf("builds of a missing app: %v, want %q", err, want)
	}
}

func TestInfoRun(t *testing.T) {
	e := newEnv(t)
	if err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: "BABCDEFGHIJ"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "builds_info_complete")
	err := infoRun(context.Background(), &InfoOptions{Factory: e.Factory, App: "myapp", ID: "BNOPENOPENO"})
	if want := "no such build: BNOPENOPENO"; err == nil || err.Error() != want {
		t.Errorf("info of a missing build: %v, want %q", err, want)
	}
}

func TestLogsRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.ShareBlobs(t)
	const log = "web: FROM scratch\nweb: pushed\n"
	if err := e.Bucket.WriteAll(ctx, "apps/myapp/builds/BABCDEFGHIJ/log", []byte(log), nil); err != nil {
		t.Fatal(err)
	}
	withLog := func(id, key string) {
		b, err := e.Store.MutateBuild(ctx, "myapp", id, func(b *records.Build) { b.Status.Logs = key })
		if err != nil || b.Status.Logs != key {
			t.Fatalf("seed the log of %s: %v", id, err)
		}
	}
	withLog("BABCDEFGHIJ", "apps/myapp/builds/BABCDEFGHIJ/log")
	withLog("BBCDEFGHIJK", "apps/myapp/builds/BBCDEFGHIJK/log") // recorded, never written
	if err := logsRun(ctx, &LogsOptions{Factory: e.Factory, App: "myapp", ID: "BABCDEFGHIJ"}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != log {
		t.Errorf("printed %q, want the log as written", got)
	}
	for id, want := range map[string]string{
		"BDEFGHIJKLM": "build BDEFGHIJKLM has no log yet",
		"BBCDEFGHIJK": "log of build BBCDEFGHIJK: ",
		"BNOPENOPENO": "no such build: BNOPENOPENO",
	} {
		err := logsRun(ctx, &LogsOptions{Factory: e.Factory, App: "myapp", ID: id})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("logs of %s: %v, want %q", id, err, want)
		}
	}
}
