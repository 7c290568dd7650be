package temporalsetup

import (
	"fmt"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
)

// RefusedError is a call Temporal refused the caller: who may make it
// has to, or has to grant the right.
type RefusedError struct {
	Call      string // the API call: "AddSearchAttributes"
	Namespace string
	Do        string // what to do instead
	Err       error
}

func (e *RefusedError) Error() string {
	why := "permission denied"
	if code(e.Err) == codes.Unauthenticated {
		why = "not authenticated"
	}
	return fmt.Sprintf("Temporal refused %s in namespace %s (%s): %s", e.Call, e.Namespace, why, e.Do)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// ConflictError is a search attribute slipway needs that exists with
// another type: only removing it (or another namespace) fixes it.
type ConflictError struct {
	Namespace string
	Name      string
	Has, Want string // type names: "Text", "Keyword"
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("search attribute %s exists in Temporal namespace %s as %s, slipway needs %s: remove it (`temporal operator search-attribute remove --namespace %s --name %s`) and run `slipway system install` again, or use another namespace (--namespace)",
		e.Name, e.Namespace, e.Has, e.Want, e.Namespace, e.Name)
}

// callError names the call that failed; a refusal says what to do.
func callError(call, ns string, err error, do string) error {
	switch code(err) {
	case codes.PermissionDenied, codes.Unauthenticated:
		return &RefusedError{Call: call, Namespace: ns, Do: do, Err: err}
	}
	return fmt.Errorf("%s in Temporal namespace %s: %w", call, ns, err)
}

// code is the gRPC code of an error from Temporal's services, whether the
// SDK turned it into a serviceerror or left it a gRPC status.
func code(err error) codes.Code { return serviceerror.ToStatus(err).Code() }
