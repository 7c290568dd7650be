package deploy

import (
	"context"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
)

// --keep-previous lands in the options; a negative window is refused
// before anything is built.
func TestKeepPreviousFlag(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *DeployOptions
	capture := func(_ context.Context, o *DeployOptions) error { got = o; return nil }
	if err := e.Run(NewCmdDeploy(e.Factory, capture), "-a", "myapp", "--keep-previous", "10m"); err != nil || got.KeepPrevious != 10*time.Minute {
		t.Errorf("deploy --keep-previous 10m: %+v, %v", got, err)
	}
	got = nil
	err := e.Run(NewCmdDeploy(e.Factory, capture), "-a", "myapp", "--keep-previous", "-5s")
	if err == nil || err.Error() != "--keep-previous must be 0 (no window) or more, e.g. 10m" || got != nil {
		t.Errorf("deploy --keep-previous -5s: ran %v, %v; want refused", got != nil, err)
	}
}
