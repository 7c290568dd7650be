package cmdutil

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
)

// Staged values land in a Secret in the app's namespace, labelled with the
// app; a second stage of the same name is refused, never merged.
func TestStageSecret(t *testing.T) {
	ctx := context.Background()
	f := recordstest.NewStore(t)
	a := recordstest.App("myapp")
	if err := StageSecret(ctx, f.Store, a, "env-change-rx", map[string]string{"FOO": "bar"}); err != nil {
		t.Fatal(err)
	}
	s, err := f.Core.CoreV1().Secrets("dev-myapp").Get(ctx, "env-change-rx", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(s.Data["FOO"]) != "bar" || len(s.Data) != 1 || s.Labels[records.LabelApp] != "myapp" {
		t.Errorf("staged %v with labels %v", s.Data, s.Labels)
	}
	if err := StageSecret(ctx, f.Store, a, "env-change-rx", map[string]string{"FOO": "other"}); err == nil {
		t.Error("staged the same name twice")
	}
}
