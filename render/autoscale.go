package render

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"

	"github.com/slipway-dev/slipway/model"
)

// autoscaler keeps svc between scale.count and its maximum, at the target
// use of its requests; nil for a fixed count (or an agent, which runs one
// process per node).
func autoscaler(in Input, svc model.Service) *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration {
	if !svc.Scale.Autoscales() || svc.Agent || svc.Singleton {
		return nil
	}
	spec := autoscalingv2ac.HorizontalPodAutoscalerSpec().
		WithScaleTargetRef(autoscalingv2ac.CrossVersionObjectReference().
			WithAPIVersion("apps/v1").WithKind("Deployment").WithName(svc.Name)).
		WithMinReplicas(int32(svc.Scale.Count)).
		WithMaxReplicas(int32(svc.Scale.Max))
	targets := []struct {
		name    corev1.ResourceName
		percent int
	}{{corev1.ResourceCPU, svc.Scale.Targets.CPU}, {corev1.ResourceMemory, svc.Scale.Targets.Memory}}
	for _, t := range targets {
		if t.percent == 0 {
			continue
		}
		spec.WithMetrics(autoscalingv2ac.MetricSpec().
			WithType(autoscalingv2.ResourceMetricSourceType).
			WithResource(autoscalingv2ac.ResourceMetricSource().WithName(t.name).WithTarget(
				autoscalingv2ac.MetricTarget().WithType(autoscalingv2.UtilizationMetricType).WithAverageUtilization(int32(t.percent)))))
	}
	return autoscalingv2ac.HorizontalPodAutoscaler(svc.Name, in.Namespace).
		WithLabels(labels(in, svc)).
		WithSpec(spec)
}
