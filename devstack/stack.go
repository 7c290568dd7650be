// Package devstack starts, stops and reports slipway's local stack: a
// Temporal dev server, a Kubernetes control plane with kwok nodes, an OCI
// registry and one slipway worker, all on loopback. `slipway dev` and the
// end-to-end harness (testsuite/) both use it, so tests run what users run.
package devstack

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/slipway-dev/slipway/config"
)

// The default cluster holds 50 services of 3 replicas each while each of
// them surges (a new pod per service before an old one goes), with room.
const (
	DefaultNodes       = 2
	DefaultPodsPerNode = 250
)

// The environment variables that size the kwok cluster when Options do not.
const (
	EnvNodes       = "SLIPWAY_DEV_NODES"
	EnvPodsPerNode = "SLIPWAY_DEV_PODS_PER_NODE"
)

// Options place a stack. The zero value of every port means the default
// port of `slipway dev up`; the harness passes free ports instead.
type Options struct {
	Home    string // slipway home; the stack lives in Home/dev
	Tools   string // folder holding the stack's binaries (make tools)
	Slipway string // the slipway binary that runs the worker

	TemporalPort int
	UIPort       int
	RegistryPort int
	Headless     bool   // no Temporal Web UI
	Cluster      string // kwok cluster name
	Nodes        int    // kwok nodes to keep (DefaultNodes)
	PodsPerNode  int    // pods each kwok node takes (DefaultPodsPerNode)

	// Ephemeral stacks (the harness) tie their processes to the starting
	// process, so a crashed test binary leaves nothing behind.
	Ephemeral bool
	// AfterKubernetes runs once the API server answers, to install what the
	// product needs there (CRDs).
	AfterKubernetes func(ctx context.Context, kubeconfig string) error

	// TemporalAddress names a Temporal server the stack does not run (a
	// production one, on PostgreSQL): the stack then starts no dev server,
	// nor the codec server that only the dev server's UI calls (the codec
	// key is still made), and its settings point clients at this address.
	TemporalAddress string
	// NoWorker starts no slipway worker: the caller runs its own, with
	// their own settings.
	NoWorker bool

	Out io.Writer // one line per component as it comes up or goes down
}

// Stack is a local stack, running or not.
type Stack struct {
	opts       Options
	dir        string
	components []component
	temporal   *temporal
	kube       *kube
	registry   *registry
	worker     *worker
	codec      *codecServer
}

// component is one part of the stack. start returns only once the part
// answers; running reports whether it answers now.
type component interface {
	name() string
	running(ctx context.Context) bool
	start(ctx context.Context) error
	stop(ctx context.Context) error
	detail() string
}

// New places a stack; it starts nothing.
func New(o Options) *Stack {
	o.TemporalPort = cmp.Or(o.TemporalPort, 7233)
	o.UIPort = cmp.Or(o.UIPort, 8233)
	o.RegistryPort = cmp.Or(o.RegistryPort, 5000)
	o.Cluster = cmp.Or(o.Cluster, "slipway")
	o.Nodes = cmp.Or(o.Nodes, DefaultNodes)
	o.PodsPerNode = cmp.Or(o.PodsPerNode, DefaultPodsPerNode)
	if o.Out == nil {
		o.Out = io.Discard
	}
	s := &Stack{opts: o, dir: filepath.Join(o.Home, "dev")}
	s.temporal = &temporal{s: s, pragmas: sqlitePragmas}
	s.kube = &kube{s: s}
	s.registry = &registry{s: s}
	s.worker = &worker{s: s}
	s.codec = &codecServer{s: s}
	if o.TemporalAddress == "" {
		s.components = append(s.components, s.temporal)
	}
	s.components = append(s.components, s.kube, s.registry)
	if o.TemporalAddress == "" {
		s.components = append(s.components, s.codec)
	}
	if !o.NoWorker {
		s.components = append(s.components, s.worker)
	}
	return s
}

// Dir is the stack's folder: state, logs and pid files.
func (s *Stack) Dir() string { return s.dir }

// Settings are what clients need to reach this stack.
func (s *Stack) Settings() *config.Stack {
	st := &config.Stack{
		Dir:             s.dir,
		TemporalAddress: s.temporal.address(),
		Kubeconfig:      s.kube.kubeconfig(),
		Registry:        fmt.Sprintf("127.0.0.1:%d", s.opts.RegistryPort),
		// base_url and the key let the bucket sign URLs, which the
		// kubernetes builder hands its Jobs. Nothing serves them here: kwok
		// nodes run no containers, so those Jobs never fetch; on a real
		// cluster the blob store is an oci:// repository of its registry.
		BlobURL: "file://" + filepath.Join(s.dir, "blobs") + "?create_dir=true&base_url=http://blobs.slipway.invalid/&secret_key_path=" +
			url.QueryEscape(filepath.Join(s.dir, "blobs.key")),
		WorkerLog:     s.worker.proc().logFile(),
		CodecKeysFile: s.codec.keysFile(),
		CodecEndpoint: s.codec.endpoint(),
	}
	if s.opts.TemporalAddress != "" {
		st.CodecEndpoint = "" // no codec server runs
	} else if !s.opts.Headless {
		st.TemporalUI = fmt.Sprintf("http://127.0.0.1:%d", s.opts.UIPort)
	}
	return st
}

// Up starts every component that is not running, in dependency order, and
// waits until each answers. Components already up are reported and left be.
func (s *Stack) Up(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(s.dir, "blobs"), 0o755); err != nil {
		return err
	}
	if err := writeKey(filepath.Join(s.dir, "blobs.key")); err != nil {
		return err
	}
	if err := s.codec.prepare(); err != nil {
		return err
	}
	// The worker reads the settings file when it starts, so write it first.
	if err := s.Settings().Save(s.opts.Home); err != nil {
		return err
	}
	for _, c := range s.components {
		if c.running(ctx) {
			fmt.Fprintf(s.opts.Out, "%-10s  already up  %s\n", c.name(), c.detail())
			continue
		}
		start := time.Now()
		fmt.Fprintf(s.opts.Out, "%-10s  starting...\n", c.name())
		if err := c.start(ctx); err != nil {
			return fmt.Errorf("%s: %w", c.name(), err)
		}
		fmt.Fprintf(s.opts.Out, "%-10s  up in %.1fs  %s\n", c.name(), time.Since(start).Seconds(), c.detail())
	}
	if err := seedSample(ctx, s.registry.address()); err != nil {
		return fmt.Errorf("registry: push the sample image: %w", err)
	}
	return nil
}

// Down stops every component, last started first. State stays on disk.
func (s *Stack) Down(ctx context.Context) error {
	var firstErr error
	for i := len(s.components) - 1; i >= 0; i-- {
		c := s.components[i]
		if err := c.stop(ctx); err != nil {
			fmt.Fprintf(s.opts.Out, "%-10s  ERROR: %v\n", c.name(), err)
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		fmt.Fprintf(s.opts.Out, "%-10s  down\n", c.name())
	}
	return firstErr
}

// Reset stops the stack and deletes all of its state.
func (s *Stack) Reset(ctx context.Context) error {
	if err := s.Down(ctx); err != nil {
		return err
	}
	if err := s.kube.delete(ctx); err != nil {
		return err
	}
	return os.RemoveAll(s.dir)
}

// Status of one component.
type Status struct {
	Name    string
	Running bool
	Detail  string
}

// Status reports every component, in start order.
func (s *Stack) Status(ctx context.Context) []Status {
	out := make([]Status, 0, len(s.components))
	for _, c := range s.components {
		out = append(out, Status{Name: c.name(), Running: c.running(ctx), Detail: c.detail()})
	}
	return out
}

// waitFor calls ready until it returns nil, the process dies, or the
// timeout passes. Startup is the one place a short poll is right: there is
// nothing to watch until the server listens.
func waitFor(ctx context.Context, timeout time.Duration, p *process, ready func(context.Context) error) error {
	var err error
	exited := errors.New("exited")
	poll := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err = ready(ctx); err == nil {
			return true, nil
		}
		if p != nil && p.pid() == 0 && !p.alive(200*time.Millisecond) {
			return false, exited
		}
		return false, nil
	})
	switch {
	case poll == nil:
		return nil
	case errors.Is(poll, exited):
		return fmt.Errorf("exited while starting; its log %s ends:\n%s", p.logFile(), p.tail(15))
	}
	return fmt.Errorf("not ready after %s: %v (log: %s)", timeout, err, logOf(p))
}

func logOf(p *process) string {
	if p == nil {
		return "none"
	}
	return p.logFile()
}

func (s *Stack) tool(name string) (string, error) {
	path := filepath.Join(s.opts.Tools, name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s is not built in %s: run `make tools`", name, s.opts.Tools)
	}
	return path, nil
}

// WorkerPID is the stack's worker process, 0 when it does not run.
func (s *Stack) WorkerPID() int { return s.worker.proc().pid() }

// KillWorker ends the worker with SIGKILL, as a crash would: no activity
// gets to finish or clean up.
func (s *Stack) KillWorker() error {
	p := s.worker.proc()
	pid := p.pid()
	if pid == 0 {
		return fmt.Errorf("worker is not running")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	// SIGKILL cannot be refused: wait as long as the exit takes.
	return wait.PollUntilContextCancel(context.Background(), 10*time.Millisecond, true, func(context.Context) (bool, error) {
		return p.pid() == 0, nil
	})
}

// StartWorker starts the worker if it is not running, and waits until it
// polls.
func (s *Stack) StartWorker(ctx context.Context) error {
	if s.worker.running(ctx) {
		return nil
	}
	return s.worker.start(ctx)
}

// RestartTemporal stops the Temporal dev server and starts it again on the
// same state file, as an operator's restart would.
func (s *Stack) RestartTemporal(ctx context.Context) error {
	if err := s.temporal.stop(ctx); err != nil {
		return err
	}
	return s.temporal.start(ctx)
}

// RestartKubeAPIServer stops kube-apiserver alone and starts it again with
// the same flags, as an operator's restart would; etcd, the controllers and
// kwok stay up and reconnect. It returns once the API server is ready.
func (s *Stack) RestartKubeAPIServer(ctx context.Context) error {
	return s.kube.restartAPIServer(ctx)
}

// writeKey makes the blob store's URL-signing key once.
func writeKey(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(hex.EncodeToString(key)), 0o600)
}

// SizeFromEnv sets Nodes and PodsPerNode, where they are not set yet, from
// $SLIPWAY_DEV_NODES and $SLIPWAY_DEV_PODS_PER_NODE, so `dev up` and the
// test harness are sized the same way.
func (o *Options) SizeFromEnv(getenv func(string) string) error {
	for _, c := range []struct {
		env string
		dst *int
	}{{EnvNodes, &o.Nodes}, {EnvPodsPerNode, &o.PodsPerNode}} {
		if v := getenv(c.env); v != "" && *c.dst == 0 {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("%s=%q: give a whole number of at least 1", c.env, v)
			}
			*c.dst = n
		}
	}
	return nil
}
