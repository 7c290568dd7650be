package cmdutil

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCounterOnATerminal(t *testing.T) {
	var out lockedBuffer
	c := StartCounter(&out, true, "Uploading source")
	if _, err := io.Copy(io.Discard, c.Reader(strings.NewReader(strings.Repeat("x", 3<<20)))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c.Stop()
	got := out.String()
	if !strings.Contains(got, "Uploading source... 3.0 MB") || !strings.HasSuffix(got, "\r\033[KUploading source... ") {
		t.Fatalf("progress output %q", got)
	}
}

func TestCounterOffATerminalPrintsNothing(t *testing.T) {
	var out lockedBuffer
	c := StartCounter(&out, false, "Packaging source")
	if _, err := c.Writer(io.Discard).Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	c.Stop()
	if out.String() != "" {
		t.Fatalf("printed %q with no terminal", out.String())
	}
}
