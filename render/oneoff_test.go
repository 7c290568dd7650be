package render

import (
	"maps"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/slipway-dev/slipway/model"
)

func oneOff(t *testing.T, service string) OneOff {
	m := parse(t, `services:
  web:
    image: registry.test/web:1
    port: 5000
    labels:
      - team=core
    annotations:
      - slipway.dev/simulate=exit:3
  worker:
    build: .
`, model.Env{"KEY": "v"})
	return OneOff{
		Input:   Input{App: "myapp", Namespace: "dev-myapp", Release: "RABCDEFGHIJ", Build: "BABCDEFGHIJ", Manifest: m, Env: model.Env{"KEY": "v"}},
		Service: service, Name: service + "-run-abcde", Args: []string{"rake", "db:migrate"}, Deadline: 60,
	}
}

// A one-off pod is the service's process (image, labels, annotations,
// env) without the service label that Deployments, ReplicaSets, Services
// and the rollout watch select on.
func TestOneOffPod(t *testing.T) {
	o := oneOff(t, "web")
	p, err := OneOffPod(o)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{LabelApp: "myapp", LabelRun: "web", LabelRelease: "RABCDEFGHIJ", LabelBuild: "BABCDEFGHIJ", LabelManagedBy: "slipway", "team": "core"}
	if !maps.Equal(p.Labels, want) {
		t.Errorf("labels %v, want %v", p.Labels, want)
	}
	if p.Annotations["slipway.dev/simulate"] != "exit:3" || p.Spec.RestartPolicy != corev1.RestartPolicyNever || *p.Spec.ActiveDeadlineSeconds != 60 {
		t.Errorf("pod %+v", p)
	}
	c := p.Spec.Containers[0]
	if c.Name != Container || c.Image != "registry.test/web:1" || strings.Join(c.Args, " ") != "rake db:migrate" || c.EnvFrom[0].SecretRef.Name != "web-run-abcde" {
		t.Errorf("container %+v", c)
	}
	if c.ReadinessProbe != nil || len(c.Ports) != 0 || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("container %+v: want the service's resources, no probe or port", c)
	}
	p.UID = "uid-1"
	sec, err := OneOffSecret(o, p)
	if err != nil {
		t.Fatal(err)
	}
	if string(sec.Data["KEY"]) != "v" || string(sec.Data["SERVICE"]) != "web" || string(sec.Data["PORT"]) != "5000" {
		t.Errorf("secret data %v", sec.Data)
	}
	if _, ok := sec.Labels[LabelManagedBy]; ok || sec.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("secret %+v: owned by the pod, and not a promotion's to prune", sec.ObjectMeta)
	}

	o.Images = map[string]string{"web": "registry.test/web@sha256:abc"}
	if p, _ := OneOffPod(o); p.Spec.Containers[0].Image != "registry.test/web@sha256:abc" {
		t.Errorf("image %s, want the build's", p.Spec.Containers[0].Image)
	}
}

func TestOneOffRefuses(t *testing.T) {
	for service, want := range map[string]string{
		"db":     "no such service: db (release RABCDEFGHIJ has [web worker])",
		"worker": "services.worker: release RABCDEFGHIJ has no image for it: build again",
	} {
		if _, err := OneOffPod(oneOff(t, service)); err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", service, err, want)
		}
	}
	if _, err := OneOffSecret(oneOff(t, "db"), &corev1.Pod{}); err == nil {
		t.Error("secret of a missing service: no error")
	}
}

func TestPinned(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	const old = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	tests := []struct{ ref, want string }{
		{"reg:5000/app:web.B1", "reg:5000/app@" + d},
		{"127.0.0.1:5000/app:web.B1", "127.0.0.1:5000/app@" + d},
		{"reg:5000/app", "reg:5000/app@" + d}, // the port is no tag
		{"reg:5000/team/app:1.2", "reg:5000/team/app@" + d},
		// A first part without a dot or a port is a Docker Hub namespace,
		// as the kubelet reads it.
		{"team/app:1.2", "index.docker.io/team/app@" + d},
		{"reg:5000/app@" + old, "reg:5000/app@" + d},     // a digest is replaced
		{"reg:5000/app:1.2@" + old, "reg:5000/app@" + d}, // and so are a tag and a digest
		{"index.docker.io/library/nginx:1.27", "index.docker.io/library/nginx@" + d},
		// Docker Hub's short names, by their full name.
		{"nginx", "index.docker.io/library/nginx@" + d},
		{"nginx:1.27", "index.docker.io/library/nginx@" + d},
		{"docker.io/team/app:1", "index.docker.io/team/app@" + d},
	}
	for _, tt := range tests {
		got, err := Pinned(tt.ref, d)
		if err != nil || got != tt.want {
			t.Errorf("Pinned(%q) = %q, %v, want %q", tt.ref, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ ref, digest string }{
		{"reg:5000/App:1", d},            // upper case in a repository
		{"reg:5000/app:1", ""},           // no digest
		{"reg:5000/app:1", "sha256:abc"}, // a digest too short
		{"reg:5000/app:1", "abc"},
	} {
		if got, err := Pinned(tt.ref, tt.digest); err == nil {
			t.Errorf("Pinned(%q, %q) = %q, want an error", tt.ref, tt.digest, got)
		}
	}
}
