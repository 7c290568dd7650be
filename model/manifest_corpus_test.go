package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusTarget is the share of real convox.yml files (../testdata/convox)
// that must parse: the rest are refused for a reason the test prints.
const corpusTarget = 0.90

// corpusEnv sets every ${VAR} data uses to a plausible value: a host name
// for names about hosts and domains, a port for ports, else "x".
func corpusEnv(data []byte) Env {
	env := Env{}
	for _, m := range interpolation.FindAllSubmatch(data, -1) {
		k := string(m[1])
		switch u := strings.ToUpper(k); {
		case strings.Contains(u, "HOST"), strings.Contains(u, "DOMAIN"):
			env[k] = "example.org"
		case strings.Contains(u, "PORT"):
			env[k] = "3000"
		default:
			env[k] = "x"
		}
	}
	return env
}

func TestManifestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "convox", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no convox.yml files in ../testdata/convox: the corpus is missing")
	}
	var refused []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseManifest(data, corpusEnv(data))
		if err != nil {
			refused = append(refused, filepath.Base(f)+": "+err.Error())
			continue
		}
		checkInvariants(t, m)
	}
	parsed := len(files) - len(refused)
	t.Logf("%d of %d files parse (%.0f%%)", parsed, len(files), 100*float64(parsed)/float64(len(files)))
	for _, r := range refused {
		t.Logf("refused: %s", r)
	}
	if float64(parsed) < corpusTarget*float64(len(files)) {
		t.Fatalf("only %d of %d real convox.yml files parse, fewer than %.0f%%", parsed, len(files), 100*corpusTarget)
	}
}
