package root

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"gocloud.dev/blob"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records"
)

// offline is a test Factory whose every client fails the test when asked
// for: building the tree and printing help must reach nothing.
func offline(t *testing.T) *cmdutiltest.Env {
	e := cmdutiltest.New(t)
	f := e.Factory
	no := errors.New("no clients in this test")
	f.Settings = func() (*config.Settings, error) { t.Error("settings were resolved"); return nil, no }
	f.Temporal = func() (client.Client, error) { t.Error("Temporal was dialed"); return nil, no }
	f.Store = func() (*records.Store, error) { t.Error("Kubernetes was reached"); return nil, no }
	f.Blobs = func(context.Context) (*blob.Bucket, error) { t.Error("the blob store was opened"); return nil, no }
	f.Actor = func(context.Context) string { t.Error("the actor was looked up"); return "" }
	return e
}

// walk calls fn on cmd and every command under it.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		walk(c, fn)
	}
}

// Every command says what it is for, every command that runs shows how,
// and no two commands under one parent answer to the same name.
func TestTree(t *testing.T) {
	root := NewCmdRoot(offline(t).Factory)
	n := 0
	walk(root, func(c *cobra.Command) {
		n++
		if c.Short == "" {
			t.Errorf("%q has no Short help", c.CommandPath())
		}
		if c.Runnable() && c.Example == "" {
			t.Errorf("%q has no Example", c.CommandPath())
		}
		names := map[string]string{}
		for _, sub := range c.Commands() {
			for _, name := range append([]string{sub.Name()}, sub.Aliases...) {
				if other, ok := names[name]; ok {
					t.Errorf("%q and %q both answer to %q", other, sub.CommandPath(), name)
				}
				names[name] = sub.CommandPath()
			}
		}
	})
	if n < 20 {
		t.Errorf("only %d commands in the tree", n)
	}
}

// --help of slipway and of every command prints its usage and dials
// nothing.
func TestHelpDialsNothing(t *testing.T) {
	var paths [][]string
	walk(NewCmdRoot(offline(t).Factory), func(c *cobra.Command) {
		paths = append(paths, strings.Fields(c.CommandPath())[1:])
	})
	for _, path := range paths {
		e := offline(t)
		root := NewCmdRoot(e.Factory)
		root.SetArgs(append(path, "--help"))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Errorf("slipway %s --help: %v", strings.Join(path, " "), err)
			continue
		}
		if out := e.Out.String(); !strings.Contains(out, "Usage:") {
			t.Errorf("slipway %s --help printed %q", strings.Join(path, " "), out)
		}
	}
}

// The global flags land in the Factory's overrides, read when a client is
// built.
func TestGlobalFlags(t *testing.T) {
	e := offline(t)
	root := NewCmdRoot(e.Factory)
	root.SetArgs([]string{"--kubeconfig", "/k", "--temporal-address", "t:7233", "--namespace", "ns", "dev", "--help"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := e.Factory.Overrides; o != (config.Overrides{Kubeconfig: "/k", TemporalAddress: "t:7233", Namespace: "ns"}) {
		t.Errorf("overrides %+v", o)
	}
}
