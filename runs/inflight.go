// Package runs answers what runs for an app: which of its builds and its
// promotion are in flight, asked of the records and of Temporal. The
// activities, the reconciler and the CLI all ask; this is the one answer.
package runs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// AppRuns are the workflow IDs of an app's builds and promotions.
type AppRuns struct {
	Promote     string // the app's one promotion workflow ID
	BuildPrefix string // every build workflow ID of the app starts with it
}

// InFlight is the work on an app that a delete would cut short.
type InFlight struct {
	// Promotion: the app's promotion workflow runs, or its record says
	// updating.
	Promotion bool
	// Builds are the IDs of builds whose workflow runs or whose record
	// says running.
	Builds []string
}

// Busy reports whether anything runs.
func (f InFlight) Busy() bool { return f.Promotion || len(f.Builds) > 0 }

// BusyError is why an app is not deleted while work on it runs.
func BusyError(app string) error {
	return fmt.Errorf("app %s is currently updating: wait for it or use --force", app)
}

// Find finds the builds and promotion of an app that run. The records
// never lag but miss a run that has not written one yet; Temporal (when tc
// is not nil) sees every run, its visibility a moment late. Both are asked.
func Find(ctx context.Context, s *records.Store, tc client.Client, app string, runs AppRuns) (InFlight, error) {
	var f InFlight
	rec, err := s.GetApp(ctx, app)
	if err != nil && !records.IsNotFound(err) {
		return f, err
	}
	if rec != nil && rec.Status.Status == model.AppUpdating {
		f.Promotion = true
	}
	builds, err := s.ListBuilds(ctx, app)
	if err != nil {
		return f, err
	}
	for _, b := range builds {
		if b.Status.Status == model.BuildRunning || b.Status.Status == model.BuildCreated {
			f.Builds = append(f.Builds, b.Spec.ID)
		}
	}
	if tc != nil {
		if running, err := Running(ctx, tc, runs.Promote); err != nil {
			return f, err
		} else if running {
			f.Promotion = true
		}
		ids, err := openBuilds(ctx, tc, app, runs.BuildPrefix)
		if err != nil {
			return f, err
		}
		f.Builds = append(f.Builds, ids...)
	}
	slices.Sort(f.Builds)
	f.Builds = slices.Compact(f.Builds)
	return f, nil
}

// Running reports whether the newest run of a workflow ID is open.
func Running(ctx context.Context, tc client.Client, id string) (bool, error) {
	info, err := Open(ctx, tc, id)
	return info != nil, err
}

// Open describes the newest run of a workflow ID if it is open; nil if it
// has ended or never started.
func Open(ctx context.Context, tc client.Client, id string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	d, err := tc.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return nil, nil
	}
	return d, nil
}

// openBuilds lists the IDs of the app's open build runs from visibility.
func openBuilds(ctx context.Context, tc client.Client, app, prefix string) ([]string, error) {
	var ids []string
	req := &workflowservice.ListWorkflowExecutionsRequest{
		// App names are DNS labels: nothing in them needs quoting.
		Query: fmt.Sprintf("%s = '%s' AND ExecutionStatus = 'Running'", config.SearchApp, app),
	}
	for {
		resp, err := tc.ListWorkflow(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			if id, ok := strings.CutPrefix(e.GetExecution().GetWorkflowId(), prefix); ok && prefix != "" {
				ids = append(ids, id)
			}
		}
		if len(resp.GetNextPageToken()) == 0 {
			return ids, nil
		}
		req.NextPageToken = resp.GetNextPageToken()
	}
}
