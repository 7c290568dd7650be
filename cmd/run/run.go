// Package run is `slipway run`, a one-off process of a service, and
// `slipway exec`, a command in a running process.
package run

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/logs"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

type RunOptions struct {
	*cmdutil.Factory
	App     string
	Service string
	Command []string
	Release string
	Detach  bool
	Timeout time.Duration
	// Stream opens the process's log; nil is the API server's.
	Stream logs.Stream
}

func NewCmdRun(f *cmdutil.Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "run SERVICE COMMAND...",
		Short: "Run a one-off process of a service",
		Long: `Run a one-off process of a service: a pod with the image and env the
service has in the release (default: the app's active one), running
COMMAND. Its output shows as it comes and slipway exits with its exit
status; --detach prints the process's ID and leaves it running. The
cluster stops it after --timeout; Ctrl-C stops it too. A one-off process
is listed by ps, never receives the service's traffic, and promotions
leave it alone.`,
		Example: "  slipway run web \"rake db:migrate\"\n  slipway run web --release RABCDEFGHIJ -- sh -c 'echo $RELEASE'\n  slipway run worker --detach -- ./backfill --all",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Service, opts.Command = args[0], args[1:]
			if opts.Timeout < time.Second {
				return fmt.Errorf("--timeout %s: give a duration of at least 1s, such as 30m", opts.Timeout)
			}
			return cmdutil.Run(cmd, opts, runF, runRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVar(&opts.Release, "release", "", "run this release's image and env (default: the active release)")
	cmd.Flags().BoolVarP(&opts.Detach, "detach", "d", false, "print the process's ID and leave it running")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", time.Hour, "stop the process after this long")
	return cmd
}

// processName names a one-off process: its service, then run- and a
// random suffix, as a Deployment's pods are named after theirs.
var processName = func(service string) string { return service + "-run-" + utilrand.String(5) }

func runRun(ctx context.Context, opts *RunOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	release := opts.Release
	if release == "" {
		release = a.Status.Release
	}
	if release == "" {
		return fmt.Errorf("app %s has no active release: promote one, or pass --release ID", a.Name)
	}
	args, err := command(opts.Command)
	if err != nil {
		return err
	}
	in, err := releaseInput(ctx, s, a.Name, release)
	if err != nil {
		return err
	}
	o := render.OneOff{Input: in, Service: opts.Service, Name: processName(opts.Service), Args: args, Deadline: int64(opts.Timeout.Seconds())}
	pod, err := render.OneOffPod(o)
	if err != nil {
		return err
	}
	if opts.Detach {
		return cmdutil.Step(opts.IO.Out, "Running detached process", func() (string, error) {
			return pod.Name, start(ctx, s, o, pod)
		})
	}
	if err := start(ctx, s, o, pod); err != nil {
		return err
	}
	return attach(ctx, s, opts, pod)
}

// start creates the pod, then its env Secret, owned by the pod so that it
// goes with it; the kubelet waits for the Secret before it starts the
// container. A pod whose Secret cannot be made is deleted again.
func start(ctx context.Context, s *records.Store, o render.OneOff, pod *corev1.Pod) error {
	pods := s.Core.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return cmdutil.KubeError(err)
	}
	sec, err := render.OneOffSecret(o, created)
	if err == nil {
		_, err = s.Core.CoreV1().Secrets(pod.Namespace).Create(ctx, sec, metav1.CreateOptions{})
	}
	if err != nil {
		_ = pods.Delete(context.WithoutCancel(ctx), pod.Name, metav1.DeleteOptions{})
		return cmdutil.KubeError(err)
	}
	return nil
}

// drain is how long the log may go on after the process ended: a kubelet
// ends the stream with the container, kwok's nodes never do.
const drain = 2 * time.Second

// attach shows the process's output until it ends and returns its exit
// status. Ctrl-C or the end of --timeout (and a minute's grace for the
// cluster to stop it) stop the process.
func attach(ctx context.Context, s *records.Store, opts *RunOptions, pod *corev1.Pod) error {
	stream := opts.Stream
	if stream == nil {
		stream = logs.PodLogs(s.Core)
	}
	waitCtx, cancel := context.WithTimeout(ctx, opts.Timeout+time.Minute)
	defer cancel()
	logCtx, stopLog := context.WithCancel(waitCtx)
	defer stopLog()
	logDone := make(chan struct{})
	following := false
	pods := s.Core.CoreV1().Pods(pod.Namespace)
	byName := fields.OneTermEqualSelector("metadata.name", pod.Name).String()
	// The wrapper says whether the client can stream lists (client-go's
	// fake clientset cannot).
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = byName
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = byName
			return pods.Watch(ctx, o)
		},
	}, s.Core)
	ev, err := watchtools.UntilWithSync(waitCtx, lw, &corev1.Pod{}, nil, func(e watch.Event) (bool, error) {
		p, ok := e.Object.(*corev1.Pod)
		if !ok || p.Name != pod.Name {
			return false, nil
		}
		if e.Type == watch.Deleted {
			return false, fmt.Errorf("process %s was stopped before it ended", pod.Name)
		}
		if !following && started(p) {
			following = true
			go func() {
				defer close(logDone)
				follow(logCtx, stream, p, opts.IO.Out, opts.IO.ErrOut)
			}()
		}
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, nil
	})
	if err != nil {
		stopLog()
		if following {
			<-logDone
		}
		if waitCtx.Err() != nil {
			return stop(s, pod, ctx.Err() != nil, opts.Timeout)
		}
		return cmdutil.KubeError(err)
	}
	if following {
		select {
		case <-logDone:
		case <-time.After(drain):
			stopLog()
			<-logDone
		}
	}
	return ExitStatus(ev.Object.(*corev1.Pod), opts.Timeout)
}

// stop deletes a process slipway gave up waiting for.
func stop(s *records.Store, pod *corev1.Pod, interrupted bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.Core.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	if interrupted {
		return &cmdutil.ExitError{Code: 130, Message: fmt.Sprintf("interrupted: stopping %s (%v)", pod.Name, errOrOK(err))}
	}
	return &cmdutil.ExitError{Code: 1, Message: fmt.Sprintf("%s did not end within --timeout %s: stopping it (%v)", pod.Name, timeout, errOrOK(err))}
}

func errOrOK(err error) string {
	if err != nil {
		return err.Error()
	}
	return "OK"
}

// started is true once the container has run, so it has a log.
func started(p *corev1.Pod) bool {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running != nil || cs.State.Terminated != nil {
			return true
		}
	}
	return false
}

// follow copies the process's log as it is, without prefixes, as the
// process's own output.
func follow(ctx context.Context, stream logs.Stream, p *corev1.Pod, out, errOut io.Writer) {
	rc, err := stream(ctx, p, &corev1.PodLogOptions{Container: render.Container, Follow: true})
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(errOut, "cannot read the output of %s: %v\n", p.Name, err)
		}
		return
	}
	defer rc.Close()
	_, _ = io.Copy(out, rc)
}

// ExitStatus is how a one-off process ended: nil when it succeeded, else
// its container's exit code, or 1 with the reason the cluster gave.
func ExitStatus(p *corev1.Pod, timeout time.Duration) error {
	if p.Status.Phase == corev1.PodSucceeded {
		return nil
	}
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return &cmdutil.ExitError{Code: int(t.ExitCode)}
		}
	}
	if p.Status.Reason == "DeadlineExceeded" {
		return &cmdutil.ExitError{Code: 1, Message: fmt.Sprintf("%s ran past --timeout %s and was stopped", p.Name, timeout)}
	}
	msg := p.Status.Reason
	if p.Status.Message != "" {
		msg += ": " + p.Status.Message
	}
	if msg == "" {
		msg = "no reason given"
	}
	return &cmdutil.ExitError{Code: 1, Message: fmt.Sprintf("%s failed (%s)", p.Name, msg)}
}
