package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

// pinnedDigest is the digest a release's build pins for service.
func pinnedDigest(t *testing.T, s *testsuite.Stack, app, release, service string) string {
	t.Helper()
	ctx := context.Background()
	r, err := s.Store.GetRelease(ctx, app, release)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Store.GetBuild(ctx, app, r.Spec.Build)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range b.Status.Images {
		if im.Service == service && im.Digest != "" {
			return im.Digest
		}
	}
	t.Fatalf("build %s pins no digest for %s", r.Spec.Build, service)
	return ""
}

// A release whose Deployment rolls out but whose pods run another image
// than the digest it pins is not active: the promotion rolls back, and
// the reason names the pod and both digests.
func TestConvergeDigestMismatchRollsBack(t *testing.T) {
	s := testsuite.Get(t)
	const app = "digesty"
	good := deployGood(t, s, app)
	// The nodes report this digest for the new release's web pods (see
	// devstack/stages/pod-ready.yaml), as nodes that pulled another image
	// would; the Deployment itself rolls out as usual.
	other := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte("not the image the release pins")))
	bad := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=digest:"+other, "-a", app))
	pinned := pinnedDigest(t, s, app, bad, "web")
	if pinned == other {
		t.Fatalf("the simulated digest is the pinned one: %s", pinned)
	}

	msg, _ := promoteFails(t, s, app, bad)
	want := regexp.MustCompile(`^ERROR: rollback: web: pod web-[a-z0-9]+-[a-z0-9]+ runs ` + other + ` but release ` + bad + ` pins ` + pinned + `$`)
	if !want.MatchString(msg) {
		t.Fatalf("promote said %q, want %s", msg, want)
	}
	p := settled(t, s, app, good)
	if p.Spec.Release != bad || p.Status.Result != model.ResultRolledBack || !strings.Contains(p.Status.Reason, "runs "+other+" but release "+bad+" pins "+pinned) {
		t.Fatalf("newest promotion record %s: %+v, want %s rolled back naming both digests", p.Spec.ID, p.Status, bad)
	}
	// Every pod left runs what the active release pins, as its node says.
	pinnedGood := pinnedDigest(t, s, app, good, "web")
	pods, err := s.Kube.CoreV1().Pods(s.Store.Namespace(app)).List(context.Background(), metav1.ListOptions{LabelSelector: render.LabelService + "=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, pod := range pods.Items {
		if pod.DeletionTimestamp != nil {
			continue
		}
		if len(pod.Status.ContainerStatuses) == 0 || !strings.HasSuffix(pod.Status.ContainerStatuses[0].ImageID, "@"+pinnedGood) {
			t.Errorf("pod %s reports %+v, want imageID ...@%s", pod.Name, pod.Status.ContainerStatuses, pinnedGood)
		}
	}
}

// A pod of another release that no ReplicaSet owns but that carries the
// service's labels (so its Service still sends it traffic) keeps a
// promotion from being active: the promotion waits for it, says so in
// `promotions info`, and rolls back when it stays.
func TestConvergeLeftoverPodRollsBack(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	const app = "leftover"
	good := deployGood(t, s, app)
	ns := s.Store.Namespace(app)
	images := releaseImages(t, s, app, good)
	r, err := s.Store.GetRelease(ctx, app, good)
	if err != nil {
		t.Fatal(err)
	}
	stray := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-stray", Namespace: ns, Labels: map[string]string{
			render.LabelApp: app, render.LabelService: "web", render.LabelRelease: good, render.LabelBuild: r.Spec.Build,
			render.LabelManagedBy: "slipway",
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: render.Container, Image: images["web"]}}},
	}
	if _, err := s.Kube.CoreV1().Pods(ns).Create(ctx, stray, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stray pod running", 30*time.Second, 100*time.Millisecond, func(ctx context.Context) (bool, string) {
		p, err := s.Kube.CoreV1().Pods(ns).Get(ctx, stray.Name, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodRunning, "phase " + string(p.Status.Phase)
	})

	next := releaseOf(t, s.MustCLI(t, "env", "set", "FOO=bar", "-a", app))
	done := startPromote(t, s, app, next)
	wantWait := "pod web-stray of release " + good + " remains beside release " + next
	eventually(t, "promotions info waiting on the stray pod", 30*time.Second, 200*time.Millisecond, func(context.Context) (bool, string) {
		r := s.CLI(t, "promotions", "info", "-a", app, "-o", "json")
		var info promotions.PromotionInfoJSON
		if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &info) != nil {
			return false, fmt.Sprintf("exit %d: %s%s", r.Code, r.Stdout, r.Stderr)
		}
		for _, sv := range info.Services {
			if sv.Name == "web" && sv.Waiting == wantWait {
				return true, ""
			}
		}
		return false, fmt.Sprintf("services %+v", info.Services)
	})
	out := <-done
	want := "ERROR: rollback: web: " + wantWait
	if out.Code != 1 || strings.TrimSpace(out.Stderr) != want {
		t.Fatalf("promote: exit %d, stderr %q, want %q", out.Code, out.Stderr, want)
	}
	// The stray pod is of the release rolled back to, with its image: the
	// rollback converges with it.
	settled(t, s, app, good)

	// Once it is gone, the same change promotes.
	if err := s.Kube.CoreV1().Pods(ns).Delete(ctx, stray.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	s.MustCLI(t, "releases", "promote", next, "-a", app)
	settled(t, s, app, next)
}
