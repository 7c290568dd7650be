package render

import (
	"testing"

	"k8s.io/utils/ptr"
)

// A scale set by hand wins over the manifest and over the Deployment's
// current replicas; a field left unset keeps the manifest's value, and a
// service without a scale by hand renders as before.
func TestReleaseScaleByHand(t *testing.T) {
	in := testInput(t)
	in.Replicas = map[string]int32{"web": 7, "worker": 4}
	in.Scale = map[string]Scale{
		"web":    {Count: ptr.To[int32](2), CPU: ptr.To[int32](750)},
		"worker": {Memory: ptr.To[int32](64)},
	}
	manifestWeb := in.Manifest.Services[0].Scale
	svcs := mustRender(t, in)
	if in.Manifest.Services[0].Scale != manifestWeb || in.Replicas["web"] != 7 {
		t.Error("rendering changed its input's manifest or replicas")
	}
	web, worker := svcs["web"].Deployment, svcs["worker"].Deployment
	if got := *web.Spec.Replicas; got != 2 {
		t.Errorf("web replicas %d, want the count set by hand, 2", got)
	}
	if got := *worker.Spec.Replicas; got != 4 {
		t.Errorf("worker replicas %d, want its current 4 (no count by hand)", got)
	}
	req := web.Spec.Template.Spec.Containers[0].Resources.Requests
	if req.Cpu().MilliValue() != 750 || req.Memory().Value() != 1024<<20 {
		t.Errorf("web requests %v, want cpu 750m by hand and the manifest's 1024Mi", req)
	}
	req = worker.Spec.Template.Spec.Containers[0].Resources.Requests
	if req.Cpu().MilliValue() != 250 || req.Memory().Value() != 64<<20 {
		t.Errorf("worker requests %v, want the manifest's 250m and 64Mi by hand", req)
	}
}

// A scale by hand past the manifest's limit raises the limit with it, and
// a count past the autoscaler's maximum fixes the count.
func TestScaledKeepsLimitsAndBounds(t *testing.T) {
	svc := mustService(t, "web")
	svc.Scale.Limit.CPU, svc.Scale.Max = 600, 5
	got := scaled(svc, Scale{CPU: ptr.To[int32](900), Count: ptr.To[int32](8)})
	if got.Scale.Limit.CPU != 900 || got.Scale.Count != 8 || got.Scale.Max != 8 || got.Scale.Autoscales() {
		t.Errorf("scale %+v: want limit 900, a fixed count of 8", got.Scale)
	}
}
