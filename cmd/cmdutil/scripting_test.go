package cmdutil_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
)

func TestCheckOutput(t *testing.T) {
	for _, ok := range []string{"", "json"} {
		if err := cmdutil.CheckOutput(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	if err := cmdutil.CheckOutput("yaml"); err == nil || err.Error() != `--output "yaml": the only format is json (leave it out for a table)` {
		t.Errorf("yaml: %v", err)
	}
}

func TestJSON(t *testing.T) {
	var b bytes.Buffer
	v := struct {
		Name string `json:"name"`
		At   string `json:"at"`
	}{"a<b>", cmdutil.JSONTime(time.Date(2026, 1, 2, 3, 4, 5, 600, time.FixedZone("X", 3600)))}
	if err := cmdutil.JSON(&b, v); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"name\": \"a<b>\",\n  \"at\": \"2026-01-02T02:04:05Z\"\n}\n"; b.String() != want {
		t.Errorf("JSON %q, want %q", b.String(), want)
	}
	if cmdutil.JSONTime(time.Time{}) != "" {
		t.Error("a zero time is not empty")
	}
}

// With --id the progress goes to stderr and the ID alone to stdout;
// without it nothing moves.
func TestForID(t *testing.T) {
	e := cmdutiltest.New(t)
	if f := e.Factory.ForID(false); f != e.Factory {
		t.Error("ForID(false) changed the Factory")
	}
	f := e.Factory.ForID(true)
	f.IO.Out.Write([]byte("progress\n"))
	if err := e.Factory.PrintID("RABCDEFGHIJ"); err != nil {
		t.Fatal(err)
	}
	if e.Out.String() != "RABCDEFGHIJ\n" || e.ErrOut.String() != "progress\n" {
		t.Errorf("stdout %q, stderr %q", e.Out.String(), e.ErrOut.String())
	}
	cmd := &cobra.Command{Use: "x", Run: func(*cobra.Command, []string) {}}
	var id bool
	cmdutil.AddIDFlag(cmd, &id, "new release's")
	cmdutil.AddWaitFlag(cmd)
	if err := e.Run(cmd, "--id", "-w"); err != nil || !id {
		t.Errorf("--id -w: %v, id %v", err, id)
	}
}
