package model

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Convox ignores what it does not know, so a manifest written for it may
// hold keys slipway has no use for. Those are not errors: they are
// warnings, one line each, which like errors never show an env value.

// warning is one line of Manifest.Warnings and the line it is about.
type warning struct {
	line int
	text string
}

// warn records msg about the field v. msg never quotes the field's text:
// only names slipway knows. When the field's own key came from the env,
// the warning names its parent and the ${KEY}s instead.
func (v val) warn(msg string) {
	t := v.d.t
	path := t.safePath(v.path)
	var keys []string
	if path != v.path {
		keys = t.keysAt(v.path)
	}
	line := t.written(v.line)
	var b strings.Builder
	b.WriteString("convox.yml:" + strconv.Itoa(line) + ": ")
	if path != "" {
		b.WriteString(path + ": ")
	}
	b.WriteString(msg)
	if len(keys) > 0 {
		refs := make([]string, len(keys))
		for i, k := range keys {
			refs[i] = "${" + k + "}"
			if !ValidEnvName(k) {
				refs[i] = strconv.Quote(truncate(refs[i], 40))
			}
		}
		fmt.Fprintf(&b, " (after interpolating %s)", strings.Join(refs, ", "))
	}
	v.d.warnings = append(v.d.warnings, warning{line, b.String()})
}

// sortedWarnings are the warnings in file order, each once (a field
// merged into several services warns once per service, with its path).
func (d *decoder) sortedWarnings() []string {
	if len(d.warnings) == 0 {
		return nil
	}
	ws := slices.Clone(d.warnings)
	slices.SortStableFunc(ws, func(a, b warning) int { return cmp.Compare(a.line, b.line) })
	out := make([]string, 0, len(ws))
	seen := map[string]bool{}
	for _, w := range ws {
		if !seen[w.text] {
			seen[w.text] = true
			out = append(out, w.text)
		}
	}
	return out
}
