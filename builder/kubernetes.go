package builder

import (
	"path"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Default images of the kubernetes builder; both are settings.
const (
	DefaultJobImage   = "gcr.io/kaniko-project/executor:v1.23.2"
	DefaultFetchImage = "busybox:1.36"
)

// ArgEnvPrefix names the env var that carries a build arg's value into the
// builder container.
const ArgEnvPrefix = "SLIPWAY_BUILD_ARG_"

// JobInput is one service's build as a Kubernetes Job.
type JobInput struct {
	Namespace, Name string
	JobImage        string // the image that builds and pushes (Kaniko's executor)
	FetchImage      string // the image whose wget and tar fetch the source
	SourceURL       string // a URL the pod can GET the source tarball from
	// SourceSHA256 is the digest of the tarball the worker checked: the pod
	// unpacks nothing else, even if the blob is replaced after the check.
	SourceSHA256 string
	ContextPath  string // the build context inside the source
	Dockerfile   string // relative to ContextPath
	Destination  string // the image reference to push
	// ArgsSecret holds the build args' values (see ArgsSecret); only their
	// names are in the Job, so no value shows in its spec.
	ArgsSecret string
	ArgKeys    []string
	Labels     map[string]string
	Deadline   int64 // activeDeadlineSeconds
}

// JobSpec is the Job that builds one service: an init container fetches
// and unpacks the source into a shared volume, then the builder builds the
// Dockerfile and pushes the image. It never retries on its own (the build
// activity decides), and Kubernetes removes it ten minutes after it ends
// even if nobody else does.
func JobSpec(in JobInput) *batchv1.Job {
	workspace := "/workspace"
	context := path.Join(workspace, in.ContextPath)
	args := []string{
		"--context=dir://" + context,
		"--dockerfile=" + path.Join(context, in.Dockerfile),
		"--destination=" + in.Destination,
		"--reproducible",
		"--digest-file=/dev/termination-log",
	}
	// Each value comes from the Secret into an env var of its own, and the
	// kubelet writes it into the argument when it starts the container
	// ($(VAR) references): the Job holds only the reference. The env var
	// is not named after the arg, so an arg called HTTPS_PROXY,
	// SSL_CERT_FILE or DOCKER_CONFIG cannot reconfigure Kaniko itself,
	// which holds the registry credentials.
	var env []corev1.EnvVar
	for _, k := range slices.Sorted(slices.Values(in.ArgKeys)) {
		v := ArgEnvPrefix + k
		args = append(args, "--build-arg="+k+"=$("+v+")")
		env = append(env, corev1.EnvVar{Name: v, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: in.ArgsSecret}, Key: k,
		}}})
	}
	mount := []corev1.VolumeMount{{Name: "workspace", MountPath: workspace}}
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{Name: in.Name, Namespace: in.Namespace, Labels: in.Labels},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(in.Deadline),
			TTLSecondsAfterFinished: ptr.To[int32](600),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: in.Labels},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					InitContainers: []corev1.Container{{
						Name:         "fetch",
						Image:        in.FetchImage,
						Command:      []string{"sh", "-c", fetchScript(workspace)},
						Env:          []corev1.EnvVar{{Name: "SOURCE_URL", Value: in.SourceURL}, {Name: "SOURCE_SHA256", Value: in.SourceSHA256}},
						VolumeMounts: mount,
					}},
					Containers: []corev1.Container{{
						Name:         "build",
						Image:        in.JobImage,
						Args:         args,
						Env:          env,
						VolumeMounts: mount,
					}},
					Volumes: []corev1.Volume{{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

// fetchScript downloads the source, refuses it unless it is the very
// tarball the worker checked (same SHA-256), and unpacks it.
func fetchScript(workspace string) string {
	return `set -e; wget -qO /tmp/source.tgz "$SOURCE_URL"; ` +
		`echo "$SOURCE_SHA256  /tmp/source.tgz" | sha256sum -c - >/dev/null || { echo "the source changed after the worker checked it: build again" >&2; exit 1; }; ` +
		`tar xzf /tmp/source.tgz -C ` + workspace + `; rm /tmp/source.tgz`
}

// ArgsSecret is the Secret that holds one service's build args for its
// Job. The worker makes the Job its owner, so it goes when the Job goes.
func ArgsSecret(namespace, name string, args map[string]string, labels map[string]string) *corev1.Secret {
	data := make(map[string][]byte, len(args))
	for k, v := range args {
		data[k] = []byte(v)
	}
	return &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels},
		Data:       data,
	}
}
