package model

import "testing"

// The keys are on objects in running clusters and in Deployment selectors,
// which cannot change: a new spelling would orphan every existing pod.
func TestLabelKeysAreStable(t *testing.T) {
	for got, want := range map[string]string{
		LabelRack:      "slipway.dev/rack",
		LabelApp:       "slipway.dev/app",
		LabelService:   "slipway.dev/service",
		LabelRelease:   "slipway.dev/release",
		LabelBuild:     "slipway.dev/build",
		LabelManagedBy: "app.kubernetes.io/managed-by",
	} {
		if got != want {
			t.Errorf("label key %q, want %q", got, want)
		}
		if !ReservedLabel(got) {
			t.Errorf("a service may set %q, which slipway sets itself", got)
		}
	}
}
