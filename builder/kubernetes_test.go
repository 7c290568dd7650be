package builder

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestJobSpec(t *testing.T) {
	j := JobSpec(JobInput{
		Namespace: "slipway-app", Name: "build-babc-web", JobImage: "kaniko:1", FetchImage: "busybox:1",
		SourceURL: "https://blobs/src.tgz?sig=1", SourceSHA256: "abc123", ContextPath: "web", Dockerfile: "Dockerfile.prod",
		Destination: "reg/app:web.BABC", ArgsSecret: "build-babc-web-args", ArgKeys: []string{"B", "A"},
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
	if fetch.Image != "busybox:1" || fetch.Env[0].Value != "https://blobs/src.tgz?sig=1" || fetch.Env[1] != (corev1.EnvVar{Name: "SOURCE_SHA256", Value: "abc123"}) {
		t.Fatalf("fetch container: %+v", fetch)
	}
	// The pod unpacks only the tarball the worker checked.
	if script := fetch.Command[2]; !strings.Contains(script, `echo "$SOURCE_SHA256  /tmp/source.tgz" | sha256sum -c -`) ||
		strings.Index(script, "sha256sum") > strings.Index(script, "tar xzf /tmp/source.tgz -C /workspace") || !strings.HasPrefix(script, "set -e;") {
		t.Fatalf("fetch script does not check the digest before unpacking: %s", script)
	}
	got := strings.Join(pod.Containers[0].Args, " ")
	want := "--context=dir:///workspace/web --dockerfile=/workspace/web/Dockerfile.prod --destination=reg/app:web.BABC --reproducible --digest-file=/dev/termination-log --build-arg=A=$(SLIPWAY_BUILD_ARG_A) --build-arg=B=$(SLIPWAY_BUILD_ARG_B)"
	if got != want || pod.Containers[0].Image != "kaniko:1" {
		t.Fatalf("build args\n got %s\nwant %s", got, want)
	}
	// Values come from the Secret, by reference: none is in the Job.
	env := pod.Containers[0].Env
	if len(env) != 2 || env[0].Name != "SLIPWAY_BUILD_ARG_A" || env[0].Value != "" || env[0].ValueFrom.SecretKeyRef.Name != "build-babc-web-args" || env[0].ValueFrom.SecretKeyRef.Key != "A" || env[1].Name != "SLIPWAY_BUILD_ARG_B" {
		t.Fatalf("build arg env %+v", env)
	}
	if pod.Containers[0].VolumeMounts[0].MountPath != "/workspace" || pod.Volumes[0].EmptyDir == nil {
		t.Fatalf("workspace volume: %+v %+v", pod.Containers[0].VolumeMounts, pod.Volumes)
	}
	if j.Spec.Template.Labels["slipway.dev/build"] != "BABC" {
		t.Fatalf("pod labels %v", j.Spec.Template.Labels)
	}
}

func TestArgsSecret(t *testing.T) {
	s := ArgsSecret("ns", "build-x-web-args", map[string]string{"TOKEN": "s3cret"}, map[string]string{"slipway.dev/app": "a"})
	if s.Name != "build-x-web-args" || s.Namespace != "ns" || string(s.Data["TOKEN"]) != "s3cret" || s.Labels["slipway.dev/app"] != "a" {
		t.Fatalf("%+v", s)
	}
}
