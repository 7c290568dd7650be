package releases

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
)

func promotionOf(id, rel string, started time.Time) *records.Promotion {
	return &records.Promotion{
		TypeMeta:   recordstest.TypeMeta("Promotion"),
		ObjectMeta: metav1.ObjectMeta{Name: records.PromotionName(id), Namespace: "dev-myapp"},
		Spec:       records.PromotionSpec{ID: id, App: "myapp", Release: rel, Started: metav1.NewMicroTime(started)},
	}
}

// `releases output` prints the output of the release's last promotion
// that ran release commands; a release without one says why there is none.
func TestOutputRun(t *testing.T) {
	e := seeded(t,
		promotionOf("PAAAAAAAAAA", "RCDEFGHIJKL", now.Add(-3*time.Minute)),
		promotionOf("PBBBBBBBBBB", "RCDEFGHIJKL", now.Add(-2*time.Minute)),
		promotionOf("PCCCCCCCCCC", "RBCDEFGHIJK", now.Add(-time.Minute)))
	e.ShareBlobs(t)
	ctx := context.Background()
	for id, text := range map[string]string{"PAAAAAAAAAA": "first run\n", "PBBBBBBBBBB": "second run\n"} {
		if err := e.Bucket.WriteAll(ctx, blobs.ReleaseOutputKey("myapp", id), []byte(text), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := outputRun(ctx, &OutputOptions{Factory: e.Factory, App: "myapp", ID: "RCDEFGHIJKL"}); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "second run\n" {
		t.Errorf("output %q, want the last promotion's", got)
	}
	err := outputRun(ctx, &OutputOptions{Factory: e.Factory, App: "myapp", ID: "RBCDEFGHIJK"})
	want := "release RBCDEFGHIJK has no release command output: it has no release command, or was never promoted (`slipway releases promote RBCDEFGHIJK -a myapp`)"
	if err == nil || err.Error() != want {
		t.Errorf("error %v, want %q", err, want)
	}
	err = outputRun(ctx, &OutputOptions{Factory: e.Factory, App: "myapp", ID: "RZZZZZZZZZZ"})
	if err == nil || err.Error() != "no such release: RZZZZZZZZZZ" {
		t.Errorf("output of a missing release: %v", err)
	}
}

func TestOutputFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *OutputOptions
	run := func(_ context.Context, o *OutputOptions) error { got = o; return nil }
	if err := e.Run(NewCmdOutput(e.Factory, run), "RBCDEFGHIJK", "-a", "myapp"); err != nil || got.ID != "RBCDEFGHIJK" || got.App != "myapp" {
		t.Errorf("output: %+v, %v", got, err)
	}
	got = nil
	for _, args := range [][]string{{}, {"A", "B"}} {
		if err := e.Run(NewCmdOutput(e.Factory, run), args...); err == nil || got != nil {
			t.Errorf("output %q: ran (%v)", args, err)
		}
	}
}
