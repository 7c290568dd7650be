// Package golden compares test output with files under testdata/, as helm
// does: `go test ./... -update` rewrites them when a change is intended.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// NoTrailingSpace fails if a line of got ends in a space: slipway's tables
// and info blocks never print one.
func NoTrailingSpace(t testing.TB, got []byte) {
	t.Helper()
	for i, l := range strings.Split(string(got), "\n") {
		if strings.TrimRight(l, " ") != l {
			t.Errorf("line %d has trailing space: %q", i+1, l)
		}
	}
}

// Assert fails unless got equals testdata/<file>, byte for byte.
func Assert(t testing.TB, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
