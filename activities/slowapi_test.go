package activities

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// slowAPIDelay is how long the fake API server takes over one request in
// these tests: several heartbeat intervals, as a busy API server can take
// when many apps promote at once, and short enough for a unit test.
const slowAPIDelay = 1200 * time.Millisecond

// heartbeatCounter counts the heartbeats an activity records in the SDK's
// test environment while its slow request waits.
type heartbeatCounter struct {
	during atomic.Int32
	slow   atomic.Bool
}

func (c *heartbeatCounter) env(acts *Activities) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	// Counted as the activity records them: the SDK then sends at most
	// one in 0.8 of the heartbeat timeout, which the test environment
	// does not model.
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&beats{c: c}}})
	return env
}

func (c *heartbeatCounter) beat() {
	if c.slow.Load() {
		c.during.Add(1)
	}
}

// beats counts an activity's RecordHeartbeat calls into c.
type beats struct {
	interceptor.WorkerInterceptorBase
	c *heartbeatCounter
}

func (b *beats) InterceptActivity(_ context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &beatsInbound{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}, c: b.c}
}

type beatsInbound struct {
	interceptor.ActivityInboundInterceptorBase
	c *heartbeatCounter
}

func (b *beatsInbound) Init(out interceptor.ActivityOutboundInterceptor) error {
	return b.Next.Init(&beatsOutbound{ActivityOutboundInterceptorBase: interceptor.ActivityOutboundInterceptorBase{Next: out}, c: b.c})
}

type beatsOutbound struct {
	interceptor.ActivityOutboundInterceptorBase
	c *heartbeatCounter
}

func (b *beatsOutbound) RecordHeartbeat(ctx context.Context, details ...any) {
	b.c.beat()
	b.Next.RecordHeartbeat(ctx, details...)
}

// reactor makes one kind of request slow the first time it is made.
func (c *heartbeatCounter) reactor() k8stesting.ReactionFunc {
	var once atomic.Bool
	return func(k8stesting.Action) (bool, runtime.Object, error) {
		if once.CompareAndSwap(false, true) {
			c.slow.Store(true)
			time.Sleep(slowAPIDelay)
			c.slow.Store(false)
		}
		return false, nil, nil
	}
}

// An apply whose write waits on a busy API server keeps heartbeating, so
// Temporal does not take the live attempt for a dead worker's and start
// another beside it (which is how 50 apps promoting at once used to end
// in failed rollbacks).
func TestApplyReleaseHeartbeatsWhileAWriteWaits(t *testing.T) {
	fs := newFakeStore(t, promoteRecords(), releaseEnvSecret())
	acts := &Activities{Store: fs.Store}
	var c heartbeatCounter
	fs.core.PrependReactor("patch", "deployments", c.reactor())
	if _, err := c.env(acts).ExecuteActivity(acts.ApplyRelease, applyInput()); err != nil {
		t.Fatalf("ApplyRelease: %v", err)
	}
	if n := c.during.Load(); n < 2 {
		t.Errorf("%d heartbeats while a write took %s, want at least 2 (one every %s)", n, slowAPIDelay, heartbeatInterval)
	}
}

// So does the rollout watch while its first lists wait.
func TestWatchRolloutHeartbeatsWhileItsListsWait(t *testing.T) {
	in := WatchInput{App: testApp, Release: newRelease, Services: []string{"web"}}
	fs := newFakeStore(t, watchRecords(), rolledOut("web", newRelease, 2), pod("web-new", "web", newRelease))
	acts := &Activities{Store: fs.Store}
	var c heartbeatCounter
	fs.core.PrependReactor("list", "pods", c.reactor())
	if _, err := c.env(acts).ExecuteActivity(acts.WatchRollout, in); err != nil {
		t.Fatalf("WatchRollout: %v", err)
	}
	if n := c.during.Load(); n < 2 {
		t.Errorf("%d heartbeats while the pods' list took %s, want at least 2 (one every %s)", n, slowAPIDelay, heartbeatInterval)
	}
}
