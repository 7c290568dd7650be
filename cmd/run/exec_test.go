package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/render"
)

func process(app, name string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: recordstest.Namespace(app), Labels: map[string]string{
			render.LabelApp: app, render.LabelService: "web", render.LabelRelease: active,
		}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: render.Container}}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

// fakeExecutor plays a command: it writes to both streams and ends with err.
type fakeExecutor struct {
	err   error
	asked *corev1.PodExecOptions
	pod   string
}

func (f *fakeExecutor) new(_ context.Context, _ *records.Store, p *corev1.Pod, o *corev1.PodExecOptions) (remotecommand.Executor, error) {
	f.asked, f.pod = o, p.Name
	return f, nil
}

func (f *fakeExecutor) Stream(remotecommand.StreamOptions) error { return errors.New("not used") }

func (f *fakeExecutor) StreamWithContext(_ context.Context, so remotecommand.StreamOptions) error {
	in, _ := io.ReadAll(so.Stdin)
	fmt.Fprintf(so.Stdout, "out (stdin %q)\n", in)
	fmt.Fprintln(so.Stderr, "err")
	return f.err
}

func TestExecFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *ExecOptions
	capture := func(_ context.Context, o *ExecOptions) error { got = o; return nil }
	if err := e.Run(NewCmdExec(e.Factory, capture), "-a", "myapp", "web-1", "--", "sh", "-c", "exit 3"); err != nil {
		t.Fatal(err)
	}
	if got.App != "myapp" || got.ID != "web-1" || !slices.Equal(got.Command, []string{"sh", "-c", "exit 3"}) {
		t.Errorf("options %+v", got)
	}
	ran := false
	for _, args := range [][]string{{}, {"web-1"}} {
		if err := e.Run(NewCmdExec(e.Factory, func(context.Context, *ExecOptions) error { ran = true; return nil }), args...); err == nil {
			t.Errorf("exec %q: no error", args)
		}
	}
	if ran {
		t.Error("exec ran with a bad command line")
	}
}

// The command runs in the process's container with the caller's streams,
// and its exit status is slipway's.
func TestExecRun(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		code int
	}{
		{"ok", nil, 0},
		{"kubelet status", utilexec.CodeExitError{Err: errors.New("command terminated with non-zero exit code"), Code: 3}, 3},
		{"kwok status", errors.New("Internal error occurred: error executing command in container: cmd wait: sh -c exit 7: exit status 7"), 7},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := cmdutiltest.New(t, recordstest.App("myapp"), process("myapp", "web-1", corev1.PodRunning))
			e.In.WriteString("input")
			ex := &fakeExecutor{err: tt.err}
			err := execRun(context.Background(), &ExecOptions{Factory: e.Factory, App: "myapp", ID: "web-1", Command: []string{"sh -c 'exit 3'"}, Executor: ex.new})
			var exit *cmdutil.ExitError
			if tt.code == 0 && err != nil || tt.code != 0 && (!errors.As(err, &exit) || exit.Code != tt.code) {
				t.Errorf("exec: %v, want exit status %d", err, tt.code)
			}
			if e.Out.String() != "out (stdin \"input\")\n" || e.ErrOut.String() != "err\n" {
				t.Errorf("stdout %q, stderr %q", e.Out, e.ErrOut)
			}
			o := ex.asked
			if ex.pod != "web-1" || o.Container != render.Container || !slices.Equal(o.Command, []string{"sh", "-c", "exit 3"}) || !o.Stdin || !o.Stdout || !o.Stderr || o.TTY {
				t.Errorf("exec of %s with %+v", ex.pod, o)
			}
		})
	}
}

// Only a running process of the app: anything else is refused before any
// exec.
func TestExecRefuses(t *testing.T) {
	e := cmdutiltest.New(t, recordstest.App("myapp"), process("myapp", "web-done", corev1.PodSucceeded), process("other", "web-2", corev1.PodRunning))
	ex := &fakeExecutor{}
	for id, want := range map[string]string{
		"web-done": "process web-done is complete: exec runs in a running process (see `slipway ps`)",
		"web-2":    "no such process: web-2 (list them with `slipway ps`)",
	} {
		err := execRun(context.Background(), &ExecOptions{Factory: e.Factory, App: "myapp", ID: id, Command: []string{"ls"}, Executor: ex.new})
		if err == nil || err.Error() != want {
			t.Errorf("exec in %s: %v, want %q", id, err, want)
		}
	}
	if ex.asked != nil {
		t.Errorf("an exec was made: %+v", ex.asked)
	}
}

// Any other error is slipway's own, said as such.
func TestExitFrom(t *testing.T) {
	if err := ExitFrom(errors.New("pods \"web-1\" is forbidden")); err == nil || err.Error() != "pods \"web-1\" is forbidden" {
		t.Errorf("ExitFrom: %v", err)
	}
	var exit *cmdutil.ExitError
	if err := ExitFrom(errors.New("boom: exit status 999")); errors.As(err, &exit) {
		t.Errorf("an impossible status %v was taken for the command's", err)
	}
}
