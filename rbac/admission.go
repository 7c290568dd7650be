package rbac

import (
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// What RBAC cannot say, a ValidatingAdmissionPolicy can: these policies
// apply to the rack's worker alone and refuse (403) its creating or
// deleting a namespace without the rack's label, and its binding roles in
// such a namespace. So even a stolen worker token cannot delete someone
// else's namespace or grant itself rights in it. They need Kubernetes 1.30
// or later; slipway's own label check in code stays the first guard.

// WorkerUser is the username the API server gives the worker's tokens.
func WorkerUser(rack string) string {
	return "system:serviceaccount:" + model.SystemNamespace(rack) + ":" + ServiceAccount
}

// hasRackLabel is CEL that is true when obj carries the rack's label.
func hasRackLabel(obj, rack string) string {
	return fmt.Sprintf("has(%[1]s.metadata.labels) && '%[2]s' in %[1]s.metadata.labels && %[1]s.metadata.labels['%[2]s'] == '%[3]s'",
		obj, records.LabelRack, rack)
}

func policy(rack, name string, rule admissionv1.RuleWithOperations, vars []admissionv1.Variable, expr, msg string) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	fail := admissionv1.Fail
	forbidden := metav1.StatusReasonForbidden
	meta := metav1.ObjectMeta{Name: rack + "-" + name, Labels: labels(rack)}
	p := &admissionv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: meta,
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: rule}}},
			MatchConditions: []admissionv1.MatchCondition{{
				Name: "is-slipway-worker", Expression: fmt.Sprintf("request.userInfo.username == '%s'", WorkerUser(rack)),
			}},
			Variables:   vars,
			Validations: []admissionv1.Validation{{Expression: expr, Message: msg, Reason: &forbidden}},
		},
	}
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicyBinding"},
		ObjectMeta: meta,
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: meta.Name, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny},
		},
	}
	return p, b
}

// AdmissionPolicies are the policies and their bindings, in apply order.
func AdmissionPolicies(rack string) []runtime.Object {
	ns, nsb := policy(rack, "worker-namespaces",
		admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Delete},
			Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"namespaces"}},
		},
		// A delete has only the old object; a create only the new one.
		[]admissionv1.Variable{{Name: "target", Expression: "request.operation == 'DELETE' ? oldObject : object"}},
		hasRackLabel("variables.target", rack),
		fmt.Sprintf("slipway's worker creates and deletes only namespaces labelled %s=%s", records.LabelRack, rack))
	rb, rbb := policy(rack, "worker-rolebindings",
		admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule:       admissionv1.Rule{APIGroups: []string{"rbac.authorization.k8s.io"}, APIVersions: []string{"v1"}, Resources: []string{"rolebindings"}},
		},
		nil, hasRackLabel("namespaceObject", rack),
		fmt.Sprintf("slipway's worker binds roles only in namespaces labelled %s=%s", records.LabelRack, rack))
	return []runtime.Object{ns, nsb, rb, rbb}
}
