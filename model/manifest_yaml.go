package model

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
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
	// warnings are what the parser ignored, for Manifest.Warnings.
	warnings []warning
}

const mergeBudget = 100000

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
		if f, _ := number(n); scalarKind(n) == kNumber && (math.IsNaN(f) || math.IsInf(f, 0)) {
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
	return f, scalarKind(n) == kNumber && n.Decode(&f) == nil
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
