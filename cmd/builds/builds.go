// Package builds is `slipway builds`: an app's builds and their logs.
package builds

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

func NewCmdBuilds(f *cmdutil.Factory) *cobra.Command {
	var app string
	var limit int
	cmd := &cobra.Command{
		Use:     "builds",
		Short:   "List the app's builds, newest first",
		Example: "  slipway builds -a myapp",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, s, err := f.AppStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			bs, err := s.ListBuilds(cmd.Context(), a.Name)
			if err != nil {
				return cmdutil.KubeError(err)
			}
			if limit > 0 && len(bs) > limit {
				bs = bs[:limit]
			}
			return Table(bs, f.Now()).Print(f.IO.Out)
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	cmd.Flags().IntVar(&limit, "limit", 10, "how many builds to list")
	cmd.AddCommand(newCmdInfo(f), newCmdLogs(f))
	return cmd
}

// Table is Convox's builds table.
func Table(bs []*records.Build, now time.Time) *cmdutil.Table {
	t := cmdutil.NewTable("ID", "STATUS", "RELEASE", "STARTED", "ELAPSED", "DESCRIPTION")
	for _, b := range bs {
		t.Add(b.Spec.ID, b.Status.Status, b.Status.Release, cmdutil.Ago(started(b), now), elapsed(b), b.Spec.Description)
	}
	return t
}

func started(b *records.Build) time.Time {
	if b.Status.Started != nil {
		return b.Status.Started.Time
	}
	return b.CreationTimestamp.Time
}

func elapsed(b *records.Build) string {
	if b.Status.Ended == nil {
		return ""
	}
	return cmdutil.Elapsed(started(b), b.Status.Ended.Time)
}

func newCmdInfo(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "info ID",
		Short:   "Show a build",
		Example: "  slipway builds info BABCDEFGHIJ -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, s, err := f.AppStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			b, err := s.GetBuild(cmd.Context(), a.Name, args[0])
			if err != nil {
				return cmdutil.KubeError(err)
			}
			return Info(b).Print(f.IO.Out)
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}

// Info is the info block of `builds info`.
func Info(b *records.Build) *cmdutil.Info {
	i := cmdutil.NewInfo()
	i.Add("Id", b.Spec.ID)
	i.Add("Status", b.Status.Status)
	i.Add("Release", b.Status.Release)
	i.Add("Description", b.Spec.Description)
	if b.Spec.Actor != "" {
		i.Add("By", b.Spec.Actor)
	}
	i.Add("Started", started(b).UTC().Format(time.RFC3339))
	i.Add("Elapsed", elapsed(b))
	if b.Status.Builder != "" {
		i.Add("Builder", b.Status.Builder)
	}
	if b.Status.Reason != "" {
		i.Add("Reason", b.Status.Reason)
	}
	images := ""
	for _, im := range b.Status.Images {
		ref := im.Ref
		if im.Digest != "" {
			ref += "@" + im.Digest
		}
		images += fmt.Sprintf("%s: %s\n", im.Service, ref)
	}
	if images != "" {
		i.Add("Images", images)
	}
	return i
}

func newCmdLogs(f *cmdutil.Factory) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "logs ID",
		Short:   "Print a build's log",
		Example: "  slipway builds logs BABCDEFGHIJ -a myapp",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, s, err := f.AppStore(cmd.Context(), app)
			if err != nil {
				return err
			}
			b, err := s.GetBuild(cmd.Context(), a.Name, args[0])
			if err != nil {
				return cmdutil.KubeError(err)
			}
			if b.Status.Logs == "" {
				return fmt.Errorf("build %s has no log yet", b.Spec.ID)
			}
			bucket, err := f.Blobs(cmd.Context())
			if err != nil {
				return err
			}
			defer bucket.Close()
			r, err := bucket.NewReader(cmd.Context(), b.Status.Logs, nil)
			if err != nil {
				return fmt.Errorf("log of build %s: %w", b.Spec.ID, err)
			}
			defer r.Close()
			_, err = io.Copy(f.IO.Out, r)
			return err
		},
	}
	cmdutil.AddAppFlag(cmd, &app)
	return cmd
}
