package env

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
)

type EditOptions struct {
	*cmdutil.Factory
	App     string
	Promote bool
	// PromoteRelease promotes the new release when Promote is set, as in
	// SetOptions.
	PromoteRelease Promoter
	// Edit lets a person edit the file at path: $EDITOR, else vi. Tests
	// replace it.
	Edit func(ctx context.Context, path string) error
}

func NewCmdEdit(f *cmdutil.Factory, runF func(context.Context, *EditOptions) error) *cobra.Command {
	opts := &EditOptions{Factory: f, PromoteRelease: promoteRelease, Edit: editor(f.IO)}
	cmd := &cobra.Command{
		Use:   "edit",
		Short: "Edit the environment in $EDITOR (else vi), making one release of the result",
		Long: `Edit the environment in $EDITOR (else vi), making one release of the result.

The file holds the newest release's env as KEY=VALUE lines: change a value,
add a line, or delete one to unset it. Saving it unchanged makes no release.`,
		Example: "  slipway env edit -a myapp\n  EDITOR=nano slipway env edit -a myapp --promote",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmdutil.Run(cmd, opts, runF, editRun)
		},
	}
	cmdutil.AddAppFlag(cmd, &opts.App)
	cmd.Flags().BoolVarP(&opts.Promote, "promote", "p", false, "promote the new release")
	return cmd
}

// editor runs $EDITOR through the shell, so a value such as "code --wait"
// works, on the command's own terminal.
func editor(io *cmdutil.IOStreams) func(ctx context.Context, path string) error {
	return func(ctx context.Context, path string) error {
		ed := cmp.Or(os.Getenv("EDITOR"), "vi")
		c := exec.CommandContext(ctx, "sh", "-c", ed+` "$1"`, "slipway-env-edit", path)
		c.Stdin, c.Stdout, c.Stderr = io.In, io.Out, io.ErrOut
		if err := c.Run(); err != nil {
			return fmt.Errorf("the editor (%s) failed: %v; nothing was changed (set $EDITOR to another)", ed, err)
		}
		return nil
	}
}

func editRun(ctx context.Context, opts *EditOptions) error {
	a, s, err := opts.AppStore(ctx, opts.App)
	if err != nil {
		return err
	}
	raw, err := s.ReleaseEnv(ctx, a.Name, a.Status.Latest)
	if err != nil {
		return cmdutil.KubeError(err)
	}
	before := model.Env(raw)
	// The file holds secrets: only its owner may read it, and it goes
	// once read.
	file, err := os.CreateTemp("", "slipway-env-*.env")
	if err != nil {
		return err
	}
	defer os.Remove(file.Name())
	header := fmt.Sprintf("# The env of %s (release %s): KEY=VALUE lines. Delete a line to unset it.\n# Saved unchanged, no release is made.\n", a.Name, cmp.Or(a.Status.Latest, "none yet"))
	_, err = file.WriteString(header + before.String())
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := opts.Edit(ctx, file.Name()); err != nil {
		return err
	}
	text, err := os.ReadFile(file.Name())
	if err != nil {
		return err
	}
	after, err := model.ParseEnv(string(text))
	if err != nil {
		return fmt.Errorf("the edited env: %w; nothing was changed", err)
	}
	if err := after.Validate(); err != nil {
		return fmt.Errorf("the edited env: %w; nothing was changed", err)
	}
	set, unset := envDiff(before, after)
	if len(set) == 0 && len(unset) == 0 {
		fmt.Fprintln(opts.IO.Out, "No change: no release made")
		return nil
	}
	var msg []string
	if len(set) > 0 {
		msg = append(msg, "Setting "+strings.Join(set.Keys(), ", "))
	} else {
		set = nil // nothing to stage
	}
	if len(unset) > 0 {
		msg = append(msg, "unsetting "+strings.Join(unset, ", "))
	}
	m := strings.Join(msg, ", ")
	return changeRun(ctx, opts.Factory, envChange{
		app: a.Name, msg: strings.ToUpper(m[:1]) + m[1:], set: set, unset: unset,
	}, promoter(opts.Promote, opts.PromoteRelease))
}

// envDiff is what turns before into after: the keys to set (new or
// changed) and those to unset, so that the release changes only what the
// person edited, whatever else changed meanwhile.
func envDiff(before, after model.Env) (model.Env, []string) {
	set := model.Env{}
	for k, v := range after {
		if old, ok := before[k]; !ok || old != v {
			set[k] = v
		}
	}
	var unset []string
	for k := range before {
		if _, ok := after[k]; !ok {
			unset = append(unset, k)
		}
	}
	slices.Sort(unset)
	return set, unset
}
