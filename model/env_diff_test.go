package model

import (
	"reflect"
	"testing"
)

func TestDiff(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new Env
		want     EnvDiff
		desc     string
	}{
		{"both empty", nil, Env{}, EnvDiff{}, ""},
		{"same", Env{"A": "1"}, Env{"A": "1"}, EnvDiff{}, ""},
		{"add one", nil, Env{"FOO": "bar"}, EnvDiff{Added: []string{"FOO"}}, "env add:FOO"},
		{"change to empty value counts", Env{"A": "1"}, Env{"A": ""}, EnvDiff{Changed: []string{"A"}}, "env change:A"},
		{"remove", Env{"A": "1", "B": "2"}, Env{"A": "1"}, EnvDiff{Removed: []string{"B"}}, "env remove:B"},
		{
			"all groups in order, keys sorted",
			Env{"KEEP": "k", "C2": "x", "C1": "x", "R2": "x", "R1": "x"},
			Env{"KEEP": "k", "C2": "y", "C1": "y", "A2": "x", "A1": "x"},
			EnvDiff{Added: []string{"A1", "A2"}, Changed: []string{"C1", "C2"}, Removed: []string{"R1", "R2"}},
			"env add:A1 add:A2 change:C1 change:C2 remove:R1 remove:R2",
		},
		{"change and remove only", Env{"B": "1", "A": "1"}, Env{"B": "2"}, EnvDiff{Changed: []string{"B"}, Removed: []string{"A"}}, "env change:B remove:A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(tc.old, tc.new)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Diff = %+v, want %+v", got, tc.want)
			}
			if got.Empty() != (tc.desc == "") {
				t.Fatalf("Empty() = %v for %+v", got.Empty(), got)
			}
			if d := got.Description(); d != tc.desc {
				t.Fatalf("Description() = %q, want %q", d, tc.desc)
			}
		})
	}
}
