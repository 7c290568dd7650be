package prod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/slipway-dev/slipway/config"
)

// Worker is one `slipway worker` process with a home of its own.
type Worker struct {
	Name string
	Home string
	proc *proc
}

// Identity is how Temporal names this worker in histories and poller
// lists: the SDK's default identity starts with the pid.
func (w *Worker) Identity() string { return fmt.Sprintf("%d@", w.proc.pid()) }

// startWorker runs `slipway worker` with env (on top of an environment
// that names nothing of this machine's slipway or Temporal settings) and
// returns once Temporal sees it poll slipway's task queue.
func startWorker(ctx context.Context, slipway, name, home string, env []string, tc client.Client) (*Worker, error) {
	cmd := exec.Command(slipway, "worker")
	cmd.Dir = home
	cmd.Env = isolated(home, env...)
	p, err := startProc(name, cmd, filepath.Join(home, "worker.log"), nil)
	if err != nil {
		return nil, err
	}
	w := &Worker{Name: name, Home: home, proc: p}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := p.alive(); err != nil {
			return false, err
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		resp, err := tc.DescribeTaskQueue(actx, config.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil {
			return false, nil // the server may be busy: ask again
		}
		for _, poller := range resp.GetPollers() {
			if strings.HasPrefix(poller.GetIdentity(), w.Identity()) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return w, fmt.Errorf("%s did not poll task queue %s: %v; its log %s ends:\n%s", name, config.TaskQueue, err, p.log, tail(p.log, 20))
	}
	return w, nil
}

func (w *Worker) stop() {
	if w != nil {
		w.proc.stop(15 * time.Second)
	}
}

// isolated is this process's environment without anything that would
// point a slipway or Temporal client elsewhere (or at a shared home), then
// home as HOME and SLIPWAY_HOME, then env.
func isolated(home string, env ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", k == "KUBECONFIG", k == "XDG_CONFIG_HOME", k == "DOCKER_CONFIG",
			strings.HasPrefix(k, "SLIPWAY_"), strings.HasPrefix(k, "TEMPORAL_"):
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "HOME="+home, "SLIPWAY_HOME="+home)
	return append(out, env...)
}
