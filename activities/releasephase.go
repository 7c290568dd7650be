package activities

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

// ErrReleaseFailed: a service's release command failed. Running it again
// would most likely fail the same way, and it may have done half its work:
// the promotion is rejected instead.
const ErrReleaseFailed = "ReleaseFailed"

// releaseTailLines is how many of a failed release command's last lines
// its error (and so the promotion's reason) quotes.
const releaseTailLines = 10

type ReleasePhaseInput struct {
	App, Release, Promotion string
	// Deadline bounds each release command: the cluster stops its pod
	// then (activeDeadlineSeconds), whoever waits for it.
	Deadline time.Duration
}

type ReleasePhaseResult struct {
	// Services whose release command ran and succeeded, in order.
	Services []string
	// Output is the blob holding the commands' output.
	Output string
}

// RunReleasePhase runs the release command of every service that has one,
// one after another, each in a one-off pod with the new release's image
// and env (see render.ReleasePhase), and stores their output in the blob
// store as it grows. It stops at the first command that fails, with a
// permanent error that quotes its exit code and last lines.
//
// Each pod's name is the same for every attempt, so a retry after a
// worker's death finds the pod its predecessor made, running or finished,
// and takes its result instead of running the command again. The pods are
// deleted once the phase ends, succeeded, failed or cancelled (their env
// Secrets go with them); a pod left by a run that could not delete it is
// replaced by the next promotion of the release. Release commands should
// still be safe to run twice, as with any release phase: a worker that
// dies between deleting the pods and returning makes its retry run them
// again.
func (a *Activities) RunReleasePhase(ctx context.Context, in ReleasePhaseInput) (ReleasePhaseResult, error) {
	defer heartbeatEvery(ctx, heartbeatInterval)()
	res := ReleasePhaseResult{Output: blobs.ReleaseOutputKey(in.App, in.Promotion)}
	r, err := a.renderRelease(ctx, in.App, in.Release, int32(in.Deadline/time.Second))
	if err != nil {
		return res, err
	}
	out := newBuildLog(ctx, a.Blobs, res.Output)
	defer out.Close()
	ns := r.in.Namespace
	var made []string
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		for _, name := range made {
			_ = a.Store.Core.CoreV1().Pods(ns).Delete(dctx, name, metav1.DeleteOptions{})
		}
	}()
	for _, svc := range r.in.Manifest.Services {
		if svc.Release == "" {
			continue
		}
		o, err := render.ReleasePhase(r.in, svc, int64(in.Deadline/time.Second))
		if err != nil {
			return res, permanent(ErrInvalid, err)
		}
		if _, err := a.Store.UpdatePromotion(ctx, in.App, in.Promotion, func(p *records.Promotion) {
			p.Status.Phase = model.PhaseRelease
			p.Status.Steps = addStep(p.Status.Steps, "running the release command of "+svc.Name)
		}); err != nil {
			return res, classify(err)
		}
		fmt.Fprintf(out, "Running the release command of %s (%s)\n", svc.Name, o.Name)
		made = append(made, o.Name)
		start := out.size()
		pod, err := a.runReleasePod(ctx, out, o, in.Promotion)
		if err != nil {
			return res, err
		}
		if why := releaseFailure(pod, in.Deadline); why != "" {
			tail := lastLines(out.since(start), releaseTailLines)
			fmt.Fprintf(out, "The release command of %s failed: %s\n", svc.Name, why)
			msg := fmt.Sprintf("the release command of %s failed: %s", svc.Name, why)
			if tail != "" {
				msg += "; its last lines:\n" + tail
			}
			return res, permanent(ErrReleaseFailed, errors.New(msg))
		}
		fmt.Fprintf(out, "The release command of %s succeeded\n", svc.Name)
		res.Services = append(res.Services, svc.Name)
	}
	return res, nil
}

// runReleasePod starts the pod of o (or finds the one an earlier attempt
// of this promotion started), copies its log into out, and returns the pod
// once it has ended.
func (a *Activities) runReleasePod(ctx context.Context, out *buildLog, o render.OneOff, promotion string) (*corev1.Pod, error) {
	pod, err := render.ReleasePhasePod(o, promotion)
	if err != nil {
		return nil, permanent(ErrInvalid, err)
	}
	pods := a.Store.Core.CoreV1().Pods(o.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		created, err = pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err == nil && created.Labels[render.LabelReleasePhase] != promotion {
			// Left by an earlier promotion of the release that could not
			// delete it: its result is not this promotion's.
			_ = pods.Delete(ctx, pod.Name, metav1.DeleteOptions{})
			return nil, fmt.Errorf("pod %s of an earlier promotion is being deleted: retrying", pod.Name)
		}
	}
	if err != nil {
		return nil, classify(err)
	}
	if err := a.releaseSecret(ctx, o, created); err != nil {
		return nil, err
	}
	start := out.size()
	ended, streamed, err := a.waitReleasePod(ctx, out, created)
	if err != nil {
		return nil, err
	}
	// A kubelet ends a followed log with the container; kwok's nodes never
	// do. The whole log, read once the pod has ended, is what is kept.
	if full, err := a.podLog(ctx, ended); err == nil {
		out.truncate(start)
		out.Write(full)
	} else if !streamed {
		fmt.Fprintf(out, "(its output cannot be read: %v)\n", err)
	}
	if n := out.size(); n > start && !bytes.HasSuffix(out.since(start), []byte("\n")) {
		out.Write([]byte("\n"))
	}
	return ended, nil
}

// releaseSecret makes the pod's env Secret, owned by the pod. A retry
// finds it made and makes sure it is this pod's.
func (a *Activities) releaseSecret(ctx context.Context, o render.OneOff, pod *corev1.Pod) error {
	sec, err := render.OneOffSecret(o, pod)
	if err != nil {
		return permanent(ErrInvalid, err)
	}
	secrets := a.Store.Core.CoreV1().Secrets(o.Namespace)
	_, err = secrets.Create(ctx, sec, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// A merge patch: the worker may patch Secrets, not update them.
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": sec.OwnerReferences}, "data": sec.Data})
		_, err = secrets.Patch(ctx, sec.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	}
	return classify(err)
}

// waitReleasePod watches the pod until it has succeeded or failed, and
// follows its log into out once its container has started. streamed says
// whether the log could be followed.
func (a *Activities) waitReleasePod(ctx context.Context, out io.Writer, pod *corev1.Pod) (*corev1.Pod, bool, error) {
	logCtx, stopLog := context.WithCancel(ctx)
	defer stopLog()
	logDone := make(chan bool, 1)
	following := false
	gone := permanent(ErrReleaseFailed, fmt.Errorf("the release command's pod %s was deleted before it ended", pod.Name))
	var ended *corev1.Pod
	pods := a.Store.Core.CoreV1().Pods(pod.Namespace)
	err := untilOne(ctx, a.Store.Core, &corev1.Pod{}, pod.Namespace, pod.Name, gone, pods.List, pods.Watch, func(p *corev1.Pod) bool {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			ended = p
			return true
		}
		if !following && podStarted(p) {
			following = true
			go func() {
				rc, err := pods.GetLogs(p.Name, &corev1.PodLogOptions{Container: render.Container, Follow: true}).Stream(logCtx)
				if err != nil {
					logDone <- false
					return
				}
				defer rc.Close()
				_, _ = io.Copy(out, rc)
				logDone <- true
			}()
		}
		return false
	})
	stopLog()
	streamed := false
	if following {
		streamed = <-logDone
	}
	if err != nil {
		return nil, streamed, classify(err)
	}
	return ended, streamed, nil
}

// podLog reads the whole log of a pod that has ended.
func (a *Activities) podLog(ctx context.Context, p *corev1.Pod) ([]byte, error) {
	return a.Store.Core.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: render.Container}).DoRaw(ctx)
}

// podStarted is true once the container has run, so it has a log.
func podStarted(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil {
			return true
		}
	}
	return false
}

// releaseFailure says how a release command's pod failed; "" when it
// succeeded.
func releaseFailure(p *corev1.Pod, deadline time.Duration) string {
	if p.Status.Phase == corev1.PodSucceeded {
		return ""
	}
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("exit code %d", t.ExitCode)
		}
	}
	if p.Status.Reason == "DeadlineExceeded" {
		return fmt.Sprintf("it ran past its deadline of %s and was stopped", deadline)
	}
	why := cmp.Or(strings.TrimSpace(p.Status.Reason+" "+p.Status.Message), "no reason given")
	return "its pod failed (" + why + ")"
}

// lastLines are the last n lines of b.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// size, since and truncate let the release phase replace what it
// streamed of a command's log with the whole log once the command ended.
func (l *buildLog) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Len()
}

func (l *buildLog) since(n int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes()[n:])
}

func (l *buildLog) truncate(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Truncate(n)
	l.dirty = true
}
