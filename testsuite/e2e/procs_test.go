package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
)

// The local stack's kwok nodes serve this log for every container (see
// devstack): these tests read it through the API server and kwok's kubelet
// API, as kubectl logs does.
var simulatedLog = []string{
	"simulated log: the local stack's kwok nodes run no containers",
	"every container of the local stack serves these lines (see `slipway dev`)",
	"simulated log: a line on stderr",
}

// processes are the app's pods of a service, by name.
func processes(t *testing.T, s *testsuite.Stack, app, selector string) []corev1.Pod {
	t.Helper()
	pods, err := s.Kube.CoreV1().Pods(s.Store.Namespace(app)).List(context.Background(), metav1.ListOptions{LabelSelector: render.LabelApp + "=" + app + "," + selector})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(pods.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return pods.Items
}

func podNames(pods []corev1.Pod) []string {
	var names []string
	for _, p := range pods {
		names = append(names, p.Name)
	}
	return names
}

var psRow = regexp.MustCompile(`^(\S+)\s+(web|worker)\s+(\S+)\s+(R[A-Z]{10})\s+(.+?ago|now)\s*(.*)$`)

// `ps` lists the app's processes as Convox does; `ps info` shows one;
// `ps stop` stops one, and its Deployment replaces it; a pod that is not
// one of the app's processes is refused as not found.
func TestPs(t *testing.T) {
	s := testsuite.Get(t)
	rel := deployGood(t, s, "psapp")
	out := s.MustCLI(t, "ps", "-a", "psapp")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^ID\s+SERVICE\s+STATUS\s+RELEASE\s+STARTED\s+COMMAND$`).MatchString(lines[0]) {
		t.Fatalf("ps header %q", lines[0])
	}
	want := podNames(processes(t, s, "psapp", render.LabelService))
	var got, services []string
	for _, l := range lines[1:] {
		m := psRow.FindStringSubmatch(l)
		if m == nil || m[3] != "running" || m[4] != rel || m[6] != "bin/"+m[2] {
			t.Errorf("ps row %q: want a running process of %s with its command", l, rel)
			continue
		}
		got, services = append(got, m[1]), append(services, m[2])
	}
	if !slices.Equal(got, want) || !slices.Equal(services, []string{"web", "web", "worker"}) {
		t.Fatalf("ps listed %v (%v), want the app's pods %v:\n%s", got, services, want, out)
	}
	if out := s.MustCLI(t, "ps", "-a", "psapp", "--service", "worker"); strings.Count(out, "\n") != 2 || !strings.Contains(out, want[2]) {
		t.Errorf("ps --service worker:\n%s", out)
	}
	if out := s.MustCLI(t, "ps", "-a", "psapp", "--release", "RNOTTHEREXX"); strings.Count(out, "\n") != 1 {
		t.Errorf("ps --release of no process:\n%s", out)
	}

	web := want[0]
	info := s.MustCLI(t, "ps", "info", web, "-a", "psapp")
	for _, w := range []string{"Id        " + web, "App       psapp", "Command   bin/web", "Instance  node-", "Release   " + rel, "Service   web", "Started   ", "Status    running"} {
		if !strings.Contains(info, w+"") {
			t.Errorf("ps info lacks %q:\n%s", w, info)
		}
	}

	// Not processes of psapp: a pod slipway did not make in its namespace,
	// and psapp's pod asked for as another app's.
	ctx := context.Background()
	stranger := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "stranger", Namespace: s.Store.Namespace("psapp")},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: sample(s)}}},
	}
	if _, err := s.Kube.CoreV1().Pods(stranger.Namespace).Create(ctx, stranger, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	newApp(t, s, "psother")
	for _, args := range [][]string{{"-a", "psapp", "stranger"}, {"-a", "psother", web}} {
		for _, verb := range []string{"info", "stop"} {
			r := s.CLI(t, append([]string{"ps", verb}, args...)...)
			id := args[2]
			if want := "ERROR: no such process: " + id + " (list them with `slipway ps`)\n"; r.Code != 1 || r.Stderr != want {
				t.Errorf("ps %s %v: exit %d, stderr %q; want %q", verb, args, r.Code, r.Stderr, want)
			}
		}
	}
	if _, err := s.Kube.CoreV1().Pods(stranger.Namespace).Get(ctx, "stranger", metav1.GetOptions{}); err != nil {
		t.Errorf("the refused stop touched the pod: %v", err)
	}

	if out := s.MustCLI(t, "ps", "stop", web, "-a", "psapp"); out != "Stopping "+web+"... OK\n" {
		t.Errorf("ps stop printed %q", out)
	}
	eventually(t, "the stopped process replaced", 60*time.Second, 250*time.Millisecond, func(context.Context) (bool, string) {
		now := podNames(processes(t, s, "psapp", render.LabelService+"=web"))
		return !slices.Contains(now, web) && len(now) == 2, fmt.Sprint(now)
	})
}

// syncBuffer is a process's output, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// `logs` shows every process's lines with Convox's prefix; --service,
// --filter and --no-follow narrow it; followed, it shows the pods a
// rollout starts, and Ctrl-C ends it cleanly.
func TestLogs(t *testing.T) {
	s := testsuite.Get(t)
	rel := deployGood(t, s, "logsapp")
	pods := processes(t, s, "logsapp", render.LabelService)
	// --since 24h: the simulated log is stamped when the stack started.
	out := s.MustCLI(t, "logs", "-a", "logsapp", "--no-follow", "--since", "24h")
	line := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ service/(web|worker):` + rel + `/(\S+) (.*)$`)
	seen := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil || !strings.HasPrefix(m[2], m[1]+"-") {
			t.Fatalf("log line %q is not TIME service/SERVICE:RELEASE/PROCESS MESSAGE", l)
		}
		seen[m[2]] = append(seen[m[2]], m[3])
	}
	for _, p := range pods {
		if !slices.Equal(seen[p.Name], simulatedLog) {
			t.Errorf("%s logged %q, want %q", p.Name, seen[p.Name], simulatedLog)
		}
	}
	if len(seen) != len(pods) {
		t.Errorf("lines of %d processes, want %d:\n%s", len(seen), len(pods), out)
	}
	out = s.MustCLI(t, "logs", "-a", "logsapp", "--no-follow", "--since", "24h", "--service", "worker", "--filter", "stderr")
	if want := fmt.Sprintf("service/worker:%s/%s simulated log: a line on stderr\n", rel, pods[2].Name); strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, want) {
		t.Errorf("logs --service worker --filter stderr: %q, want one line ending %q", out, want)
	}

	// Following: a process the rollout starts shows up.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := s.Command(ctx, "logs", "-a", "logsapp", "--since", "24h")
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the followed lines of every process", 30*time.Second, 100*time.Millisecond, func(context.Context) (bool, string) {
		return strings.Count(stdout.String(), "\n") == 3*len(pods), stdout.String()
	})
	s.MustCLI(t, "ps", "stop", pods[0].Name, "-a", "logsapp")
	var fresh string
	eventually(t, "a new web process", 60*time.Second, 250*time.Millisecond, func(context.Context) (bool, string) {
		for _, p := range processes(t, s, "logsapp", render.LabelService+"=web") {
			if p.Name != pods[0].Name && p.Name != pods[1].Name {
				fresh = p.Name
			}
		}
		return fresh != "", "none yet"
	})
	eventually(t, "the new process's lines", 30*time.Second, 100*time.Millisecond, func(context.Context) (bool, string) {
		return strings.Contains(stdout.String(), fmt.Sprintf("service/web:%s/%s %s\n", rel, fresh, simulatedLog[0])), stdout.String()
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil || stderr.String() != "" {
		t.Errorf("logs after Ctrl-C: %v, stderr %q; want exit 0 and nothing", err, stderr.String())
	}
}

// `exec` runs the command in the process with the caller's streams and
// exits with its status.
func TestExec(t *testing.T) {
	s := testsuite.Get(t)
	deployGood(t, s, "execapp")
	web := processes(t, s, "execapp", render.LabelService+"=web")[0].Name
	r := s.CLI(t, "exec", web, "-a", "execapp", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
	if r.Code != 3 || r.Stdout != "out\n" || r.Stderr != "err\n" {
		t.Errorf("exec exit 3: code %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	if r := s.CLI(t, "exec", web, "-a", "execapp", "echo hello there"); r.Code != 0 || r.Stdout != "hello there\n" || r.Stderr != "" {
		t.Errorf("exec echo: code %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// head, not cat: kwok v0.7.0's local exec never closes the command's
	// stdin, so a command that reads to the end waits (kubectl's too).
	r, err := s.Run(ctx, testsuite.Invocation{Args: []string{"exec", web, "-a", "execapp", "--", "head", "-n", "1"}, Stdin: "from stdin\nnot read\n"})
	if err != nil || r.Code != 0 || r.Stdout != "from stdin\n" {
		t.Errorf("exec head: %v, code %d, stdout %q, stderr %q", err, r.Code, r.Stdout, r.Stderr)
	}
	if r := s.CLI(t, "exec", "web-nope", "-a", "execapp", "true"); r.Code != 1 || r.Stderr != "ERROR: no such process: web-nope (list them with `slipway ps`)\n" {
		t.Errorf("exec in a missing process: code %d, stderr %q", r.Code, r.Stderr)
	}
}

// `run` starts a one-off process of a release, shows its output and
// exits with its status; --detach leaves it running and ps lists it; a
// promotion neither adopts nor removes it, and its env Secret goes with it.
func TestRun(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	rel := deployGood(t, s, "runapp")
	ns := s.Store.Namespace("runapp")

	r := s.CLI(t, "run", "web", "-a", "runapp", "--", "sh", "-c", "exit 0")
	if r.Code != 0 || r.Stdout != strings.Join(simulatedLog, "\n")+"\n" {
		t.Errorf("run: code %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	// A release whose processes exit 3 (the kwok nodes read the code from
	// the simulate annotation; see devstack/stages/run.yaml).
	failing := releaseOf(t, s.MustCLI(t, "env", "set", "SIMULATE=exit:3", "-a", "runapp"))
	r = s.CLI(t, "run", "web", "-a", "runapp", "--release", failing, "rake db:migrate")
	if r.Code != 3 || !strings.Contains(r.Stdout, simulatedLog[0]) || r.Stderr != "" {
		t.Errorf("run of a failing process: code %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
	}

	out := s.MustCLI(t, "run", "worker", "-a", "runapp", "--detach", "--", "./backfill", "--all")
	m := regexp.MustCompile(`^Running detached process\.\.\. OK, (worker-run-[a-z0-9]{5})\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("run --detach printed %q", out)
	}
	id := m[1]
	eventually(t, "the detached process listed as complete", 30*time.Second, 250*time.Millisecond, func(context.Context) (bool, string) {
		out := s.MustCLI(t, "ps", "-a", "runapp", "--service", "worker")
		row := regexp.MustCompile(`(?m)^` + id + `\s+worker\s+complete\s+` + rel + `\s+.*\s\./backfill --all$`)
		return row.MatchString(out), out
	})
	runs := podNames(processes(t, s, "runapp", render.LabelRun))
	if len(runs) != 3 || !slices.Contains(runs, id) {
		t.Fatalf("one-off pods %v, want 3 with %s", runs, id)
	}

	// Promoting the failing release replaces the services' pods; the
	// one-off processes are neither adopted nor deleted.
	s.MustCLI(t, "releases", "promote", failing, "-a", "runapp")
	for _, p := range processes(t, s, "runapp", render.LabelRun) {
		if len(p.OwnerReferences) != 0 || p.DeletionTimestamp != nil {
			t.Errorf("one-off %s after a promotion: owners %v, deleting %v", p.Name, p.OwnerReferences, p.DeletionTimestamp)
		}
	}
	if now := podNames(processes(t, s, "runapp", render.LabelRun)); !slices.Equal(now, runs) {
		t.Errorf("one-off pods after a promotion %v, want %v", now, runs)
	}
	sec, err := s.Kube.CoreV1().Secrets(ns).Get(ctx, id, metav1.GetOptions{})
	if err != nil || string(sec.Data["RELEASE"]) != rel || sec.OwnerReferences[0].Name != id {
		t.Fatalf("the process's env Secret: %v", err)
	}
	s.MustCLI(t, "ps", "stop", id, "-a", "runapp")
	eventually(t, "the stopped process's env Secret collected", 60*time.Second, 250*time.Millisecond, func(ctx context.Context) (bool, string) {
		_, err := s.Kube.CoreV1().Secrets(ns).Get(ctx, id, metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
}
