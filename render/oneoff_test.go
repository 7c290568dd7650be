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
	d := "sha256:" + strings.Repeat("ab", 32)
	if got, err := Pinned("registry.test:5000/myapp:web.B1", d); err != nil || got != "registry.test:5000/myapp@"+d {
		t.Errorf("Pinned: %s, %v", got, err)
	}
	if _, err := Pinned("registry.test:5000/myapp:web.B1", "sha256:short"); err == nil {
		t.Error("a bad digest pinned")
	}
}
