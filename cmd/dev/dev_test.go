package dev

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/internal/golden"
)

// stackEnv points the stack at a temporary home and tools folder and
// clears every other variable that moves it; it returns the home.
func stackEnv(t *testing.T) (home, tools string) {
	t.Helper()
	home, tools = t.TempDir(), t.TempDir()
	t.Setenv("SLIPWAY_HOME", home)
	t.Setenv("SLIPWAY_TOOLS", tools)
	for _, v := range []string{"SLIPWAY_TEMPORAL_PORT", "SLIPWAY_UI_PORT", "SLIPWAY_REGISTRY_PORT", "SLIPWAY_DEV_NODES", "SLIPWAY_DEV_PODS_PER_NODE"} {
		t.Setenv(v, "")
	}
	return home, tools
}

// assertGolden compares e.Out with a golden file, the temporary home
// written as $SLIPWAY_HOME.
func assertGolden(t *testing.T, e *cmdutiltest.Env, home, name string) {
	t.Helper()
	out := []byte(strings.ReplaceAll(e.Out.String(), home, "$SLIPWAY_HOME"))
	golden.NoTrailingSpace(t, out)
	golden.Assert(t, name+".golden", out)
}

func TestUpFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	for args, want := range map[string][2]int{
		"":                              {0, 0},
		"--nodes 4":                     {4, 0},
		"--nodes 4 --pods-per-node 500": {4, 500},
		"--pods-per-node=1":             {0, 1},
		"--nodes 2 --pods-per-node 250": {2, 250}, // the defaults, given: they win over the environment
	} {
		var got *UpOptions
		cmd := NewCmdUp(e.Factory, func(_ context.Context, o *UpOptions) error { got = o; return nil })
		if err := e.Run(cmd, strings.Fields(args)...); err != nil {
			t.Fatalf("up %s: %v", args, err)
		}
		if got.Nodes != want[0] || got.PodsPerNode != want[1] || got.Start == nil {
			t.Errorf("up %s: nodes %d, pods per node %d, start %v; want %v and the real starter", args, got.Nodes, got.PodsPerNode, got.Start != nil, want)
		}
	}
	ran := false
	never := func(context.Context, *UpOptions) error { ran = true; return nil }
	for args, want := range map[string]string{
		"--nodes 0":                   "--nodes 0: give a whole number of at least 1",
		"--pods-per-node -3":          "--pods-per-node -3: give a whole number of at least 1",
		"--nodes 2 --pods-per-node 0": "--pods-per-node 0: give a whole number of at least 1",
		"--nodes many":                `invalid argument "many" for "--nodes" flag: strconv.ParseInt: parsing "many": invalid syntax`,
		"now":                         `unknown command "now" for "up"`,
	} {
		err := e.Run(NewCmdUp(e.Factory, never), strings.Fields(args)...)
		if err == nil || err.Error() != want {
			t.Errorf("up %s: %v, want %q", args, err, want)
		}
	}
	if ran {
		t.Error("up ran with a bad command line")
	}
}

// down, status and reset take no arguments.
func TestNoArgFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	calls := 0
	for _, cmd := range []func(bool) error{
		func(ok bool) error {
			return e.Run(NewCmdDown(e.Factory, func(context.Context, *DownOptions) error { calls++; return nil }), args(ok)...)
		},
		func(ok bool) error {
			return e.Run(NewCmdStatus(e.Factory, func(context.Context, *StatusOptions) error { calls++; return nil }), args(ok)...)
		},
		func(ok bool) error {
			return e.Run(NewCmdReset(e.Factory, func(context.Context, *ResetOptions) error { calls++; return nil }), args(ok)...)
		},
	} {
		if err := cmd(true); err != nil {
			t.Error(err)
		}
		if err := cmd(false); err == nil {
			t.Error("an extra argument was taken")
		}
	}
	if calls != 3 {
		t.Errorf("%d runs, want 3 (one per good command line)", calls)
	}
}

// args is a good (none) or bad command line. Not nil: cobra reads
// os.Args for a nil one.
func args(ok bool) []string {
	if ok {
		return []string{}
	}
	return []string{"extra"}
}

// up places the stack from the environment and its flags, starts it, and
// says where its UI and kubeconfig are.
func TestUpRun(t *testing.T) {
	home, tools := stackEnv(t)
	t.Setenv("SLIPWAY_UI_PORT", "9233")
	t.Setenv("SLIPWAY_DEV_NODES", "3")
	t.Setenv("SLIPWAY_DEV_PODS_PER_NODE", "100")
	e := cmdutiltest.New(t)
	var got devstack.Options
	start := func(_ context.Context, o devstack.Options) (*devstack.Stack, error) {
		got = o
		return devstack.New(o), nil
	}
	if err := upRun(context.Background(), &UpOptions{Factory: e.Factory, Nodes: 4, Start: start}); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, e, home, "up")
	exe, _ := os.Executable()
	if got.Home != home || got.Tools != tools || got.Slipway != exe || got.Out != e.Factory.IO.Out || got.AfterKubernetes == nil {
		t.Errorf("stack placed at home %q, tools %q, slipway %q, out %v, CRD hook %v; want %q, %q, %q, the command's output and the hook",
			got.Home, got.Tools, got.Slipway, got.Out, got.AfterKubernetes != nil, home, tools, exe)
	}
	if got.UIPort != 9233 || got.TemporalPort != 0 || got.RegistryPort != 0 {
		t.Errorf("ports %d/%d/%d, want the UI's from the environment and the others' defaults", got.TemporalPort, got.UIPort, got.RegistryPort)
	}
	if got.Nodes != 4 || got.PodsPerNode != 100 {
		t.Errorf("%d nodes × %d pods, want the flag's 4 over the environment's 3, and the environment's 100", got.Nodes, got.PodsPerNode)
	}
}

// A bad environment fails with one line before anything starts; a stack
// that does not come up fails with its error and no "up" line.
func TestUpRunRefuses(t *testing.T) {
	for env, want := range map[[2]string]string{
		{"SLIPWAY_DEV_NODES", "0"}:          `SLIPWAY_DEV_NODES="0": give a whole number of at least 1`,
		{"SLIPWAY_DEV_NODES", "two"}:        `SLIPWAY_DEV_NODES="two": give a whole number of at least 1`,
		{"SLIPWAY_DEV_PODS_PER_NODE", "-1"}: `SLIPWAY_DEV_PODS_PER_NODE="-1": give a whole number of at least 1`,
		{"SLIPWAY_TEMPORAL_PORT", "http"}:   `SLIPWAY_TEMPORAL_PORT="http" is not a port number`,
		{"SLIPWAY_REGISTRY_PORT", "5k"}:     `SLIPWAY_REGISTRY_PORT="5k" is not a port number`,
	} {
		stackEnv(t)
		t.Setenv(env[0], env[1])
		e := cmdutiltest.New(t)
		start := func(context.Context, devstack.Options) (*devstack.Stack, error) {
			t.Errorf("%s=%s: the stack was started", env[0], env[1])
			return nil, errors.New("no")
		}
		err := upRun(context.Background(), &UpOptions{Factory: e.Factory, Start: start})
		if err == nil || err.Error() != want {
			t.Errorf("%s=%s: %v, want %q", env[0], env[1], err, want)
		}
		if e.Out.Len() != 0 {
			t.Errorf("%s=%s: printed %q", env[0], env[1], e.Out)
		}
	}

	stackEnv(t)
	e := cmdutiltest.New(t)
	failed := errors.New("kubernetes: not ready after 2m0s")
	err := upRun(context.Background(), &UpOptions{Factory: e.Factory, Start: func(ctx context.Context, o devstack.Options) (*devstack.Stack, error) {
		return devstack.New(o), failed
	}})
	if !errors.Is(err, failed) || strings.Contains(e.Out.String(), "Local stack up") {
		t.Errorf("a stack that did not come up: %v, output %q", err, e.Out)
	}
}

func TestToolsDir(t *testing.T) {
	t.Setenv("SLIPWAY_TOOLS", "")
	checkout := t.TempDir()
	tools := filepath.Join(checkout, ".tools", "bin")
	if err := os.MkdirAll(tools, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(checkout, "bin", "slipway")
	if d, err := toolsDir(exe); err != nil || d != tools {
		t.Errorf("tools of %s: %q, %v; want %q", exe, d, err, tools)
	}
	// A slipway linked from elsewhere finds the tools of its checkout.
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "slipway")
	if err := os.Symlink(exe, link); err != nil {
		t.Fatal(err)
	}
	if d, err := toolsDir(link); err != nil || d != tools {
		t.Errorf("tools of a link to %s: %q, %v; want %q", exe, d, err, tools)
	}
	elsewhere := filepath.Join(t.TempDir(), "bin", "slipway")
	want := "the local stack's tools are not in " + filepath.Join(filepath.Dir(filepath.Dir(elsewhere)), ".tools", "bin") + ": run `make tools` in slipway's checkout, or set SLIPWAY_TOOLS"
	if _, err := toolsDir(elsewhere); err == nil || err.Error() != want {
		t.Errorf("tools of a lone slipway: %v, want %q", err, want)
	}
	t.Setenv("SLIPWAY_TOOLS", "/opt/slipway-tools")
	if d, err := toolsDir(elsewhere); err != nil || d != "/opt/slipway-tools" {
		t.Errorf("with SLIPWAY_TOOLS: %q, %v", d, err)
	}
}

func TestStatusTable(t *testing.T) {
	e := cmdutiltest.New(t)
	err := StatusTable([]devstack.Status{
		{Name: "temporal", Running: true, Detail: "127.0.0.1:7233  UI http://127.0.0.1:8233"},
		{Name: "kubernetes", Running: true, Detail: "2 kwok nodes × 250 pods  KUBECONFIG=/home/me/.slipway/dev/kwok/clusters/slipway/kubeconfig.yaml"},
		{Name: "registry", Running: true, Detail: "127.0.0.1:5000"},
		{Name: "codec", Running: true, Detail: "http://127.0.0.1:8234  key /home/me/.slipway/dev/codec.keys"},
		{Name: "worker", Running: false, Detail: "log /home/me/.slipway/dev/worker.log"},
	}).Print(e.Out)
	if err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "status_table")
}

// status on a stack that is not running reports each part stopped, with
// where it would be (the environment's size included), and fails.
func TestStatusRun(t *testing.T) {
	home, _ := stackEnv(t)
	t.Setenv("SLIPWAY_DEV_NODES", "4")
	saveStack(t, home)
	e := cmdutiltest.New(t)
	err := statusRun(context.Background(), &StatusOptions{Factory: e.Factory})
	if want := "the local stack is not fully up: run `slipway dev up`"; err == nil || err.Error() != want {
		t.Errorf("status of a stopped stack: %v, want %q", err, want)
	}
	assertGolden(t, e, home, "status_stopped")
}

// saveStack writes the stack's state as `dev up` leaves it, with the pid
// file of a worker that is gone.
func saveStack(t *testing.T, home string) {
	t.Helper()
	o := devstack.Options{Home: home, Tools: t.TempDir()}
	if err := devstack.New(o).Settings().Save(home); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "dev", "worker.pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// down stops each part, last started first, drops the pid file of a
// process that is gone, and keeps the state.
func TestDownRun(t *testing.T) {
	home, _ := stackEnv(t)
	saveStack(t, home)
	e := cmdutiltest.New(t)
	if err := downRun(context.Background(), &DownOptions{Factory: e.Factory}); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, e, home, "down")
	if st, err := config.LoadStack(home); err != nil || st == nil {
		t.Errorf("down lost the stack's state: %v, %v", st, err)
	}
	if _, err := os.Stat(filepath.Join(home, "dev", "worker.pid")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the gone worker's pid file stayed: %v", err)
	}
}

// A cluster down cannot stop without its tools says so, stops the rest,
// and fails; reset then deletes nothing.
func TestDownRunWithoutTools(t *testing.T) {
	home, tools := stackEnv(t)
	saveStack(t, home)
	if err := os.MkdirAll(filepath.Join(home, "dev", "kwok", "clusters", "slipway"), 0o755); err != nil {
		t.Fatal(err)
	}
	want := "kwokctl is not built in " + tools + ": run `make tools`"
	e := cmdutiltest.New(t)
	if err := downRun(context.Background(), &DownOptions{Factory: e.Factory}); err == nil || err.Error() != want {
		t.Errorf("down without kwokctl: %v, want %q", err, want)
	}
	out := e.Out.String()
	if !strings.Contains(out, "kubernetes  ERROR: "+want+"\n") || !strings.HasSuffix(out, "temporal    down\n") {
		t.Errorf("down without kwokctl printed\n%s\nwant the cluster's error, and temporal stopped after it", out)
	}
	e.Out.Reset()
	if err := resetRun(context.Background(), &ResetOptions{Factory: e.Factory}); err == nil || err.Error() != want {
		t.Errorf("reset without kwokctl: %v, want %q", err, want)
	}
	if st, err := config.LoadStack(home); err != nil || st == nil {
		t.Errorf("a failed reset deleted the stack's state: %v, %v", st, err)
	}
}

// reset stops the stack and deletes its folder.
func TestResetRun(t *testing.T) {
	home, _ := stackEnv(t)
	saveStack(t, home)
	e := cmdutiltest.New(t)
	if err := resetRun(context.Background(), &ResetOptions{Factory: e.Factory}); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, e, home, "reset")
	if _, err := os.Stat(filepath.Join(home, "dev")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reset left %s: %v", filepath.Join(home, "dev"), err)
	}
}
