package activities

import (
	"bytes"
	"context"
	"sync"
	"time"

	"gocloud.dev/blob"
	"k8s.io/apimachinery/pkg/util/wait"
)

// buildLog collects a build's log and writes it to the blob store as it
// grows (at most every flushEvery), so `slipway build` can show the lines
// live and `builds logs` has them afterwards.
type buildLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	dirty bool
	stop  chan struct{}
	done  chan struct{}
}

const flushEvery = 250 * time.Millisecond

func newBuildLog(ctx context.Context, bucket *blob.Bucket, key string) *buildLog {
	l := &buildLog{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		wait.Until(func() { l.flush(ctx, bucket, key, false) }, flushEvery, l.stop)
		l.flush(ctx, bucket, key, true)
	}()
	return l
}

func (l *buildLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dirty = true
	return l.buf.Write(p)
}

func (l *buildLog) flush(ctx context.Context, bucket *blob.Bucket, key string, final bool) {
	l.mu.Lock()
	if !l.dirty && !final {
		l.mu.Unlock()
		return
	}
	data := bytes.Clone(l.buf.Bytes())
	l.dirty = false
	l.mu.Unlock()
	_ = bucket.WriteAll(ctx, key, data, nil)
}

// Close writes the whole log one last time.
func (l *buildLog) Close() {
	close(l.stop)
	<-l.done
}
