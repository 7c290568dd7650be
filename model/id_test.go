package model

import (
	"math"
	"testing"
)

func TestNewIDs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		new   func() string
		valid func(string) bool
		other func(string) bool
	}{
		{"build", NewBuildID, ValidBuildID, ValidReleaseID},
		{"release", NewReleaseID, ValidReleaseID, ValidBuildID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]bool{}
			for range 1000 {
				id := tc.new()
				if len(id) != 11 {
					t.Fatalf("%q has length %d, want 11", id, len(id))
				}
				if !tc.valid(id) {
					t.Fatalf("%q is not valid", id)
				}
				if tc.other(id) {
					t.Fatalf("%q is valid for the other kind too", id)
				}
				if seen[id] {
					t.Fatalf("duplicate id %q", id)
				}
				seen[id] = true
			}
		})
	}
}

// TestNewIDUniform checks that every letter shows up about equally often: a
// modulo bias (taking b%26 of every byte) would make A..V about 1.2x more
// likely than W..Z, far outside the tolerance used here.
func TestNewIDUniform(t *testing.T) {
	counts := map[byte]int{}
	const ids = 20000
	for range ids {
		id := NewReleaseID()
		for i := 1; i < len(id); i++ {
			counts[id[i]]++
		}
	}
	if len(counts) != 26 {
		t.Fatalf("saw %d distinct letters, want 26", len(counts))
	}
	want := float64(ids*IDLetters) / 26
	for c, n := range counts {
		// 6 standard deviations of a binomial count: a false alarm is
		// practically impossible.
		sd := math.Sqrt(want * (1 - 1.0/26))
		if math.Abs(float64(n)-want) > 6*sd {
			t.Errorf("letter %c seen %d times, want about %.0f", c, n, want)
		}
	}
}

func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id             string
		build, release bool
	}{
		{"BABCDEFGHIJ", true, false},
		{"RABCDEFGHIJ", false, true},
		{"RZZZZZZZZZZ", false, true},
		{"", false, false},
		{"R", false, false},
		{"RABCDEFGHI", false, false},   // too short (Convox's own length)
		{"RABCDEFGHIJK", false, false}, // too long
		{"Rabcdefghij", false, false},  // lower case
		{"rABCDEFGHIJ", false, false},
		{"RABCDEFGH1J", false, false},
		{"XABCDEFGHIJ", false, false},
		{"RABCDEFGHI\u00c9", false, false},
	} {
		if got := ValidBuildID(tc.id); got != tc.build {
			t.Errorf("ValidBuildID(%q) = %v, want %v", tc.id, got, tc.build)
		}
		if got := ValidReleaseID(tc.id); got != tc.release {
			t.Errorf("ValidReleaseID(%q) = %v, want %v", tc.id, got, tc.release)
		}
	}
}
