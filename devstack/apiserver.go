package devstack

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"
)

// kwokComponent is what kwokctl records in the cluster's kwok.yaml about one
// process it runs: enough to start that process again the way kwokctl does.
type kwokComponent struct {
	Name    string   `json:"name"`
	Binary  string   `json:"binary"`
	Args    []string `json:"args"`
	WorkDir string   `json:"workDir"`
	Envs    []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"envs"`
	// Metric is where kwokctl scrapes the process: its address, and the
	// client certificate that address wants. Health checks use it too.
	Metric *struct {
		Scheme             string `json:"scheme"`
		Host               string `json:"host"`
		CertPath           string `json:"certPath"`
		KeyPath            string `json:"keyPath"`
		InsecureSkipVerify bool   `json:"insecureSkipVerify"`
	} `json:"metric"`
}

// pidFile and logFile are where kwokctl keeps the process's pid and output.
func (c *kwokComponent) pidFile() string {
	return filepath.Join(c.WorkDir, "pids", filepath.Base(c.Binary)+".pid")
}

func (c *kwokComponent) logFile() string {
	return filepath.Join(c.WorkDir, "logs", filepath.Base(c.Binary)+".log")
}

// pid is the process's pid, or 0 when it is not running. kwokctl itself
// only sends signal 0, which a zombie answers: this looks at /proc.
func (c *kwokComponent) pid() int {
	b, err := os.ReadFile(c.pidFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 || !runsBinary(pid, c.Binary) {
		return 0
	}
	return pid
}

// component finds one of the cluster's processes in kwok.yaml, whose first
// document is kwokctl's configuration (the Stages follow it).
func (k *kube) component(name string) (*kwokComponent, error) {
	b, err := os.ReadFile(filepath.Join(k.clusterDir(), "kwok.yaml"))
	if err != nil {
		return nil, fmt.Errorf("the cluster is not created: run `slipway dev up` (%v)", err)
	}
	for _, doc := range bytes.Split(b, []byte("\n---")) {
		var conf struct {
			Kind       string          `json:"kind"`
			Components []kwokComponent `json:"components"`
		}
		if err := yaml.Unmarshal(doc, &conf); err != nil || conf.Kind != "KwokctlConfiguration" {
			continue
		}
		for i := range conf.Components {
			if conf.Components[i].Name == name {
				return &conf.Components[i], nil
			}
		}
	}
	return nil, fmt.Errorf("%s: no component %s: run `slipway dev reset` to make the cluster again", filepath.Join(k.clusterDir(), "kwok.yaml"), name)
}

// restartAPIServer stops kube-apiserver alone (SIGTERM, then SIGKILL after
// a grace period) and starts the same binary with the
// same flags, in the same folder, with the same log and pid files as
// kwokctl, so `kwokctl stop cluster` and `slipway dev down` still find it.
// Restarting the whole cluster would also restart etcd and the controllers,
// which is slower and not the fault being simulated.
func (k *kube) restartAPIServer(ctx context.Context) error {
	c, err := k.component("kube-apiserver")
	if err != nil {
		return err
	}
	// An API server that exits at once (a flag it refuses) ends the wait.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	exited, err := c.restart(nil)
	if err != nil {
		return err
	}
	go func() { <-exited; cancel() }()
	return waitFor(ctx, 90*time.Second, nil, func(ctx context.Context) error {
		select {
		case <-exited:
			return fmt.Errorf("kube-apiserver exited: see %s", c.logFile())
		default:
			return k.ready(ctx)
		}
	})
}

// restart stops the component if it runs (SIGTERM, then SIGKILL after
// three seconds: kube-apiserver's graceful shutdown has been seen to take
// 15 s and more here, and a restart is meant to be a short outage), runs
// between while it is down, and starts it again.
func (c *kwokComponent) restart(between func() error) (exited <-chan struct{}, err error) {
	if pid := c.pid(); pid > 0 {
		if err := stopPid(pid, c.Binary, 3*time.Second); err != nil {
			return nil, err
		}
	}
	if between != nil {
		if err := between(); err != nil {
			return nil, err
		}
	}
	return c.start()
}

// stopPid sends SIGTERM to pid if it still runs bin, waits up to grace for
// it to exit, then SIGKILLs it.
func stopPid(pid int, bin string, grace time.Duration) error {
	runs := func() bool { return runsBinary(pid, bin) }
	if !runs() {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	gone := func() bool { return !runs() }
	if pollFor(grace, 20*time.Millisecond, gone) {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if pollFor(2*time.Second, 20*time.Millisecond, gone) {
		return nil
	}
	return fmt.Errorf("%s (pid %d) did not stop: kill it by hand", filepath.Base(bin), pid)
}

// runsBinary reports whether pid is a live (not zombie) process of bin.
func runsBinary(pid int, bin string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(filepath.Base(bin))) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !isZombie(stat)
}

// start runs the component's binary with the flags, folder and environment
// kwokctl gave it, appending to kwokctl's log file and writing kwokctl's pid
// file, so `kwokctl stop cluster` and `slipway dev down` still find it.
// exited closes when the process ends.
func (c *kwokComponent) start() (exited <-chan struct{}, err error) {
	log, err := os.OpenFile(c.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(c.Binary, c.Args...)
	cmd.Dir = c.WorkDir
	cmd.Env = os.Environ()
	for _, e := range c.Envs {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// Its own session, as kwokctl starts it: it outlives whoever started
	// it and is stopped by its pid file.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	done := make(chan struct{})
	// Reap it, so that it never lingers as a zombie while we run.
	go func() { _ = cmd.Wait(); close(done) }()
	// kwokctl writes the pid with no newline; it parses it with Atoi.
	if err := os.WriteFile(c.pidFile(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return nil, err
	}
	return done, nil
}
