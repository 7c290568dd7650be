package render

import (
	"maps"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	klabels "k8s.io/apimachinery/pkg/labels"
)

// keptManifest has a web service (kept), a worker without a port, a
// singleton and an agent (none of them kept), and a balancer in front of
// web.
const keptManifest = `services:
  web:
    image: web:1
    port: 5000
    scale:
      count: 3
    labels:
      tier: frontend
  worker:
    image: worker:1
  clock:
    image: clock:1
    port: 6000
    singleton: true
  logs:
    image: logs:1
    port: 7000
    agent: true
balancers:
  edge:
    service: web
    ports:
      443: 5000
`

func keptInput(t *testing.T) Input {
	return Input{App: "myapp", Namespace: "dev-myapp", Release: "ROLDOLDOLDO", Build: "BOLDOLDOLDO", Manifest: parse(t, keptManifest, nil)}
}

func TestPreviousKeepsOnlyServicesWithTraffic(t *testing.T) {
	in := keptInput(t)
	svcs, err := Release(in)
	if err != nil {
		t.Fatal(err)
	}
	until := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	kept := Previous(in, svcs, nil, "PKEEPKEEPKE", until)
	if len(kept) != 1 || kept[0].Service != "web" {
		t.Fatalf("kept %+v, want web alone (no worker, singleton or agent)", kept)
	}
	var d appsv1.Deployment
	decode(t, kept[0].Deployment, &d)
	if d.Name != "web-previous" || d.Namespace != "dev-myapp" {
		t.Errorf("kept Deployment %s/%s, want dev-myapp/web-previous", d.Namespace, d.Name)
	}
	if *d.Spec.Replicas != 3 {
		t.Errorf("kept replicas %d, want the service's 3", *d.Spec.Replicas)
	}
	wantAnn := map[string]string{AnnotationKeptBy: "PKEEPKEEPKE", AnnotationKeptUntil: "2026-11-27T10:00:00Z"}
	if !maps.Equal(d.Annotations, wantAnn) {
		t.Errorf("annotations %v, want %v", d.Annotations, wantAnn)
	}
	if _, ok := d.Labels[LabelManagedBy]; ok {
		t.Errorf("kept Deployment labelled %s: a promotion's prune would delete it", LabelManagedBy)
	}
	if d.Labels[LabelRelease] != "ROLDOLDOLDO" || d.Labels[LabelTrack] != TrackPrevious || d.Labels[LabelKept] != "web" {
		t.Errorf("kept Deployment labels %v", d.Labels)
	}
	pod := d.Spec.Template.Labels
	if pod[LabelRelease] != "ROLDOLDOLDO" || pod[LabelBuild] != "BOLDOLDOLDO" || pod["tier"] != "frontend" {
		t.Errorf("kept pods' labels %v lose the release's or the manifest's", pod)
	}
	if d.Spec.Template.Spec.Containers[0].Image != "web:1" {
		t.Errorf("kept pods run %s, want the release's web:1", d.Spec.Template.Spec.Containers[0].Image)
	}
	sel, err := metaSelector(d.Spec.Selector.MatchLabels)
	if err != nil {
		t.Fatal(err)
	}
	if !sel.Matches(klabels.Set(pod)) {
		t.Errorf("the kept Deployment's selector %v does not select its own pods %v", sel, pod)
	}
}

// The heart of the window: the Service (and a balancer) selecting the
// service never reaches a kept pod, and the kept Deployment never adopts
// a pod of the service's own Deployment; the switched selector reaches
// the kept pods and no others.
func TestPreviousPodsNeverMatchTheServicesSelector(t *testing.T) {
	in := keptInput(t)
	svcs, err := Release(in)
	if err != nil {
		t.Fatal(err)
	}
	main := mustRender(t, in)["web"]
	var balancer corev1.Service
	for _, s := range svcs {
		if s.Name == "web" {
			decode(t, s.Balancers[0], &balancer)
		}
	}
	kept := Previous(in, svcs, nil, "PKEEPKEEPKE", time.Now())
	var d appsv1.Deployment
	decode(t, kept[0].Deployment, &d)
	keptPod := klabels.Set(d.Spec.Template.Labels)
	mainPod := klabels.Set(main.Deployment.Spec.Template.Labels)

	for what, sel := range map[string]map[string]string{
		"Service": main.Service.Spec.Selector, "balancer": balancer.Spec.Selector, "the service's Deployment": main.Deployment.Spec.Selector.MatchLabels,
	} {
		if klabels.SelectorFromSet(sel).Matches(keptPod) {
			t.Errorf("the %s's selector %v matches a kept pod %v", what, sel, keptPod)
		}
	}
	keptSel, _ := metaSelector(d.Spec.Selector.MatchLabels)
	if keptSel.Matches(mainPod) {
		t.Errorf("the kept Deployment's selector %v matches the service's own pod %v", keptSel, mainPod)
	}
	if _, ok := keptPod[LabelService]; ok {
		t.Errorf("kept pod labelled %s: the rollout's convergence check would count it", LabelService)
	}
	switched := klabels.SelectorFromSet(PreviousSelector("myapp", "web"))
	if !switched.Matches(keptPod) || switched.Matches(mainPod) {
		t.Errorf("switched selector %v: matches kept %v, main %v; want kept only", switched, switched.Matches(keptPod), switched.Matches(mainPod))
	}
	if !klabels.SelectorFromSet(MainSelector("myapp", "web")).Matches(mainPod) {
		t.Errorf("MainSelector does not select the service's own pods")
	}
	if !maps.Equal(MainSelector("myapp", "web"), main.Service.Spec.Selector) {
		t.Errorf("MainSelector %v, want the Service's %v", MainSelector("myapp", "web"), main.Service.Spec.Selector)
	}
}

// A kept Deployment's name taken by a service (of the kept release or of
// the active one) keeps nothing rather than overwrite that service.
func TestPreviousNameClash(t *testing.T) {
	in := keptInput(t)
	svcs, err := Release(in)
	if err != nil {
		t.Fatal(err)
	}
	if kept := Previous(in, svcs, []string{"web", "web-previous"}, "P", time.Now()); len(kept) != 0 {
		t.Errorf("kept %v although the active release has a service web-previous", kept)
	}
}

// While a rollback's traffic is on the kept pods, a release applied meanwhile
// keeps the Services of the switched services pointed at them, and no
// other.
func TestOnPrevious(t *testing.T) {
	in := keptInput(t)
	svcs, err := Release(in)
	if err != nil {
		t.Fatal(err)
	}
	OnPrevious("myapp", svcs, []string{"web"})
	for _, s := range svcs {
		if s.Service == nil {
			continue
		}
		var svc corev1.Service
		decode(t, s.Service, &svc)
		want := MainSelector("myapp", s.Name)
		if s.Name == "web" {
			want = PreviousSelector("myapp", "web")
			var b corev1.Service
			decode(t, s.Balancers[0], &b)
			if !maps.Equal(b.Spec.Selector, want) {
				t.Errorf("balancer selector %v, want %v", b.Spec.Selector, want)
			}
		}
		if !maps.Equal(svc.Spec.Selector, want) {
			t.Errorf("%s: Service selector %v, want %v", s.Name, svc.Spec.Selector, want)
		}
	}
}

func metaSelector(m map[string]string) (klabels.Selector, error) {
	return klabels.ValidatedSelectorFromSet(m)
}
