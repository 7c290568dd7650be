package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// process is one long-running program of the stack, started detached from
// the terminal (so Ctrl-C of `dev up` does not take it down) and tracked by a
// pid file in the stack's folder.
type process struct {
	name string // also the pid and log file names
	dir  string
	bin  string
	args []string
	env  []string
	// tied makes the process die with the one that started it: the test
	// harness uses it so that a crashed test binary leaves nothing behind.
	tied bool
}

func (p *process) pidFile() string { return filepath.Join(p.dir, p.name+".pid") }
func (p *process) logFile() string { return filepath.Join(p.dir, p.name+".log") }

// pid returns the pid of the running process, or 0. A pid file whose process
// is gone, or was reused by another program, counts as not running.
func (p *process) pid() int {
	b, err := os.ReadFile(p.pidFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(filepath.Base(p.bin))) {
		return 0
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && isZombie(stat) {
		return 0
	}
	return pid
}

func isZombie(stat []byte) bool {
	// /proc/PID/stat is "pid (comm) S ...": the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func (p *process) start() error {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(p.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if p.tied {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	// Reap it if it exits while we still run, so pid() never sees a zombie
	// for long; the process otherwise outlives us.
	go func() { _ = cmd.Wait() }()
	return os.WriteFile(p.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
}

// stop sends SIGTERM to the process group, waits for a clean exit (the
// Temporal dev server flushes its state file), then SIGKILLs what is left.
func (p *process) stop(grace time.Duration) error {
	pid := p.pid()
	if pid == 0 {
		_ = os.Remove(p.pidFile())
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	gone := func() bool { return p.pid() == 0 }
	if pollFor(grace, 50*time.Millisecond, gone) {
		return os.Remove(p.pidFile())
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if pollFor(2*time.Second, 50*time.Millisecond, gone) {
		return os.Remove(p.pidFile())
	}
	return errors.New(p.name + " did not stop: kill pid " + strconv.Itoa(pid) + " by hand")
}

// tail returns the last lines of the process's log, for error messages.
func (p *process) tail(n int) string {
	b, _ := os.ReadFile(p.logFile())
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// alive looks again for the process for a while: right after a start, a
// single look has been seen to miss a process that was running.
func (p *process) alive(within time.Duration) bool {
	return pollFor(within, 20*time.Millisecond, func() bool { return p.pid() != 0 })
}

// pollFor reports whether cond holds, looking at once and then every
// interval for at most timeout: what it waits on (a process, a pid file)
// has nothing to watch.
func pollFor(timeout, interval time.Duration, cond func() bool) bool {
	return wait.PollUntilContextTimeout(context.Background(), interval, timeout, true, func(context.Context) (bool, error) {
		return cond(), nil
	}) == nil
}

// ProcessCPU is the CPU seconds (user and system) a process has used, and
// those of its children it has waited for; ok is false once it is gone.
// Benchmarks read it to say where a machine's CPU went.
func ProcessCPU(pid int) (self, children float64, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// utime, stime, cutime and cstime are fields 14 to 17, in clock ticks
	// of 1/100 s on Linux.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 15 {
		return 0, 0, false
	}
	tick := func(i int) float64 {
		v, _ := strconv.ParseFloat(f[i], 64)
		return v / 100
	}
	return tick(11) + tick(12), tick(13) + tick(14), true
}
