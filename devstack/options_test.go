package devstack

import (
	"context"
	"slices"
	"testing"
)

// A stack on an external Temporal runs neither the dev server nor the
// codec server its UI calls, and points clients at that Temporal; with
// NoWorker it runs no worker either.
func TestExternalTemporalAndNoWorker(t *testing.T) {
	names := func(s *Stack) []string {
		var out []string
		for _, st := range s.Status(context.Background()) {
			out = append(out, st.Name)
		}
		return out
	}
	local := New(Options{Home: t.TempDir()})
	if got, want := names(local), []string{"temporal", "kubernetes", "registry", "codec", "worker"}; !slices.Equal(got, want) {
		t.Fatalf("the local stack's components: %v, want %v", got, want)
	}
	if got := local.Settings().TemporalAddress; got != "127.0.0.1:7233" {
		t.Fatalf("the local stack's Temporal: %s, want its dev server's", got)
	}

	prod := New(Options{Home: t.TempDir(), TemporalAddress: "10.0.0.7:7233", NoWorker: true})
	if got, want := names(prod), []string{"kubernetes", "registry"}; !slices.Equal(got, want) {
		t.Fatalf("components with an external Temporal and no worker: %v, want %v", got, want)
	}
	if st := prod.Settings(); st.TemporalAddress != "10.0.0.7:7233" || st.CodecEndpoint != "" || st.TemporalUI != "" {
		t.Fatalf("settings with an external Temporal: %+v, want its address and no codec server or UI", st)
	}
}
