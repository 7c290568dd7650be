// Package cmdutiltest builds a Factory for command tests: buffers for the
// streams, records over client-go's fake clientsets, Temporal's
// mocks.Client, a memory bucket and a fixed clock and actor. Nothing in it
// dials a server, so `go test ./cmd/...` needs no stack.
package cmdutiltest

import (
	"bytes"
	"context"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/mocks"
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/internal/golden"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
)

// Now is the fixed time of every test Factory.
var Now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// Actor is who every test command runs as.
const Actor = "alice@example.com"

// Env is a Factory and the fakes behind it.
type Env struct {
	Factory  *cmdutil.Factory
	In       *bytes.Buffer
	Out      *bytes.Buffer
	ErrOut   *bytes.Buffer
	Store    *recordstest.Fake
	Temporal *mocks.Client
	Bucket   *blob.Bucket
	Settings *config.Settings
}

// New returns a Factory whose records hold objs (see recordstest.NewStore)
// and whose Temporal client is a mock with no expectations: a test sets
// the calls it expects, and any other call fails it.
func New(t testing.TB, objs ...any) *Env {
	t.Helper()
	e := &Env{
		In: &bytes.Buffer{}, Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{},
		Store:    recordstest.NewStore(t, objs...),
		Temporal: &mocks.Client{},
		Bucket:   memblob.OpenBucket(nil),
		Settings: &config.Settings{Rack: recordstest.Rack, Registry: "registry.test:5000", BlobURL: "mem://", Builder: "local"},
	}
	t.Cleanup(func() { e.Bucket.Close() })
	e.Temporal.Test(t)
	e.Factory = &cmdutil.Factory{
		IO:       &cmdutil.IOStreams{In: e.In, Out: e.Out, ErrOut: e.ErrOut},
		Now:      func() time.Time { return Now },
		Settings: func() (*config.Settings, error) { return e.Settings, nil },
		Temporal: func() (client.Client, error) { return e.Temporal, nil },
		Store:    func() (*records.Store, error) { return e.Store.Store, nil },
		Blobs:    func(context.Context) (*blob.Bucket, error) { return e.Bucket, nil },
		Actor:    func(context.Context) string { return Actor },
		Close:    func() {},
	}
	return e
}

// Run executes cmd with args and returns its error; output is in e.Out
// and e.ErrOut.
func (e *Env) Run(cmd *cobra.Command, args ...string) error {
	if args == nil {
		args = []string{} // nil would make cobra read the test binary's own flags
	}
	cmd.SetArgs(args)
	cmd.SetIn(e.In)
	cmd.SetOut(e.Out)
	cmd.SetErr(e.ErrOut)
	return cmd.ExecuteContext(context.Background())
}

// Golden checks e.Out against testdata/<name>.golden (go test -update
// rewrites it) and that no line ends in a space.
func (e *Env) Golden(t *testing.T, name string) {
	t.Helper()
	golden.NoTrailingSpace(t, e.Out.Bytes())
	golden.Assert(t, name+".golden", e.Out.Bytes())
}

// Lines is out split into lines, for assertions on a few of them.
func Lines(out *bytes.Buffer) []string {
	return strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
}

// Started is a workflow a command started: how, which, with what input.
type Started struct {
	Options  client.StartWorkflowOptions
	Workflow string // the workflow function's name
	Input    any
}

// ExpectWorkflow lets a command start the workflow with ID id once; its
// run ends with result (copied into the pointer the command waits with)
// and err. The returned Started is filled in when the command starts it.
func (e *Env) ExpectWorkflow(id string, result any, err error) *Started {
	return e.ExpectRun(id, func(_ context.Context, ptr any) error {
		if ptr != nil && result != nil {
			reflect.ValueOf(ptr).Elem().Set(reflect.ValueOf(result))
		}
		return err
	})
}

// funcName is the short name of a function value: "CreateApp" for
// workflows.CreateApp.
func funcName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return name[strings.LastIndex(name, ".")+1:]
}
