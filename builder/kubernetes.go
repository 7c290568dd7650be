package builder

import (
	"maps"
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

// JobInput is one service's build as a Kubernetes Job.
type JobInput struct {
	Namespace, Name string
	JobImage        string // the image that builds and pushes (Kaniko's executor)
	FetchImage      string // the image whose wget and tar fetch the source
	SourceURL       string // a URL the pod can GET the source tarball from
	ContextPath     string // the build context inside the source
	Dockerfile      string // relative to ContextPath
	Destination     string // the image reference to push
	Args            map[string]string
	Labels          map[string]string
	Deadline        int64 // activeDeadlineSeconds
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
	for _, k := range slices.Sorted(maps.Keys(in.Args)) {
		args = append(args, "--build-arg="+k+"="+in.Args[k])
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
						Command:      []string{"sh", "-c", `wget -qO- "$SOURCE_URL" | tar xz -C ` + workspace},
						Env:          []corev1.EnvVar{{Name: "SOURCE_URL", Value: in.SourceURL}},
						VolumeMounts: mount,
					}},
					Containers: []corev1.Container{{
						Name:         "build",
						Image:        in.JobImage,
						Args:         args,
						VolumeMounts: mount,
					}},
					Volumes: []corev1.Volume{{Name: "workspace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}
