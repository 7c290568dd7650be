package build

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob/memblob"
)

// notifyWriter signals each write, so a test waits for the follower's
// output instead of sleeping.
type notifyWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	select {
	case w.written <- struct{}{}:
	default:
	}
	return n, err
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestLogTailPrintsOnlyWhatIsNew(t *testing.T) {
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	var out bytes.Buffer
	tail := &logTail{bucket: bucket, key: "log", out: &out}
	tail.show(ctx) // not written yet: nothing, no error
	for _, log := range []string{"one\n", "one\ntwo\n", "one\ntwo\n"} {
		if err := bucket.WriteAll(ctx, "log", []byte(log), nil); err != nil {
			t.Fatal(err)
		}
		tail.show(ctx)
	}
	if got := out.String(); got != "one\ntwo\n" {
		t.Errorf("printed %q, want each line once", got)
	}
}

// While the build runs, its log shows as it grows; what the last read
// missed shows when it ends; and each line shows once.
func TestFollowWhile(t *testing.T) {
	old := logInterval
	logInterval = time.Millisecond
	t.Cleanup(func() { logInterval = old })
	ctx := context.Background()
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	out := &notifyWriter{written: make(chan struct{}, 1)}
	tail := &logTail{bucket: bucket, key: "log", out: out}
	boom := errors.New("boom")
	err := followWhile(ctx, tail, func() error {
		if err := bucket.WriteAll(ctx, "log", []byte("step 1\n"), nil); err != nil {
			return err
		}
		<-out.written // shown while the build runs
		return bucket.WriteAll(ctx, "log", []byte("step 1\nstep 2\n"), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "step 1\nstep 2\n" {
		t.Errorf("printed %q", got)
	}
	if err := followWhile(ctx, tail, func() error { return boom }); err != boom {
		t.Errorf("error %v, want the run's", err)
	}
}

// After a Ctrl-C the follower stops and prints nothing more.
func TestFollowWhileCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	bucket := memblob.OpenBucket(nil)
	defer bucket.Close()
	var out bytes.Buffer
	tail := &logTail{bucket: bucket, key: "log", out: &out}
	err := followWhile(ctx, tail, func() error {
		if err := bucket.WriteAll(context.Background(), "log", []byte("late\n"), nil); err != nil {
			return err
		}
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) || out.Len() != 0 {
		t.Errorf("error %v, printed %q; want cancelled and nothing printed", err, out.String())
	}
}
