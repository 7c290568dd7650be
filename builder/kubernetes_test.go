package builder

import (
	"strings"
	"testing"
)

func TestJobSpec(t *testing.T) {
	j := JobSpec(JobInput{
		Namespace: "slipway-app", Name: "build-babc-web", JobImage: "kaniko:1", FetchImage: "busybox:1",
		SourceURL: "https://blobs/src.tgz?sig=1", ContextPath: "web", Dockerfile: "Dockerfile.prod",
		Destination: "reg/app:web.BABC", Args: map[string]string{"B": "2", "A": "1"},
		Labels: map[string]string{"slipway.dev/build": "BABC"}, Deadline: 3600,
	})
	if j.Name != "build-babc-web" || j.Namespace != "slipway-app" || *j.Spec.BackoffLimit != 0 || *j.Spec.ActiveDeadlineSeconds != 3600 {
		t.Fatalf("job meta/spec: %+v", j.ObjectMeta)
	}
	pod := j.Spec.Template.Spec
	if pod.RestartPolicy != "Never" || len(pod.InitContainers) != 1 || len(pod.Containers) != 1 {
		t.Fatalf("pod: %+v", pod)
	}
	fetch := pod.InitContainers[0]
	if fetch.Image != "busybox:1" || fetch.Env[0].Value != "https://blobs/src.tgz?sig=1" || !strings.Contains(fetch.Command[2], "tar xz -C /workspace") {
		t.Fatalf("fetch container: %+v", fetch)
	}
	got := strings.Join(pod.Containers[0].Args, " ")
	want := "--context=dir:///workspace/web --dockerfile=/workspace/web/Dockerfile.prod --destination=reg/app:web.BABC --reproducible --digest-file=/dev/termination-log --build-arg=A=1 --build-arg=B=2"
	if got != want || pod.Containers[0].Image != "kaniko:1" {
		t.Fatalf("build args\n got %s\nwant %s", got, want)
	}
	if pod.Containers[0].VolumeMounts[0].MountPath != "/workspace" || pod.Volumes[0].EmptyDir == nil {
		t.Fatalf("workspace volume: %+v %+v", pod.Containers[0].VolumeMounts, pod.Volumes)
	}
	if j.Spec.Template.Labels["slipway.dev/build"] != "BABC" {
		t.Fatalf("pod labels %v", j.Spec.Template.Labels)
	}
}
