package chaos

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/testsuite"
)

// The harness's cluster has the default size: enough nodes and pods for
// 50 services of 3 replicas while they surge.
func TestStackSize(t *testing.T) {
	s := testsuite.Get(t)
	nodes, err := s.Kube.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != devstack.DefaultNodes {
		t.Fatalf("%d nodes, want %d", len(nodes.Items), devstack.DefaultNodes)
	}
	total := int64(0)
	for _, n := range nodes.Items {
		if got := n.Status.Allocatable.Pods().Value(); got != devstack.DefaultPodsPerNode {
			t.Fatalf("node %s takes %d pods, want %d", n.Name, got, devstack.DefaultPodsPerNode)
		}
		total += n.Status.Allocatable.Pods().Value()
	}
	if total < 50*(3+1) {
		t.Fatalf("room for %d pods, less than 50 services × (3 replicas + 1 surge)", total)
	}
}

// slow:<duration> sets how long a pod takes to become ready; plain slow
// keeps its 5 s.
func TestSlowDelay(t *testing.T) {
	s := testsuite.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := "chaos-slow"
	if _, err := s.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	// Pods are refused until the namespace's default ServiceAccount
	// exists, which a controller makes a moment after the namespace.
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := s.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("namespace %s has no default ServiceAccount within 30s: %v", ns, err)
	}
	w, err := s.Kube.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	created := map[string]time.Time{}
	for name, sim := range map[string]string{"two": "slow:2s", "five": "slow", "now": ""} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{"slipway.dev/simulate": sim}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "x"}}},
		}
		created[name] = time.Now()
		if _, err := s.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ready := map[string]time.Duration{}
	for len(ready) < len(created) {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatalf("watch ended; ready so far: %v", ready)
			}
			p, isPod := ev.Object.(*corev1.Pod)
			if !isPod || ev.Type == watch.Deleted {
				continue
			}
			for _, c := range p.Status.Conditions {
				if _, seen := ready[p.Name]; !seen && c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready[p.Name] = time.Since(created[p.Name])
				}
			}
		case <-ctx.Done():
			t.Fatalf("not all pods ready within a minute: %v", ready)
		}
	}
	t.Logf("ready after: %v", ready)
	if ready["now"] > 1500*time.Millisecond {
		t.Errorf("a pod with an empty simulation took %s to become ready", ready["now"])
	}
	if d := ready["two"]; d < 1900*time.Millisecond || d > 4*time.Second {
		t.Errorf("slow:2s became ready after %s", d)
	}
	if d := ready["five"]; d < 4900*time.Millisecond {
		t.Errorf("slow became ready after %s, before its 5s", d)
	}
}

// kube-apiserver restarts alone, with the same flags: it answers again,
// the nodes stay ready, and the new process is where kwokctl looks for it,
// so `slipway dev down` stops it.
func TestRestartKubeAPIServer(t *testing.T) {
	s := testsuite.Get(t)
	pidFile := filepath.Join(s.Home, "dev", "kwok", "clusters", "slipway", "pids", "kube-apiserver.pid")
	before := readPid(t, pidFile)
	start := time.Now()
	s.RestartKubeAPIServer(t)
	t.Logf("kube-apiserver restarted and ready in %.1fs", time.Since(start).Seconds())
	after := readPid(t, pidFile)
	if after == before {
		t.Fatalf("pid file still names %d", before)
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(before)); err == nil {
		if stat, _ := os.ReadFile("/proc/" + strconv.Itoa(before) + "/cmdline"); strings.Contains(string(stat), "kube-apiserver") {
			t.Fatalf("the old kube-apiserver (pid %d) still runs", before)
		}
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(after) + "/cmdline")
	if err != nil || !strings.Contains(string(cmdline), "kube-apiserver") {
		t.Fatalf("pid %d is not a kube-apiserver: %q %v", after, cmdline, err)
	}
	if _, err := s.Kube.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{}); err != nil {
		t.Fatalf("the API server does not answer after its restart: %v", err)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pid
}
