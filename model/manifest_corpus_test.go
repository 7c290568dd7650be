package model

import (
	"testing"

	"github.com/slipway-dev/slipway/internal/convoxcorpus"
)

// corpusTarget is the share of real convox.yml files (../testdata/convox)
// that must parse: the rest are refused for a reason the test prints.
const corpusTarget = 0.90

func TestManifestCorpus(t *testing.T) {
	files := convoxcorpus.Load(t)
	var refused []string
	for _, f := range files {
		m, err := ParseManifest(f.Data, f.Env)
		if err != nil {
			refused = append(refused, f.Name+": "+err.Error())
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
