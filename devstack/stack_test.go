package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestWaitForReady(t *testing.T) {
	calls := 0
	err := waitFor(context.Background(), 10*time.Second, nil, func(context.Context) error {
		calls++
		if calls < 3 {
			return errors.New("connection refused")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("waitFor = %v after %d calls, want nil after 3", err, calls)
	}
}

func TestWaitForTimesOutWithTheLastError(t *testing.T) {
	calls := 0
	err := waitFor(context.Background(), 300*time.Millisecond, nil, func(context.Context) error {
		calls++
		return fmt.Errorf("not yet (%d)", calls)
	})
	want := fmt.Sprintf("not ready after 300ms: not yet (%d) (log: none)", calls)
	if err == nil || err.Error() != want {
		t.Errorf("waitFor = %v, want %q", err, want)
	}
	if calls < 2 {
		t.Errorf("ready called %d times in 300ms, want it polled", calls)
	}
}

// A process that dies while starting is reported at once, with its log,
// not after the timeout.
func TestWaitForReportsAnExit(t *testing.T) {
	p := &process{name: "server", dir: t.TempDir()}
	if err := os.WriteFile(p.logFile(), []byte("starting\nfatal: port in use\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := waitFor(context.Background(), time.Minute, p, func(context.Context) error { return errors.New("connection refused") })
	if err == nil || !strings.HasPrefix(err.Error(), "exited while starting; its log "+p.logFile()+" ends:\n") ||
		!strings.HasSuffix(err.Error(), "fatal: port in use") {
		t.Errorf("waitFor = %v, want the exit with the log's tail", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("exit reported after %s, want at once", d)
	}
}

func TestPollFor(t *testing.T) {
	n := 0
	if !pollFor(5*time.Second, time.Millisecond, func() bool { n++; return n == 3 }) {
		t.Error("pollFor = false for a condition that comes true")
	}
	if pollFor(50*time.Millisecond, time.Millisecond, func() bool { return false }) {
		t.Error("pollFor = true for a condition that never holds")
	}
	if !pollFor(0, time.Millisecond, func() bool { return true }) {
		t.Error("pollFor(0) does not look even once")
	}
}
