package devstack

import (
	"context"
	"embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// stages are kwok's own node and pod Stages plus slipway's simulated
// failures. They go in one file because kwokctl's --config replaces kwok's
// default Stages with the ones it is given.
//
//go:embed stages/*.yaml
var stages embed.FS

// kube is a Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler) with kwok nodes, run by kwokctl's
// binary runtime from the binaries that `make tools` built.
type kube struct{ s *Stack }

func (k *kube) name() string { return "kubernetes" }

func (k *kube) workdir() string { return filepath.Join(k.s.dir, "kwok") }

func (k *kube) clusterDir() string { return filepath.Join(k.workdir(), "clusters", k.s.opts.Cluster) }

func (k *kube) kubeconfig() string { return filepath.Join(k.clusterDir(), "kubeconfig.yaml") }

func (k *kube) detail() string {
	return fmt.Sprintf("%d kwok nodes × %d pods  KUBECONFIG=%s", k.s.opts.Nodes, k.s.opts.PodsPerNode, k.kubeconfig())
}

func (k *kube) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", k.kubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// running is true when the cluster answers with the nodes and pod
// capacity asked for (`dev up --nodes 4` on a stack of two scales it) and
// every control-plane process is alive and healthy: a cluster whose
// kube-controller-manager has exited is not up, so `dev up` restarts it.
func (k *kube) running(ctx context.Context) bool {
	if k.ready(ctx) != nil || k.healthy(ctx) != nil {
		return false
	}
	c, err := k.client()
	if err != nil {
		return false
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return false
	}
	want := resource.MustParse(fmt.Sprint(k.s.opts.PodsPerNode))
	for _, n := range nodes.Items {
		if n.Status.Allocatable.Pods().Cmp(want) != 0 {
			return false
		}
	}
	return true
}

// ready is true when the API server is healthy and enough nodes are Ready.
func (k *kube) ready(ctx context.Context) error {
	if _, err := os.Stat(k.kubeconfig()); err != nil {
		return err
	}
	c, err := k.client()
	if err != nil {
		return err
	}
	if _, err := c.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return err
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, n := range nodes.Items {
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	if ready < k.s.opts.Nodes {
		return fmt.Errorf("%d of %d nodes ready", ready, k.s.opts.Nodes)
	}
	return nil
}

func (k *kube) kwokctl(ctx context.Context, args ...string) error {
	bin, err := k.s.tool("kwokctl")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, append(args, "--name", k.s.opts.Cluster)...)
	cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+k.workdir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("kwokctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (k *kube) start(ctx context.Context) error {
	started := time.Now()
	if err := k.prepareDebugging(started); err != nil {
		return err
	}
	restarted := false
	if _, err := os.Stat(filepath.Join(k.clusterDir(), "kwok.yaml")); err == nil {
		restarted = true
		// The cluster exists: start it again on its etcd data.
		if err := k.kwokctl(ctx, "start", "cluster", "--timeout", "90s"); err != nil {
			return err
		}
	} else if err := k.create(ctx); err != nil {
		return err
	}
	if err := waitFor(ctx, 90*time.Second, nil, func(ctx context.Context) error {
		_, err := os.Stat(k.kubeconfig())
		return err
	}); err != nil {
		return err
	}
	// A /16 per node: kwok hands pod IPs out of the node's podCIDR, and
	// kwokctl's /24 would run out past 254 pods.
	if err := k.kwokctl(ctx, "scale", "node", "--replicas", fmt.Sprint(k.s.opts.Nodes),
		"--param", ".podCIDR=\"10.0.0.0/16\"", "--param", fmt.Sprintf(".allocatable.pods=%d", k.s.opts.PodsPerNode)); err != nil {
		return err
	}
	// Generous: on a loaded 2-core machine the nodes can take a while.
	if err := waitFor(ctx, 3*time.Minute, nil, k.ready); err != nil {
		return err
	}
	if restarted {
		if err := k.takeOverNodeLeases(ctx, started); err != nil {
			return err
		}
	}
	if err := k.supervise(ctx); err != nil {
		return err
	}
	if err := k.setPodsPerNode(ctx); err != nil {
		return err
	}
	if k.s.opts.AfterKubernetes != nil {
		return k.s.opts.AfterKubernetes(ctx, k.kubeconfig())
	}
	return nil
}

// setPodsPerNode gives every node the configured pod capacity: nodes made
// by an earlier `dev up` keep the capacity they were made with otherwise.
func (k *kube) setPodsPerNode(ctx context.Context) error {
	c, err := k.client()
	if err != nil {
		return err
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	want := resource.MustParse(fmt.Sprint(k.s.opts.PodsPerNode))
	patch := fmt.Sprintf(`{"status":{"allocatable":{"pods":"%d"},"capacity":{"pods":"%d"}}}`, k.s.opts.PodsPerNode, k.s.opts.PodsPerNode)
	for _, n := range nodes.Items {
		if n.Status.Allocatable.Pods().Cmp(want) == 0 && n.Status.Capacity.Pods().Cmp(want) == 0 {
			continue
		}
		if _, err := c.CoreV1().Nodes().PatchStatus(ctx, n.Name, []byte(patch)); err != nil {
			return fmt.Errorf("node %s: set its pod capacity: %w", n.Name, err)
		}
	}
	return nil
}

func (k *kube) create(ctx context.Context) error {
	args := []string{"create", "cluster", "--runtime", "binary", "--kubeconfig", "", "--timeout", "120s", "--wait", "60s",
		// One controller manager and one scheduler: without leader election
		// they act at once after a restart instead of waiting out the lease
		// of their previous run.
		"--extra-args", "kube-controller-manager=leader-elect=false",
		"--extra-args", "kube-scheduler=leader-elect=false",
		// Room for 65,534 Services: the API server's default range, a
		// /24, is full at about 250 (50 apps of 3 services and their
		// floors in `make bench-scale` ran out).
		"--extra-args", "kube-apiserver=service-cluster-ip-range=10.96.0.0/16",
		// Client rate limits off: kube-controller-manager and kube-scheduler
		// get --kube-api-qps=5000 --kube-api-burst=10000 and kube-apiserver
		// no in-flight limits, so a rollout of many services goes at the
		// pace of the rollout (kwok's own client has no limit).
		"--disable-qps-limits",
	}
	for flag, tool := range map[string]string{
		"--etcd-binary":                    "etcd",
		"--kube-apiserver-binary":          "kube-apiserver",
		"--kube-controller-manager-binary": "kube-controller-manager",
		"--kube-scheduler-binary":          "kube-scheduler",
		"--kwok-controller-binary":         "kwok",
	} {
		path, err := k.s.tool(tool)
		if err != nil {
			return err
		}
		args = append(args, flag, path)
	}
	conf, err := k.writeStages()
	if err != nil {
		return err
	}
	return k.kwokctl(ctx, append(args, "--config", conf)...)
}

func (k *kube) writeStages() (string, error) {
	entries, err := stages.ReadDir("stages")
	if err != nil {
		return "", err
	}
	var docs []string
	for _, e := range entries {
		b, err := stages.ReadFile("stages/" + e.Name())
		if err != nil {
			return "", err
		}
		docs = append(docs, strings.TrimSpace(string(b)))
	}
	ports, err := k.ports()
	if err != nil {
		return "", err
	}
	docs = append(docs, ports, k.debuggingConfig())
	path := filepath.Join(k.s.dir, "kwok-stages.yaml")
	if err := os.MkdirAll(k.s.dir, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
}

// ports gives every component of the cluster a port the kernel chose.
// Left to itself, kwokctl takes the first free port counting down from
// 32767, so two stacks created at the same moment (the e2e and chaos test
// binaries run side by side) pick the same ports and one of them dies.
func (k *kube) ports() (string, error) {
	names := []string{"etcdPort", "etcdPeerPort", "kubeApiserverPort", "kwokControllerPort", "kubeControllerManagerPort", "kubeSchedulerPort"}
	seen := map[int]bool{}
	var b strings.Builder
	b.WriteString("apiVersion: config.kwok.x-k8s.io/v1alpha1\nkind: KwokctlConfiguration\noptions:\n")
	for _, name := range names {
		p, err := FreePort()
		for err == nil && seen[p] {
			p, err = FreePort()
		}
		if err != nil {
			return "", err
		}
		seen[p] = true
		fmt.Fprintf(&b, "  %s: %d\n", name, p)
	}
	return strings.TrimSpace(b.String()), nil
}

func (k *kube) stop(ctx context.Context) error {
	if _, err := os.Stat(k.clusterDir()); err != nil {
		return nil
	}
	return k.kwokctl(ctx, "stop", "cluster")
}

func (k *kube) delete(ctx context.Context) error {
	if _, err := os.Stat(k.clusterDir()); err != nil {
		return nil
	}
	return k.kwokctl(ctx, "delete", "cluster")
}
