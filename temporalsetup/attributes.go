package temporalsetup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"google.golang.org/grpc/codes"
)

// Settle bounds how long EnsureSearchAttributes waits for a namespace
// that Temporal does not know yet: one just registered reaches every
// frontend's namespace cache within seconds, not at once.
var Settle = 30 * time.Second

// settleInterval is how often it asks meanwhile; tests shorten it.
var settleInterval = 250 * time.Millisecond

// EnsureSearchAttributes registers those of slipway's search attributes
// that namespace ns lacks, and returns their names (none: all were
// there). One that exists with another type is a *ConflictError, and
// nothing is added.
func EnsureSearchAttributes(ctx context.Context, ops operatorservice.OperatorServiceClient, ns string) ([]string, error) {
	deadline := time.Now().Add(Settle)
	for {
		added, err := ensureSearchAttributes(ctx, ops, ns)
		var none *NoNamespaceError
		if !errors.As(err, &none) || time.Now().After(deadline) {
			return added, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(settleInterval):
		}
	}
}

func ensureSearchAttributes(ctx context.Context, ops operatorservice.OperatorServiceClient, ns string) ([]string, error) {
	missing, err := lacking(ctx, ops, ns)
	if err != nil || len(missing) == 0 {
		return nil, err
	}
	want := Attributes()
	add := make(map[string]enumspb.IndexedValueType, len(missing))
	for _, name := range missing {
		add[name] = want[name]
	}
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: ns, SearchAttributes: add})
	switch code(err) {
	case codes.NotFound:
		return nil, &NoNamespaceError{Namespace: ns}
	case codes.AlreadyExists:
		// Added meanwhile by someone else: what counts is that they are
		// there now, with the right type.
		if missing, err = lacking(ctx, ops, ns); err == nil && len(missing) > 0 {
			err = fmt.Errorf("Temporal namespace %s still lacks search attributes %s after adding them: run `slipway system install` again", ns, strings.Join(missing, ", "))
		}
		return nil, err
	}
	if err != nil {
		return nil, callError("AddSearchAttributes", ns, err, "ask a Temporal admin to run `"+CreateCommand(ns, missing)+"`")
	}
	return missing, nil
}

// Check says whether namespace ns has every search attribute slipway's
// runs set, with one ListSearchAttributes call: a worker runs it at
// start-up so a rack left unprepared fails there, not at its first run.
func Check(ctx context.Context, ops operatorservice.OperatorServiceClient, ns string) error {
	missing, err := lacking(ctx, ops, ns)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("Temporal namespace %s lacks slipway's search attributes %s: run `slipway system install` (or `%s`)", ns, strings.Join(missing, ", "), CreateCommand(ns, missing))
	}
	return nil
}

// lacking lists the attributes ns does not have, in slipway's order; one
// it has with another type is a *ConflictError.
func lacking(ctx context.Context, ops operatorservice.OperatorServiceClient, ns string) ([]string, error) {
	resp, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if code(err) == codes.NotFound {
		return nil, &NoNamespaceError{Namespace: ns}
	}
	if err != nil {
		return nil, callError("ListSearchAttributes", ns, err, "ask a Temporal admin to run `slipway system install`, or `"+CreateCommand(ns, Names())+"`")
	}
	have := resp.GetCustomAttributes()
	want := Attributes()
	var missing []string
	for _, name := range Names() {
		t, ok := have[name]
		if !ok {
			t, ok = resp.GetSystemAttributes()[name]
		}
		switch {
		case !ok:
			missing = append(missing, name)
		case t != want[name]:
			// One at a time: each is one line, and the fix is the same.
			return nil, &ConflictError{Namespace: ns, Name: name, Has: typeName(t), Want: typeName(want[name])}
		}
	}
	return missing, nil
}

// CreateCommand is the Temporal CLI command that registers names in ns,
// for whoever has the right to.
func CreateCommand(ns string, names []string) string {
	want := Attributes()
	var b strings.Builder
	fmt.Fprintf(&b, "temporal operator search-attribute create --namespace %s", ns)
	for _, name := range names {
		fmt.Fprintf(&b, " --name %s --type %s", name, typeName(want[name]))
	}
	return b.String()
}

// NoNamespaceError is a namespace Temporal does not know (yet).
type NoNamespaceError struct{ Namespace string }

func (e *NoNamespaceError) Error() string {
	return fmt.Sprintf("Temporal namespace %s does not exist: run `slipway system install`, or pass the namespace slipway uses (--namespace, TEMPORAL_NAMESPACE)", e.Namespace)
}
