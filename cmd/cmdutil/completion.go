package cmdutil

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// Shell completion reads the records, so `slipway releases promote <TAB>`
// offers the app's releases. Each lookup is bounded: a shell must never
// hang on an unreachable cluster, and finds nothing instead.

// completionTimeout bounds one completion's lookups.
const completionTimeout = 3 * time.Second

// Completer offers the candidates for a command's argument or flag.
type Completer = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective)

// completeWith runs list on a bounded context and offers what it finds
// that starts with toComplete; no file names, ever.
func completeWith(list func(ctx context.Context) ([]string, error)) Completer {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		ctx, cancel := context.WithTimeout(cmp.Or(cmd.Context(), context.Background()), completionTimeout)
		defer cancel()
		all, err := list(ctx)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		var out []string
		for _, c := range all {
			if strings.HasPrefix(strings.ToLower(c), strings.ToLower(toComplete)) {
				out = append(out, c)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// firstArg offers c for a command's first argument only.
func firstArg(c Completer) Completer {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c(cmd, args, toComplete)
	}
}

// CompleteApps offers the rack's apps.
func (f *Factory) CompleteApps() Completer {
	return completeWith(func(ctx context.Context) ([]string, error) {
		s, err := f.Store()
		if err != nil {
			return nil, err
		}
		apps, err := s.ListApps(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, a := range apps {
			out = append(out, a.Name)
		}
		return out, nil
	})
}

// CompleteAppArg offers the rack's apps as a command's first argument.
func (f *Factory) CompleteAppArg() Completer { return firstArg(f.CompleteApps()) }

// CompleteReleases offers the releases of the app *app names (read when
// completing, after the flags are parsed), newest first, as a command's
// first argument.
func (f *Factory) CompleteReleases(app *string) Completer {
	return firstArg(f.CompleteReleaseFlag(app))
}

// CompleteReleaseFlag offers the same releases as a flag's value.
func (f *Factory) CompleteReleaseFlag(app *string) Completer {
	return completeWith(func(ctx context.Context) ([]string, error) {
		a, s, err := f.AppStore(ctx, *app)
		if err != nil {
			return nil, err
		}
		rs, err := s.ListReleases(ctx, a, 0)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.Spec.ID)
		}
		return out, nil
	})
}

// CompleteBuilds offers the builds of the app *app names, newest first.
func (f *Factory) CompleteBuilds(app *string) Completer {
	return firstArg(completeWith(func(ctx context.Context) ([]string, error) {
		a, s, err := f.AppStore(ctx, *app)
		if err != nil {
			return nil, err
		}
		bs, err := s.ListBuilds(ctx, a.Name)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, b := range bs {
			out = append(out, b.Spec.ID)
		}
		return out, nil
	}))
}

// CompleteServices offers the services of the app's newest release, from
// its manifest.
func (f *Factory) CompleteServices(app *string) Completer {
	return firstArg(completeWith(func(ctx context.Context) ([]string, error) {
		a, s, err := f.AppStore(ctx, *app)
		if err != nil {
			return nil, err
		}
		return services(ctx, s, a)
	}))
}

func services(ctx context.Context, s *records.Store, a *records.App) ([]string, error) {
	id := cmp.Or(a.Status.Release, a.Status.Latest)
	if id == "" {
		return nil, nil
	}
	r, err := s.GetRelease(ctx, a.Name, id)
	if err != nil {
		return nil, err
	}
	env, err := s.GetReleaseEnv(ctx, r)
	if err != nil {
		return nil, err
	}
	m, err := model.ParseManifest([]byte(r.Spec.Manifest), env)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, svc := range m.Services {
		out = append(out, svc.Name)
	}
	slices.Sort(out)
	return out, nil
}

// RegisterAppCompletion makes -a/--app complete app names on every
// command under root that has it.
func RegisterAppCompletion(root *cobra.Command, f *Factory) {
	if root.Flags().Lookup("app") != nil {
		_ = root.RegisterFlagCompletionFunc("app", f.CompleteApps())
	}
	for _, c := range root.Commands() {
		RegisterAppCompletion(c, f)
	}
}
