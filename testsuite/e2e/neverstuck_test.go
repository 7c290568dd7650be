package e2e

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// settled checks what "never stuck" promises once a promotion has ended:
// the app is not updating and its deploy lock is free, its newest
// promotion has a result, and every pod of every service runs the active
// release (want) with the images that release's build names.
func settled(t *testing.T, s *testsuite.Stack, app, want string) *records.Promotion {
	t.Helper()
	ctx := context.Background()
	a, err := s.Store.GetApp(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status.Status == model.AppUpdating || a.Status.Status == model.AppRollback {
		t.Fatalf("app %s is still %s after its promotion ended", app, a.Status.Status)
	}
	if a.Status.Release != want {
		t.Fatalf("active release %s, want %s", a.Status.Release, want)
	}
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID(app), "")
	if err != nil {
		t.Fatalf("the deploy lock of %s: %v", app, err)
	}
	if d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the deploy lock of %s is still held", app)
	}
	ps, err := s.Store.ListPromotions(ctx, app)
	if err != nil || len(ps) == 0 {
		t.Fatalf("promotions of %s: %v", app, err)
	}
	if ps[0].Status.Result == "" {
		t.Fatalf("newest promotion %s has no result: %+v", ps[0].Spec.ID, ps[0].Status)
	}
	images := releaseImages(t, s, app, want)
	ns := s.Store.Namespace(app)
	// Pods of the replaced ReplicaSet go within moments of the rollout's end.
	eventually(t, "every pod of "+app+" on "+want+" (none half way)", 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: render.LabelApp + "=" + app})
		if err != nil {
			return false, err.Error()
		}
		var wrong []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || p.Labels[render.LabelResource] != "" {
				continue // a resource's pods belong to no release
			}
			svc := p.Labels[render.LabelService]
			if rel := p.Labels[render.LabelRelease]; rel != want {
				wrong = append(wrong, fmt.Sprintf("pod %s runs release %s", p.Name, rel))
			} else if img := p.Spec.Containers[0].Image; img != images[svc] {
				wrong = append(wrong, fmt.Sprintf("pod %s runs %s, want %s", p.Name, img, images[svc]))
			}
		}
		return len(wrong) == 0, "half way: " + strings.Join(wrong, "; ")
	})
	return ps[0]
}

// releaseImages are the images a release runs per service, by digest.
func releaseImages(t *testing.T, s *testsuite.Stack, app, release string) map[string]string {
	t.Helper()
	ctx := context.Background()
	r, err := s.Store.GetRelease(ctx, app, release)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Store.GetBuild(ctx, app, r.Spec.Build)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, im := range b.Status.Images {
		repo := im.Ref
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		out[im.Service] = repo + "@" + im.Digest
	}
	return out
}

// promoteFails runs a promotion that must fail and returns its one-line
// error and how long it took.
func promoteFails(t *testing.T, s *testsuite.Stack, app, release string, args ...string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	r := s.CLI(t, append([]string{"releases", "promote", release, "-a", app}, args...)...)
	took := time.Since(start)
	if r.Code != 1 || strings.Count(r.Stderr, "\n") != 1 || !strings.HasPrefix(r.Stderr, "ERROR: ") {
		t.Fatalf("promote: exit %d, want 1 with one ERROR line\nstdout:\n%s\nstderr:\n%s", r.Code, r.Stdout, r.Stderr)
	}
	return strings.TrimSpace(r.Stderr), took
}

// A release whose env Secret is gone is refused at once, whatever the
// timeout: before, the apply was retried for ever and the app stayed
// updating.
func TestLostEnvSecretEndsAtOnce(t *testing.T) {
	s := testsuite.Get(t)
	good := deployGood(t, s, "lostenv")
	rel := releaseOf(t, s.MustCLI(t, "env", "set", "X=1", "-a", "lostenv"))
	err := s.Kube.CoreV1().Secrets(s.Store.Namespace("lostenv")).Delete(context.Background(), records.EnvSecretName(rel), metav1.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg, took := promoteFails(t, s, "lostenv", rel, "--timeout", "20s")
	want := "ERROR: release " + rel + " has lost its env Secret " + records.EnvSecretName(rel) + ": promote another release, or make a new one with `slipway env set`"
	if msg != want {
		t.Errorf("promote said %q, want %q", msg, want)
	}
	if took > 15*time.Second {
		t.Errorf("took %s: a refusal that no retry can fix must end at once", took)
	}
	p := settled(t, s, "lostenv", good)
	if p.Status.Result != model.ResultRolledBack || !strings.Contains(p.Status.Reason, "lost its env Secret") {
		t.Errorf("promotion record %+v, want rolled back with the reason", p.Status)
	}
	// The newest release cannot be forked any more, and says so.
	r := s.CLI(t, "env", "set", "X=2", "-a", "lostenv")
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, "ERROR: release "+rel+" has lost its env Secret") || strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("env set on a release without env: exit %d, stderr %q", r.Code, r.Stderr)
	}
	// The lock is free: the next promotion goes through.
	next := releaseOf(t, s.MustCLI(t, "env", "set", "X=2", "--release", good, "-a", "lostenv"))
	s.MustCLI(t, "releases", "promote", next, "-a", "lostenv")
	settled(t, s, "lostenv", next)
}

// denyRelease installs an admission policy that forbids writing any object
// of one release in the app's namespace, as RBAC or a cluster policy might.
func denyRelease(t *testing.T, s *testsuite.Stack, app, release string) {
	t.Helper()
	ctx := context.Background()
	name := "deny-" + app
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: ptr.To(admissionv1.Fail),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{"", "apps"}, APIVersions: []string{"v1"}, Resources: []string{"secrets", "deployments"}},
				},
			}}},
			Validations: []admissionv1.Validation{{
				Expression: fmt.Sprintf(`!(has(object.metadata.labels) && %q in object.metadata.labels && object.metadata.labels[%q] == %q)`,
					render.LabelRelease, render.LabelRelease, release),
				Reason:  ptr.To(metav1.StatusReasonForbidden),
				Message: "release " + release + " is not allowed here",
			}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": s.Store.Namespace(app)},
			}},
		},
	}
	adm := s.Kube.AdmissionregistrationV1()
	if _, err := adm.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A policy left behind would refuse writes in this app's namespace
		// for the rest of the run: say so.
		if err := adm.ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete the admission policy binding %s: %v", name, err)
		}
		if err := adm.ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete the admission policy %s: %v", name, err)
		}
	})
	// The API server loads policies asynchronously: wait until it denies.
	probe := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: s.Store.Namespace(app), Labels: map[string]string{render.LabelRelease: release}}}
	eventually(t, "the admission policy denying "+release, 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, string) {
		_, err := s.Kube.CoreV1().Secrets(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if apierrors.IsForbidden(err) || apierrors.IsInvalid(err) {
			return true, err.Error()
		}
		return false, fmt.Sprintf("a dry-run write of the release's Secret: %v", err)
	})
}

// Writes the API server refuses (an admission policy, RBAC, a quota) end
// the promotion at once with the refusal as its reason, rolled back; before,
// they were retried for ever.
func TestRefusedWritesRollBackAtOnce(t *testing.T) {
	s := testsuite.Get(t)
	for _, tc := range []struct {
		app, refusal string
		refuse       func(t *testing.T, app, release string)
	}{
		{"denied", "is not allowed here", func(t *testing.T, app, release string) { denyRelease(t, s, app, release) }},
		{"quota", "exceeded quota", func(t *testing.T, app, _ string) { fillSecretQuota(t, s, app) }},
	} {
		t.Run(tc.app, func(t *testing.T) {
			good := deployGood(t, s, tc.app)
			rel := releaseOf(t, s.MustCLI(t, "env", "set", "X=1", "-a", tc.app))
			tc.refuse(t, tc.app, rel)
			msg, took := promoteFails(t, s, tc.app, rel)
			if !strings.HasPrefix(msg, "ERROR: rollback: web: apply: ") || !strings.Contains(msg, tc.refusal) {
				t.Errorf("promote said %q, want the refusal (%s), rolled back", msg, tc.refusal)
			}
			if took > 20*time.Second {
				t.Errorf("took %s: a refusal must not be retried for minutes", took)
			}
			settled(t, s, tc.app, good)
		})
	}
}

// fillSecretQuota leaves no room for one more Secret in the app's
// namespace: the new release's service env cannot be written.
func fillSecretQuota(t *testing.T, s *testsuite.Stack, app string) {
	t.Helper()
	ns := s.Store.Namespace(app)
	ctx := context.Background()
	secrets, err := s.Kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "full", Namespace: ns},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"count/secrets": *resource.NewQuantity(int64(len(secrets.Items)), resource.DecimalSI),
		}},
	}
	if _, err := s.Kube.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitQuotaCounted(t, s, ns, "full")
}

// waitQuotaCounted waits until the quota controller has counted the
// namespace's Secrets against the quota: only then does it refuse.
func waitQuotaCounted(t *testing.T, s *testsuite.Stack, ns, name string) {
	t.Helper()
	quotas := s.Kube.CoreV1().ResourceQuotas(ns)
	await(t, watchFor(t, "secrets counted in quota "+name, 30*time.Second, listWatch("", quotas.List, quotas.Watch), &corev1.ResourceQuota{},
		func(_ watch.EventType, q *corev1.ResourceQuota) (bool, string) {
			used, ok := q.Status.Used["count/secrets"]
			return q.Name == name && ok, fmt.Sprintf("quota %s: used %v", q.Name, used.String())
		}))
}

// rollbackBegun sees when the app's promotion of release is rolling back
// (or done): a watch on the promotion records, so the time is when the
// record changed, give or take the watch's delivery.
func rollbackBegun(t *testing.T, s *testsuite.Stack, app, release string) <-chan sighting[*unstructured.Unstructured] {
	t.Helper()
	return watchPromotion(t, s, app, "the promotion of "+release+" rolling back", func(p *records.Promotion) bool {
		return p.Spec.Release == release && (p.Status.Phase == model.PhaseRollingBack || p.Status.Phase == model.PhaseDone)
	})
}

// A cancel request from the Temporal UI (or API) means "roll back", and
// the rollback begins at once: within 5 s here, a liveness bound with room
// for a loaded machine (the unready rollout would otherwise run until its
// deadline); BenchmarkControl measures how fast (about 0.3 s).
func TestTemporalCancelRollsBack(t *testing.T) {
	s := testsuite.Get(t)
	good := deployGood(t, s, "cancelly")
	rel := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=unready", "-a", "cancelly"))
	done := startPromote(t, s, "cancelly", rel)
	begun := rollbackBegun(t, s, "cancelly", rel)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sent := time.Now()
	if err := s.Temporal.CancelWorkflow(ctx, workflows.PromoteWorkflowID("cancelly"), ""); err != nil {
		t.Fatal(err)
	}
	if took := await(t, begun).At.Sub(sent); took > 5*time.Second {
		t.Errorf("rollback began %s after the cancel request, want within 5s", took)
	}
	if r := testsuite.Wait(t, done); r.Code != 1 || r.Stderr != "ERROR: rollback: cancelled from Temporal\n" {
		t.Fatalf("promote: exit %d, stderr %q", r.Code, r.Stderr)
	}
	settled(t, s, "cancelly", good)
}

// A promotion whose workflow is terminated half way (no workflow code runs
// after a terminate) is rolled back by the reconciler and its lock freed,
// within a minute.
func TestTerminatedPromotionIsRepaired(t *testing.T) {
	s := testsuite.Get(t)
	good := deployGood(t, s, "termy")
	rel := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=unready", "-a", "termy"))
	done := startPromote(t, s, "termy", rel)
	terminated := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Temporal.TerminateWorkflow(ctx, workflows.PromoteWorkflowID("termy"), "", "chaos"); err != nil {
		t.Fatal(err)
	}
	// The CLI sees its run terminated: how it words that is not what this
	// test is about; the repair below is.
	o := testsuite.Wait(t, done)
	t.Logf("promote ended with exit %d: %s", o.Code, strings.TrimSpace(o.Stderr))
	// Repaired means the repair's run has ended too: the app says running
	// a moment before that run closes and frees the deploy lock.
	eventually(t, "termy running again, its deploy lock free, a minute after its promotion was terminated", time.Until(terminated.Add(time.Minute)), 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		a, err := s.Store.GetApp(ctx, "termy")
		if err != nil {
			t.Fatal(err)
		}
		if a.Status.Status != model.AppRunning {
			return false, "app " + a.Status.Status
		}
		d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.PromoteWorkflowID("termy"), "")
		if err != nil {
			return false, err.Error()
		}
		st := d.GetWorkflowExecutionInfo().GetStatus()
		return st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, "the deploy lock's run " + st.String()
	})
	t.Logf("repaired %s after the terminate", time.Since(terminated).Round(100*time.Millisecond))
	p := settled(t, s, "termy", good)
	if p.Spec.Release != rel || p.Status.Result != model.ResultRolledBack || !strings.Contains(p.Status.Reason, "was terminated before it finished") {
		t.Errorf("promotion record %+v, want %s rolled back because it was terminated", p.Status, rel)
	}
	next := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=", "-a", "termy"))
	s.MustCLI(t, "releases", "promote", next, "-a", "termy")
	settled(t, s, "termy", next)
}

// After a worker is SIGKILLed mid-rollout, a new worker resumes the watch:
// the heartbeat timeout, not the watch's day-long start-to-close, decides
// when. The bound here is a liveness bound with room for a loaded machine;
// how fast it resumes (target 3 s) is BenchmarkRecovery's to measure.
func TestWorkerKillResumesFast(t *testing.T) {
	s := testsuite.Get(t)
	deployGood(t, s, "resumy")
	rel := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=unready", "-a", "resumy"))
	t.Cleanup(func() { s.StartWorker(t) })
	done := startPromote(t, s, "resumy", rel)
	time.Sleep(time.Second) // the watch is running
	s.KillWorker(t)
	s.StartWorker(t)
	started := time.Now()
	eventually(t, "the watch resumed on the new worker", 20*time.Second, 50*time.Millisecond, func(ctx context.Context) (bool, string) {
		return s.WatchResumed(ctx, "resumy", started)
	})
	t.Logf("resumed %s after the new worker started", time.Since(started).Round(10*time.Millisecond))
	s.MustCLI(t, "promotions", "cancel", "-a", "resumy")
	if r := testsuite.Wait(t, done); r.Code != 1 {
		t.Fatalf("promote: exit %d\n%s", r.Code, r.Stderr)
	}
}

var rolloutFor = flag.Duration("rollout", 40*time.Second, "how long TestLongRolloutHistoryBounded's rollout lasts (make chaos: 5m)")

// historyBound is the most events one promotion may write, whatever its
// rollout's length: a fixed part, and a part per service for its steps.
func historyBound(services int) int { return 300 + 20*services }

// A long rollout writes no more history than a short one (progress is a
// heartbeat, not an event), and pause, resume and rollback still work at
// its end.
func TestLongRolloutHistoryBounded(t *testing.T) {
	s := testsuite.Get(t)
	good := deployGood(t, s, "longy")
	// web's new pods take the whole time to become ready.
	rel := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=slow:"+rolloutFor.String(), "-a", "longy"))
	rolling := watchPhase(t, s, "longy", rel, model.PhaseRollingOut)
	// The CLI waits for the whole promotion, which may take its --timeout
	// and then its rollback.
	done := s.BackgroundWithin(*rolloutFor*3+2*time.Minute, "releases", "promote", rel, "-a", "longy", "--timeout", (*rolloutFor * 3).String())
	await(t, rolling)
	time.Sleep(*rolloutFor - 10*time.Second)

	for _, c := range []struct{ control, out string }{
		{"pause", "Pausing promotion of longy to " + rel + "... OK\n"},
		{"resume", "Resuming promotion of longy to " + rel + "... OK\n"},
		{"cancel", "Cancelling promotion of longy to " + rel + "... OK\n"},
	} {
		if out := s.MustCLI(t, "promotions", c.control, "-a", "longy"); out != c.out {
			t.Fatalf("promotions %s printed %q, want %q", c.control, out, c.out)
		}
	}
	if r := testsuite.Wait(t, done); r.Code != 1 || !strings.Contains(r.Stderr, "rollback requested by") {
		t.Fatalf("promote: exit %d, stderr %q", r.Code, r.Stderr)
	}
	settled(t, s, "longy", good)

	ps, err := s.Store.ListPromotions(context.Background(), "longy")
	if err != nil {
		t.Fatal(err)
	}
	it := s.Temporal.GetWorkflowHistory(context.Background(), ps[0].Spec.WorkflowID, ps[0].Spec.RunID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	events := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			t.Fatal(err)
		}
		events++
	}
	t.Logf("a %s rollout, paused, resumed and rolled back, wrote %d events", *rolloutFor, events)
	if bound := historyBound(2); events > bound {
		t.Errorf("%d history events, more than the bound %d", events, bound)
	}
}
