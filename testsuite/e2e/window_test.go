package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// endpointPods are the pods behind the ready endpoints of a slice.
func endpointPods(es *discoveryv1.EndpointSlice) []string {
	var out []string
	for _, e := range es.Endpoints {
		if e.TargetRef != nil && (e.Conditions.Ready == nil || *e.Conditions.Ready) {
			out = append(out, e.TargetRef.Name)
		}
	}
	slices.Sort(out)
	return out
}

// keptPods are the names of the running, ready kept pods of web, and the
// releases they run.
func keptPods(ctx context.Context, s *testsuite.Stack, ns string) ([]string, map[string]bool, error) {
	pods, err := s.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: render.LabelKept + "=web"})
	if err != nil {
		return nil, nil, err
	}
	var names []string
	releases := map[string]bool{}
	for _, p := range pods.Items {
		ready := false
		for _, c := range p.Status.Conditions {
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && ready {
			names = append(names, p.Name)
			releases[p.Labels[render.LabelRelease]] = true
		}
	}
	slices.Sort(names)
	return names, releases, nil
}

// The instant rollback window on the real stack: R2 promoted with
// --keep-previous keeps R1's web running in web-previous, out of the
// Service's endpoints; `releases rollback R1` inside the window puts the
// Service's endpoints on those kept pods first, then rolls web back, and
// ends active with the kept Deployment gone and the Service selecting
// web's own pods again. A short window then closes by itself.
func TestRollbackWindow(t *testing.T) {
	s := testsuite.Get(t)
	const app = "window"
	ctx := context.Background()
	ns := s.Store.Namespace(app)
	r1 := deployGood(t, s, app)
	r2 := releaseOf(t, s.MustCLI(t, "env", "set", "WINDOW=2", "-a", app))
	out := s.MustCLI(t, "releases", "promote", r2, "-a", app, "--keep-previous", "10m")
	if want := "Keeping " + r1 + " for 10m0s"; !strings.Contains(out, want) {
		t.Fatalf("promote --keep-previous printed:\n%s\nwant a line %q", out, want)
	}

	var kept []string
	eventually(t, "2 kept pods of "+r1+" ready", 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, string) {
		names, releases, err := keptPods(ctx, s, ns)
		if err != nil {
			return false, err.Error()
		}
		kept = names
		return len(names) == 2 && maps.Equal(releases, map[string]bool{r1: true}), fmt.Sprintf("ready kept pods %v of %v", names, releases)
	})
	eps := s.Kube.DiscoveryV1().EndpointSlices(ns)
	webSlices := discoveryv1.LabelServiceName + "=web"
	eventually(t, "web's endpoints on web's own pods alone", 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, string) {
		l, err := eps.List(ctx, metav1.ListOptions{LabelSelector: webSlices})
		if err != nil || len(l.Items) == 0 {
			return false, fmt.Sprintf("slices %v, %v", l, err)
		}
		pods := endpointPods(&l.Items[0])
		for _, p := range pods {
			if strings.HasPrefix(p, render.PreviousName("web")) {
				return false, fmt.Sprintf("a kept pod is an endpoint: %v", pods)
			}
		}
		return len(pods) == 2, fmt.Sprintf("endpoints %v", pods)
	})

	// Watched from before the rollback: the Service's endpoints become
	// exactly the kept pods of R1.
	switched := watchFor(t, "web's endpoints on the kept pods of "+r1, 2*time.Minute,
		listWatch(webSlices, eps.List, eps.Watch), &discoveryv1.EndpointSlice{},
		func(_ watch.EventType, es *discoveryv1.EndpointSlice) (bool, string) {
			got := endpointPods(es)
			return len(got) > 0 && strings.Join(got, ",") == strings.Join(kept, ","), fmt.Sprintf("endpoints %v", got)
		})
	began := time.Now()
	out = s.MustCLI(t, "releases", "rollback", r1, "-a", app)
	seen := await(t, switched)
	if want := "Traffic switched to " + r1 + " (kept pods) at "; !strings.Contains(out, want) {
		t.Errorf("rollback printed:\n%s\nwant a line %q", out, want)
	}
	t.Logf("web's endpoints were the kept pods %s after the rollback began", seen.At.Sub(began))

	copyRel := activeRelease(t, s, app)
	p := settled(t, s, app, copyRel)
	if p.Spec.From != r2 || p.Status.Result != "active" {
		t.Errorf("rollback's promotion %+v, want %s active from %s", p.Spec, copyRel, r2)
	}
	var steps []string
	for _, st := range p.Status.Steps {
		steps = append(steps, st.Message)
	}
	for _, want := range []string{"traffic switched to " + r1 + " (kept pods)", "closed the rollback window of " + r1} {
		if !slices.Contains(steps, want) {
			t.Errorf("steps %q lack %q", steps, want)
		}
	}
	if rel, ok := deployed(t, s, app, "web"); rel != copyRel || !ok {
		t.Errorf("web runs %s (available %v), want %s", rel, ok, copyRel)
	}
	if _, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, render.PreviousName("web"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the kept Deployment after the rollback: %v, want it gone", err)
	}
	svc, err := s.Kube.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := render.MainSelector(app, "web"); !maps.Equal(svc.Spec.Selector, want) {
		t.Errorf("web's Service selects %v after the rollback, want %v", svc.Spec.Selector, want)
	}

	// A short window closes by itself, through its own workflow.
	r4 := releaseOf(t, s.MustCLI(t, "env", "set", "WINDOW=4", "-a", app))
	s.MustCLI(t, "releases", "promote", r4, "-a", app, "--keep-previous", "3s")
	if _, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, render.PreviousName("web"), metav1.GetOptions{}); err != nil {
		t.Fatalf("the short window's kept Deployment: %v", err)
	}
	eventually(t, "the 3 s window closed", 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		_, err := s.Kube.AppsV1().Deployments(ns).Get(ctx, render.PreviousName("web"), metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprintf("kept Deployment: %v", err)
	})
	newest := settled(t, s, app, r4)
	eventually(t, "the window's workflow completed", 30*time.Second, 200*time.Millisecond, func(ctx context.Context) (bool, string) {
		d, err := s.Temporal.DescribeWorkflowExecution(ctx, workflows.WindowWorkflowID(app, newest.Spec.ID), "")
		if err != nil {
			return false, err.Error()
		}
		st := d.GetWorkflowExecutionInfo().GetStatus()
		return st == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, st.String()
	})
}
