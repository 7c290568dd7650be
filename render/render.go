// Package render turns a release into the Kubernetes objects that run it:
// per service a Secret with the merged env, a Deployment and, when the
// service has a port, a Service, as server-side apply configurations.
// Pure functions: no API calls, so every rule here is tested alone.
package render

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/slipway-dev/slipway/model"
)

// Labels slipway puts on what it renders (their keys are model's).
// Selectors use app and service only, so a Deployment keeps its pods across
// releases.
const (
	LabelApp       = model.LabelApp
	LabelService   = model.LabelService
	LabelRelease   = model.LabelRelease
	LabelBuild     = model.LabelBuild
	LabelManagedBy = model.LabelManagedBy
	// Container is the name of every service's one container.
	Container = "main"
)

// Input is everything a release renders from.
type Input struct {
	App       string
	Namespace string
	Release   string
	Build     string
	Manifest  *model.Manifest // parsed with the release env
	Env       model.Env       // the release env
	// Images maps a service to the image to run (digest-pinned when the
	// build recorded a digest); a service not in it runs its manifest image.
	Images map[string]string
	// Replicas maps a service to its Deployment's current replicas, so a
	// promotion keeps a scale set by hand; others get scale.count.
	Replicas map[string]int32
	// ProgressDeadline is the Deployments' progressDeadlineSeconds.
	ProgressDeadline int32
}

// Service is what runs one service of a release, as server-side apply
// configurations: they hold only the fields slipway sets, so slipway's
// field manager owns those and nothing else (no empty status or zero
// values that another controller may own).
type Service struct {
	Name       string
	Secret     *corev1ac.SecretApplyConfiguration
	Deployment *appsv1ac.DeploymentApplyConfiguration
	Service    *corev1ac.ServiceApplyConfiguration // nil when the service has no port
}

// SecretName is the Secret holding a service's env for a release. It is
// per release, so a rollback's pods never read the env of the release
// they replace.
func SecretName(service, release string) string {
	return service + "-env-" + strings.ToLower(release)
}

// Release renders every service of a release, in the manifest's order.
// It fails, before anything is applied, when required env is missing.
func Release(in Input) ([]Service, error) {
	if err := in.Manifest.CheckEnv(in.Env); err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(in.Manifest.Services))
	for _, svc := range in.Manifest.Services {
		image := in.Images[svc.Name]
		if image == "" {
			image = svc.Image
		}
		if image == "" {
			return nil, fmt.Errorf("services.%s: the build has no image for it: build again", svc.Name)
		}
		// ParseManifest has split the command already and named the env
		// keys in it on failure; this error, on a Manifest built by hand,
		// still shows no text of the command.
		args, err := model.SplitCommand(svc.Command)
		if err != nil {
			return nil, fmt.Errorf("services.%s.command: %v", svc.Name, err)
		}
		s := Service{Name: svc.Name}
		s.Secret = secret(in, svc)
		s.Deployment = deployment(in, svc, image, args, *s.Secret.Name)
		if svc.Port > 0 {
			s.Service = service(in, svc)
		}
		out = append(out, s)
	}
	return out, nil
}

func labels(in Input, svc model.Service) map[string]string {
	return map[string]string{
		LabelApp: in.App, LabelService: svc.Name, LabelRelease: in.Release, LabelBuild: in.Build,
		LabelManagedBy: "slipway",
	}
}

func selector(in Input, svc model.Service) map[string]string {
	return map[string]string{LabelApp: in.App, LabelService: svc.Name}
}

// Env is what a service's processes see: the manifest's defaults, the
// release env, and slipway's own variables, which nothing overrides.
func Env(in Input, svc model.Service) model.Env {
	env := in.Manifest.ServiceEnv(svc, in.Env)
	env["APP"], env["RELEASE"], env["BUILD"], env["SERVICE"] = in.App, in.Release, in.Build, svc.Name
	if svc.Port > 0 {
		env["PORT"] = strconv.Itoa(svc.Port)
	}
	return env
}

func secret(in Input, svc model.Service) *corev1ac.SecretApplyConfiguration {
	env := Env(in, svc)
	data := make(map[string][]byte, len(env))
	for k, v := range env {
		data[k] = []byte(v)
	}
	return corev1ac.Secret(SecretName(svc.Name, in.Release), in.Namespace).
		WithLabels(labels(in, svc)).
		WithType(corev1.SecretTypeOpaque).
		WithData(data)
}

func deployment(in Input, svc model.Service, image string, args []string, secretName string) *appsv1ac.DeploymentApplyConfiguration {
	replicas, ok := in.Replicas[svc.Name]
	if !ok {
		replicas = int32(svc.Scale.Count)
	}
	podLabels := labels(in, svc)
	// The service's own labels go on the pods, under slipway's, which a
	// manifest cannot replace (model rejects reserved keys).
	merged := maps.Clone(svc.Labels)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, podLabels)
	c := corev1ac.Container().
		WithName(Container).
		WithImage(image).
		WithArgs(args...).
		WithEnvFrom(corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(secretName))).
		WithResources(corev1ac.ResourceRequirements().WithRequests(corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(svc.Scale.CPU), resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(int64(svc.Scale.Memory)<<20, resource.BinarySI),
		}))
	if svc.Port > 0 {
		c.WithPorts(corev1ac.ContainerPort().WithName("main").WithContainerPort(int32(svc.Port)).WithProtocol(corev1.ProtocolTCP)).
			WithReadinessProbe(corev1ac.Probe().
				WithHTTPGet(corev1ac.HTTPGetAction().WithPath(svc.Health.Path).WithPort(intstr.FromInt32(int32(svc.Port)))).
				WithInitialDelaySeconds(int32(svc.Health.Grace)).
				WithPeriodSeconds(int32(svc.Health.Interval)).
				WithTimeoutSeconds(int32(svc.Health.Timeout)))
	}
	maxUnavailable := intstr.FromString(strconv.Itoa(100-svc.Deployment.Minimum) + "%")
	maxSurge := intstr.FromString(strconv.Itoa(svc.Deployment.Maximum-100) + "%")
	// spec.paused is left out: it is the pause's own field manager's (see
	// activities), and a promotion applied while paused sets it itself.
	return appsv1ac.Deployment(svc.Name, in.Namespace).
		WithLabels(podLabels).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector(in, svc))).
			WithRevisionHistoryLimit(5).
			WithProgressDeadlineSeconds(max(in.ProgressDeadline, 30)).
			WithStrategy(appsv1ac.DeploymentStrategy().
				WithType(appsv1.RollingUpdateDeploymentStrategyType).
				WithRollingUpdate(appsv1ac.RollingUpdateDeployment().WithMaxUnavailable(maxUnavailable).WithMaxSurge(maxSurge))).
			WithTemplate(corev1ac.PodTemplateSpec().
				WithLabels(merged).
				WithAnnotations(svc.Annotations).
				WithSpec(corev1ac.PodSpec().
					WithContainers(c).
					WithTerminationGracePeriodSeconds(int64(svc.Termination.Grace)))))
}

func service(in Input, svc model.Service) *corev1ac.ServiceApplyConfiguration {
	return corev1ac.Service(svc.Name, in.Namespace).
		WithLabels(labels(in, svc)).
		WithSpec(corev1ac.ServiceSpec().
			WithSelector(selector(in, svc)).
			WithPorts(corev1ac.ServicePort().
				WithName("main").WithPort(int32(svc.Port)).WithTargetPort(intstr.FromString("main")).WithProtocol(corev1.ProtocolTCP)))
}
