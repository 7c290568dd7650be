package prod

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// proc is one server of the topology: its own process group, its output in
// a log file, and tied to the test binary, so a crashed test leaves
// nothing running.
type proc struct {
	name   string
	cmd    *exec.Cmd
	log    string
	stopBy syscall.Signal // the signal that asks it to stop cleanly
	exited chan struct{}
	err    error // how it exited, once exited is closed
}

// startProc starts cmd with its output in logPath. cred, when not nil,
// runs it as another user (PostgreSQL refuses root).
func startProc(name string, cmd *exec.Cmd, logPath string, cred *syscall.Credential) (*proc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, stopBy: syscall.SIGTERM, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// alive is false once the process has exited; the error says how, with
// the end of its log.
func (p *proc) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); its log %s ends:\n%s", p.name, p.err, p.log, tail(p.log, 20))
	default:
		return nil
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop asks the process group to stop, and kills it after grace.
func (p *proc) stop(grace time.Duration) {
	if p == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	// The group may be gone between the check and the signal: the wait
	// below covers both.
	_ = syscall.Kill(-p.pid(), p.stopBy)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.exited
	}
}

// tail is the end of a log, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
