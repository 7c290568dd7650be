package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"gocloud.dev/blob"

	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records"
)

// Factory is what commands get their clients from. Each client is a
// function, set by New to build it on first use (so `slipway --help` or a
// bad flag never dials anything), and set by tests to return fakes: a
// records.Store over client-go's fake clientsets and Temporal's
// mocks.Client.
type Factory struct {
	IO        *IOStreams
	Overrides config.Overrides // the global flags, read when a client is built
	Now       func() time.Time

	Settings func() (*config.Settings, error)
	Temporal func() (client.Client, error)
	Store    func() (*records.Store, error)
	Blobs    func(context.Context) (*blob.Bucket, error)
	// Actor is who runs the command, for the records and the memo.
	Actor func(context.Context) string
	// Close releases whatever clients were built.
	Close func()
}

// AddAppFlag adds -a/--app to a command.
func AddAppFlag(cmd *cobra.Command, app *string) {
	cmd.Flags().StringVarP(app, "app", "a", "", "app name (default: the current directory's name)")
}

// AppName is the --app flag, else the current directory's name, as Convox does.
func AppName(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", errors.New("no app: pass -a APP")
	}
	return filepath.Base(wd), nil
}

// AppStore resolves the command's app, which must exist, and the records.
func (f *Factory) AppStore(ctx context.Context, flag string) (*records.App, *records.Store, error) {
	name, err := AppName(flag)
	if err != nil {
		return nil, nil, err
	}
	s, err := f.Store()
	if err != nil {
		return nil, nil, err
	}
	app, err := s.GetApp(ctx, name)
	if records.IsNotFound(err) {
		return nil, nil, fmt.Errorf("no such app: %s (create it with `slipway apps create %s`, or pass -a APP)", name, name)
	}
	if err != nil {
		return nil, nil, KubeError(err)
	}
	return app, s, nil
}

// Run ends every command's RunE: it calls the runF a test passed, which
// receives the Options the command line filled, else the command's own run.
func Run[O any](cmd *cobra.Command, opts *O, runF, run func(context.Context, *O) error) error {
	if runF != nil {
		return runF(cmd.Context(), opts)
	}
	return run(cmd.Context(), opts)
}
