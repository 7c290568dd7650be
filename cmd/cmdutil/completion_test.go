package cmdutil_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
)

// completionSeeds are apps api and myapp; myapp has two releases (the
// newest active, with a manifest of two services) and a build.
func completionSeeds() []any {
	ns := recordstest.Namespace("myapp")
	a := recordstest.App("myapp")
	a.Status.Release, a.Status.Latest = "RCDEFGHIJKL", "RCDEFGHIJKL"
	rel := func(id, parent, manifest string) *records.Release {
		return &records.Release{
			TypeMeta:   recordstest.TypeMeta("Release"),
			ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName(id), Namespace: ns},
			Spec:       records.ReleaseSpec{ID: id, App: "myapp", Parent: parent, Manifest: manifest, Env: records.EnvSecretName(id)},
		}
	}
	b := &records.Build{
		TypeMeta:   recordstest.TypeMeta("Build"),
		ObjectMeta: metav1.ObjectMeta{Name: records.ObjectName("BABCDEFGHIJ"), Namespace: ns},
		Spec:       records.BuildSpec{ID: "BABCDEFGHIJ", App: "myapp"},
	}
	return []any{
		recordstest.App("api"), a, b,
		rel("RBCDEFGHIJK", "", ""),
		rel("RCDEFGHIJKL", "RBCDEFGHIJK", "services:\n  worker:\n    image: x\n  web:\n    image: x\n    port: 3000\n"),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: records.EnvSecretName("RCDEFGHIJKL"), Namespace: ns}},
	}
}

func complete(t *testing.T, c cmdutil.Completer, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	t.Helper()
	cmd := &cobra.Command{}
	cmd.SetContext(context.Background())
	return c(cmd, args, prefix)
}

func TestCompletion(t *testing.T) {
	e := cmdutiltest.New(t, completionSeeds()...)
	f := e.Factory
	app := "myapp"
	for _, tt := range []struct {
		name   string
		c      cmdutil.Completer
		args   []string
		prefix string
		want   []string
	}{
		{"apps", f.CompleteApps(), nil, "", []string{"api", "myapp"}},
		{"apps by prefix", f.CompleteAppArg(), nil, "m", []string{"myapp"}},
		{"app arg taken", f.CompleteAppArg(), []string{"api"}, "", nil},
		{"releases newest first", f.CompleteReleases(&app), nil, "", []string{"RCDEFGHIJKL", "RBCDEFGHIJK"}},
		{"releases by prefix, any case", f.CompleteReleases(&app), nil, "rb", []string{"RBCDEFGHIJK"}},
		{"builds", f.CompleteBuilds(&app), nil, "", []string{"BABCDEFGHIJ"}},
		{"releases as a flag, after arguments", f.CompleteReleaseFlag(&app), []string{"FOO"}, "RC", []string{"RCDEFGHIJKL"}},
		{"services of the active release", f.CompleteServices(&app), nil, "", []string{"web", "worker"}},
	} {
		got, dir := complete(t, tt.c, tt.args, tt.prefix)
		if !slices.Equal(got, tt.want) || dir != cobra.ShellCompDirectiveNoFileComp {
			t.Errorf("%s: %q (directive %d), want %q and no files", tt.name, got, dir, tt.want)
		}
	}
	// A lookup that fails offers nothing and says so, never file names.
	missing := "nope"
	if got, dir := complete(t, f.CompleteReleases(&missing), nil, ""); got != nil || dir&cobra.ShellCompDirectiveError == 0 {
		t.Errorf("releases of a missing app: %q, directive %d", got, dir)
	}
	f.Store = func() (*records.Store, error) { return nil, errors.New("no cluster") }
	if got, dir := complete(t, f.CompleteApps(), nil, ""); got != nil || dir&cobra.ShellCompDirectiveError == 0 {
		t.Errorf("apps without a cluster: %q, directive %d", got, dir)
	}
}

// -a/--app completes app names on every command that has it, through
// cobra's own __complete.
func TestRegisterAppCompletion(t *testing.T) {
	e := cmdutiltest.New(t, completionSeeds()...)
	root := &cobra.Command{Use: "slipway"}
	var app string
	child := &cobra.Command{Use: "env", Run: func(*cobra.Command, []string) {}}
	cmdutil.AddAppFlag(child, &app)
	root.AddCommand(child)
	cmdutil.RegisterAppCompletion(root, e.Factory)
	if err := e.Run(root, "__complete", "env", "-a", "my"); err != nil {
		t.Fatal(err)
	}
	if lines := cmdutiltest.Lines(e.Out); len(lines) != 2 || lines[0] != "myapp" || !strings.HasPrefix(lines[1], ":") {
		t.Errorf("completion of -a my: %q", lines)
	}
}
