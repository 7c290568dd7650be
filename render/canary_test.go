package render

import (
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	klabels "k8s.io/apimachinery/pkg/labels"
)

func TestCanarySplit(t *testing.T) {
	// want[n][percent] is canary:main.
	want := map[int32]map[int]string{
		1:  {1: "1:1", 20: "1:1", 50: "1:1", 100: "1:0"},
		2:  {1: "1:1", 20: "1:1", 50: "1:1", 100: "2:0"},
		3:  {1: "1:2", 20: "1:2", 50: "2:1", 100: "3:0"},
		10: {1: "1:9", 20: "2:8", 50: "5:5", 100: "10:0"},
		0:  {20: "0:0", 100: "0:0"},
	}
	for n, byPercent := range want {
		for percent, w := range byPercent {
			c, m := CanarySplit(n, percent)
			if got := fmt.Sprintf("%d:%d", c, m); got != w {
				t.Errorf("CanarySplit(%d, %d%%) = %s, want %s", n, percent, got, w)
			}
		}
	}
}

// The canary runs the service's pod template with LabelTrack; its
// selector picks none of the service's own pods, and its pods differ
// from them in that label, so no ReplicaSet of the service's Deployment
// (which selects by the template's hash as well) can select them.
func TestCanarySelectorsDoNotOverlap(t *testing.T) {
	in := testInput(t)
	out, err := Release(in)
	if err != nil {
		t.Fatal(err)
	}
	web := out[0]
	c, err := Canary(web, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	var main, canary appsv1.Deployment
	decode(t, web.Deployment, &main)
	decode(t, c, &canary)

	if canary.Name != "web-canary" || *canary.Spec.Replicas != 1 || canary.Annotations[AnnotationServiceReplicas] != "3" {
		t.Errorf("canary %s: replicas %d, annotations %v", canary.Name, *canary.Spec.Replicas, canary.Annotations)
	}
	canarySel := klabels.SelectorFromSet(canary.Spec.Selector.MatchLabels)
	mainSel := klabels.SelectorFromSet(main.Spec.Selector.MatchLabels)
	if canarySel.Matches(klabels.Set(main.Spec.Template.Labels)) {
		t.Errorf("canary selector %s selects the service's pods %v", canarySel, main.Spec.Template.Labels)
	}
	if !canarySel.Matches(klabels.Set(canary.Spec.Template.Labels)) {
		t.Errorf("canary selector %s does not select its own pods %v", canarySel, canary.Spec.Template.Labels)
	}
	// The Service sends the canary its share of the traffic.
	var svc struct {
		Spec struct{ Selector map[string]string }
	}
	decode(t, web.Service, &svc)
	if !klabels.SelectorFromSet(svc.Spec.Selector).Matches(klabels.Set(canary.Spec.Template.Labels)) {
		t.Errorf("the Service's selector %v does not select canary pods %v", svc.Spec.Selector, canary.Spec.Template.Labels)
	}
	if canary.Spec.Template.Labels[LabelTrack] != TrackCanary || main.Spec.Template.Labels[LabelTrack] != "" {
		t.Errorf("templates must differ in %s: canary %v, service %v", LabelTrack, canary.Spec.Template.Labels, main.Spec.Template.Labels)
	}
	// Same release, image and env as the service's new template.
	if canary.Spec.Template.Labels[LabelRelease] != in.Release || canary.Spec.Template.Spec.Containers[0].Image != main.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("canary template %+v differs from the service's", canary.Spec.Template)
	}
	// The service's Deployment (applied after the steps) is unchanged.
	if main.Spec.Template.Labels[LabelTrack] != "" || len(main.Spec.Selector.MatchLabels) != 2 || !mainSel.Matches(klabels.Set(main.Spec.Template.Labels)) {
		t.Errorf("the canary changed the service's Deployment: %+v", main.Spec)
	}
	// The canary itself carries no service label, and says whose it is.
	if canary.Labels[LabelService] != "" || canary.Labels[LabelCanaryOf] != "web" || canary.Labels[LabelManagedBy] != "slipway" {
		t.Errorf("canary labels %v", canary.Labels)
	}
	svcName, n, ok := ServiceReplicas(canary.Labels, canary.Annotations)
	if !ok || svcName != "web" || n != 3 {
		t.Errorf("ServiceReplicas(canary) = %s %d %t, want web 3 true", svcName, n, ok)
	}
	if _, _, ok := ServiceReplicas(main.Labels, main.Annotations); ok {
		t.Error("ServiceReplicas read the service's own Deployment as a canary")
	}
	if CanarySelector("myapp") != "slipway.dev/app=myapp,slipway.dev/track=canary" {
		t.Errorf("CanarySelector = %s", CanarySelector("myapp"))
	}
}

func TestCanaryOfAgent(t *testing.T) {
	if _, err := Canary(Service{Name: "agent"}, 1, 1); err == nil {
		t.Error("an agent (no Deployment) got a canary")
	}
}
