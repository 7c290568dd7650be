package promotions

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

// The output of the release commands shows while the promotion runs, and
// a failed command's reason (exit code, last lines) is the command's error.
func TestPromoteShowsReleaseOutput(t *testing.T) {
	old := outputInterval
	outputInterval = 10 * time.Millisecond
	t.Cleanup(func() { outputInterval = old })
	a := recordstest.App("myapp")
	a.Status.Release, a.Status.Latest = "RBCDEFGHIJK", "RCDEFGHIJKL"
	r := release("RCDEFGHIJKL")
	r.Spec.Manifest = "services:\n  web:\n    image: x\n    release: bin/migrate\n"
	r.Spec.Env = records.EnvSecretName(r.Spec.ID)
	e := cmdutiltest.New(t, a, release("RBCDEFGHIJK"), r, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: r.Spec.Env, Namespace: ns}})
	e.ShareBlobs(t)
	out := &lines{buf: e.Out, next: make(chan string, 1)}
	e.Factory.IO.Out = out
	var st *cmdutiltest.Started
	st = e.ExpectRun("promote/myapp", func(ctx context.Context, _ any) error {
		in := st.Input.(workflows.PromoteInput)
		if len(in.Promotion) != 11 || in.Promotion[0] != 'P' {
			t.Errorf("promotion %q: the CLI picks the ID of a promotion with release commands", in.Promotion)
		}
		key := blobs.ReleaseOutputKey("myapp", in.Promotion)
		if err := e.Bucket.WriteAll(ctx, key, []byte("Running the release command of web\nmigrating 1\n"), nil); err != nil {
			t.Error(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			out.mu.Lock()
			shown := strings.Contains(out.buf.String(), "migrating 1\n")
			out.mu.Unlock()
			if shown {
				break
			}
			if time.Now().After(deadline) {
				t.Error("the output was not shown while the promotion ran")
				break
			}
		}
		// The last lines, written as the run ends, are shown too.
		_ = e.Bucket.WriteAll(ctx, key, []byte("Running the release command of web\nmigrating 1\nboom\n"), nil)
		return temporal.NewNonRetryableApplicationError("release phase: the release command of web failed: exit code 3; its last lines:\nmigrating 1\nboom", "Rejected", nil)
	})
	err := Promote(context.Background(), e.Factory, PromoteOptions{App: "myapp", Release: "RCDEFGHIJKL", Timeout: time.Minute})
	if err == nil || !strings.Contains(err.Error(), "exit code 3; its last lines:\nmigrating 1\nboom") {
		t.Errorf("error %v", err)
	}
	if want := "Promoting RCDEFGHIJKL...\nRunning the release command of web\nmigrating 1\nboom\n"; e.Out.String() != want {
		t.Errorf("output %q, want %q", e.Out.String(), want)
	}
}

// A release without release commands reads no output, and leaves the
// promotion's ID to the workflow.
func TestPromoteWithoutReleaseCommands(t *testing.T) {
	e, _ := promoteEnv(t)
	st := e.ExpectWorkflow("promote/myapp", workflows.PromoteResult{Result: "active"}, nil)
	if err := Promote(context.Background(), e.Factory, PromoteOptions{App: "myapp", Release: "RCDEFGHIJKL", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if in := st.Input.(workflows.PromoteInput); in.Promotion != "" {
		t.Errorf("promotion %q, want the workflow's own", in.Promotion)
	}
}
