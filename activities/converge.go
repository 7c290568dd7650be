package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/slipway-dev/slipway/render"
)

// Convergence: a workload that `kubectl rollout status` calls done can
// still leave pods that do not run the release: a pod of another release
// that no ReplicaSet owns but the Service's selector (app + service)
// still sends traffic to, or a pod whose node runs another image than the
// digest the release pins. A release is active only once every service's
// pods are its own and run its images.

// defaultConvergeGrace is how long a service whose workload has rolled
// out may still show a pod that does not run the release before the
// rollout counts as failed: old pods are being deleted, and the pods'
// watch can be a moment behind the Deployments'.
const defaultConvergeGrace = 10 * time.Second

// releasePins is what a release pins on its services' pods.
type releasePins struct {
	// build is the release's build, which its pods carry as a label;
	// empty for a release without a build.
	build string
	// digests maps a service to the image digest its build recorded;
	// a service whose image is not pinned by digest is not in it.
	digests map[string]string
}

// releasePins reads the release and its build: two reads per watch, made
// while the informers list, never one per pod.
func (a *Activities) releasePins(ctx context.Context, app, release string) (releasePins, error) {
	r, err := a.Store.GetRelease(ctx, app, release)
	if err != nil {
		return releasePins{}, classify(err)
	}
	pins := releasePins{build: r.Spec.Build, digests: map[string]string{}}
	if r.Spec.Build == "" {
		return pins, nil
	}
	b, err := a.Store.GetBuild(ctx, app, r.Spec.Build)
	if err != nil {
		return releasePins{}, classify(err)
	}
	for _, im := range b.Status.Images {
		if im.Digest != "" {
			pins.digests[im.Service] = im.Digest
		}
	}
	return pins, nil
}

// settle is when a service, its workload rolled out, was first seen with
// a pod that does not run the release; zero while there is none.
type settle struct {
	mismatch time.Time
}

// converged judges svc once its workload has rolled out. waiting says
// what it still waits for (empty: converged); failure is set once a pod
// that does not run the release has stayed for the grace.
func (r *rollout) converged(svc string, now time.Time) (waiting, failure string) {
	mismatch := r.mismatch(svc)
	st := r.settling[svc]
	if mismatch == "" {
		st.mismatch = time.Time{}
	} else if st.mismatch.IsZero() {
		st.mismatch = now
	}
	r.settling[svc] = st
	switch {
	case mismatch != "" && now.Sub(st.mismatch) >= r.in.ConvergeGrace:
		return "", svc + ": " + mismatch
	case mismatch != "":
		return mismatch, ""
	}
	return "", ""
}

// mismatch describes the first pod of svc (in name order, so the reason
// is stable) that does not run the release. One-off pods (LabelRun) are
// not the service's, and a pod that has ended (Succeeded, Failed: evicted,
// say) runs nothing. A terminating pod is not counted either: it is out of
// the Service's endpoints already, and may take its whole termination
// grace period (30 s by default) to go, which no promotion should wait
// for.
func (r *rollout) mismatch(svc string) string {
	var names []string
	for name, p := range r.pods {
		if p.Labels[render.LabelService] == svc && p.Labels[render.LabelRun] == "" && p.DeletionTimestamp == nil &&
			p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		if m := r.podMismatch(svc, r.pods[name]); m != "" {
			return m
		}
	}
	return ""
}

// podMismatch says how pod p of svc differs from what the release pins,
// or "" when it runs the release.
func (r *rollout) podMismatch(svc string, p *corev1.Pod) string {
	rel := p.Labels[render.LabelRelease]
	switch {
	case rel == "":
		return fmt.Sprintf("pod %s of no release remains beside release %s", p.Name, r.in.Release)
	case rel != r.in.Release:
		return fmt.Sprintf("pod %s of release %s remains beside release %s", p.Name, rel, r.in.Release)
	case r.pins.build != "" && p.Labels[render.LabelBuild] != r.pins.build:
		return fmt.Sprintf("pod %s carries build %q but release %s is of build %s", p.Name, p.Labels[render.LabelBuild], rel, r.pins.build)
	}
	want := r.pins.digests[svc]
	if want == "" {
		return ""
	}
	var imageID string
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == render.Container {
			imageID = cs.ImageID
		}
	}
	got := imageDigest(imageID)
	if got == "" {
		return fmt.Sprintf("pod %s reports no image digest yet but release %s pins %s", p.Name, rel, want)
	}
	if got != want {
		return fmt.Sprintf("pod %s runs %s but release %s pins %s", p.Name, got, rel, want)
	}
	return ""
}

// imageDigest is the digest in a container's imageID as kubelets report
// it: containerd and CRI-O give <repo>@sha256:..., Docker gave
// docker-pullable://<repo>@sha256:..., and an image with no repository
// digest is reported by its ID, sha256:... "" when there is none (the
// container has not started).
func imageDigest(imageID string) string {
	if i := strings.Index(imageID, "://"); i >= 0 {
		imageID = imageID[i+len("://"):]
	}
	if i := strings.LastIndex(imageID, "@"); i >= 0 {
		return imageID[i+1:]
	}
	if strings.HasPrefix(imageID, "sha256:") {
		return imageID
	}
	return ""
}
