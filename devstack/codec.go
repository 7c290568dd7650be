package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/codec"
)

// codecServer is `slipway codec-server` for the stack's Temporal UI. The
// stack also makes the key it serves, on the first `dev up`: from then on
// every client and worker that finds the stack encrypts what it hands
// Temporal.
type codecServer struct{ s *Stack }

func (c *codecServer) name() string     { return "codec" }
func (c *codecServer) keysFile() string { return filepath.Join(c.s.dir, "codec.keys") }
func (c *codecServer) portFile() string { return filepath.Join(c.s.dir, "codec.port") }
func (c *codecServer) endpoint() string { return fmt.Sprintf("http://127.0.0.1:%d", c.port()) }
func (c *codecServer) detail() string   { return c.endpoint() + "  key " + c.keysFile() }

// port is the one chosen on the first `dev up` (see prepare and start), so
// the UI, which learns it when Temporal starts, keeps finding it; until
// then the port after the UI's.
func (c *codecServer) port() int {
	p, _ := c.savedPort()
	return p
}

func (c *codecServer) savedPort() (int, bool) {
	if b, err := os.ReadFile(c.portFile()); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 {
			return p, true
		}
	}
	return c.s.opts.UIPort + 1, false
}

// choosePort picks a free port that none of the stack's servers will take
// (they may not listen yet) and keeps it.
func (c *codecServer) choosePort() error {
	for range 20 {
		p, err := FreePort()
		if err != nil {
			return err
		}
		o := c.s.opts
		if p != o.TemporalPort && p != o.UIPort && p != o.RegistryPort {
			return os.WriteFile(c.portFile(), []byte(strconv.Itoa(p)+"\n"), 0o644)
		}
	}
	return errors.New("found no free port for the codec server")
}

// prepare makes the key (0600, once) before anything starts, since the
// settings file names it, and, for a stack with a UI, fixes the port,
// since Temporal hands it to the UI when it starts.
func (c *codecServer) prepare() error {
	if err := os.MkdirAll(c.s.dir, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(c.keysFile()); errors.Is(err, fs.ErrNotExist) {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return err
		}
		line := codec.NewKeyLine("dev-"+time.Now().UTC().Format("20060102"), secret)
		if err := os.WriteFile(c.keysFile(), []byte(line), 0o600); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if _, saved := c.savedPort(); saved || c.s.opts.Headless {
		return nil
	}
	if port := c.s.opts.UIPort + 1; portFree(port) == nil {
		return os.WriteFile(c.portFile(), []byte(strconv.Itoa(port)+"\n"), 0o644)
	}
	return c.choosePort()
}

func (c *codecServer) proc() *process {
	return &process{
		name: "codec", dir: c.s.dir, bin: c.s.opts.Slipway,
		args: []string{"codec-server", "--listen", fmt.Sprintf("127.0.0.1:%d", c.port()),
			"--cors-origin", fmt.Sprintf("http://127.0.0.1:%d,http://localhost:%d", c.s.opts.UIPort, c.s.opts.UIPort)},
		env:  []string{"SLIPWAY_HOME=" + c.s.opts.Home},
		tied: c.s.opts.Ephemeral,
	}
}

func (c *codecServer) running(ctx context.Context) bool {
	pid := c.proc().pid()
	if pid == 0 {
		return false
	}
	// A rebuilt slipway binary means a restart, as for the worker.
	if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && strings.HasSuffix(exe, " (deleted)") {
		return false
	}
	return c.ping(ctx) == nil
}

func (c *codecServer) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint()+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /health: %s", resp.Status)
	}
	return nil
}

func (c *codecServer) start(ctx context.Context) error {
	if err := c.proc().stop(5 * time.Second); err != nil { // a stale one
		return err
	}
	if port, saved := c.savedPort(); c.s.opts.Headless && (!saved || portFree(port) != nil) {
		// No UI needs a fixed port: take any free one now that the other
		// servers listen, so stacks side by side (the test harness's) do
		// not collide, and tell clients where it is.
		if err := c.choosePort(); err != nil {
			return err
		}
		if err := c.s.Settings().Save(c.s.opts.Home); err != nil {
			return err
		}
	}
	if err := portFree(c.port()); err != nil {
		return err
	}
	p := c.proc()
	if err := p.start(); err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, p, c.ping)
}

func (c *codecServer) stop(context.Context) error { return c.proc().stop(5 * time.Second) }
