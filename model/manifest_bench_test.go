package model

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParseManifest keeps an eye on the cost of a parse: every build
// and promotion parses the manifest.
func BenchmarkParseManifest(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("testdata", "full.yml"))
	if err != nil {
		b.Fatal(err)
	}
	env := Env{"TAG": "1.27", "WORKERS": "3"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseManifest(data, env); err != nil {
			b.Fatal(err)
		}
	}
}
