package model

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reading the fields of convox.yml from its nodes: each value carries its
// path and line, so that an error can name both.

// val is a node of the manifest and where it is.
type val struct {
	n    *yaml.Node // aliases followed; nil when the field is absent
	path string     // for errors: "services.web.port"
	line int        // of the key (or the list item), in the interpolated text
	d    *decoder
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)

// childPath is the path of key under path, quoted when it is not a plain
// name ("services.\"web.app\"").
func childPath(path, key string) string {
	if !plainKey.MatchString(key) {
		key = strconv.Quote(key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func itemPath(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func (v val) kind() kind {
	if v.n == nil {
		return kNull
	}
	return nodeKind(v.n)
}

// items is the list's values; nil for an empty value.
func (v val) items(what string) ([]val, error) {
	switch v.kind() {
	case kNull:
		return nil, nil
	case kList:
	default:
		return nil, v.errorf("must be %s, not %s", what, v.kind())
	}
	out := make([]val, len(v.n.Content))
	for i, c := range v.n.Content {
		c = resolve(c)
		out[i] = val{n: c, path: itemPath(v.path, i), line: c.Line, d: v.d}
	}
	return out, nil
}

// errorf is an error about v. Text of the manifest goes in as q(...)
// arguments, which are left out when v holds an interpolated value.
func (v val) errorf(format string, args ...any) error {
	return v.d.t.errorf(v.path, v.d.t.keysAt(v.path), v.d.t.written(v.line), format, args...)
}

// literalErrorf is an error about v that quotes only text known to be as
// written: a map key whose path is in the file as written.
func (v val) literalErrorf(format string, args ...any) error {
	return v.d.t.errorf(v.path, nil, v.d.t.written(v.line), format, args...)
}

// fields describes the keys a map may have. Convox ignores keys it does
// not know, so slipway reads every other key as a warning, never an error.
type fields struct {
	known []string
	// ignored are fields Convox has that slipway accepts without effect,
	// so that a Convox user hears that rather than "unknown field".
	ignored []string
}

// object is a map of known fields.
type object struct {
	v val
	m map[string]val
}

// get is the field key; absent, it has the map's line and no node.
func (o object) get(key string) val {
	if c, ok := o.m[key]; ok {
		return c
	}
	return val{path: childPath(o.v.path, key), line: o.v.line, d: o.v.d}
}

func (o object) has(key string) bool {
	_, ok := o.m[key]
	return ok
}

// member is a key of a map and its value.
type member struct {
	key string
	val
}

// members reads v as a map, merge keys applied, sorted by key; an empty
// value has none. what says what v must be when it is not a map.
func (v val) members(what string) ([]member, error) {
	switch v.kind() {
	case kNull:
		return nil, nil
	case kMap:
	default:
		return nil, v.errorf("must be %s, not %s", what, v.kind())
	}
	es, err := v.d.entries(v.n)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	out := make([]member, len(es))
	for i, e := range es {
		out[i] = member{e.key, val{n: e.v, path: childPath(v.path, e.key), line: e.k.Line, d: v.d}}
	}
	return out, nil
}

// object reads v as a map of fields; a key f does not know is a warning.
// An empty value is an empty map.
func (v val) object(what string, f fields) (object, error) {
	o := object{v: v, m: map[string]val{}}
	ms, err := v.members(what)
	if err != nil {
		return o, err
	}
	for _, m := range ms {
		o.m[m.key] = m.val
		if slices.Contains(f.known, m.key) {
			continue
		}
		switch {
		case !v.d.t.literal(m.path):
			// The key itself came from the env: warn names its keys only.
			m.warn("unknown field, ignored")
		case slices.Contains(f.ignored, m.key):
			m.warn(unsupported)
		case suggest(m.key, f.known) != "":
			m.warn(fmt.Sprintf("unknown field, ignored: did you mean %q?", suggest(m.key, f.known)))
		default:
			m.warn("unknown field, ignored")
		}
	}
	return o, nil
}

const unsupported = "ignored: slipway does not support it yet"

// suggest returns the known name closest to k when it is close enough to
// be a typo.
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (v val) str(expected string) (string, error) {
	switch k := v.kind(); k {
	case kString:
		return v.n.Value, nil
	case kBool, kNumber:
		// YAML reads 5, 1.10, yes, no, on, off, y and n as numbers and
		// true/false unless quoted.
		return "", v.errorf("must be %s, not %s: put it in quotes", expected, k)
	default:
		return "", v.errorf("must be %s, not %s", expected, k)
	}
}

// integer reads a whole number in lo..hi ("5.0" is 5); msg is the whole
// message when it is not one.
func (v val) integer(lo, hi int, msg string) (int, error) {
	if v.kind() != kNumber {
		return 0, v.errorf("%s", msg)
	}
	f, ok := number(v.n)
	if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, v.errorf("%s", msg)
	}
	return int(f), nil
}

// optInt sets *dst to the field's number when it is there.
func (v val) optInt(dst *int, lo, hi int, msg string) (err error) {
	if v.kind() != kNull {
		*dst, err = v.integer(lo, hi, msg)
	}
	return err
}

// boolean sets *dst when the field is there: true/false, or yes/no and
// on/off as YAML 1.1 (and so Convox) reads them.
func (v val) boolean(dst *bool) error {
	switch v.kind() {
	case kNull:
		return nil
	case kBool:
		switch strings.ToLower(v.n.Value) {
		case "true", "y", "yes", "on":
			*dst = true
		default:
			*dst = false
		}
		return nil
	}
	return v.errorf("must be true or false, not %s", v.kind())
}

// seconds reads an optional number of seconds; def when absent.
func (v val) seconds(lo, hi, def int) (int, error) {
	err := v.optInt(&def, lo, hi, fmt.Sprintf("must be a number of seconds between %d and %d", lo, hi))
	return def, err
}
