package devstack

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/slipway-dev/slipway/config"
)

// temporal is the Temporal dev server with its state in a file, so that a
// restart keeps every workflow.
type temporal struct {
	s *Stack
	// pragmas are the server's SQLite settings (sqlitePragmas).
	pragmas []string
}

// sqlitePragmas: SQLite's defaults sync the disk at every commit, several
// times; a write-ahead log synced at checkpoints still survives the
// server's crash (not the machine's), which is what a local stack needs,
// for about half the server's CPU (BenchmarkTemporalSQLite).
var sqlitePragmas = []string{"journal_mode=wal", "synchronous=normal"}

func (t *temporal) name() string { return "temporal" }

func (t *temporal) address() string {
	if t.s.opts.TemporalAddress != "" {
		return t.s.opts.TemporalAddress
	}
	return fmt.Sprintf("127.0.0.1:%d", t.s.opts.TemporalPort)
}

func (t *temporal) detail() string {
	if t.s.opts.Headless {
		return t.address()
	}
	return fmt.Sprintf("%s  UI http://127.0.0.1:%d", t.address(), t.s.opts.UIPort)
}

func (t *temporal) proc() *process {
	return &process{name: "temporal", dir: t.s.dir, bin: filepath.Join(t.s.opts.Tools, "temporal"), tied: t.s.opts.Ephemeral}
}

func (t *temporal) running(ctx context.Context) bool {
	return t.proc().pid() != 0 && t.ping(ctx) == nil
}

func (t *temporal) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: t.address(), Logger: quietLogger()})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

func (t *temporal) start(ctx context.Context) error {
	p := t.proc()
	if _, err := t.s.tool("temporal"); err != nil {
		return err
	}
	if err := portFree(t.s.opts.TemporalPort); err != nil {
		return err
	}
	p.args = []string{"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", fmt.Sprint(t.s.opts.TemporalPort),
		"--db-filename", filepath.Join(t.s.dir, "temporal.db"),
		"--log-level", "warn",
		// A timer (an activity's retry backoff, a heartbeat timeout) fires
		// no sooner than this after it is set; the default second is for
		// clocks skewed between a cluster's hosts, which one process has
		// not. It is most of how long a dead worker's watch takes to move.
		"--dynamic-config-value", `history.timerProcessorMaxTimeShift="100ms"`,
	}
	if t.s.opts.Headless {
		p.args = append(p.args, "--headless")
	} else {
		// The UI shows payloads through the stack's codec server, since
		// the stack's clients and workers encrypt them.
		p.args = append(p.args, "--ui-port", fmt.Sprint(t.s.opts.UIPort), "--ui-codec-endpoint", t.s.codec.endpoint())
	}
	for _, sa := range config.SearchAttributes {
		p.args = append(p.args, "--search-attribute", sa+"=Keyword")
	}
	for _, pragma := range t.pragmas {
		p.args = append(p.args, "--sqlite-pragma", pragma)
	}
	if err := p.start(); err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, p, t.ping)
}

func (t *temporal) stop(context.Context) error { return t.proc().stop(15 * time.Second) }
