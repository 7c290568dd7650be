package env

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/promotions"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/workflows"
)

// newReleaseID names each release; tests pin it.
var newReleaseID = model.NewReleaseID

// envChange is what `env set` and `env unset` ask for.
type envChange struct {
	app     string
	release string // the release to fork; "" for the newest
	replace bool
	msg     string // the step's message: "Setting FOO, BAR"
	set     model.Env
	unset   []string
	id      bool // --id: progress to stderr, the release ID alone on stdout
}

// Promoter promotes an app's release, reporting on f's streams.
type Promoter func(ctx context.Context, f *cmdutil.Factory, app, release string) error

// promoteRelease runs a promotion of release as `releases promote` does,
// with the default timeout.
func promoteRelease(ctx context.Context, f *cmdutil.Factory, app, release string) error {
	return promotions.Promote(ctx, f, promotions.PromoteOptions{App: app, Release: release, Timeout: workflows.DefaultTimeout})
}

// promoter is fn when --promote is set, else nil: no promotion.
func promoter(on bool, fn Promoter) Promoter {
	if !on {
		return nil
	}
	return fn
}

// changeRun checks the change against the forked release, stages the
// values in a Secret (so they never enter Temporal's history), runs the
// release workflow, then promotes the new release when promoteRelease is
// not nil.
func changeRun(ctx context.Context, out *cmdutil.Factory, c envChange, promoteRelease Promoter) error {
	f := out.ForID(c.id)
	a, s, err := f.AppStore(ctx, c.app)
	if err != nil {
		return err
	}
	baseEnv, err := s.ReleaseEnv(ctx, a.Name, cmp.Or(c.release, a.Status.Latest))
	if err != nil {
		return cmdutil.KubeError(err)
	}
	base := model.Env(baseEnv)
	for _, k := range c.unset {
		if _, ok := base[k]; !ok {
			return fmt.Errorf("env not found: %s", k)
		}
	}
	next := base.Merge(c.set)
	if c.replace {
		next = c.set.Clone()
	}
	if err := next.Validate(); err != nil {
		return err
	}
	rid := newReleaseID()
	in := activities.CreateReleaseInput{App: a.Name, ReleaseID: rid, Change: activities.ReleaseChange{
		Unset: c.unset, Replace: c.replace, From: c.release, Actor: f.Actor(ctx),
	}}
	var res activities.CreateReleaseResult
	err = cmdutil.Step(f.IO.Out, c.msg, func() (string, error) {
		if c.set != nil || c.replace {
			in.Change.EnvSecret = records.StagedEnvName(rid)
			if err := cmdutil.StageSecret(ctx, s, a, in.Change.EnvSecret, c.set); err != nil {
				return "", err
			}
			// The workflow deletes the staged values once the release holds
			// them; if it failed instead, they must not linger. (After a
			// Ctrl-C the workflow still runs and needs them.)
			defer func() {
				if ctx.Err() == nil {
					_ = s.Core.CoreV1().Secrets(a.Namespace).Delete(ctx, in.Change.EnvSecret, metav1.DeleteOptions{})
				}
			}()
		}
		return "", f.RunWorkflow(ctx, cmdutil.RunOptions{
			ID: workflows.ReleaseWorkflowID(a.Name, rid), App: a.Name, Release: rid,
			Summary: "release " + rid + " of " + a.Name + ": " + strings.TrimSuffix(c.msg, "..."),
		}, workflows.CreateRelease, in, &res)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.Out, "Release: %s\n", res.ReleaseID)
	if promoteRelease != nil {
		if err := promoteRelease(ctx, f, a.Name, res.ReleaseID); err != nil {
			return err
		}
	}
	if c.id {
		return out.PrintID(res.ReleaseID)
	}
	return nil
}
