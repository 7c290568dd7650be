// Package releases is `slipway releases`: an app's releases.
package releases

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

func NewCmdReleases(f *cmdutil.Factory) *cobra.Command {
	var app string
	var limit int
	cmd := &cobra.Command{
		Use:     "releases",
		Short:   "List the app's releases, newest first",
		Example: "  slipway releases -a myapp --limit 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit must be at least 1")
			}
			a, s, err := f.AppStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			rs, err := s.ListReleases(cmd.Context(), a, limit)
			if err != nil {
				return cmdutil.KubeError(err)
			}
			return Table(rs, a.Status.Release, f.Now()).Print(f.IO.Out)
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	cmd.Flags().IntVar(&limit, "limit", 10, "how many releases to list")
	cmd.AddCommand(newCmdInfo(f), newCmdManifest(f), newCmdPromote(f), newCmdRollback(f))
	return cmd
}

// Table is Convox's releases table; active is the app's active release.
func Table(rs []*records.Release, active string, now time.Time) *cmdutil.Table {
	t := cmdutil.NewTable("ID", "STATUS", "BUILD", "CREATED", "DESCRIPTION")
	for _, r := range rs {
		status := ""
		if r.Spec.ID == active {
			status = "active"
		}
		t.Add(r.Spec.ID, status, r.Spec.Build, cmdutil.Ago(r.CreationTimestamp.Time, now), r.Spec.Description)
	}
	return t
}

func newCmdInfo(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "info ID",
		Short:   "Show a release, with its environment",
		Example: "  slipway releases info RABCDEFGHIJ -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, s, err := f.AppStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			r, err := s.GetRelease(cmd.Context(), a.Name, args[0])
			if err != nil {
				return cmdutil.KubeError(err)
			}
			env, err := s.GetReleaseEnv(cmd.Context(), r)
			if err != nil {
				return cmdutil.KubeError(err)
			}
			return Info(r, model.Env(env)).Print(f.IO.Out)
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}

// Info is the info block of `releases info`.
func Info(r *records.Release, env model.Env) *cmdutil.Info {
	i := cmdutil.NewInfo()
	i.Add("Id", r.Spec.ID)
	i.Add("Build", r.Spec.Build)
	i.Add("Created", r.CreationTimestamp.UTC().Format(time.RFC3339))
	i.Add("Description", r.Spec.Description)
	if r.Spec.Actor != "" {
		i.Add("By", r.Spec.Actor)
	}
	i.Add("Env", strings.TrimSuffix(env.String(), "\n"))
	return i
}

func newCmdManifest(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "manifest ID",
		Short:   "Print a release's convox.yml as written",
		Example: "  slipway releases manifest RABCDEFGHIJ -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, s, err := f.AppStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			r, err := s.GetRelease(cmd.Context(), a.Name, args[0])
			if err != nil {
				return cmdutil.KubeError(err)
			}
			if r.Spec.Manifest == "" {
				return fmt.Errorf("release %s has no manifest: it has no build yet", r.Spec.ID)
			}
			_, err = io.WriteString(f.IO.Out, r.Spec.Manifest)
			return err
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}
