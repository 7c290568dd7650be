package devstack

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// controlPlane is every process kwokctl runs for the cluster, in the order
// they depend on each other.
var controlPlane = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"}

// healthPaths are what each component answers once it does its job.
// kube-controller-manager's /healthz answers "ok" from the moment it
// listens, before it has waited for the API server; with ?verbose it also
// lists one check per controller, and those exist only once it got past
// that wait and built its controllers (see controllersBuilt).
var healthPaths = map[string]string{
	"etcd":                    "/health",
	"kube-apiserver":          "/readyz",
	"kube-controller-manager": "/healthz?verbose",
	"kube-scheduler":          "/healthz",
	"kwok-controller":         "/healthz",
}

// Restart bounds: a component that exits again after this many restarts
// has a cause a restart does not cure (its log says which).
const (
	maxRestarts = 3
	// settle is how long a live component may take to answer healthy.
	// kube-controller-manager gives the API server 10 s, then builds its
	// controllers; on a loaded 2-core machine that is well under a minute.
	settle = 90 * time.Second
)

// errExited says the process is gone: waiting longer cannot help.
var errExited = errors.New("exited")

// probe looks at a component once: nil when it is alive and healthy,
// errExited (wrapped) when its process is gone, another error while it is
// alive but not healthy yet.
type probe func(ctx context.Context) error

// keepUp waits until check reports the component healthy, restarting it
// when its process has exited or it stays unhealthy past settle, at most
// maxRestarts times. It returns how many restarts it took.
func keepUp(ctx context.Context, check probe, restart func(ctx context.Context, reason error) error, settle time.Duration, maxRestarts int) (int, error) {
	for restarts := 0; ; restarts++ {
		var last error
		err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, settle, true, func(ctx context.Context) (bool, error) {
			last = check(ctx)
			if errors.Is(last, errExited) {
				return false, last
			}
			return last == nil, nil
		})
		if err == nil {
			return restarts, nil
		}
		if ctx.Err() != nil {
			return restarts, ctx.Err()
		}
		if last == nil {
			last = err
		}
		if restarts == maxRestarts {
			return restarts, fmt.Errorf("still down after %d restarts: %w", restarts, last)
		}
		if err := restart(ctx, last); err != nil {
			return restarts, err
		}
	}
}

// supervise makes sure every control-plane process runs and answers, and
// restarts the ones that do not, the way kwokctl started them. kwokctl
// reports a cluster up once it has started the processes, and
// kube-controller-manager quits for good when the API server is not
// healthy within 10 s of its start (a constant in kube-controller-manager,
// no flag changes it): on a loaded machine the cluster then looks up but no
// Deployment, ReplicaSet or Job ever progresses.
func (k *kube) supervise(ctx context.Context) error {
	for _, name := range controlPlane {
		c, err := k.component(name)
		if err != nil {
			return err
		}
		_, err = keepUp(ctx, func(ctx context.Context) error { return k.probe(ctx, c) },
			func(ctx context.Context, reason error) error {
				if pid := c.pid(); pid > 0 {
					if err := stopPid(pid, c.Binary, 5*time.Second); err != nil {
						return err
					}
				}
				if _, err := c.start(); err != nil {
					return err
				}
				fmt.Fprintf(k.s.opts.Out, "%-10s  restarted %s (%v)  log: %s\n", k.name(), name, reason, c.logFile())
				return nil
			}, settle, maxRestarts)
		if err != nil {
			return fmt.Errorf("%s: %v; see its log %s", name, err, c.logFile())
		}
	}
	return nil
}

// healthy reports whether every control-plane process is alive and
// answers, looking once.
func (k *kube) healthy(ctx context.Context) error {
	for _, name := range controlPlane {
		c, err := k.component(name)
		if err != nil {
			return err
		}
		if err := k.probe(ctx, c); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// probe checks that c's process runs and that its health endpoint says ok.
func (k *kube) probe(ctx context.Context, c *kwokComponent) error {
	if c.pid() == 0 {
		return fmt.Errorf("its process %w", errExited)
	}
	path, ok := healthPaths[c.Name]
	if !ok || c.Metric == nil || c.Metric.Host == "" {
		return nil
	}
	body, err := get(ctx, c, path)
	if err != nil {
		return err
	}
	if c.Name == "kube-controller-manager" && !controllersBuilt(body) {
		return errors.New("its controllers are not running yet")
	}
	return nil
}

// controllersBuilt reads kube-controller-manager's /healthz?verbose: it
// lists the replicaset and job controllers only once it has started them.
func controllersBuilt(verbose string) bool {
	for _, want := range []string{"replicaset-controller", "job-controller"} {
		if !strings.Contains(verbose, "[+]"+want+" ok") {
			return false
		}
	}
	return true
}

// get fetches path from the component's metrics address with the client
// certificate kwokctl scrapes it with, and returns the body of a 200.
func get(ctx context.Context, c *kwokComponent, path string) (string, error) {
	m := c.Metric
	tlsConf := &tls.Config{InsecureSkipVerify: m.InsecureSkipVerify} //nolint:gosec // loopback, kwokctl's own self-signed serving certificates
	if m.CertPath != "" && m.KeyPath != "" {
		cert, err := tls.LoadX509KeyPair(m.CertPath, m.KeyPath)
		if err != nil {
			return "", err
		}
		tlsConf.Certificates = []tls.Certificate{cert}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConf}}
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Scheme+"://"+m.Host+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answers %s", path, resp.Status)
	}
	return string(b), nil
}
