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
	return fmt.Sprintf("%d kwok nodes  KUBECONFIG=%s", k.s.opts.Nodes, k.kubeconfig())
}

func (k *kube) client() (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", k.kubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(cfg)
}

func (k *kube) running(ctx context.Context) bool { return k.ready(ctx) == nil }

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
	if _, err := os.Stat(filepath.Join(k.clusterDir(), "kwok.yaml")); err == nil {
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
	if err := k.kwokctl(ctx, "scale", "node", "--replicas", fmt.Sprint(k.s.opts.Nodes)); err != nil {
		return err
	}
	// Generous: on a loaded 2-core machine the nodes can take a while.
	if err := waitFor(ctx, 3*time.Minute, nil, k.ready); err != nil {
		return err
	}
	if k.s.opts.AfterKubernetes != nil {
		return k.s.opts.AfterKubernetes(ctx, k.kubeconfig())
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
	path := filepath.Join(k.s.dir, "kwok-stages.yaml")
	if err := os.MkdirAll(k.s.dir, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
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
