package devstack

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// The simulated log is in the CRI format the kubelet's reader (kwok's)
// parses: RFC 3339 time, stream, tag F (a full line), message.
func TestSimulatedLog(t *testing.T) {
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	lines := strings.Split(strings.TrimSuffix(simulatedLog(now), "\n"), "\n")
	cri := regexp.MustCompile(`^2026-01-02T15:04:05(\.00[12])?Z (stdout|stderr) F \S.*$`)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for _, l := range lines {
		if !cri.MatchString(l) {
			t.Errorf("line %q is not a CRI log line", l)
		}
	}
}

func TestDebuggingConfig(t *testing.T) {
	k := &kube{s: New(Options{Home: "/home/u/.slipway"})}
	conf := k.debuggingConfig()
	for _, want := range []string{
		"kind: ClusterLogs", `logsFile: "/home/u/.slipway/dev/kwok-logs/container.log"`, `containers: ["main"]`,
		"kind: ClusterExec", `workDir: "/home/u/.slipway/dev/kwok-exec"`,
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("config lacks %q:\n%s", want, conf)
		}
	}
}
