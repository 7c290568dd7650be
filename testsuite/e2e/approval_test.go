package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// A protected app's promotion applies nothing until another person
// approves it: who started it is refused, someone else's `promotions
// continue` lets it roll out, and so does a continue signal sent through
// the Temporal API with the approver's name. Unprotected, it waits for
// nobody.
func TestProtectedAppWaitsForAnotherPersonsApproval(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	first := deployGood(t, s, "guarded")
	s.MustCLI(t, "apps", "protect", "-a", "guarded")
	if out := s.MustCLI(t, "apps", "info", "guarded"); !strings.Contains(out, "Protected") {
		t.Fatalf("apps info does not say the app is protected:\n%s", out)
	}

	second := releaseOf(t, s.MustCLI(t, "env", "set", "APPROVED=by-another", "-a", "guarded"))
	done := s.Background("releases", "promote", second, "-a", "guarded")
	awaitingApproval(t, s, "guarded")
	r := s.CLI(t, "promotions", "continue", "-a", "guarded")
	if r.Code == 0 || !strings.Contains(r.Stderr, "started this promotion of a protected app: someone else must approve it") {
		t.Fatalf("continue by who started it: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if rel, _ := deployed(t, s, "guarded", "web"); rel != first {
		t.Fatalf("web runs %s while the promotion waits for approval, want %s (nothing applied)", rel, first)
	}
	approver := s.PersonKubeconfig(t, "approver")
	r, err := s.Run(ctx, testsuite.Invocation{Args: []string{"promotions", "continue", "-a", "guarded"}, Env: []string{"KUBECONFIG=" + approver}})
	if err != nil || r.Code != 0 || !strings.Contains(r.Stdout, "Approving promotion of guarded to "+second+"... OK") {
		t.Fatalf("continue by another person: %v, exit %d\n%s%s", err, r.Code, r.Stdout, r.Stderr)
	}
	if out := testsuite.Wait(t, done); out.Err != nil || out.Code != 0 ||
		!strings.Contains(out.Stdout, "guarded is protected: nothing is applied until someone else runs `slipway promotions continue -a guarded`") {
		t.Fatalf("promotion after approval: %v, exit %d, want it to say it waits\n%s%s", out.Err, out.Code, out.Stdout, out.Stderr)
	}
	if rel, ok := deployed(t, s, "guarded", "web"); rel != second || !ok {
		t.Fatalf("web runs %s (available %v) after approval, want %s", rel, ok, second)
	}
	ps, err := s.Store.ListPromotions(ctx, "guarded")
	if err != nil {
		t.Fatal(err)
	}
	if steps := s.MustCLI(t, "promotions", "info", ps[0].Spec.ID, "-a", "guarded"); !strings.Contains(steps, "(approved by system:serviceaccount:") {
		t.Errorf("promotions info does not say who approved:\n%s", steps)
	}

	// The Temporal UI's way: the continue signal, its input the approver.
	third := releaseOf(t, s.MustCLI(t, "env", "set", "APPROVED=by-signal", "-a", "guarded"))
	done = s.Background("releases", "promote", third, "-a", "guarded")
	awaitingApproval(t, s, "guarded")
	if err := s.Temporal.SignalWorkflow(ctx, workflows.PromoteWorkflowID("guarded"), "", workflows.SignalContinue, "carol"); err != nil {
		t.Fatal(err)
	}
	if out := testsuite.Wait(t, done); out.Err != nil || out.Code != 0 {
		t.Fatalf("promotion after the continue signal: %v, exit %d\n%s%s", out.Err, out.Code, out.Stdout, out.Stderr)
	}

	s.MustCLI(t, "apps", "unprotect", "-a", "guarded")
	fourth := releaseOf(t, s.MustCLI(t, "env", "set", "APPROVED=nobody", "-a", "guarded"))
	s.MustCLI(t, "releases", "promote", fourth, "-a", "guarded")
	if rel, ok := deployed(t, s, "guarded", "web"); rel != fourth || !ok {
		t.Fatalf("web runs %s (available %v) on the unprotected app, want %s", rel, ok, fourth)
	}
}

// awaitingApproval waits until the app's promotion waits for approval, as
// `promotions info` shows it.
func awaitingApproval(t *testing.T, s *testsuite.Stack, app string) {
	t.Helper()
	eventually(t, "the promotion to wait for approval", time.Minute, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		ps, err := s.Store.ListPromotions(ctx, app)
		if err != nil || len(ps) == 0 {
			return false, "no promotion yet"
		}
		r, err := s.CLIResult("promotions", "info", ps[0].Spec.ID, "-a", app)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(r.Stdout, model.PhaseAwaitingApproval) && strings.Contains(r.Stdout, "Waiting"), r.Stdout
	})
}
