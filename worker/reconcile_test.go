package worker

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/records/recordstest"
)

// Run looks at once, not a period after the worker starts, and stops with
// its context.
func TestReconcilerRunsAtOnceAndStops(t *testing.T) {
	fs := recordstest.NewStore(t)
	r := &Reconciler{Store: fs.Store, Logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	lists := func() int {
		n := 0
		for _, a := range fs.Dyn.Actions() {
			if a.GetVerb() == "list" && a.GetResource().Resource == "apps" {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(ReconcileEvery / 3)
	for lists() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no reconcile within %s of the start", ReconcileEvery/3)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not stop within 1s of its context ending")
	}
	if n := lists(); n != 1 {
		t.Errorf("%d reconciles, want 1 before the period", n)
	}
}
