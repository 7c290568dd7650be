package cmdutil

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is written by the counter's goroutine and read by the
// test; each write is signalled, so the test waits for output instead of
// sleeping.
type lockedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	written chan struct{}
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case l.written <- struct{}{}:
	default:
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestCounterOnATerminal(t *testing.T) {
	old := counterInterval
	counterInterval = time.Millisecond
	t.Cleanup(func() { counterInterval = old })
	out := &lockedBuffer{written: make(chan struct{}, 1)}
	c := StartCounter(out, true, "Uploading source")
	if _, err := io.Copy(io.Discard, c.Reader(strings.NewReader(strings.Repeat("x", 3<<20)))); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(out.String(), "Uploading source... 3.0 MB") {
		<-out.written
	}
	c.Stop()
	if got := out.String(); !strings.HasSuffix(got, "\r\033[KUploading source... ") {
		t.Fatalf("progress output %q: want the count wiped at the end", got)
	}
	c.Stop() // a second Stop is harmless
}

func TestCounterOffATerminalPrintsNothing(t *testing.T) {
	out := &lockedBuffer{written: make(chan struct{}, 1)}
	c := StartCounter(out, false, "Packaging source")
	if _, err := c.Writer(io.Discard).Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	c.Stop()
	if out.String() != "" {
		t.Fatalf("printed %q with no terminal", out.String())
	}
	if got := c.n.Load(); got != 1<<20 {
		t.Errorf("counted %d bytes, want %d", got, 1<<20)
	}
}
