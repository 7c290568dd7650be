package incluster

import (
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/rbac"
)

// ConfigAnnotation on the pod template is the checksum of the Secret the
// pods read, so a changed setting rolls the workers.
const ConfigAnnotation = "slipway.dev/worker-config"

func labels(rack string) map[string]string {
	l := selector(rack)
	l["app.kubernetes.io/managed-by"] = "slipway"
	return l
}

// selector picks the rack's worker pods; it never changes (a Deployment's
// selector cannot), so it holds names only.
func selector(rack string) map[string]string {
	return map[string]string{
		model.LabelRack:               rack,
		"app.kubernetes.io/name":      "slipway",
		"app.kubernetes.io/component": "worker",
	}
}

// Deployment runs o.Replicas workers as the rack's ServiceAccount. Each
// is told everything by the Secret (its variables one by one, and the
// Temporal profile as a read-only file), answers /healthz and /metrics on
// Port, and on SIGTERM lets its running activities finish for StopTimeout.
// The root filesystem is read-only: a build unpacks its source in the
// /tmp emptyDir.
func Deployment(o Options, secret *corev1.Secret) *appsv1.Deployment {
	res := o.Resources
	if res.Requests == nil && res.Limits == nil {
		res = DefaultResources()
	}
	env := make([]corev1.EnvVar, 0, len(o.Env)+1)
	for _, k := range envKeys(o) {
		env = append(env, corev1.EnvVar{Name: k, ValueFrom: &corev1.EnvVarSource{
			SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: Name}, Key: k},
		}})
	}
	// envconfig reads the profile from this file; KUBECONFIG stays unset,
	// so the worker uses the pod's ServiceAccount token.
	env = append(env, corev1.EnvVar{Name: "TEMPORAL_CONFIG_FILE", Value: TemporalDir + "/" + TemporalFile})
	mounts := []corev1.VolumeMount{
		{Name: "temporal", MountPath: TemporalDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}
	volumes := []corev1.Volume{
		secretVolume("temporal", TemporalFile, TemporalFile),
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	if len(o.DockerConfig) > 0 {
		// go-containerregistry reads $DOCKER_CONFIG/config.json.
		env = append(env, corev1.EnvVar{Name: "DOCKER_CONFIG", Value: DockerDir})
		mounts = append(mounts, corev1.VolumeMount{Name: "docker", MountPath: DockerDir, ReadOnly: true})
		volumes = append(volumes, secretVolume("docker", DockerFile, "config.json"))
	}
	health := func(period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
			PeriodSeconds:    period,
			TimeoutSeconds:   3,
			FailureThreshold: failures,
		}
	}
	container := corev1.Container{
		Name:  "worker",
		Image: o.Image,
		Args:  []string{"worker", "--listen", ":" + strconv.Itoa(Port), "--stop-timeout", StopTimeout},
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
		Env:   env,
		// Ready once connected to Temporal; restarted only after a minute
		// without it, so a short Temporal outage does not restart every
		// worker at once.
		ReadinessProbe: health(5, 2),
		LivenessProbe:  health(10, 6),
		Resources:      res,
		VolumeMounts:   mounts,
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			ReadOnlyRootFilesystem:   ptr.To(true),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
	pod := corev1.PodSpec{
		ServiceAccountName:            rbac.ServiceAccount,
		AutomountServiceAccountToken:  ptr.To(true),
		TerminationGracePeriodSeconds: ptr.To[int64](GracePeriod),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			RunAsUser:      ptr.To[int64](UID),
			RunAsGroup:     ptr.To[int64](UID),
			FSGroup:        ptr.To[int64](UID),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{container},
		Volumes:    volumes,
		// Spread over nodes when they can be, so one node going does not
		// take every worker with it.
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
			MaxSkew:           1,
			TopologyKey:       corev1.LabelHostname,
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     &metav1.LabelSelector{MatchLabels: selector(o.Rack)},
		}},
	}
	// One new worker polls before an old one stops: a rollout never
	// leaves the rack with fewer workers than it asked for.
	maxUnavailable, maxSurge := intstr.FromInt32(0), intstr.FromInt32(1)
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: model.SystemNamespace(o.Rack), Labels: labels(o.Rack)},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(o.Replicas),
			Selector: &metav1.LabelSelector{MatchLabels: selector(o.Rack)},
			Strategy: appsv1.DeploymentStrategy{
				Type:          appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: &maxUnavailable, MaxSurge: &maxSurge},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels(o.Rack),
					Annotations: map[string]string{ConfigAnnotation: checksum(secret)},
				},
				Spec: pod,
			},
		},
	}
}

// secretVolume is one key of the Secret as a file, readable by the pod's
// group (fsGroup) only.
func secretVolume(name, key, path string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName:  Name,
		Items:       []corev1.KeyToPath{{Key: key, Path: path}},
		DefaultMode: ptr.To[int32](0o440),
	}}}
}
