package e2e

import (
	"context"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// Every build, release and promotion records who asked for it (the
// Kubernetes identity the CLI runs as), shows it, and puts it in the
// workflow's memo for the Temporal UI.
func TestActorIsRecorded(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	review, err := s.Kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authv1.SelfSubjectReview{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	who := review.Status.UserInfo.Username
	if who == "" {
		t.Fatal("the stack's identity has no user name")
	}
	rel := deployGood(t, s, "whodid")

	r, err := s.Store.GetRelease(ctx, "whodid", rel)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Store.GetBuild(ctx, "whodid", r.Spec.Build)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.Store.ListPromotions(ctx, "whodid")
	if err != nil || len(ps) == 0 {
		t.Fatalf("promotions: %v", err)
	}
	for what, got := range map[string]string{"build": b.Spec.Actor, "release": r.Spec.Actor, "promotion": ps[0].Spec.Actor} {
		if got != who {
			t.Errorf("%s actor %q, want %q", what, got, who)
		}
	}
	for _, args := range [][]string{
		{"releases", "info", rel, "-a", "whodid"},
		{"builds", "info", r.Spec.Build, "-a", "whodid"},
		{"promotions", "info", ps[0].Spec.ID, "-a", "whodid"},
	} {
		if out := s.MustCLI(t, args...); !strings.Contains(out, "\nBy ") || !strings.Contains(out, " "+who+"\n") {
			t.Errorf("%s does not say who:\n%s", strings.Join(args[:2], " "), out)
		}
	}
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID("whodid"), ps[0].Spec.RunID)
	if err != nil {
		t.Fatal(err)
	}
	var memo string
	field := d.GetWorkflowExecutionInfo().GetMemo().GetFields()["actor"]
	if field == nil {
		t.Fatal("the promotion's run has no actor in its memo")
	}
	if err := s.Settings.Temporal.DataConverter.FromPayload(field, &memo); err != nil || memo != who {
		t.Errorf("memo actor %q (%v), want %q", memo, err, who)
	}
}
