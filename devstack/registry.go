package devstack

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// registry is the CNCF distribution registry with filesystem storage.
type registry struct{ s *Stack }

func (r *registry) name() string    { return "registry" }
func (r *registry) address() string { return fmt.Sprintf("127.0.0.1:%d", r.s.opts.RegistryPort) }
func (r *registry) detail() string  { return r.address() }

func (r *registry) proc() *process {
	return &process{name: "registry", dir: r.s.dir, bin: filepath.Join(r.s.opts.Tools, "registry"), tied: r.s.opts.Ephemeral}
}

func (r *registry) running(ctx context.Context) bool {
	return r.proc().pid() != 0 && r.ping(ctx) == nil
}

func (r *registry) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.address()+"/v2/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v2/: %s", resp.Status)
	}
	return nil
}

func (r *registry) start(ctx context.Context) error {
	if _, err := r.s.tool("registry"); err != nil {
		return err
	}
	if err := portFree(r.s.opts.RegistryPort); err != nil {
		return err
	}
	conf := filepath.Join(r.s.dir, "registry.yml")
	body := RegistryConfig(filepath.Join(r.s.dir, "registry"), r.address())
	if err := os.WriteFile(conf, body, 0o644); err != nil {
		return err
	}
	p := r.proc()
	p.args = []string{"serve", conf}
	p.env = []string{"OTEL_TRACES_EXPORTER=none"}
	if err := p.start(); err != nil {
		return err
	}
	return waitFor(ctx, 30*time.Second, p, r.ping)
}

func (r *registry) stop(context.Context) error { return r.proc().stop(10 * time.Second) }

// RegistryConfig is the registry's configuration: filesystem storage under
// root with deletes enabled (the blob store deletes), serving addr.
func RegistryConfig(root, addr string) []byte {
	return fmt.Appendf(nil, `version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, root, addr)
}
