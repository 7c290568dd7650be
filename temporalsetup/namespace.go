package temporalsetup

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	// DefaultRetention is how long a namespace install registers keeps
	// closed runs: long enough to open last month's promotion in the UI.
	// The records keep every result for good.
	DefaultRetention = 30 * 24 * time.Hour
	// MinRetention is the shortest retention Temporal accepts for a
	// namespace of one cluster.
	MinRetention = time.Hour
)

// Namespace is what EnsureNamespace found or made.
type Namespace struct {
	Created   bool
	Retention time.Duration
}

// String is the result line of the namespace step.
func (n Namespace) String() string {
	if n.Created {
		return "registered, retention " + Days(n.Retention)
	}
	return "exists, retention " + Days(n.Retention)
}

// CheckRetention refuses a retention Temporal would refuse, before
// anything is changed.
func CheckRetention(d time.Duration) error {
	if d < MinRetention {
		return fmt.Errorf("--retention %s is too short: Temporal keeps closed runs at least %s (e.g. --retention 720h for 30 days)", d, MinRetention)
	}
	return nil
}

// EnsureNamespace registers namespace ns with the given retention, unless
// it exists: an existing namespace is left as it is.
func EnsureNamespace(ctx context.Context, ws workflowservice.WorkflowServiceClient, ns string, retention time.Duration) (Namespace, error) {
	if err := CheckRetention(retention); err != nil {
		return Namespace{}, err
	}
	ask := fmt.Sprintf("ask a Temporal admin to run `temporal operator namespace create --namespace %s --retention %s`, then `slipway system install` again", ns, retention)
	d, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err == nil {
		return Namespace{Retention: d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()}, nil
	}
	if code(err) != codes.NotFound {
		return Namespace{}, callError("DescribeNamespace", ns, err, ask)
	}
	_, err = ws.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        ns,
		Description:                      "slipway's workflows",
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	if code(err) == codes.AlreadyExists {
		// Registered meanwhile by someone else: it exists, with what
		// retention they chose.
		d, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
		if err != nil {
			return Namespace{}, callError("DescribeNamespace", ns, err, ask)
		}
		return Namespace{Retention: d.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()}, nil
	}
	if err != nil {
		return Namespace{}, callError("RegisterNamespace", ns, err, ask)
	}
	return Namespace{Created: true, Retention: retention}, nil
}

// Days is d in days when it is whole days ("30 days", "1 day"), else as Go
// prints it.
func Days(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d > 0 && d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
