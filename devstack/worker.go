package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/slipway-dev/slipway/config"
)

// worker is one `slipway worker` process with its log in the stack folder.
type worker struct{ s *Stack }

func (w *worker) name() string   { return "worker" }
func (w *worker) detail() string { return "log " + w.proc().logFile() }

func (w *worker) proc() *process {
	return &process{
		name: "worker", dir: w.s.dir, bin: w.s.opts.Slipway, args: []string{"worker"},
		env:  []string{"SLIPWAY_HOME=" + w.s.opts.Home},
		tied: w.s.opts.Ephemeral,
	}
}

func (w *worker) running(ctx context.Context) bool {
	return w.proc().pid() != 0 && !w.stale() && w.polling(ctx) == nil
}

// stale is true when the worker runs a slipway binary that has since been
// rebuilt (its executable is gone from disk): `dev up` then restarts it, so
// a new build's workflows and activities are what runs.
func (w *worker) stale() bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", w.proc().pid()))
	return err == nil && strings.HasSuffix(exe, " (deleted)")
}

// polling is true once Temporal sees this very process (the SDK's identity
// starts with the pid) polling slipway's task queue: a live worker, not a
// poller that Temporal still remembers from one that died.
func (w *worker) polling(ctx context.Context) error {
	pid := w.proc().pid()
	if pid == 0 {
		return fmt.Errorf("not running")
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: w.s.temporal.address(), Logger: quietLogger()})
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.DescribeTaskQueue(ctx, config.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return err
	}
	for _, p := range resp.GetPollers() {
		if strings.HasPrefix(p.GetIdentity(), fmt.Sprintf("%d@", pid)) {
			return nil
		}
	}
	return fmt.Errorf("not polling task queue %s yet", config.TaskQueue)
}

func (w *worker) start(ctx context.Context) error {
	p := w.proc()
	if err := p.stop(10 * time.Second); err != nil { // a stale one
		return err
	}
	if err := p.start(); err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, p, w.polling)
}

func (w *worker) stop(context.Context) error { return w.proc().stop(10 * time.Second) }

// quietLogger keeps the SDK from logging every health probe.
func quietLogger() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
