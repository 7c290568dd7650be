// Package build is `slipway build`: package a directory, upload it, and run
// the Build workflow, which makes a Build and then a Release of it.
package build

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

// Options are what a build is made from. `deploy` fills them from its own
// flags and calls Run, so they hold no client.
type Options struct {
	Dir         string
	App         string
	Description string
	Manifest    string
	BuildArgs   []string // KEY=VALUE
	MaxContext  int64    // bytes
	Builder     string   // local or kubernetes; "" for the setting
	Registry    string   // "" for the worker's
	// Strict refuses a manifest with warnings (keys slipway ignores).
	Strict bool
}

// BuildOptions are `slipway build`'s: the clients and the build's Options.
type BuildOptions struct {
	*cmdutil.Factory
	Options
	// ID prints only the new release's ID on stdout, as Convox's --id
	// does (the release is what a script promotes next).
	ID bool
}

func NewCmdBuild(f *cmdutil.Factory, runF func(context.Context, *BuildOptions) error) *cobra.Command {
	opts := &BuildOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build the app from a directory (default: the current one) and make a release of it",
		Example: `  slipway build -a myapp
  slipway build examples/myapp -a myapp --description "first cut"
  RELEASE=$(slipway build --id -a myapp)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = "."
			if len(args) == 1 {
				opts.Dir = args[0]
			}
			return cmdutil.Run(cmd, opts, runF, buildRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().StringVarP(&opts.Description, "description", "d", "", "build description (default: the git commit of a clean checkout)")
	cmd.Flags().StringVarP(&opts.Manifest, "manifest", "m", "convox.yml", "manifest file, relative to DIR")
	AddBuildFlags(cmd, &opts.Options)
	cmdutil.AddIDFlag(cmd, &opts.ID, "new release's")
	cmdutil.AddWaitFlag(cmd)
	return cmd
}

// AddBuildFlags adds the flags `build` and `deploy` share.
func AddBuildFlags(cmd *cobra.Command, o *Options) {
	cmd.Flags().StringArrayVar(&o.BuildArgs, "build-arg", nil, "build argument KEY=VALUE for every Dockerfile (repeatable)")
	cmd.Flags().Int64Var(&o.MaxContext, "max-context", 1<<30, "refuse a source larger than this many bytes")
	cmd.Flags().StringVar(&o.Registry, "registry", "", "registry host[:port] to push images to (default: the worker's, $SLIPWAY_REGISTRY)")
	cmd.Flags().StringVar(&o.Builder, "builder", "", "local (runs nothing, the default) or kubernetes (a Job per service; $SLIPWAY_BUILDER)")
	cmd.Flags().BoolVar(&o.Strict, "strict", false, "refuse a convox.yml with warnings (keys slipway ignores) instead of printing them")
}

func buildRun(ctx context.Context, opts *BuildOptions) error {
	res, err := Run(ctx, opts.ForID(opts.ID), opts.Options)
	if err != nil {
		return err
	}
	if opts.ID {
		return opts.PrintID(res.ReleaseID)
	}
	fmt.Fprintf(opts.IO.Out, "Build:   %s\nRelease: %s\n", res.BuildID, res.ReleaseID)
	return nil
}

// AppName is the app a build is for: --app, else the source folder's name.
func AppName(o Options) string {
	if o.App != "" {
		return o.App
	}
	if abs, err := filepath.Abs(o.Dir); err == nil {
		return filepath.Base(abs)
	}
	return ""
}
