package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A component that is healthy at once is never restarted.
func TestKeepUpLeavesAHealthyComponentBe(t *testing.T) {
	restarts, err := keepUp(context.Background(), func(context.Context) error { return nil },
		func(context.Context, error) error { t.Fatal("restarted a healthy component"); return nil }, time.Second, 3)
	if err != nil || restarts != 0 {
		t.Fatalf("keepUp = %d, %v; want 0, nil", restarts, err)
	}
}

// A component that is alive but still starting is waited for, not
// restarted.
func TestKeepUpWaitsForAStartingComponent(t *testing.T) {
	calls := 0
	restarts, err := keepUp(context.Background(), func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("its controllers are not running yet")
		}
		return nil
	}, func(context.Context, error) error { t.Fatal("restarted a starting component"); return nil }, 10*time.Second, 3)
	if err != nil || restarts != 0 || calls != 3 {
		t.Fatalf("keepUp = %d, %v after %d probes; want 0, nil after 3", restarts, err, calls)
	}
}

// An exited component is restarted at once, without waiting out settle,
// and the restart is reported with why it happened.
func TestKeepUpRestartsAnExitedComponent(t *testing.T) {
	dead := true
	var reasons []error
	start := time.Now()
	restarts, err := keepUp(context.Background(), func(context.Context) error {
		if dead {
			return fmt.Errorf("its process %w", errExited)
		}
		return nil
	}, func(_ context.Context, reason error) error {
		reasons = append(reasons, reason)
		dead = false
		return nil
	}, time.Minute, 3)
	if err != nil || restarts != 1 {
		t.Fatalf("keepUp = %d, %v; want 1, nil", restarts, err)
	}
	if len(reasons) != 1 || !errors.Is(reasons[0], errExited) {
		t.Errorf("restart reasons = %v, want one exit", reasons)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s: an exited process must not wait out settle", d)
	}
}

// A component that keeps exiting is restarted maxRestarts times, then the
// failure says so.
func TestKeepUpGivesUpAfterTheBound(t *testing.T) {
	restarts := 0
	n, err := keepUp(context.Background(), func(context.Context) error {
		return fmt.Errorf("its process %w", errExited)
	}, func(context.Context, error) error { restarts++; return nil }, time.Minute, 3)
	if err == nil {
		t.Fatal("keepUp = nil for a component that never stays up")
	}
	if restarts != 3 || n != 3 {
		t.Errorf("restarted %d times (reported %d), want 3", restarts, n)
	}
	if !strings.Contains(err.Error(), "after 3 restarts") || !errors.Is(err, errExited) {
		t.Errorf("error = %q, want it to name the restarts and the exit", err)
	}
}

// A component alive but never healthy is restarted once settle passes.
func TestKeepUpRestartsAComponentThatNeverAnswers(t *testing.T) {
	restarts := 0
	_, err := keepUp(context.Background(), func(context.Context) error {
		if restarts == 0 {
			return errors.New("connection refused")
		}
		return nil
	}, func(context.Context, error) error { restarts++; return nil }, 300*time.Millisecond, 3)
	if err != nil || restarts != 1 {
		t.Fatalf("keepUp = %v after %d restarts; want nil after 1", err, restarts)
	}
}

func TestKeepUpStopsWhenRestartFails(t *testing.T) {
	_, err := keepUp(context.Background(), func(context.Context) error {
		return fmt.Errorf("its process %w", errExited)
	}, func(context.Context, error) error { return errors.New("start kube-scheduler: permission denied") }, time.Minute, 3)
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("keepUp = %v, want the restart's error", err)
	}
}

func TestControllersBuilt(t *testing.T) {
	// What kube-controller-manager answers while it waits for the API
	// server, and once it has built its controllers.
	waiting := "[+]ping ok\nhealthz check passed\n"
	built := "[+]ping ok\n[+]serviceaccount-token-controller ok\n[+]replicaset-controller ok\n[+]job-controller ok\n[+]deployment-controller ok\nhealthz check passed\n"
	if controllersBuilt(waiting) {
		t.Error("controllersBuilt = true before any controller is listed")
	}
	if !controllersBuilt(built) {
		t.Error("controllersBuilt = false with the replicaset and job controllers listed")
	}
	if controllersBuilt(strings.Replace(built, "[+]job-controller ok", "[-]job-controller failed: reason withheld", 1)) {
		t.Error("controllersBuilt = true with the job controller failing")
	}
}

// A pid file whose process is gone, or runs another program, is not the
// component; kwokctl's own signal-0 look would take either for running.
func TestKwokComponentPid(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "pids"), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &kwokComponent{Name: "kube-controller-manager", Binary: self, WorkDir: dir}
	if c.pid() != 0 {
		t.Error("pid != 0 with no pid file")
	}
	write := func(pid int) {
		if err := os.WriteFile(c.pidFile(), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(os.Getpid())
	if c.pid() != os.Getpid() {
		t.Errorf("pid = %d, want this test's %d", c.pid(), os.Getpid())
	}
	c.Binary = "/usr/local/bin/kube-controller-manager"
	if c.pid() != 0 {
		t.Error("pid != 0 for a pid that runs another program")
	}
}
