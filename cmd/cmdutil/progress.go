package cmdutil

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// counterInterval is how often a Counter redraws; tests shorten it.
var counterInterval = 200 * time.Millisecond

// Counter counts the bytes that pass through it and, on a terminal, shows
// them after the step's message ("Uploading source... 12.3 MB") until
// stopped, so a big source never looks hung.
type Counter struct {
	n    atomic.Int64
	stop context.CancelFunc
	done chan struct{}
}

// StartCounter shows progress on out after msg when tty is true.
func StartCounter(out io.Writer, tty bool, msg string) *Counter {
	ctx, stop := context.WithCancel(context.Background())
	c := &Counter{stop: stop, done: make(chan struct{})}
	if !tty {
		close(c.done)
		return c
	}
	go func() {
		defer close(c.done)
		_ = wait.PollUntilContextCancel(ctx, counterInterval, false, func(context.Context) (bool, error) {
			fmt.Fprintf(out, "\r\033[K%s... %.1f MB", msg, float64(c.n.Load())/(1<<20))
			return false, nil
		})
		fmt.Fprintf(out, "\r\033[K%s... ", msg)
	}()
	return c
}

func (c *Counter) Add(n int) { c.n.Add(int64(n)) }

// Stop ends the display, leaving the cursor after "msg... ".
func (c *Counter) Stop() {
	c.stop()
	<-c.done
}

// Writer counts what is written through w.
func (c *Counter) Writer(w io.Writer) io.Writer { return countingWriter{w, c} }

// Reader counts what is read through r.
func (c *Counter) Reader(r io.Reader) io.Reader { return countingReader{r, c} }

type countingWriter struct {
	w io.Writer
	c *Counter
}

func (cw countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.c.Add(n)
	return n, err
}

type countingReader struct {
	r io.Reader
	c *Counter
}

func (cr countingReader) Read(p []byte) (int, error) {
	n, err := cr.r.Read(p)
	cr.c.Add(n)
	return n, err
}
