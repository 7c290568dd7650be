package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang/mock/gomock"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/operatorservicemock/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	corev1 "k8s.io/api/core/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/incluster"
	"github.com/slipway-dev/slipway/temporalsetup"
	"github.com/slipway-dev/slipway/worker"
)

// attributes makes the Factory's Temporal answer ListSearchAttributes in
// namespace default, once, with have (or err).
func attributes(t *testing.T, e *cmdutiltest.Env, have map[string]enumspb.IndexedValueType, err error) {
	ops := operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
	call := ops.EXPECT().ListSearchAttributes(gomock.Any(), &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
	if err != nil {
		call.Return(nil, err)
	} else {
		call.Return(&operatorservice.ListSearchAttributesResponse{CustomAttributes: have}, nil)
	}
	e.Temporal.On("OperatorService").Return(ops)
}

func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	for args, want := range map[string]slog.Level{
		"":                  slog.LevelInfo,
		"--log-level debug": slog.LevelDebug,
		"--log-level=WARN":  slog.LevelWarn,
		"--log-level error": slog.LevelError,
	} {
		var got *WorkerOptions
		cmd := NewCmdWorker(e.Factory, func(_ context.Context, o *WorkerOptions) error { got = o; return nil })
		if err := e.Run(cmd, strings.Fields(args)...); err != nil {
			t.Fatalf("worker %s: %v", args, err)
		}
		if got.Level != want || got.Run == nil {
			t.Errorf("worker %s: level %v, run %v; want %v and the real worker", args, got.Level, got.Run != nil, want)
		}
	}
	ran := false
	never := func(context.Context, *WorkerOptions) error { ran = true; return nil }
	for _, args := range [][]string{{"--log-level", "loud"}, {"extra"}, {"--nope"}} {
		if err := e.Run(NewCmdWorker(e.Factory, never), args...); err == nil {
			t.Errorf("worker %q: no error", args)
		}
	}
	if ran {
		t.Error("worker ran with a bad command line")
	}
}

// --listen and --stop-timeout: no server and 30 s unless asked; a value
// that cannot work is refused before the worker runs, in one line.
func TestFlagsListenStopTimeout(t *testing.T) {
	e := cmdutiltest.New(t)
	for _, tc := range []struct {
		args    string
		listen  string
		stop    time.Duration
		profile bool
	}{
		{"", "", 30 * time.Second, false},
		{"--listen :8080 --stop-timeout 30s", ":8080", 30 * time.Second, false},
		{"--listen 127.0.0.1:0 --stop-timeout 1m30s", "127.0.0.1:0", 90 * time.Second, false},
		{"--listen=[::1]:9090 --stop-timeout=0", "[::1]:9090", 0, false},
		{"--listen 127.0.0.1:9090 --pprof", "127.0.0.1:9090", 30 * time.Second, true},
	} {
		var got *WorkerOptions
		cmd := NewCmdWorker(e.Factory, func(_ context.Context, o *WorkerOptions) error { got = o; return nil })
		if err := e.Run(cmd, strings.Fields(tc.args)...); err != nil {
			t.Fatalf("worker %s: %v", tc.args, err)
		}
		if got.Listen != tc.listen || got.StopTimeout != tc.stop || got.Profile != tc.profile {
			t.Errorf("worker %s: listen %q, stop timeout %s, pprof %v; want %q, %s and %v", tc.args, got.Listen, got.StopTimeout, got.Profile, tc.listen, tc.stop, tc.profile)
		}
	}
	for args, want := range map[string]string{
		"--stop-timeout -5s":  "--stop-timeout -5s: must not be negative (0 cancels running activities at once)",
		"--listen 8080":       "--listen 8080: want HOST:PORT or :PORT, e.g. :8080",
		"--listen localhost:": "--listen localhost:: want HOST:PORT or :PORT, e.g. :8080",
		"--pprof":             "--pprof serves on the --listen address: add --listen HOST:PORT, e.g. --listen 127.0.0.1:9090",
		"--stop-timeout soon": `invalid argument "soon" for "--stop-timeout" flag: time: invalid duration "soon"`,
	} {
		ran := false
		err := e.Run(NewCmdWorker(e.Factory, func(context.Context, *WorkerOptions) error { ran = true; return nil }), strings.Fields(args)...)
		if err == nil || err.Error() != want {
			t.Errorf("worker %s: %v, want %q", args, err, want)
		}
		if ran {
			t.Errorf("worker %s ran", args)
		}
	}
}

// The worker runs with the resolved settings and logs to standard error
// at the level asked for; its error is the command's.
func TestWorkerRun(t *testing.T) {
	e := cmdutiltest.New(t)
	attributes(t, e, temporalsetup.Attributes(), nil)
	stopped := errors.New("connect to Temporal at 127.0.0.1:7233: refused")
	var got *config.Settings
	var gotRun worker.RunOptions
	run := func(ctx context.Context, s *config.Settings, l *slog.Logger, o worker.RunOptions) error {
		got, gotRun = s, o
		l.Debug("hidden")
		l.Warn("polling", "queue", "slipway")
		return stopped
	}
	err := workerRun(context.Background(), &WorkerOptions{Factory: e.Factory, Level: slog.LevelWarn, Listen: ":8080", StopTimeout: 7 * time.Second, Profile: true, Run: run})
	if !errors.Is(err, stopped) {
		t.Errorf("worker: %v, want the worker's error", err)
	}
	if got != e.Settings {
		t.Errorf("worker ran with %+v, want the Factory's settings", got)
	}
	if want := (worker.RunOptions{Listen: ":8080", StopTimeout: 7 * time.Second, Profile: true}); gotRun != want {
		t.Errorf("worker ran with %+v, want %+v", gotRun, want)
	}
	if log := e.ErrOut.String(); !strings.Contains(log, `"level":"WARN","msg":"polling","queue":"slipway"}`) || strings.Contains(log, "hidden") {
		t.Errorf("worker log %q: want the warning as a JSON line and not the debug line", log)
	}
	if e.Out.Len() != 0 {
		t.Errorf("worker printed %q on standard output", e.Out)
	}

	e.Factory.Settings = func() (*config.Settings, error) { return nil, errors.New("no Temporal profile named prod") }
	err = workerRun(context.Background(), &WorkerOptions{Factory: e.Factory, Run: func(context.Context, *config.Settings, *slog.Logger, worker.RunOptions) error {
		t.Error("the worker ran without settings")
		return nil
	}})
	if err == nil || err.Error() != "no Temporal profile named prod" {
		t.Errorf("worker without settings: %v", err)
	}
}

// A namespace without slipway's search attributes stops the worker before
// it polls, saying what to run.
func TestWorkerRunChecksSearchAttributes(t *testing.T) {
	e := cmdutiltest.New(t)
	attributes(t, e, map[string]enumspb.IndexedValueType{config.SearchApp: enumspb.INDEXED_VALUE_TYPE_KEYWORD}, nil)
	err := workerRun(context.Background(), &WorkerOptions{Factory: e.Factory, Run: func(context.Context, *config.Settings, *slog.Logger, worker.RunOptions) error {
		t.Error("the worker ran without the search attributes")
		return nil
	}})
	want := "Temporal namespace default lacks slipway's search attributes SlipwayRelease, SlipwayBuild: run `slipway system install`"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("worker on a bare namespace: %v, want %q", err, want)
	}

	// Unreachable Temporal: the Factory's error, and no worker.
	e = cmdutiltest.New(t)
	e.Factory.Temporal = func() (client.Client, error) { return nil, errors.New("cannot reach Temporal at 127.0.0.1:7233") }
	err = workerRun(context.Background(), &WorkerOptions{Factory: e.Factory, Run: func(context.Context, *config.Settings, *slog.Logger, worker.RunOptions) error {
		t.Error("the worker ran without Temporal")
		return nil
	}})
	if err == nil || err.Error() != "cannot reach Temporal at 127.0.0.1:7233" {
		t.Errorf("worker without Temporal: %v", err)
	}
}

// Credentials that may not list search attributes (not an admin's) only
// cost the check: the worker starts, and logs why it could not check.
func TestWorkerRunCheckRefused(t *testing.T) {
	e := cmdutiltest.New(t)
	attributes(t, e, nil, serviceerror.NewPermissionDenied("Request unauthorized.", ""))
	ran := false
	err := workerRun(context.Background(), &WorkerOptions{Factory: e.Factory, Run: func(context.Context, *config.Settings, *slog.Logger, worker.RunOptions) error {
		ran = true
		return nil
	}})
	if err != nil || !ran {
		t.Fatalf("worker with a refused check: ran %v, %v", ran, err)
	}
	if log := e.ErrOut.String(); !strings.Contains(log, `"level":"WARN","msg":"cannot check slipway's search attributes; starting anyway"`) || !strings.Contains(log, "ListSearchAttributes") {
		t.Errorf("worker log %q: want the warning naming the refused call", log)
	}
}

// The worker Deployment `system install` writes runs a command line this
// command accepts, serving on its container port and stopping well within
// the pod's grace period.
func TestInClusterDeploymentArgs(t *testing.T) {
	e := cmdutiltest.New(t)
	d := incluster.Deployment(incluster.Options{Rack: "slipway", Image: "registry.test/slipway/slipway:1", Replicas: 2}, &corev1.Secret{})
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "worker" {
		t.Fatalf("the Deployment runs %q, want the worker command", c.Args)
	}
	var got *WorkerOptions
	cmd := NewCmdWorker(e.Factory, func(_ context.Context, o *WorkerOptions) error { got = o; return nil })
	if err := e.Run(cmd, c.Args[1:]...); err != nil {
		t.Fatalf("worker %q: %v", c.Args[1:], err)
	}
	if want := fmt.Sprintf(":%d", c.Ports[0].ContainerPort); got.Listen != want {
		t.Errorf("worker listens on %q, want the container port %s", got.Listen, want)
	}
	if grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second; got.StopTimeout <= 0 || got.StopTimeout >= grace {
		t.Errorf("stop timeout %s, want between 0 and the pod's grace period %s", got.StopTimeout, grace)
	}
}
