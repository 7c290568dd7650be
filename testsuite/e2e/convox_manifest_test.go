package e2e

import (
	"context"
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/testsuite"
)

// A convox.yml written for Convox builds and promotes as it is: keys
// slipway ignores change nothing, Convox's forms of the keys it reads
// reach the pods, and a label Kubernetes would refuse is on the pods as an
// annotation.
func TestConvoxManifestBuildsAndPromotes(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "convoxish")
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", fmt.Sprintf(`version: "2"
services:
  web:
    image: %s
    port: "5000"
    ports: [5001/udp]
    drain: 10
    zenvironment: [A]
    init: false
    securityContext: {runAsNonRoot: true}
    labels:
      tier: web
      owner: Jane Doe
`, sample(s)))
	rel := releaseOf(t, s.MustCLI(t, "build", dir, "-a", "convoxish"))
	s.MustCLI(t, "releases", "promote", rel, "-a", "convoxish")

	d, err := s.Kube.AppsV1().Deployments(s.Store.Namespace("convoxish")).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template
	if pod.Labels["tier"] != "web" || pod.Annotations["owner"] != "Jane Doe" {
		t.Errorf("pod labels %v, annotations %v: want tier=web as a label and owner as an annotation", pod.Labels, pod.Annotations)
	}
	if _, ok := pod.Labels["owner"]; ok {
		t.Errorf("owner is a label: %v", pod.Labels)
	}
	if p := pod.Spec.ShareProcessNamespace; p != nil && *p {
		t.Error("init: false, yet the pod shares its process namespace")
	}
	ports := map[string]bool{}
	for _, p := range pod.Spec.Containers[0].Ports {
		ports[fmt.Sprintf("%d/%s", p.ContainerPort, p.Protocol)] = true
	}
	if !ports["5000/TCP"] || !ports["5001/UDP"] || len(ports) != 2 {
		t.Errorf("container ports %v, want 5000/TCP and 5001/UDP", ports)
	}
	if rel2, ok := deployed(t, s, "convoxish", "web"); rel2 != rel || !ok {
		t.Errorf("web runs %s (available %v), want %s", rel2, ok, rel)
	}
}
