package ps

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// Process is one of an app's pods as Convox shows it: a pod of a
// service's Deployment, or a one-off (`slipway run`).
type Process struct {
	ID       string
	App      string
	Service  string
	Release  string
	Status   string
	Command  string
	Instance string // the node
	Started  time.Time
	// OneOff is true for a `slipway run` process.
	OneOff bool
}

// Selector selects an app's processes: pods with its label and a
// release's (the builder's Jobs carry the app's label, not a release).
func Selector(app string) string {
	return render.LabelApp + "=" + app + "," + render.LabelRelease
}

// IsProcess says whether a pod is one of app's processes.
func IsProcess(p *corev1.Pod, app string) bool {
	return p.Labels[render.LabelApp] == app && p.Labels[render.LabelRelease] != "" &&
		(p.Labels[render.LabelService] != "" || p.Labels[render.LabelRun] != "")
}

// FromPod is the process a pod is.
func FromPod(p *corev1.Pod) Process {
	pr := Process{
		ID: p.Name, App: p.Labels[render.LabelApp], Service: p.Labels[render.LabelService],
		Release: p.Labels[render.LabelRelease], Status: Status(p), Instance: p.Spec.NodeName,
		Started: p.CreationTimestamp.Time,
	}
	if s := p.Labels[render.LabelRun]; s != "" {
		pr.Service, pr.OneOff = s, true
	}
	if p.Status.StartTime != nil {
		pr.Started = p.Status.StartTime.Time
	}
	for _, c := range p.Spec.Containers {
		if c.Name == render.Container {
			pr.Command = strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
		}
	}
	return pr
}

// Status is a pod's state in Convox's words.
func Status(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "stopping"
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason == "CrashLoopBackOff" {
			return "crashed"
		}
	}
	switch p.Status.Phase {
	case corev1.PodPending:
		return "pending"
	case corev1.PodRunning:
		return "running"
	case corev1.PodSucceeded:
		return "complete"
	case corev1.PodFailed:
		return "failed"
	}
	return "unknown"
}

// NotFoundError is the refusal for an ID that is not one of the app's
// processes.
func NotFoundError(id string) error {
	return fmt.Errorf("no such process: %s (list them with `slipway ps`)", id)
}

// Find is the pod of the app's process id; a pod that is not one of the
// app's processes is refused as not found.
func Find(ctx context.Context, s *records.Store, a *records.App, id string) (*corev1.Pod, error) {
	p, err := s.Core.CoreV1().Pods(s.Namespace(a.Name)).Get(ctx, id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || (err == nil && !IsProcess(p, a.Name)) {
		return nil, NotFoundError(id)
	}
	if err != nil {
		return nil, cmdutil.KubeError(err)
	}
	return p, nil
}
