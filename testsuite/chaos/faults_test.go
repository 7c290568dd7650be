package chaos

import (
	"context"
	"fmt"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/testsuite/chaos/plan"
)

// control is what a rollback request did: asked is true when it was
// accepted while the promotion was rolling out; after is how long the
// rollback took to begin (negative: never, within controlWait).
type control struct {
	asked bool
	after time.Duration
	notes []string
}

// controlWait is how long the suite watches for a rollback to begin; the
// invariant is two seconds, the rest shows how late it was.
const controlWait = 10 * time.Second

// chaosName names what the suite creates, so clearing finds it.
func chaosName(app string) string { return "slipway-chaos-" + app }

// inject strikes the step's fault on the run of release.
func (r *runner) inject(ctx context.Context, st plan.Step, release, runID string) control {
	t, s, app := r.t, r.s, st.App
	id := "promote/" + app
	var ctl control
	note := func(format string, args ...any) { ctl.notes = append(ctl.notes, fmt.Sprintf(format, args...)) }
	switch st.Fault {
	case plan.None:
	case plan.KillWorker:
		s.KillWorker(t)
		s.StartWorker(t)
	case plan.RestartTemporal:
		s.RestartTemporal(t)
	case plan.RestartAPIServer:
		s.RestartKubeAPIServer(t)
	case plan.DeleteEnvSecret:
		rel, err := s.Store.GetRelease(ctx, app, release)
		if err != nil {
			t.Fatalf("release %s: %v", release, err)
		}
		secrets := s.Kube.CoreV1().Secrets(s.Store.Namespace(app))
		sec, err := secrets.Get(ctx, rel.Spec.Env, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("secret %s: %v", rel.Spec.Env, err)
		}
		if err := secrets.Delete(ctx, sec.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("delete secret %s: %v", sec.Name, err)
		}
		// Cleared by writing it back: later releases copy this env, and
		// the suite judges promotions, not the loss of a release's env.
		keep := sec.DeepCopy()
		keep.ResourceVersion, keep.UID, keep.CreationTimestamp = "", "", metav1.Time{}
		r.restore = func(ctx context.Context) error {
			_, err := secrets.Create(ctx, keep, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return nil
			}
			return err
		}
	case plan.DenyWrites:
		r.denyWrites(ctx, app)
	case plan.Quota:
		r.fullQuota(ctx, app)
	case plan.ClusterFull:
		r.cordon(ctx, true)
	case plan.Cancel:
		ctl.asked, ctl.after = r.askRollback(ctx, app, release, func() error {
			return s.Temporal.CancelWorkflow(ctx, id, runID)
		})
	case plan.Terminate:
		if err := s.Temporal.TerminateWorkflow(ctx, id, runID, "chaos: terminate"); err != nil {
			note("terminate: %v", err)
		}
	case plan.Signals:
		began := time.Now()
		for _, sig := range st.Signals {
			time.Sleep(time.Until(began.Add(sig.At)))
			send := func() error {
				var arg any
				if sig.Name == "rollback" {
					arg = "chaos"
				}
				return s.Temporal.SignalWorkflow(ctx, id, runID, sig.Name, arg)
			}
			if sig.Name == "rollback" {
				ctl.asked, ctl.after = r.askRollback(ctx, app, release, send)
				continue
			}
			if err := send(); err != nil {
				note("%s: %v", sig.Name, err)
			}
		}
	default:
		t.Fatalf("unknown fault %s", st.Fault)
	}
	return ctl
}

// askRollback sends a rollback request and measures how soon the rollback
// begins: the app's `Updating => Rollback` event or the promotion record's
// phase. A request that finds the promotion already rolling back or ended
// is not counted.
func (r *runner) askRollback(ctx context.Context, app, release string, ask func() error) (bool, time.Duration) {
	p := r.record(ctx, app, release)
	if p == nil || p.Status.Result != "" || p.Status.Phase == model.PhaseRollingBack {
		_ = ask()
		return false, 0
	}
	seen := r.rollbackEvents(ctx, app)
	sent := time.Now()
	if err := ask(); err != nil {
		return false, 0
	}
	for time.Since(sent) < controlWait {
		if p := r.record(ctx, app, release); p != nil {
			if p.Status.Phase == model.PhaseRollingBack || (p.Status.Result != "" && p.Status.Result != model.ResultActive) {
				return true, time.Since(sent)
			}
			if p.Status.Result == model.ResultActive {
				return true, -1
			}
		}
		for name := range r.rollbackEvents(ctx, app) {
			if !seen[name] {
				return true, time.Since(sent)
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return true, -1
}

func (r *runner) rollbackEvents(ctx context.Context, app string) map[string]bool {
	out := map[string]bool{}
	evs, err := r.s.Kube.CoreV1().Events(r.s.Store.Namespace(app)).List(ctx, metav1.ListOptions{})
	if err != nil {
		return out
	}
	for _, e := range evs.Items {
		if e.Reason == "Status" && e.Message == "Updating => Rollback" {
			out[e.Name] = true
		}
	}
	return out
}

// denyWrites makes a ValidatingAdmissionPolicy refuse every write in the
// app's namespace, and returns once it does. Every write means every
// resource and the status of slipway's records, which slipway writes
// through their status subresource; not the status of pods or
// Deployments, which the cluster itself writes: denying those would test
// whether kwok and the controllers retry a refused status write, not
// slipway.
func (r *runner) denyWrites(ctx context.Context, app string) {
	t, s := r.t, r.s
	ns, name := s.Store.Namespace(app), chaosName(app)
	fail := admissionv1.Fail
	all := []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update, admissionv1.Delete},
		Rule:       admissionv1.Rule{APIGroups: []string{"*"}, APIVersions: []string{"*"}, Resources: []string{"*", "apps/status", "builds/status", "promotions/status"}},
	}}}
	forbidden := metav1.StatusReasonForbidden
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: all},
			Validations:      []admissionv1.Validation{{Expression: "false", Reason: &forbidden, Message: "chaos: writes denied in " + ns}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: name,
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{
				MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns},
			}},
			ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	adm := s.Kube.AdmissionregistrationV1()
	if _, err := adm.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create policy: %v", err)
	}
	if _, err := adm.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create policy binding: %v", err)
	}
	// The API server compiles the policy in the background: wait until a
	// dry-run write is refused, so the fault is in force.
	if !r.waitWritable(ctx, app, false) {
		t.Fatalf("writes in %s still allowed 10s after the policy was made", ns)
	}
}

// waitWritable waits until a dry-run write in the app's namespace is
// allowed (want true) or refused (want false).
func (r *runner) waitWritable(ctx context.Context, app string, want bool) bool {
	ns := r.s.Store.Namespace(app)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "chaos-probe", Namespace: ns}}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := r.s.Kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		allowed := err == nil || apierrors.IsAlreadyExists(err)
		return allowed == want && (want || apierrors.IsForbidden(err) || apierrors.IsInvalid(err)), nil
	})
	return err == nil
}

// fullQuota admits no pod beyond those the app's namespace has now: a
// rollout cannot surge, nor replace a pod.
func (r *runner) fullQuota(ctx context.Context, app string) {
	t, s := r.t, r.s
	ns := s.Store.Namespace(app)
	pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	n := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			n++
		}
	}
	q := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: chaosName(app), Namespace: ns},
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(int64(n), resource.DecimalSI)}},
	}
	if _, err := s.Kube.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create quota: %v", err)
	}
}

// cordon marks every node unschedulable (the cluster is full) or not.
func (r *runner) cordon(ctx context.Context, on bool) {
	t, s := r.t, r.s
	nodes, err := s.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list nodes: %v", err)
	}
	patch := fmt.Appendf(nil, `{"spec":{"unschedulable":%t}}`, on)
	for _, n := range nodes.Items {
		if n.Spec.Unschedulable == on {
			continue
		}
		if _, err := s.Kube.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatalf("cordon %s: %v", n.Name, err)
		}
	}
}

// clearAll lifts every fault: the policy, the quota, the cordon, and a
// worker runs. Each is idempotent, and retried while the API server comes
// back from a restart.
func (r *runner) clearAll(app string) {
	t, s := r.t, r.s
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := chaosName(app)
	adm := s.Kube.AdmissionregistrationV1()
	retry := func(what string, f func() error) {
		var err error
		for range 100 {
			if err = f(); err == nil || apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("clear faults: %s: %v", what, err)
	}
	policy := false
	retry("delete policy binding", func() error {
		err := adm.ValidatingAdmissionPolicyBindings().Delete(ctx, name, metav1.DeleteOptions{})
		policy = policy || err == nil
		return err
	})
	retry("delete policy", func() error {
		err := adm.ValidatingAdmissionPolicies().Delete(ctx, name, metav1.DeleteOptions{})
		policy = policy || err == nil
		return err
	})
	if policy && !r.waitWritable(ctx, app, true) {
		t.Fatalf("writes in %s still denied 10s after the policy went", s.Store.Namespace(app))
	}
	if r.restore != nil {
		retry("restore", func() error { return r.restore(ctx) })
		r.restore = nil
	}
	retry("delete quota", func() error {
		return s.Kube.CoreV1().ResourceQuotas(s.Store.Namespace(app)).Delete(ctx, name, metav1.DeleteOptions{})
	})
	retry("uncordon", func() error {
		nodes, err := s.Kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, n := range nodes.Items {
			if n.Spec.Unschedulable {
				if _, err := s.Kube.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, []byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	s.StartWorker(t)
}
