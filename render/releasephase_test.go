package render

import (
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/model"
)

// A release command's pod is a one-off process of its service with the
// release's image and env, named the same for every attempt and marked
// with its promotion.
func TestReleasePhasePod(t *testing.T) {
	o := oneOff(t, "web")
	svc := o.Manifest.Services[0]
	svc.Release = "bin/migrate --to 'v 2'"
	r, err := ReleasePhase(o.Input, svc, 600)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "web-release-rabcdefghij" || strings.Join(r.Args, "|") != "bin/migrate|--to|v 2" || r.Deadline != 600 {
		t.Fatalf("one-off %q %q %d", r.Name, r.Args, r.Deadline)
	}
	p, err := ReleasePhasePod(r, "PABCDEFGHIJ")
	if err != nil {
		t.Fatal(err)
	}
	if p.Labels[LabelRun] != "web" || p.Labels[LabelReleasePhase] != "PABCDEFGHIJ" || p.Labels[LabelService] != "" {
		t.Fatalf("labels %v", p.Labels)
	}
	if p.Spec.Containers[0].Image != "registry.test/web:1" || strings.Join(p.Spec.Containers[0].Args, "|") != "bin/migrate|--to|v 2" {
		t.Fatalf("container %+v", p.Spec.Containers[0])
	}
	if p.Spec.ActiveDeadlineSeconds == nil || *p.Spec.ActiveDeadlineSeconds != 600 || p.Spec.RestartPolicy != "Never" {
		t.Fatalf("spec %+v", p.Spec)
	}
}

func TestReleasePhaseErrors(t *testing.T) {
	o := oneOff(t, "web")
	svc := o.Manifest.Services[0]
	svc.Release = "sh -c 'x"
	if _, err := ReleasePhase(o.Input, svc, 60); err == nil || err.Error() != "services.web.release: unterminated ' quote: close it" {
		t.Fatalf("err = %v", err)
	}
	svc.Release = " "
	if _, err := ReleasePhase(o.Input, svc, 60); err == nil || err.Error() != "services.web has no release command" {
		t.Fatalf("err = %v", err)
	}
}

// Names stay valid pod names, distinct for services that share a long
// prefix.
func TestReleasePhaseName(t *testing.T) {
	long := strings.Repeat("a", 50)
	a, b := ReleasePhaseName(long+"x", "RABCDEFGHIJ"), ReleasePhaseName(long+"y", "RABCDEFGHIJ")
	if a == b || len(a) > 63 || len(b) > 63 || !strings.HasSuffix(a, "-release-rabcdefghij") {
		t.Fatalf("names %q %q", a, b)
	}
	if !model.ValidServiceName(a) {
		t.Fatalf("%q is not a DNS label", a)
	}
}
