// Package convoxcorpus loads testdata/convox: real convox.yml files from
// public repositories, each with an env that sets every variable it uses,
// so tests can parse, render and promote them as their owners would.
package convoxcorpus

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// File is one manifest of the corpus.
type File struct {
	Name string // the file's name, without .yml
	Data []byte
	// Env sets every ${VAR} of the file to a plausible value. Keys the
	// services require are the caller's to add (Required), since this
	// package parses nothing: the parser's own tests use it.
	Env map[string]string
}

var variable = regexp.MustCompile(`\$\{([^}]*?)\}`)

// Load reads every file of the corpus, in name order.
func Load(t testing.TB) []File {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "testdata", "convox")
	paths, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no convox.yml files in %s (%v)", dir, err)
	}
	slices.Sort(paths)
	files := make([]File, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f := File{Name: strings.TrimSuffix(filepath.Base(p), ".yml"), Data: data, Env: map[string]string{}}
		for _, m := range variable.FindAllSubmatch(data, -1) {
			f.Env[string(m[1])] = Plausible(string(m[1]))
		}
		files = append(files, f)
	}
	return files
}

// Plausible is a value a team would give key: a host for names of hosts,
// a number for sizes, false for switches, else a word.
func Plausible(key string) string {
	k := strings.ToUpper(key)
	switch {
	case strings.Contains(k, "HOST") || strings.Contains(k, "DOMAIN"):
		return "example.org"
	case strings.HasSuffix(k, "PORT"):
		return "3000"
	case strings.Contains(k, "VERSION"):
		return "13"
	case strings.Contains(k, "STORAGE") || strings.Contains(k, "SIZE") || strings.Contains(k, "DAYS"):
		return "20"
	case strings.Contains(k, "MULTI_AZ") || strings.Contains(k, "ENCRYPTED"):
		return "false"
	case strings.HasSuffix(k, "_URL"):
		return "https://example.org/x"
	}
	return "x"
}

// repoRoot is the folder of slipway's go.mod, found from the test's working
// directory (its package folder): source paths are not at hand in a
// -trimpath build.
func repoRoot(t testing.TB) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder: run the test inside slipway's checkout")
		}
		dir = parent
	}
}
