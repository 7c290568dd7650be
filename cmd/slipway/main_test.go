package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
)

func runArgs(args ...string) (code int, out, errOut string) {
	var o, e bytes.Buffer
	code = run(args, &cmdutil.IOStreams{In: strings.NewReader(""), Out: &o, ErrOut: &e})
	return code, o.String(), e.String()
}

// A failed command is one ERROR line on standard error and exit code 1;
// cobra adds no usage or error of its own.
func TestRunError(t *testing.T) {
	for args, want := range map[string]string{
		"nope":             "ERROR: unknown command \"nope\" for \"slipway\"\n",
		"apps create":      "ERROR: accepts 1 arg(s), received 0\n",
		"dev up --nodes 0": "ERROR: --nodes 0: give a whole number of at least 1\n",
	} {
		code, out, errOut := runArgs(strings.Fields(args)...)
		if code != 1 || out != "" || errOut != want {
			t.Errorf("slipway %s: exit %d, out %q, err %q; want 1, nothing, %q", args, code, out, errOut, want)
		}
	}
}

func TestRunHelp(t *testing.T) {
	code, out, errOut := runArgs("--help")
	if code != 0 || !strings.Contains(out, "Usage:\n  slipway [command]") || errOut != "" {
		t.Errorf("slipway --help: exit %d, out %q, err %q", code, out, errOut)
	}
}
