package devstack

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slipway-dev/slipway/render"
)

// The kwok nodes run no containers, so on their own they answer `kubectl
// logs` and `kubectl exec` with an error. kwok serves both from its
// ClusterLogs and ClusterExec resources, given to kwokctl's --config with
// the Stages: every pod's container serves the log file below, and an exec
// runs the command on this machine, in a folder of the stack. So `slipway
// logs`, `slipway exec`, kubectl and the tests all go the real way: API
// server → kubelet API (kwok) → a stream.

// logsFile is the log every pod's container serves, in the CRI log format
// that kubelets read (kwok reads it with the kubelet's own reader).
func (k *kube) logsFile() string { return filepath.Join(k.s.dir, "kwok-logs", "container.log") }

// execDir is where an exec into a pod runs.
func (k *kube) execDir() string { return filepath.Join(k.s.dir, "kwok-exec") }

// simulatedLog is what every container says. The times are the kubelet
// timestamps `logs --since` filters on, so the file is written again at
// every start of the cluster.
func simulatedLog(now time.Time) string {
	lines := []struct{ stream, text string }{
		{"stdout", "simulated log: the local stack's kwok nodes run no containers"},
		{"stdout", "every container of the local stack serves these lines (see `slipway dev`)"},
		{"stderr", "simulated log: a line on stderr"},
	}
	var b strings.Builder
	for i, l := range lines {
		fmt.Fprintf(&b, "%s %s F %s\n", now.Add(time.Duration(i)*time.Millisecond).UTC().Format(time.RFC3339Nano), l.stream, l.text)
	}
	return b.String()
}

// prepareDebugging writes the log file and makes the exec folder.
func (k *kube) prepareDebugging(now time.Time) error {
	if err := os.MkdirAll(filepath.Dir(k.logsFile()), 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(k.execDir(), 0o755); err != nil {
		return err
	}
	return os.WriteFile(k.logsFile(), []byte(simulatedLog(now)), 0o644)
}

// debuggingConfig is the ClusterLogs and ClusterExec for kwokctl's
// --config. No selector: kwok's matches pod names and namespaces only, and
// every app namespace is a new name; the container name limits both to
// the containers slipway renders.
func (k *kube) debuggingConfig() string {
	return fmt.Sprintf(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: slipway-simulated-logs
spec:
  logs:
  - containers: [%[1]q]
    logsFile: %[2]q
    previousLogsFile: %[2]q
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: slipway-local-exec
spec:
  execs:
  - containers: [%[1]q]
    local:
      workDir: %[3]q`, render.Container, k.logsFile(), k.execDir())
}
