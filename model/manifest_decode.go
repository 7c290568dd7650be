package model

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// convox.yml is read as yaml.v3 nodes rather than decoded into structs:
// a node knows its line, so every error can say where it is as well as
// which field (services.web.port) and what is expected; a mapping keeps
// every key as written, so a duplicate is found exactly; and nothing in
// the file is ever dropped or quoted without the taint's consent, which a
// library's type errors would do.

// decoder holds what every node of one manifest shares.
type decoder struct {
	t *taint
	// budget is how many more entries merge keys (<<) may bring in, so
	// that maps merging each other many times over cannot take for ever.
	budget int
	// merging are the maps whose merge keys are being followed, to refuse
	// a map that merges itself.
	merging map[*yaml.Node]bool
}

const mergeBudget = 100000

// val is a node of the manifest and where it is.
type val struct {
	n    *yaml.Node // aliases followed; nil when the field is absent
	path string     // for errors: "services.web.port"
	line int        // of the key (or the list item), in the interpolated text
	d    *decoder
}

// kind is the YAML type of a value, for "not a ..." messages.
type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kList
	kMap
)

func (k kind) String() string {
	return [...]string{"empty", "true/false", "a number", "a string", "a list", "a map"}[k]
}

// parseYAML reads the interpolated text into its root node, nil for an
// empty document, and checks what holds for every node whether slipway
// reads it or not: map keys are plain and unique, numbers are finite.
func (d *decoder) parseYAML(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, d.syntaxError(err, data)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	return root, d.check(root)
}

var yamlLine = regexp.MustCompile(`^line (\d+): `)

// syntaxError is the YAML library's error as one line, with its line.
func (d *decoder) syntaxError(err error, data []byte) error {
	msg := strings.TrimPrefix(oneLine(err.Error()), "yaml: ")
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
		line = problemLine(data, line, msg)
	} else if m := unknownAnchor.FindStringSubmatch(msg); m != nil {
		// The library does not say where: the first *name is.
		if i := bytes.Index(data, []byte("*"+m[1])); i >= 0 {
			line = 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	return d.fileError(line, "invalid YAML: %s", msg)
}

var unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// problemLine is the line where the parser met the problem. yaml.v3 names
// the line where the map or list around it starts ("did not find expected
// key" on line 1 for a bad indent on line 4), so it looks for the fewest
// lines from there on that fail the same way.
func problemLine(data []byte, line int, msg string) int {
	ends := []int{0} // ends[k] is where line k ends
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	ends = append(ends, len(data))
	fails := func(k int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(data[:ends[k]], &n)
		return err != nil && strings.HasSuffix(oneLine(err.Error()), ": "+msg)
	}
	lo, hi := line-1, len(ends)-1 // the whole text fails
	for lo+1 < hi {
		if mid := (lo + hi) / 2; fails(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return max(hi, line)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// fileError is an error about the text at line, which no path names. The
// YAML library quotes keys and values in its errors: with interpolated
// keys around, the quote is cut and the keys are named instead.
func (d *decoder) fileError(line int, format string, args ...any) error {
	e := &ManifestError{Message: "convox.yml: " + fmt.Sprintf(format, args...), Line: d.t.written(line)}
	if d.t != nil {
		e.Keys = d.t.keysOnLine(line)
		if i := strings.IndexAny(e.Message, "\"'`"); i >= 0 {
			e.Message = strings.TrimRight(e.Message[:i], ": ")
		}
	}
	return e
}

// check walks every node once (aliases are checked where their anchor
// is).
func (d *decoder) check(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return d.fileError(k.Line, "invalid YAML: a map key must be a plain value, not %s", nodeKind(k))
			}
			if first, ok := seen[k.Value]; ok {
				return d.duplicate(first, k)
			}
			seen[k.Value] = k
		}
	case yaml.ScalarNode:
		if f, ok := number(n); ok && scalarKind(n) == kNumber && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return d.fileError(n.Line, "invalid YAML: .nan and .inf are not numbers slipway accepts: write a whole number")
		}
	}
	for _, c := range n.Content {
		if err := d.check(c); err != nil {
			return err
		}
	}
	return nil
}

// duplicate is the error for a key written twice in one map, with both
// lines; the key is named only when no env value is on either line.
func (d *decoder) duplicate(first, again *yaml.Node) error {
	e := &ManifestError{
		Message: fmt.Sprintf("convox.yml: key %q appears twice in the same map (first at line %d): keep one", again.Value, d.t.written(first.Line)),
		Line:    d.t.written(again.Line),
	}
	if d.t != nil && (len(d.t.lines[first.Line]) > 0 || len(d.t.lines[again.Line]) > 0) {
		e.Message = fmt.Sprintf("convox.yml: a key appears twice in the same map (first at line %d): keep one", d.t.written(first.Line))
		e.Keys = d.t.keysOnLine(again.Line)
		for _, k := range d.t.lines[first.Line] {
			e.Keys = addKey(e.Keys, k)
		}
	}
	return e
}

func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func nodeKind(n *yaml.Node) kind {
	switch n.Kind {
	case yaml.MappingNode:
		return kMap
	case yaml.SequenceNode:
		return kList
	}
	return scalarKind(n)
}

// scalarKind reads a scalar as yaml.v3 does, except that y, yes, on, n,
// no and off unquoted are true/false, as in YAML 1.1, which yaml.v2 and so
// Convox read: "image: y" is then an error rather than an image named y.
func scalarKind(n *yaml.Node) kind {
	switch n.ShortTag() {
	case "!!null":
		return kNull
	case "!!bool":
		return kBool
	case "!!int", "!!float":
		return kNumber
	case "!!str":
		if n.Style == 0 && yaml11Bools[n.Value] {
			return kBool
		}
	}
	return kString
}

var yaml11Bools = map[string]bool{
	"y": true, "Y": true, "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true,
	"n": true, "N": true, "no": true, "No": true, "NO": true, "off": true, "Off": true, "OFF": true,
}

// number is a scalar of kind kNumber as a float64 (0x, 0o, 0b, "_", 1e3);
// false when its explicit tag lies (!!int abc).
func number(n *yaml.Node) (float64, bool) {
	var f float64
	return f, n.Decode(&f) == nil
}

// entry is a key of a mapping and its value.
type entry struct {
	key  string
	k, v *yaml.Node
}

// entries lists a mapping's keys with merge keys (<<: *base) applied, as
// YAML defines them: a key written in the map wins over a merged one, and
// an earlier merged map over a later one.
func (d *decoder) entries(n *yaml.Node) ([]entry, error) {
	if d.merging[n] {
		return nil, d.fileError(n.Line, "invalid YAML: a map merges itself (<<): merge another map")
	}
	if d.merging == nil {
		d.merging = map[*yaml.Node]bool{}
	}
	d.merging[n] = true
	defer delete(d.merging, n)
	var own, merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if k.Tag != "!!merge" {
			own = append(own, entry{k.Value, k, v})
			continue
		}
		from := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			from = v.Content
		}
		for _, m := range from {
			m = resolve(m)
			if m.Kind != yaml.MappingNode {
				return nil, d.fileError(m.Line, "invalid YAML: map merge requires map or sequence of maps as the value")
			}
			if d.budget -= len(m.Content); d.budget < 0 {
				return nil, d.fileError(k.Line, "invalid YAML: merge keys refer to each other too many times: merge each map once")
			}
			es, err := d.entries(m)
			if err != nil {
				return nil, err
			}
			merged = append(merged, es...)
		}
	}
	seen := map[string]bool{}
	for _, e := range own {
		seen[e.key] = true
	}
	for _, e := range merged {
		if !seen[e.key] {
			seen[e.key] = true
			own = append(own, e)
		}
	}
	return own, nil
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

func (v val) child(e entry) val {
	return val{n: e.v, path: childPath(v.path, e.key), line: e.k.Line, d: v.d}
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

// at is v with the line of another node, for errors about one of its
// keys.
func (v val) at(n *yaml.Node) val {
	v.line = n.Line
	return v
}

// fields describes the keys a map may have.
type fields struct {
	known []string
	// convox are fields Convox has and slipway does not support, so that
	// a Convox user hears why rather than "unknown field".
	convox []string
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

// object checks that v is a map with only known keys. An empty value is an
// empty map.
func (v val) object(what string, f fields) (object, error) {
	o := object{v: v, m: map[string]val{}}
	switch v.kind() {
	case kNull:
		return o, nil
	case kMap:
	default:
		return o, v.errorf("must be %s, not %s", what, v.kind())
	}
	es, err := v.d.entries(v.n)
	if err != nil {
		return o, err
	}
	slices.SortFunc(es, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	for _, e := range es {
		o.m[e.key] = v.child(e)
		if slices.Contains(f.known, e.key) {
			continue
		}
		at := v.at(e.k)
		switch {
		case !v.d.t.literal(childPath(v.path, e.key)):
			// The key itself came from the env.
			return o, at.errorf("unknown field: use one of %s", strings.Join(f.known, ", "))
		case slices.Contains(f.convox, e.key):
			return o, at.literalErrorf("field %q is a Convox feature that slipway does not support: remove it", e.key)
		case suggest(e.key, f.known) != "":
			return o, at.literalErrorf("unknown field %q: did you mean %q?", e.key, suggest(e.key, f.known))
		}
		return o, at.literalErrorf("unknown field %q: use one of %s", e.key, strings.Join(f.known, ", "))
	}
	return o, nil
}

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

// seconds reads an optional number of seconds; def when absent.
func (v val) seconds(lo, hi, def int) (int, error) {
	err := v.optInt(&def, lo, hi, fmt.Sprintf("must be a number of seconds between %d and %d", lo, hi))
	return def, err
}
