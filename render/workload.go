package render

import (
	"cmp"
	"maps"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	appsv1ac "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/slipway-dev/slipway/model"
)

// The workloads of a service: the pod template every one of them shares,
// and the Deployment (or, for an agent, the DaemonSet) that runs it.

// podTemplate is what runs one process of svc.
func podTemplate(in Input, svc model.Service, image string, args []string, secretName string) (*corev1ac.PodTemplateSpecApplyConfiguration, error) {
	c := corev1ac.Container().
		WithName(Container).
		WithImage(image).
		WithArgs(args...).
		WithEnvFrom(corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(secretName))).
		WithEnv(resourceEnv(in, svc)...).
		WithResources(resources(svc.Scale))
	if svc.Port > 0 {
		c.WithPorts(corev1ac.ContainerPort().WithName("main").WithContainerPort(int32(svc.Port)).WithProtocol(corev1.ProtocolTCP))
	}
	for _, p := range svc.Ports {
		c.WithPorts(corev1ac.ContainerPort().WithName(extraPortName(p)).WithContainerPort(int32(p.Port)).WithProtocol(corev1.Protocol(p.Protocol)))
	}
	if p := readiness(svc); p != nil {
		c.WithReadinessProbe(p)
	}
	if svc.Liveness != nil {
		c.WithLivenessProbe(probe(svc, *svc.Liveness))
	}
	if svc.StartupProbe != nil {
		c.WithStartupProbe(probe(svc, *svc.StartupProbe))
	}
	if lc := lifecycle(svc.Lifecycle); lc != nil {
		c.WithLifecycle(lc)
	}
	if svc.Privileged {
		c.WithSecurityContext(corev1ac.SecurityContext().WithPrivileged(true))
	}
	spec := corev1ac.PodSpec().
		WithTerminationGracePeriodSeconds(int64(svc.Termination.Grace)).
		WithNodeSelector(svc.NodeSelectorLabels)
	if svc.Init {
		// The pause container is then PID 1: it reaps zombies, and the
		// process gets its signals as it would under an init.
		spec.WithShareProcessNamespace(true)
	}
	volumes, mounts := volumes(in, svc)
	c.WithVolumeMounts(mounts...)
	spec.WithVolumes(volumes...)
	if ic := svc.InitContainer; ic != nil {
		initImage, initArgs := image, []string(nil)
		if ic.Image != "" {
			initImage = ic.Image
		}
		if ic.Command != "" {
			var err error
			if initArgs, err = model.SplitCommand(ic.Command); err != nil {
				return nil, fieldError(svc, "initContainer.command", err)
			}
		}
		spec.WithInitContainers(corev1ac.Container().
			WithName("init").WithImage(initImage).WithArgs(initArgs...).
			WithEnvFrom(corev1ac.EnvFromSource().WithSecretRef(corev1ac.SecretEnvSource().WithName(secretName))).
			WithEnv(resourceEnv(in, svc)...).
			WithVolumeMounts(mounts...))
	}
	spec.WithContainers(c)
	// The service's own labels go on the pods, under slipway's, which a
	// manifest cannot replace (model rejects reserved keys).
	podLabels := maps.Clone(svc.Labels)
	if podLabels == nil {
		podLabels = map[string]string{}
	}
	maps.Copy(podLabels, labels(in, svc))
	return corev1ac.PodTemplateSpec().
		WithLabels(podLabels).
		WithAnnotations(svc.Annotations).
		WithSpec(spec), nil
}

func resources(s model.Scale) *corev1ac.ResourceRequirementsApplyConfiguration {
	r := corev1ac.ResourceRequirements().WithRequests(corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(int64(s.CPU), resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(int64(s.Memory)<<20, resource.BinarySI),
	})
	limits := corev1.ResourceList{}
	if s.Limit.CPU > 0 {
		limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(s.Limit.CPU), resource.DecimalSI)
	}
	if s.Limit.Memory > 0 {
		limits[corev1.ResourceMemory] = *resource.NewQuantity(int64(s.Limit.Memory)<<20, resource.BinarySI)
	}
	if len(limits) > 0 {
		r.WithLimits(limits)
	}
	return r
}

// readiness is the health check: HTTP on the health path, gRPC's health
// protocol when the service asks for it, none when disabled or portless.
func readiness(svc model.Service) *corev1ac.ProbeApplyConfiguration {
	h := svc.Health
	port := cmp.Or(h.Port, svc.Port)
	if h.Disable || port == 0 {
		return nil
	}
	p := corev1ac.Probe().
		WithInitialDelaySeconds(int32(h.Grace)).
		WithPeriodSeconds(int32(h.Interval)).
		WithTimeoutSeconds(int32(h.Timeout))
	if svc.GRPCHealth {
		return p.WithGRPC(corev1ac.GRPCAction().WithPort(int32(port)))
	}
	return p.WithHTTPGet(httpGet(svc, h.Path, port))
}

// probe is a liveness or startup check.
func probe(svc model.Service, pr model.Probe) *corev1ac.ProbeApplyConfiguration {
	p := corev1ac.Probe().
		WithInitialDelaySeconds(int32(pr.Grace)).
		WithPeriodSeconds(int32(pr.Interval)).
		WithTimeoutSeconds(int32(pr.Timeout)).
		WithSuccessThreshold(int32(pr.SuccessThreshold)).
		WithFailureThreshold(int32(pr.FailureThreshold))
	if pr.TCPPort > 0 {
		return p.WithTCPSocket(corev1ac.TCPSocketAction().WithPort(intstr.FromInt32(int32(pr.TCPPort))))
	}
	return p.WithHTTPGet(httpGet(svc, pr.Path, cmp.Or(pr.Port, svc.Port)))
}

func httpGet(svc model.Service, path string, port int) *corev1ac.HTTPGetActionApplyConfiguration {
	g := corev1ac.HTTPGetAction().WithPath(path).WithPort(intstr.FromInt32(int32(port)))
	if svc.Scheme == "https" {
		g.WithScheme(corev1.URISchemeHTTPS)
	}
	return g
}

func lifecycle(l model.Lifecycle) *corev1ac.LifecycleApplyConfiguration {
	if l.PreStop == "" && l.PostStart == "" {
		return nil
	}
	lc := corev1ac.Lifecycle()
	// A hook is a command line, run by a shell as Convox runs it.
	if l.PreStop != "" {
		lc.WithPreStop(corev1ac.LifecycleHandler().WithExec(corev1ac.ExecAction().WithCommand("sh", "-c", l.PreStop)))
	}
	if l.PostStart != "" {
		lc.WithPostStart(corev1ac.LifecycleHandler().WithExec(corev1ac.ExecAction().WithCommand("sh", "-c", l.PostStart)))
	}
	return lc
}

// volumes are the pod's volumes and the container's mounts. A scratch
// volume is the process's own emptyDir, a host one the node's directory,
// and a named one a claim the app's services share, made once and kept
// with the app (see VolumeClaims).
func volumes(in Input, svc model.Service) ([]*corev1ac.VolumeApplyConfiguration, []*corev1ac.VolumeMountApplyConfiguration) {
	var vs []*corev1ac.VolumeApplyConfiguration
	var ms []*corev1ac.VolumeMountApplyConfiguration
	seen := map[string]bool{}
	for i, v := range svc.Volumes {
		name := "scratch-" + strconv.Itoa(i)
		src := corev1ac.Volume().WithName(name).WithEmptyDir(corev1ac.EmptyDirVolumeSource())
		switch {
		case v.Name != "":
			name = "shared-" + v.Name
			src = corev1ac.Volume().WithName(name).WithPersistentVolumeClaim(
				corev1ac.PersistentVolumeClaimVolumeSource().WithClaimName(VolumeClaimName(v.Name)))
		case v.Host != "":
			src = corev1ac.Volume().WithName(name).WithHostPath(corev1ac.HostPathVolumeSource().WithPath(v.Host))
		}
		if !seen[name] {
			seen[name] = true
			vs = append(vs, src)
		}
		ms = append(ms, corev1ac.VolumeMount().WithName(name).WithMountPath(v.Path))
	}
	return vs, ms
}

func deployment(in Input, svc model.Service, pod *corev1ac.PodTemplateSpecApplyConfiguration) *appsv1ac.DeploymentApplyConfiguration {
	replicas, ok := in.Replicas[svc.Name]
	if !ok {
		replicas = int32(svc.Scale.Count)
	}
	if svc.Scale.Autoscales() {
		// The autoscaler owns the count between its bounds: keep what it
		// chose, inside the bounds of this release.
		replicas = min(max(replicas, int32(svc.Scale.Count)), int32(svc.Scale.Max))
	}
	strategy := appsv1ac.DeploymentStrategy()
	if svc.Singleton {
		// One process at most, ever: stop the old before starting the new.
		replicas = min(replicas, 1)
		strategy.WithType(appsv1.RecreateDeploymentStrategyType)
	} else {
		maxUnavailable := intstr.FromString(strconv.Itoa(100-svc.Deployment.Minimum) + "%")
		maxSurge := intstr.FromString(strconv.Itoa(svc.Deployment.Maximum-100) + "%")
		strategy.WithType(appsv1.RollingUpdateDeploymentStrategyType).
			WithRollingUpdate(appsv1ac.RollingUpdateDeployment().WithMaxUnavailable(maxUnavailable).WithMaxSurge(maxSurge))
	}
	// spec.paused is left out: it is the pause's own field manager's (see
	// activities), and a promotion applied while paused sets it itself.
	return appsv1ac.Deployment(svc.Name, in.Namespace).
		WithLabels(labels(in, svc)).
		WithSpec(appsv1ac.DeploymentSpec().
			WithReplicas(replicas).
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector(in, svc))).
			WithRevisionHistoryLimit(5).
			WithProgressDeadlineSeconds(max(in.ProgressDeadline, 30)).
			WithStrategy(strategy).
			WithTemplate(pod))
}

// daemonSet runs an agent: one process on every node. Its update replaces
// a node's process before starting the next (Convox's agents take no
// traffic side by side).
func daemonSet(in Input, svc model.Service, pod *corev1ac.PodTemplateSpecApplyConfiguration) *appsv1ac.DaemonSetApplyConfiguration {
	maxUnavailable := intstr.FromInt32(1)
	return appsv1ac.DaemonSet(svc.Name, in.Namespace).
		WithLabels(labels(in, svc)).
		WithSpec(appsv1ac.DaemonSetSpec().
			WithSelector(metav1ac.LabelSelector().WithMatchLabels(selector(in, svc))).
			WithRevisionHistoryLimit(5).
			WithUpdateStrategy(appsv1ac.DaemonSetUpdateStrategy().
				WithType(appsv1.RollingUpdateDaemonSetStrategyType).
				WithRollingUpdate(appsv1ac.RollingUpdateDaemonSet().WithMaxUnavailable(maxUnavailable))).
			WithTemplate(pod))
}

func extraPortName(p model.ServicePort) string {
	// A port name is at most 15 characters: "p-65535-udp" fits.
	name := "p-" + strconv.Itoa(p.Port)
	if p.Protocol == string(corev1.ProtocolUDP) {
		name += "-udp"
	}
	return name
}
