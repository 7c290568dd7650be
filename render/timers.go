package render

import (
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/slipway-dev/slipway/model"
)

// TimerName is the CronJob of a timer.
func TimerName(name string) string { return "timer-" + name }

// LabelTimer marks the CronJob of a timer and the pods it starts, so that
// they are told apart from the service's own processes: its Deployment's
// selector (app and service) must not adopt them.
const LabelTimer = "slipway.dev/timer"

// cronJob runs t's command on its schedule as a process of svc: the
// service's image, env and resources, without its port or checks.
func cronJob(in Input, svc model.Service, t model.Timer, image, secretName string) (*batchv1ac.CronJobApplyConfiguration, error) {
	args, err := model.SplitCommand(t.Command)
	if err != nil {
		return nil, fieldError(svc, "timers."+t.Name+".command", err)
	}
	l := labels(in, svc)
	l[LabelTimer] = t.Name
	// The pods keep app and release (ps, logs) but not the service label:
	// a Deployment's selector is app and service.
	podLabels := map[string]string{LabelApp: in.App, LabelRelease: in.Release, LabelBuild: in.Build, LabelManagedBy: "slipway", LabelTimer: t.Name}
	c := corev1ac.Container().
		WithName(Container).
		WithImage(image).
		WithArgs(args...).
		WithEnvFrom(corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(secretName))).
		WithEnv(resourceEnv(in, svc)...).
		WithResources(resources(svc.Scale))
	parallel := int32(max(t.Parallel, 1))
	return batchv1ac.CronJob(TimerName(t.Name), in.Namespace).
		WithLabels(l).
		WithSpec(batchv1ac.CronJobSpec().
			WithSchedule(t.Schedule).
			WithTimeZone("Etc/UTC").
			WithConcurrencyPolicy(batchv1.ConcurrencyPolicy(t.Concurrency)).
			WithSuccessfulJobsHistoryLimit(3).
			WithFailedJobsHistoryLimit(3).
			WithJobTemplate(batchv1ac.JobTemplateSpec().
				WithLabels(podLabels).
				WithSpec(batchv1ac.JobSpec().
					WithParallelism(parallel).WithCompletions(parallel).
					WithBackoffLimit(0).
					WithTemplate(corev1ac.PodTemplateSpec().
						WithLabels(podLabels).
						WithSpec(corev1ac.PodSpec().
							WithRestartPolicy(corev1.RestartPolicyNever).
							WithNodeSelector(svc.NodeSelectorLabels).
							WithTerminationGracePeriodSeconds(int64(svc.Termination.Grace)).
							WithContainers(c)))))), nil
}
