package prod

import (
	"bytes"
	"context"
	"crypto/tls"
	_ "embed"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"text/template"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"k8s.io/apimachinery/pkg/util/wait"
)

// configTemplate is the Temporal server's configuration; the harness fills
// in the ports.
//
//go:embed temporal.yaml
var configTemplate string

// temporalPorts are every port the server listens on: gRPC and membership
// (ringpop) for each of its four services.
type temporalPorts struct {
	Postgres                              int
	Frontend, History, Matching, Worker   int
	FrontendMembership, HistoryMembership int
	MatchingMembership, WorkerMembership  int
}

func (p temporalPorts) frontend() string { return fmt.Sprintf("127.0.0.1:%d", p.Frontend) }

// serverConfig is what the configuration's template is filled in with.
type serverConfig struct {
	temporalPorts
	TLS        keyPair // the server's certificate and the CA it trusts clients of
	ServerName string
}

// temporalServer is `temporal-server` (go.temporal.io/server, the release
// teams run) with persistence and visibility on PostgreSQL, reached over
// mTLS only.
type temporalServer struct {
	dir   string
	ports temporalPorts
	tls   *tls.Config // a client's: how the harness's health check reaches it
	proc  *proc
}

func (ts *temporalServer) address() string { return ts.ports.frontend() }

// setupSchemas creates Temporal's two databases and their schemas with
// the server's own schema tool, at the version the server expects.
func setupSchemas(ctx context.Context, tools string, pgPort int) error {
	tool := filepath.Join(tools, "temporal-sql-tool")
	if _, err := os.Stat(tool); err != nil {
		return fmt.Errorf("%s is not built: run `make stack-tools`", tool)
	}
	for _, db := range []struct{ name, schema string }{
		{"temporal", "postgresql/v12/temporal"},
		{"temporal_visibility", "postgresql/v12/visibility"},
	} {
		common := []string{"--plugin", "postgres12", "--endpoint", "127.0.0.1", "--port", strconv.Itoa(pgPort), "--user", "temporal", "--database", db.name}
		for _, step := range [][]string{
			{"create-database", "--defaultdb", "postgres"},
			// Versioning tables at 0.0, then every versioned step up
			// to the schema this server build embeds.
			{"setup-schema", "--version", "0.0"},
			{"update-schema", "--schema-name", db.schema},
		} {
			cmd := exec.CommandContext(ctx, tool, append(common, step...)...)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("temporal-sql-tool %s on %s: %v\n%s", step[0], db.name, err, out)
			}
		}
	}
	return nil
}

// startTemporal writes the server's configuration into dir and starts it
// on ports with the certificate in server; it returns once the frontend
// answers a health check made with client's certificate.
func startTemporal(ctx context.Context, tools, dir string, ports temporalPorts, server keyPair, client *tls.Config) (*temporalServer, error) {
	bin := filepath.Join(tools, "temporal-server")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s is not built: run `make stack-tools`", bin)
	}
	ts := &temporalServer{dir: dir, ports: ports, tls: client}
	var conf bytes.Buffer
	data := serverConfig{temporalPorts: ports, TLS: server, ServerName: ServerName}
	if err := template.Must(template.New("temporal.yaml").Option("missingkey=error").Parse(configTemplate)).Execute(&conf, data); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "config", "production.yaml"), conf.Bytes(), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--root", dir, "--config", "config", "--env", "production", "--allow-no-auth", "start")
	cmd.Dir = dir
	var err error
	if ts.proc, err = startProc("temporal", cmd, filepath.Join(dir, "temporal.log"), nil); err != nil {
		return nil, err
	}
	return ts, ts.wait(ctx)
}

// wait returns once the frontend answers the SDK's health check.
func (ts *temporalServer) wait(ctx context.Context) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := ts.proc.alive(); err != nil {
			return false, err
		}
		last = ping(ctx, ts.address(), ts.tls)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("temporal-server not ready: %v (last: %v; log %s)", err, last, ts.proc.log)
	}
	return nil
}

func ping(ctx context.Context, address string, tc *tls.Config) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{HostPort: address, Logger: quiet(), ConnectionOptions: client.ConnectionOptions{TLS: tc}})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

func (ts *temporalServer) detail() string {
	return fmt.Sprintf("%s (mTLS)  PostgreSQL 127.0.0.1:%d  log %s", ts.address(), ts.ports.Postgres, ts.proc.log)
}

func (ts *temporalServer) stop() {
	if ts != nil {
		ts.proc.stop(20 * time.Second)
	}
}

// freePorts asks the kernel for n distinct ports nobody listens on,
// holding each until all are chosen so none is handed out twice.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// lowPorts are n distinct free ports in 20000-29999, held until all are
// chosen. Temporal's SQL schema keeps a member's port in a smallint, and
// the kernel hands out ports above 32767, so a server on one of those dies
// at start ("value out of range for type smallint"); kwokctl, starting
// clusters meanwhile, takes its ports counting down from 32767.
func lowPorts(n int) ([]int, error) {
	var ports []int
	for tries := 0; len(ports) < n; tries++ {
		if tries == 1000 {
			return nil, fmt.Errorf("found only %d free ports in 20000-29999", len(ports))
		}
		port := 20000 + mrand.IntN(10000)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		defer l.Close()
		ports = append(ports, port)
	}
	return ports, nil
}

// quiet keeps the SDK from logging every probe.
func quiet() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
