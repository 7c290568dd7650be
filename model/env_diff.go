package model

import "strings"

// EnvDiff lists the keys that differ between two envs, each list sorted.
type EnvDiff struct {
	Added   []string // in the new env only
	Changed []string // in both, with different values
	Removed []string // in the old env only
}

// Diff compares old and new by key and value.
func Diff(old, new Env) EnvDiff {
	var d EnvDiff
	for _, k := range new.Keys() {
		if ov, ok := old[k]; !ok {
			d.Added = append(d.Added, k)
		} else if ov != new[k] {
			d.Changed = append(d.Changed, k)
		}
	}
	for _, k := range old.Keys() {
		if _, ok := new[k]; !ok {
			d.Removed = append(d.Removed, k)
		}
	}
	return d
}

// Empty reports whether the two envs were equal.
func (d EnvDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Changed) == 0 && len(d.Removed) == 0
}

// Description is the description Convox gives a release made by an env
// change, "" when nothing changed (Convox then keeps the description the
// release inherited).
//
// Convox (pkg/common/env.go, EnvDiff) prefixes EVERY key with its group and
// separates them with spaces: "env add:A add:B change:C remove:D", not
// "env add:A,B ...". slipway follows Convox so that descriptions read the
// same in both tools: groups in the order add, change, remove, keys sorted
// within each group.
func (d EnvDiff) Description() string {
	if d.Empty() {
		return ""
	}
	parts := []string{"env"}
	for _, g := range []struct {
		verb string
		keys []string
	}{{"add", d.Added}, {"change", d.Changed}, {"remove", d.Removed}} {
		for _, k := range g.keys {
			parts = append(parts, g.verb+":"+k)
		}
	}
	return strings.Join(parts, " ")
}
