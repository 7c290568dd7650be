package cmdutil

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/golden"
)

func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Assert(t, name+".golden", got)
}

// assertNoTrailingSpace checks the rule shared by tables and info blocks.
func assertNoTrailingSpace(t *testing.T, out string) {
	t.Helper()
	golden.NoTrailingSpace(t, []byte(out))
}

func TestTable(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		rows   [][]string
	}{
		{
			name:   "table",
			header: []string{"ID", "STATUS", "BUILD", "DESCRIPTION"},
			rows: [][]string{
				{"RCDEFGHIJKL", "", "BABCDEFGHIJ", "env add:FOO"},
				{"RBCDEFGHIJK", "active", "BABCDEFGHIJ", "build 0a1b2c3d4e my commit message"},
				{"RA", "x", "", ""},
			},
		},
		{
			name:   "table_header_only",
			header: []string{"APP", "STATUS", "RELEASE"},
		},
		{
			name:   "table_wide_header",
			header: []string{"A_VERY_WIDE_HEADER", "B"},
			rows:   [][]string{{"x", "y"}, {"", "z"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := NewTable(tt.header...)
			for _, r := range tt.rows {
				tb.Add(r...)
			}
			var buf bytes.Buffer
			if err := tb.Print(&buf); err != nil {
				t.Fatal(err)
			}
			assertNoTrailingSpace(t, buf.String())
			assertGolden(t, tt.name, buf.Bytes())
		})
	}
}

func TestInfo(t *testing.T) {
	i := NewInfo()
	i.Add("Id", "RCDEFGHIJKL")
	i.Add("Empty", "")
	i.Add("Description", "env add:FOO")
	i.Add("Env", "A=1\nBB=two words\nC=3\n")
	i.Add("Images", "web: registry/web:1\nworker: registry/worker:1")
	i.Add("Last", "end")
	var buf bytes.Buffer
	if err := i.Print(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	assertNoTrailingSpace(t, out)
	// Every value starts at the widest label ("Description") plus two.
	col := len("Description") + 2
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if len(l) > col && (l[col] == ' ' || l[col-1] != ' ' || l[col-2] != ' ') {
			t.Errorf("value not at column %d: %q", col, l)
		}
	}
	if strings.Contains(out, "Empty ") {
		t.Errorf("an empty value left trailing spaces: %q", out)
	}
	assertGolden(t, "info", buf.Bytes())
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	offsets := []time.Duration{
		0, 500 * time.Millisecond, time.Second, 30 * time.Second, time.Minute, 90 * time.Second,
		5 * time.Minute, 59 * time.Minute, time.Hour, 2 * time.Hour, 36 * time.Hour, 10 * 24 * time.Hour,
		-5 * time.Minute,
	}
	var buf bytes.Buffer
	for _, d := range offsets {
		fmt.Fprintf(&buf, "%s: %s\n", d, Ago(now.Add(-d), now))
	}
	fmt.Fprintf(&buf, "zero time: %q\n", Ago(time.Time{}, now))
	assertGolden(t, "ago", buf.Bytes())

	// The values Convox's releases table shows.
	for d, want := range map[time.Duration]string{
		0: "now", time.Minute: "1 minute ago", 5 * time.Minute: "5 minutes ago", 2 * time.Hour: "2 hours ago",
	} {
		if got := Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(-%s) = %q, want %q", d, got, want)
		}
	}
}

func TestElapsed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		start, end time.Time
		want       string
	}{
		{t0, t0.Add(70 * time.Second), "1m10s"},
		{t0, t0.Add(1400 * time.Millisecond), "1s"},
		{t0, t0.Add(1500 * time.Millisecond), "2s"},
		{t0, t0, "0s"},
		{time.Time{}, t0, ""},
		{t0, time.Time{}, ""},
	}
	for _, tt := range tests {
		if got := Elapsed(tt.start, tt.end); got != tt.want {
			t.Errorf("Elapsed(%s) = %q, want %q", tt.end.Sub(tt.start), got, tt.want)
		}
	}
}

func TestStep(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		result  string
		err     error
		wantErr error
	}{
		{name: "step_ok"},
		{name: "step_ok_id", result: "RDEFGHIJKLM"},
		{name: "step_error", result: "RIGNOREDXXX", err: boom, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			ran := false
			err := Step(&buf, "Rolling back to RBCDEFGHIJK", func() (string, error) {
				ran = true
				if !strings.HasSuffix(buf.String(), "... ") {
					t.Errorf("the message was not printed before the work: %q", buf.String())
				}
				return tt.result, tt.err
			})
			if !ran {
				t.Fatal("fn did not run")
			}
			if err != tt.wantErr {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			assertGolden(t, tt.name, buf.Bytes())
		})
	}
}
