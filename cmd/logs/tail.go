package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/ps"
)

// Stream opens the log of one container of a pod.
type Stream func(ctx context.Context, pod *corev1.Pod, o *corev1.PodLogOptions) (io.ReadCloser, error)

// PodLogs is the API server's log endpoint (which asks the pod's kubelet).
func PodLogs(core kubernetes.Interface) Stream {
	return func(ctx context.Context, pod *corev1.Pod, o *corev1.PodLogOptions) (io.ReadCloser, error) {
		return core.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, o).Stream(ctx)
	}
}

// tail reads the logs of an app's processes: every container that has
// started, one stream each.
type tail struct {
	core    kubernetes.Interface
	ns, app string
	service string
	filter  string
	since   *int64
	follow  bool
	stream  Stream
	out     io.Writer
	errOut  io.Writer

	mu      sync.Mutex
	streams map[string]context.CancelFunc // by pod UID/container/restart
	lines   []Line                        // without follow: printed at the end
	wg      sync.WaitGroup
}

// once prints the lines there are, in time order, and ends.
func (t *tail) once(ctx context.Context) error {
	pods, err := t.core.CoreV1().Pods(t.ns).List(ctx, metav1.ListOptions{LabelSelector: ps.Selector(t.app)})
	if err != nil {
		return cmdutil.KubeError(err)
	}
	for i := range pods.Items {
		t.start(ctx, &pods.Items[i], true)
	}
	t.wg.Wait()
	slices.SortStableFunc(t.lines, func(a, b Line) int { return a.Time.Compare(b.Time) })
	var b strings.Builder
	for _, l := range t.lines {
		b.WriteString(l.String() + "\n")
	}
	_, err = io.WriteString(t.out, b.String())
	return err
}

// run follows the processes there are and those that start, until ctx
// ends (Ctrl-C), which is not an error.
func (t *tail) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		t.wg.Wait()
	}()
	sel := func(o *metav1.ListOptions) { o.LabelSelector = ps.Selector(t.app) }
	lw := cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			sel(&o)
			return t.core.CoreV1().Pods(t.ns).List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			sel(&o)
			return t.core.CoreV1().Pods(t.ns).Watch(ctx, o)
		},
	}, t.core)
	inf := cache.NewSharedIndexInformer(lw, &corev1.Pod{}, 0, cache.Indexers{})
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerDetailedFuncs{
		// Pods there at the start show --since; newer ones all they have.
		AddFunc:    func(obj any, initial bool) { t.start(ctx, obj.(*corev1.Pod), initial) },
		UpdateFunc: func(_, obj any) { t.start(ctx, obj.(*corev1.Pod), false) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				t.stop(p)
			}
		},
	}); err != nil {
		return err
	}
	var informing sync.WaitGroup
	defer informing.Wait()
	informing.Go(func() { inf.RunWithContext(ctx) })
	<-ctx.Done()
	return nil
}

// start opens a stream for each container of p that has started and has
// none yet.
func (t *tail) start(ctx context.Context, p *corev1.Pod, initial bool) {
	if !ps.IsProcess(p, t.app) || p.DeletionTimestamp != nil {
		return
	}
	proc := ps.FromPod(p)
	if t.service != "" && proc.Service != t.service {
		return
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil && cs.State.Terminated == nil {
			continue
		}
		key := fmt.Sprintf("%s/%s/%d", p.UID, cs.Name, cs.RestartCount)
		o := &corev1.PodLogOptions{Container: cs.Name, Follow: t.follow, Timestamps: true}
		if initial {
			o.SinceSeconds = t.since
		}
		t.mu.Lock()
		if t.streams == nil {
			t.streams = map[string]context.CancelFunc{}
		}
		if _, ok := t.streams[key]; ok {
			t.mu.Unlock()
			continue
		}
		sctx, cancel := context.WithCancel(ctx)
		t.streams[key] = cancel
		t.mu.Unlock()
		t.wg.Go(func() { t.read(sctx, p, o, Prefix(proc)) })
	}
}

// stop ends the streams of a pod that is gone.
func (t *tail) stop(p *corev1.Pod) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, cancel := range t.streams {
		if strings.HasPrefix(key, string(p.UID)+"/") {
			cancel()
		}
	}
}

func (t *tail) read(ctx context.Context, p *corev1.Pod, o *corev1.PodLogOptions, prefix string) {
	rc, err := t.stream(ctx, p, o)
	if err != nil {
		t.warn(ctx, p, o, err)
		return
	}
	defer rc.Close()
	r := bufio.NewReader(rc)
	for {
		raw, err := r.ReadString('\n')
		if raw != "" {
			t.emit(ParseLine(prefix, raw))
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.warn(ctx, p, o, err)
			}
			return
		}
	}
}

func (t *tail) emit(l Line) {
	if t.filter != "" && !strings.Contains(l.Message, t.filter) {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.follow {
		t.lines = append(t.lines, l)
		return
	}
	fmt.Fprintln(t.out, l.String())
}

// warn says on stderr that a container's log could not be read; the others
// go on. A stream ended by Ctrl-C or by its pod's deletion is not news.
func (t *tail) warn(ctx context.Context, p *corev1.Pod, o *corev1.PodLogOptions, err error) {
	if ctx.Err() != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.errOut, "cannot read the log of %s (container %s): %v\n", p.Name, o.Container, err)
}
