package main

import (
	"slices"
	"testing"
)

// Each graph is raised to the highest version any other builds, except
// for what it holds, which neither lags nor raises the others.
func TestLagging(t *testing.T) {
	built := []map[string]string{
		{"google.golang.org/grpc": "v1.84.0", "go.temporal.io/api": "v1.64.3"},
		{"google.golang.org/grpc": "v1.79.3", "golang.org/x/sys": "v0.48.0"},
		{"google.golang.org/grpc": "v1.84.0", "go.temporal.io/api": "v1.53.0", "golang.org/x/sys": "v0.33.0"},
		{"golang.org/x/sys": "v0.48.0"},
	}
	got := lagging(built)
	want := [][]string{
		nil,
		{"google.golang.org/grpc@v1.84.0"},
		{"golang.org/x/sys@v0.48.0"}, // go.temporal.io/api is held
		nil,
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("lagging = %q, want %q", got, want)
	}
}
