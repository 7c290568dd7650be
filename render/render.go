// Package render turns a release into the Kubernetes objects that run it:
// per service a Secret with the merged env, a Deployment and, when the
// service has a port, a Service, as server-side apply configurations.
// Pure functions: no API calls, so every rule here is tested alone.
package render

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	autoscalingv2ac "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	batchv1ac "k8s.io/client-go/applyconfigurations/batch/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	networkingv1ac "k8s.io/client-go/applyconfigurations/networking/v1"

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
	// LabelTrack marks the pods that run beside a service's own, and the
	// Deployments that run them: a staged rollout's canary (TrackCanary,
	// canary.go) and a rollback window's kept release (TrackPrevious,
	// previous.go).
	LabelTrack = model.LabelTrack
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
	// Ingress is how services with domains are routed.
	Ingress IngressClasses
	// Scale maps a service to its scale set by hand (render/scale.go).
	Scale map[string]Scale
}

// IngressClasses name the ingress controllers of the rack: Public for
// services with domains, Internal for those marked internalRouter.
type IngressClasses struct {
	Public, Internal string
}

// DefaultIngressClasses are the ingress-nginx classes Convox racks use.
var DefaultIngressClasses = IngressClasses{Public: "nginx", Internal: "nginx-internal"}

// Service is what runs one service of a release, as server-side apply
// configurations: they hold only the fields slipway sets, so slipway's
// field manager owns those and nothing else (no empty status or zero
// values that another controller may own).
type Service struct {
	Name   string
	Secret *corev1ac.SecretApplyConfiguration
	// Deployment runs the service's processes; nil for an agent, which a
	// DaemonSet runs on every node instead.
	Deployment *appsv1ac.DeploymentApplyConfiguration
	DaemonSet  *appsv1ac.DaemonSetApplyConfiguration
	Service    *corev1ac.ServiceApplyConfiguration // nil when the service has no port
	// Ingress routes the service's domains to it; nil without domains or
	// for an internal service.
	Ingress *networkingv1ac.IngressApplyConfiguration
	// Autoscaler moves the count between scale.count and its maximum; nil
	// for a fixed count.
	Autoscaler *autoscalingv2ac.HorizontalPodAutoscalerApplyConfiguration
	// Timers are the CronJobs of the timers that run this service, and
	// Balancers the LoadBalancer Services of its balancers, by name.
	Timers    []*batchv1ac.CronJobApplyConfiguration
	Balancers []*corev1ac.ServiceApplyConfiguration
}

// Objects are the service's apply configurations in the order they are
// applied: env, Services, routes and timers first, the workload and its
// autoscaler last.
func (s Service) Objects() []any {
	objs := []any{s.Secret}
	if s.Service != nil {
		objs = append(objs, s.Service)
	}
	for _, b := range s.Balancers {
		objs = append(objs, b)
	}
	if s.Ingress != nil {
		objs = append(objs, s.Ingress)
	}
	for _, t := range s.Timers {
		objs = append(objs, t)
	}
	if s.DaemonSet != nil {
		return append(objs, s.DaemonSet)
	}
	objs = append(objs, s.Deployment)
	if s.Autoscaler != nil {
		objs = append(objs, s.Autoscaler)
	}
	return objs
}

// Kind names the workload that runs the service: "Deployment" or
// "DaemonSet".
func (s Service) Kind() string {
	if s.DaemonSet != nil {
		return "DaemonSet"
	}
	return "Deployment"
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
	in = withScale(in) // render/scale.go
	if err := in.Manifest.CheckEnv(in.Env); err != nil {
		return nil, err
	}
	for _, b := range in.Manifest.Balancers {
		if _, clash := in.Manifest.Service(BalancerName(b.Name)); clash {
			return nil, fmt.Errorf("balancers.%s: its Service would be named %s, like a service of the app: rename the balancer", b.Name, BalancerName(b.Name))
		}
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
		pod, err := podTemplate(in, svc, image, args, *s.Secret.Name)
		if err != nil {
			return nil, err
		}
		if svc.Agent {
			s.DaemonSet = daemonSet(in, svc, pod)
		} else {
			s.Deployment = deployment(in, svc, pod)
		}
		if svc.Port > 0 || len(svc.Ports) > 0 {
			s.Service = service(in, svc)
		}
		s.Ingress = ingress(in, svc)
		s.Autoscaler = autoscaler(in, svc)
		for _, t := range in.Manifest.Timers {
			if t.Service == svc.Name {
				cj, err := cronJob(in, svc, t, image, *s.Secret.Name)
				if err != nil {
					return nil, err
				}
				s.Timers = append(s.Timers, cj)
			}
		}
		for _, b := range in.Manifest.Balancers {
			if b.Service == svc.Name {
				s.Balancers = append(s.Balancers, balancer(in, svc, b))
			}
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

// fieldError is an error in field of svc, found while rendering a
// Manifest that did not come from ParseManifest (which checks it first).
func fieldError(svc model.Service, field string, err error) error {
	return fmt.Errorf("services.%s.%s: %v", svc.Name, field, err)
}

// sortedKeys is m's keys in order, for output that must not depend on a
// map's iteration.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
