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

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records"
)

// Factory builds clients on first use, so `slipway --help` or a bad flag
// never dials anything.
type Factory struct {
	IO        *IOStreams
	Overrides config.Overrides
	Now       func() time.Time

	settings *config.Settings
	temporal client.Client
	store    *records.Store
	actor    string
}

// New returns a Factory on the given streams.
func New(io *IOStreams) *Factory { return &Factory{IO: io, Now: time.Now} }

func (f *Factory) Settings() (*config.Settings, error) {
	if f.settings == nil {
		s, err := config.Resolve(f.Overrides)
		if err != nil {
			return nil, err
		}
		f.settings = s
	}
	return f.settings, nil
}

// Temporal dials the Temporal server.
func (f *Factory) Temporal() (client.Client, error) {
	if f.temporal != nil {
		return f.temporal, nil
	}
	s, err := f.Settings()
	if err != nil {
		return nil, err
	}
	opts := s.Temporal
	opts.Logger = quietLogger()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s: run `slipway dev up`, or set TEMPORAL_ADDRESS", opts.HostPort)
	}
	f.temporal = c
	return c, nil
}

// Store connects to the records in Kubernetes.
func (f *Factory) Store() (*records.Store, error) {
	if f.store != nil {
		return f.store, nil
	}
	s, err := f.Settings()
	if err != nil {
		return nil, err
	}
	rc, err := s.RESTConfig()
	if err != nil {
		return nil, err
	}
	f.store, err = records.NewStore(rc, s.Rack)
	return f.store, err
}

// Blobs opens the blob store.
func (f *Factory) Blobs(ctx context.Context) (*blob.Bucket, error) {
	s, err := f.Settings()
	if err != nil {
		return nil, err
	}
	return blobs.Open(ctx, s.BlobURL)
}

// Close releases the clients.
func (f *Factory) Close() {
	if f.temporal != nil {
		f.temporal.Close()
	}
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

// App resolves the app of a command and checks that it exists.
func (f *Factory) App(ctx context.Context, flag string) (*records.App, error) {
	name, err := AppName(flag)
	if err != nil {
		return nil, err
	}
	s, err := f.Store()
	if err != nil {
		return nil, err
	}
	app, err := s.GetApp(ctx, name)
	if records.IsNotFound(err) {
		return nil, fmt.Errorf("no such app: %s (create it with `slipway apps create %s`, or pass -a APP)", name, name)
	}
	if err != nil {
		return nil, KubeError(err)
	}
	return app, nil
}

// AppStore resolves the command's app, which must exist, and the records.
func (f *Factory) AppStore(ctx context.Context, flag string) (*records.App, *records.Store, error) {
	a, err := f.App(ctx, flag)
	if err != nil {
		return nil, nil, err
	}
	s, err := f.Store()
	return a, s, err
}
