package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/ps"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
)

type ExecOptions struct {
	*cmdutil.Factory
	App     string
	ID      string
	Command []string
	// Executor runs the exec request; nil is the API server's (WebSocket,
	// else SPDY, as kubectl).
	Executor func(ctx context.Context, s *records.Store, pod *corev1.Pod, o *corev1.PodExecOptions) (remotecommand.Executor, error)
}

func NewCmdExec(f *cmdutil.Factory, runF func(context.Context, *ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "exec ID COMMAND...",
		Short: "Run a command in a running process",
		Long: `Run a command in a running process (see slipway ps) with your standard
streams, on a terminal when yours is one. slipway exits with the
command's exit status. Put -- before a command that has flags.`,
		Example: "  slipway exec web-7d9f8c6b5-abc12 -- sh -c 'echo $RELEASE'\n  slipway exec web-7d9f8c6b5-abc12 bash",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.ID, opts.Command = args[0], args[1:]
			return cmdutil.Run(cmd, opts, runF, execRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	return cmd
}

func execRun(ctx context.Context, opts *ExecOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	args, err := command(opts.Command)
	if err != nil {
		return err
	}
	p, err := ps.Find(ctx, s, a, opts.ID)
	if err != nil {
		return err
	}
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return fmt.Errorf("process %s is %s: exec runs in a running process (see `slipway ps`)", p.Name, ps.Status(p))
	}
	// A terminal when standard input is one: raw, so keys reach the
	// command as typed; its output then comes on one stream.
	in, _ := opts.IO.In.(*os.File)
	tty := opts.IO.InTTY && in != nil
	o := &corev1.PodExecOptions{Container: render.Container, Command: args, Stdin: true, Stdout: true, Stderr: !tty, TTY: tty}
	newExecutor := opts.Executor
	if newExecutor == nil {
		newExecutor = opts.executor
	}
	ex, err := newExecutor(ctx, s, p, o)
	if err != nil {
		return err
	}
	so := remotecommand.StreamOptions{Stdin: opts.IO.In, Stdout: opts.IO.Out, Stderr: opts.IO.ErrOut, Tty: tty}
	if tty {
		so.Stderr = nil
		if w, h, err := term.GetSize(int(in.Fd())); err == nil {
			so.TerminalSizeQueue = &oneSize{size: &remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}}
		}
		state, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			return err
		}
		defer func() { _ = term.Restore(int(in.Fd()), state) }()
	}
	return ExitFrom(ex.StreamWithContext(ctx, so))
}

// executor is the API server's exec endpoint for the pod.
func (opts *ExecOptions) executor(_ context.Context, s *records.Store, pod *corev1.Pod, o *corev1.PodExecOptions) (remotecommand.Executor, error) {
	settings, err := opts.Settings()
	if err != nil {
		return nil, err
	}
	rc, err := settings.RESTConfig()
	if err != nil {
		return nil, err
	}
	req := s.Core.CoreV1().RESTClient().Post().Resource("pods").Namespace(pod.Namespace).Name(pod.Name).
		SubResource("exec").VersionedParams(o, scheme.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(rc, "GET", req.URL().String())
	if err != nil {
		return nil, err
	}
	spdy, err := remotecommand.NewSPDYExecutor(rc, "POST", req.URL())
	if err != nil {
		return nil, err
	}
	return remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
}

// oneSize tells the remote terminal its size once.
type oneSize struct{ size *remotecommand.TerminalSize }

func (q *oneSize) Next() *remotecommand.TerminalSize {
	s := q.size
	q.size = nil
	return s
}

// kwokExit is how kwok's nodes (the local stack) report a command's
// status: in the error's text, where a kubelet sends the code itself.
var kwokExit = regexp.MustCompile(`: exit status (\d+)$`)

// ExitFrom is slipway's end for a command that ended with err: the
// command's own exit status when it exited non-zero.
func ExitFrom(err error) error {
	if err == nil {
		return nil
	}
	var code utilexec.CodeExitError
	if errors.As(err, &code) {
		return &cmdutil.ExitError{Code: code.Code}
	}
	if m := kwokExit.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 && n < 256 {
			return &cmdutil.ExitError{Code: n}
		}
	}
	return cmdutil.KubeError(err)
}
