package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// openTerminal opens a pseudo-terminal's two ends: writes to tty come out
// of master.
func openTerminal(t *testing.T) (tty, master *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = master.Close() })
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tty.Close() })
	return tty, master
}

// JSON lines to a buffer, a file or a pipe; text lines on a terminal.
func TestLogHandler(t *testing.T) {
	var buf bytes.Buffer
	slog.New(logHandler(&buf, slog.LevelInfo)).Info("worker started", "temporal", "127.0.0.1:7233")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["msg"] != "worker started" || line["temporal"] != "127.0.0.1:7233" {
		t.Errorf("log to a buffer %q: want a JSON line (%v)", buf.String(), err)
	}

	f, err := os.Create(filepath.Join(t.TempDir(), "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	slog.New(logHandler(f, slog.LevelInfo)).Warn("polling", "queue", "slipway")
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &line); err != nil || line["level"] != "WARN" || line["queue"] != "slipway" {
		t.Errorf("log to a file %q: want a JSON line (%v)", b, err)
	}

	tty, master := openTerminal(t)
	slog.New(logHandler(tty, slog.LevelInfo)).Info("worker started", "queue", "slipway")
	out := make([]byte, 512)
	n, err := master.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out[:n]); !strings.Contains(got, `level=INFO msg="worker started" queue=slipway`) {
		t.Errorf("log to a terminal %q: want a text line", got)
	}
}
