package cmdutil

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
)

// WorkflowError turns a failed workflow into the message a person needs:
// the innermost application error's message, without Temporal's wrapping.
func WorkflowError(err error) error {
	var terminated *temporal.TerminatedError
	if errors.As(err, &terminated) {
		return errors.New("its workflow was terminated before it finished: slipway's workers put right what it left within a minute")
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return err
	}
	for {
		var inner *temporal.ApplicationError
		if !errors.As(errors.Unwrap(appErr), &inner) {
			return errors.New(appErr.Message())
		}
		appErr = inner
	}
}

// KubeError says what to do when the Kubernetes API cannot be reached.
func KubeError(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	var ne *net.OpError
	if errors.As(err, &ue) || errors.As(err, &ne) || strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("cannot reach Kubernetes (%v): run `slipway dev up`, or pass --kubeconfig", err)
	}
	return err
}

func quietLogger() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
