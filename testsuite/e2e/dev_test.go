package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/testsuite"
)

// `slipway dev up && slipway dev status && slipway dev down` works twice in
// a row, and after each down nothing of that stack runs or listens. After
// the second up, on the first's state, the kwok nodes run pods at once:
// they do not wait for the first run's node leases to expire.
func TestDevUpStatusDownTwice(t *testing.T) {
	s := testsuite.Get(t)
	home := t.TempDir()
	env := []string{"SLIPWAY_HOME=" + home, "SLIPWAY_TOOLS=" + s.Tools}
	var ports []int
	for _, name := range []string{"SLIPWAY_TEMPORAL_PORT", "SLIPWAY_UI_PORT", "SLIPWAY_REGISTRY_PORT"} {
		p, err := devstack.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
		env = append(env, fmt.Sprintf("%s=%d", name, p))
	}
	dev := func(verb string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, s.Slipway, "dev", verb)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("slipway dev %s: %v\n%s", verb, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, s.Slipway, "dev", "reset")
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("slipway dev reset of the test's stack: %v\n%s", err, out)
		}
	})
	for round := 1; round <= 2; round++ {
		dev("up")
		status := dev("status")
		for _, c := range []string{"temporal", "kubernetes", "registry", "worker"} {
			if !strings.Contains(status, c+strings.Repeat(" ", 12-len(c))+"running") {
				t.Fatalf("round %d: %s is not running:\n%s", round, c, status)
			}
		}
		runsAPod(t, filepath.Join(home, "dev", "kwok", "clusters", "slipway", "kubeconfig.yaml"), round)
		dev("down")
		if left := processesOf(t, home); len(left) > 0 {
			t.Fatalf("round %d: processes left after dev down:\n%s", round, strings.Join(left, "\n"))
		}
		for _, p := range ports {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				t.Fatalf("round %d: port %d still in use after dev down", round, p)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// runsAPod creates a pod on the stack and waits for a kwok node to run
// it. The bound is a liveness bound, far from the second it takes: a
// restarted kwok that waited for the previous run's leases (held for
// 200 s) would miss it.
func runsAPod(t *testing.T, kubeconfig string, round int) {
	t.Helper()
	kube := testsuite.KubeFor(t, kubeconfig)
	pods := kube.CoreV1().Pods("default")
	name := fmt.Sprintf("probe-%d", round)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "probe"}}},
	}
	start := time.Now()
	if _, err := pods.Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	defer func() {
		t.Logf("round %d: a pod ran %s after its create", round, time.Since(start).Round(time.Millisecond))
	}()
	eventually(t, fmt.Sprintf("round %d: pod %s running", round, name), time.Minute, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodRunning, "phase " + string(p.Status.Phase)
	})
}

// processesOf lists the live processes whose command line or environment
// names the stack's home: all of its servers and its worker.
func processesOf(t *testing.T, home string) []string {
	t.Helper()
	var out []string
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil || len(procs) == 0 {
		t.Fatalf("list processes: %d found (%v)", len(procs), err)
	}
	for _, p := range procs {
		// A process may end while it is read: its files then fail to read
		// or read empty, and a process that is gone is not left behind.
		stat, _ := os.ReadFile(filepath.Join(p, "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' {
			continue // gone, or a zombie waiting for its parent
		}
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		environ, _ := os.ReadFile(filepath.Join(p, "environ")) // this user's processes' are readable
		if bytes.Contains(cmdline, []byte(home)) || bytes.Contains(environ, []byte("SLIPWAY_HOME="+home)) {
			out = append(out, p+": "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}
