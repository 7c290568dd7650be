package incluster

import (
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/slipway-dev/slipway/model"
)

// Service reaches every worker's /metrics (and /healthz), for a
// Prometheus that scrapes Services or their endpoints.
func Service(o Options) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: MetricsService, Namespace: model.SystemNamespace(o.Rack), Labels: labels(o.Rack)},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: selector(o.Rack),
			Ports:    []corev1.ServicePort{{Name: "http", Port: Port, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

// DisruptionBudget keeps one worker running through a node drain, so
// promotions go on while the cluster is maintained. With a single
// replica there is none: it would block every drain.
func DisruptionBudget(o Options) *policyv1.PodDisruptionBudget {
	if o.Replicas < 2 {
		return nil
	}
	minAvailable := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: model.SystemNamespace(o.Rack), Labels: labels(o.Rack)},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &minAvailable,
			Selector:     &metav1.LabelSelector{MatchLabels: selector(o.Rack)},
		},
	}
}
