package build

import (
	"context"
	"io"
	"time"

	"gocloud.dev/blob"
	"k8s.io/apimachinery/pkg/util/wait"
)

// logInterval is how often the build log is read again while the build
// runs; tests shorten it.
var logInterval = 250 * time.Millisecond

// logTail prints what is new in a log blob each time it is shown.
type logTail struct {
	bucket  *blob.Bucket
	key     string
	out     io.Writer
	printed int
}

// show prints the bytes of the log not printed yet. A log not written yet
// (or unreadable for a moment) prints nothing: the next read catches up.
func (t *logTail) show(ctx context.Context) {
	data, err := t.bucket.ReadAll(ctx, t.key)
	if err == nil && len(data) > t.printed {
		t.out.Write(data[t.printed:])
		t.printed = len(data)
	}
}

// followWhile prints the log as it grows while run runs, then whatever
// the last read missed, and returns run's error. The log is a blob the
// worker rewrites as it grows, and a bucket has no watch: reading it again
// on an interval is the watch. After a Ctrl-C (ctx done) it prints no
// more.
func followWhile(ctx context.Context, t *logTail, run func() error) error {
	followCtx, stop := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		t.follow(followCtx)
	}()
	err := run()
	stop()
	<-followed
	if ctx.Err() == nil {
		t.show(ctx)
	}
	return err
}

// follow shows the log every logInterval until ctx ends.
func (t *logTail) follow(ctx context.Context) {
	_ = wait.PollUntilContextCancel(ctx, logInterval, false, func(ctx context.Context) (bool, error) {
		t.show(ctx)
		return false, nil
	})
}
