package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/render"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/testsuite/chaos/plan"
	"github.com/slipway-dev/slipway/testsuite/chaos/verdict"
)

const (
	// promoteTimeout is given to every promotion (--timeout).
	promoteTimeout = 30 * time.Second
	// compensation bounds putting the previous release back.
	compensation = 90 * time.Second
	// reconcileGrace is how long a closed workflow's records may lag (a
	// reconciler finishes what a terminated run left).
	reconcileGrace = 60 * time.Second
	// settle is how long a finished rollout's last old pods may take to go.
	settle = 15 * time.Second
)

// Several apps round-robin, so that one wedged app does not stop the run.
var apps = []string{"chaos-a", "chaos-b", "chaos-c"}

// services of testdata/convox.yml.
var services = []string{"web", "api", "worker"}

func TestChaos(t *testing.T) {
	s := testsuite.Get(t)
	sd, n := seed(), *nFlag
	replay := fmt.Sprintf("go test ./testsuite/chaos -run TestChaos -count=1 -v -timeout 0 -args -seed=%d -n=%d", sd, n)
	fmt.Fprintf(os.Stderr, "chaos: seed %d, %d promotions; replay: %s\n", sd, n, replay)
	r := &runner{t: t, s: s}
	for _, app := range apps {
		r.setup(app)
	}
	var outs []verdict.Outcome
	for _, st := range plan.Make(sd, n, apps) {
		res := r.run(st)
		outs = append(outs, verdict.Outcome{Fault: string(st.Fault), Result: res.outcome, Took: res.took, HistoryLen: res.obs.HistoryLen})
		line := fmt.Sprintf("%s: release %s promotion %s -> %s in %.1fs", st, res.release, res.promotion, res.outcome, res.took.Seconds())
		for _, note := range res.notes {
			line += "; " + note
		}
		fmt.Fprintln(os.Stderr, "chaos: "+line)
		if len(res.violations) > 0 {
			var b strings.Builder
			for _, v := range res.violations {
				b.WriteString("\n  " + v.String())
			}
			t.Errorf("seed %d %s (release %s, promotion %s, ended after %.1fs):%s\n  replay: %s\n  the worker's log of %s:\n%s",
				sd, st, res.release, res.promotion, res.took.Seconds(), b.String(), replay, st.App, s.WorkerLog(st.App, 40))
		}
	}
	var faults []string
	for _, f := range plan.Faults {
		faults = append(faults, string(f))
	}
	fmt.Fprintf(os.Stderr, "chaos: seed %d\n%s", sd, verdict.Table(faults, outs))
}

type runner struct {
	t *testing.T
	s *testsuite.Stack
	// restore undoes a fault that removed something (clearAll calls it).
	restore func(context.Context) error
}

// setup makes an app whose first release is active.
func (r *runner) setup(app string) {
	t, s := r.t, r.s
	s.MustCLI(t, "apps", "create", app)
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join("testdata", "convox.yml"))
	if err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(string(b), "REGISTRY/", s.Settings.Registry+"/")
	if err := os.WriteFile(filepath.Join(dir, "convox.yml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := releaseOf(s.MustCLI(t, "build", dir, "-a", app, "-d", "chaos"))
	s.MustCLI(t, "releases", "promote", rel, "-a", app)
}

var releaseLine = regexp.MustCompile(`(?m)^Release: (R[A-Z]{10})$`)

func releaseOf(out string) string {
	if m := releaseLine.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// result of one step.
type result struct {
	release, promotion string
	obs                verdict.Observation
	violations         []verdict.Violation
	outcome            string
	took               time.Duration
	notes              []string
}

func (r *runner) run(st plan.Step) (res result) {
	ctx := context.Background()
	s, app := r.s, st.App
	r.clearAll(app)
	simulate := ""
	if st.Crash {
		simulate = "crashloop"
	}
	set := s.CLI(r.t, "env", "set", fmt.Sprintf("K=%d", st.Key), "SIMULATE="+simulate, "-a", app)
	if res.release = releaseOf(set.Stdout); set.Code != 0 || res.release == "" {
		res.outcome = verdict.Violated
		res.violations = []verdict.Violation{{Invariant: "setup", Detail: "env set failed: " + strings.TrimSpace(set.Stderr)}}
		return res
	}
	start := time.Now()
	cli := r.promote(app, res.release)
	runID, blocked := r.findRun(ctx, app, start, cli)
	res.obs.Blocked = blocked

	// The fault, at its moment.
	if runID != "" {
		if st.Trigger.Phase != "" && !r.waitPhase(ctx, app, res.release, runID, st.Trigger.Phase) {
			res.notes = append(res.notes, fmt.Sprintf("phase %q not seen: fault struck after", st.Trigger.Phase))
		}
		time.Sleep(st.Trigger.Delay)
		ctl := r.inject(ctx, st, res.release, runID)
		res.obs.RollbackAsked, res.obs.RollbackAfter = ctl.asked, ctl.after
		if ctl.asked {
			res.notes = append(res.notes, fmt.Sprintf("rollback began %s after asked", fmtAfter(ctl.after)))
		}
		res.notes = append(res.notes, ctl.notes...)
		if st.Fault.Held() {
			time.Sleep(st.Hold)
		}
	}
	r.clearAll(app)

	// The end, bounded.
	bound := start.Add(promoteTimeout + compensation + plan.PausedFor(st.Signals))
	var rec *records.Promotion
	if runID != "" {
		res.obs.Closed = r.waitClosed(ctx, app, runID, bound)
		if res.obs.Closed {
			// A closed run's records say how it ended, now or (for a
			// terminated run) once the reconciler has acted.
			rec = r.waitRecorded(ctx, app, res.release, time.Now().Add(reconcileGrace))
		} else {
			rec = r.record(ctx, app, res.release)
		}
	} else {
		res.obs.Closed = r.closedLatest(ctx, app)
	}
	res.took = time.Since(start)
	if rec != nil {
		res.promotion = rec.Spec.ID
		if rec.Status.Ended != nil {
			res.took = rec.Status.Ended.Sub(start)
		}
	}
	select {
	case <-cli.done:
		if cli.err != "" {
			res.notes = append(res.notes, "promote: "+cli.err)
		}
	case <-time.After(5 * time.Second):
		res.notes = append(res.notes, "promote: still running")
	}

	// What the cluster runs, given a moment for old pods to go.
	deadline := time.Now().Add(settle)
	for {
		r.observe(ctx, app, rec, &res.obs)
		res.violations = verdict.Check(res.obs)
		if !hasInvariant(res.violations, verdict.NeverHalfWay) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if runID != "" {
		res.obs.HistoryLen = r.historyLen(ctx, app, runID)
		res.obs.HistoryMax = 300 + 20*len(services)
		res.violations = verdict.Check(res.obs)
	}
	res.outcome = verdict.Classify(res.obs, res.violations)
	return res
}

func hasInvariant(vs []verdict.Violation, inv string) bool {
	for _, v := range vs {
		if v.Invariant == inv {
			return true
		}
	}
	return false
}

func fmtAfter(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(time.Millisecond).String()
}

// cliRun is a `slipway releases promote` running in the background.
type cliRun struct {
	done chan struct{} // closed when it exits
	err  string        // its error line, once done
}

// promote runs `slipway releases promote` in the background, as a user
// would.
func (r *runner) promote(app, release string) *cliRun {
	c := &cliRun{done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), promoteTimeout+compensation+reconcileGrace+time.Minute)
	cmd := r.s.Command(ctx, "releases", "promote", release, "-a", app, "--timeout", promoteTimeout.String())
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Start(); err != nil {
		cancel()
		c.err = err.Error()
		close(c.done)
		return c
	}
	go func() {
		defer cancel()
		err := cmd.Wait()
		var exit *exec.ExitError
		switch {
		case errors.As(err, &exit):
			c.err = strings.TrimSpace(stderr.String())
		case err != nil:
			c.err = err.Error()
		}
		close(c.done)
	}()
	return c
}

// findRun returns the run of promote/<app> that started after start, or
// why no new promotion could start.
func (r *runner) findRun(ctx context.Context, app string, start time.Time, cli *cliRun) (runID, blocked string) {
	id := "promote/" + app
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if d, err := r.s.Temporal.DescribeWorkflowExecution(ctx, id, ""); err == nil {
			info := d.GetWorkflowExecutionInfo()
			if !info.GetStartTime().AsTime().Before(start.Add(-time.Second)) {
				return info.GetExecution().GetRunId(), ""
			}
		}
		select {
		case <-cli.done:
			if strings.Contains(cli.err, "currently updating") {
				return "", cli.err
			}
			if d, err := r.s.Temporal.DescribeWorkflowExecution(ctx, id, ""); err == nil {
				if info := d.GetWorkflowExecutionInfo(); !info.GetStartTime().AsTime().Before(start.Add(-time.Second)) {
					return info.GetExecution().GetRunId(), ""
				}
			}
			return "", ""
		case <-time.After(50 * time.Millisecond):
		}
	}
	return "", ""
}

// record is the promotion record of release, or nil.
func (r *runner) record(ctx context.Context, app, release string) *records.Promotion {
	ps, err := r.s.Store.ListPromotions(ctx, app)
	if err != nil {
		return nil
	}
	for _, p := range ps {
		if p.Spec.Release == release {
			return p
		}
	}
	return nil
}

// waitPhase waits until the promotion shows phase, up to the promotion's
// timeout; false if the run closed or the phase never came.
func (r *runner) waitPhase(ctx context.Context, app, release, runID, phase string) bool {
	deadline := time.Now().Add(promoteTimeout)
	for time.Now().Before(deadline) {
		if p := r.record(ctx, app, release); p != nil {
			if p.Status.Phase == phase {
				return true
			}
			if p.Status.Result != "" {
				return false
			}
		}
		if !r.running(ctx, app, runID) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// running reports whether the run is still open; an unanswered question
// (Temporal restarting) counts as running.
func (r *runner) running(ctx context.Context, app, runID string) bool {
	d, err := r.s.Temporal.DescribeWorkflowExecution(ctx, "promote/"+app, runID)
	if err != nil {
		return true
	}
	return d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

func (r *runner) waitClosed(ctx context.Context, app, runID string, bound time.Time) bool {
	for time.Now().Before(bound) {
		if !r.running(ctx, app, runID) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// closedLatest reports whether the app's newest promotion run is closed.
func (r *runner) closedLatest(ctx context.Context, app string) bool {
	return !r.running(ctx, app, "")
}

// waitRecorded waits until the promotion record has a result and the app
// is no longer updating, or until deadline; it returns the record.
func (r *runner) waitRecorded(ctx context.Context, app, release string, deadline time.Time) *records.Promotion {
	for {
		p := r.record(ctx, app, release)
		a, err := r.s.Store.GetApp(ctx, app)
		done := err == nil && a.Status.Status != "updating" && (p == nil || p.Status.Result != "")
		if done || time.Now().After(deadline) {
			return p
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// observe reads the records and pods into o.
func (r *runner) observe(ctx context.Context, app string, rec *records.Promotion, o *verdict.Observation) {
	s := r.s
	o.Services = services
	if rec != nil {
		if p := r.record(ctx, app, rec.Spec.Release); p != nil {
			rec = p
		}
		o.Record, o.Result, o.Reason, o.Phase = true, rec.Status.Result, rec.Status.Reason, rec.Status.Phase
	}
	if a, err := s.Store.GetApp(ctx, app); err == nil {
		o.AppStatus, o.Active = a.Status.Status, a.Status.Release
	}
	o.WantImages = r.images(ctx, app, o.Active)
	o.Pods = nil
	pods, err := s.Kube.CoreV1().Pods(s.Store.Namespace(app)).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	for _, p := range pods.Items {
		vp := verdict.Pod{
			Name: p.Name, Service: p.Labels[render.LabelService], Release: p.Labels[render.LabelRelease],
			Terminating: p.DeletionTimestamp != nil,
		}
		for _, c := range p.Spec.Containers {
			vp.Images = append(vp.Images, c.Image)
		}
		o.Pods = append(o.Pods, vp)
	}
}

// images are the images a release's build names, pinned by digest as
// promotions run them: service -> repository@digest.
func (r *runner) images(ctx context.Context, app, release string) map[string]string {
	if release == "" {
		return nil
	}
	rel, err := r.s.Store.GetRelease(ctx, app, release)
	if err != nil || rel.Spec.Build == "" {
		return nil
	}
	b, err := r.s.Store.GetBuild(ctx, app, rel.Spec.Build)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, im := range b.Status.Images {
		if im.Digest == "" {
			out[im.Service] = im.Ref
			continue
		}
		repo := im.Ref
		if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
			repo = repo[:i]
		}
		out[im.Service] = repo + "@" + im.Digest
	}
	return out
}

// historyLen counts the run's history events.
func (r *runner) historyLen(ctx context.Context, app, runID string) int {
	it := r.s.Temporal.GetWorkflowHistory(ctx, "promote/"+app, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		if _, err := it.Next(); err != nil {
			break
		}
		n++
	}
	return n
}
