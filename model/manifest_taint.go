package model

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Env values are often secrets, and a manifest error travels far: to the
// CLI, the promotion's record, Temporal's history, the worker's log. So an
// error about a field that holds an interpolated value names the field and
// the ${KEY}s that went into it, never the text. A taint says which fields
// those are, by reading the file as written (before interpolation) next to
// the interpolated one.
type taint struct {
	// all is every key interpolated anywhere, sorted: the answer when a
	// field cannot be traced back to the file as written.
	all []string
	// known holds every path of the file as written; nil when that file is
	// not YAML by itself (then every field counts as tainted).
	known map[string]bool
	// refs maps a path of the file as written to the keys referenced in
	// its text or in its map key.
	refs map[string][]string
	// lines maps a line of the interpolated text to the keys whose values
	// landed on it, for the YAML parser's errors, which know only lines.
	lines map[int][]string
	// placeholders maps the words that stand for ${KEY} in the file as
	// written to their keys.
	placeholders map[string]string
	// values are where multi-line values landed, in file order, to map a
	// line of the interpolated text back to the file as written.
	values []span
}

// span is a value with newlines: it starts on line at of the
// interpolated text and adds extra lines.
type span struct{ at, extra int }

// interpolateTracked is Interpolate that also returns where the values
// went; the taint is nil when data references no key.
func interpolateTracked(data []byte, env Env) ([]byte, *taint) {
	matches := interpolation.FindAllSubmatchIndex(data, -1)
	if len(matches) == 0 {
		return data, nil
	}
	t := &taint{lines: map[int][]string{}}
	var out bytes.Buffer
	line, last := 1, 0
	for _, m := range matches {
		out.Write(data[last:m[0]])
		line += bytes.Count(data[last:m[0]], []byte("\n"))
		key := string(data[m[2]:m[3]])
		val := env[key]
		t.all = addKey(t.all, key)
		extra := strings.Count(val, "\n")
		for l := line; l <= line+extra; l++ {
			t.lines[l] = addKey(t.lines[l], key)
		}
		if extra > 0 {
			t.values = append(t.values, span{line, extra})
		}
		out.WriteString(val)
		line += extra
		last = m[1]
	}
	out.Write(data[last:])
	// The file as written, with each ${KEY} as a word that is plain YAML
	// anywhere (`{image: ${IMG}}` is not YAML as it stands).
	t.placeholders = map[string]string{}
	written := interpolation.ReplaceAllFunc(data, func(m []byte) []byte {
		ph := fmt.Sprintf("slipwayref%dx", len(t.placeholders))
		t.placeholders[ph] = string(m[2 : len(m)-1])
		return []byte(ph)
	})
	d := &decoder{budget: mergeBudget}
	if root, err := d.parseYAML(written); err == nil {
		t.known, t.refs = map[string]bool{}, map[string][]string{}
		if root == nil || !t.walk(d, root, "", 0) {
			// Aliases too many or too deep to follow: every field counts
			// as tainted.
			t.known = nil
		}
	}
	return out.Bytes(), t
}

// written is the line of the file as written that holds line of the
// interpolated text: a value with newlines moves the lines below it.
func (t *taint) written(line int) int {
	if t == nil {
		return line
	}
	shift := 0
	for _, v := range t.values {
		if line <= v.at {
			break
		}
		if line <= v.at+v.extra {
			return v.at - shift
		}
		shift += v.extra
	}
	return line - shift
}

func addKey(keys []string, key string) []string {
	if i, found := slices.BinarySearch(keys, key); !found {
		keys = slices.Insert(keys, i, key)
	}
	return keys
}

var placeholder = regexp.MustCompile(`slipwayref\d+x`)

// referenced returns the keys whose placeholders are in s.
func (t *taint) referenced(s string) []string {
	var keys []string
	for _, ph := range placeholder.FindAllString(s, -1) {
		if k, ok := t.placeholders[ph]; ok {
			keys = addKey(keys, k)
		}
	}
	return keys
}

// walk records the paths and references of the file as written, with
// merge keys applied as the decoder applies them. It reports false when
// aliases would have it visit more nodes than the decoder's budget, or go
// deeper than any manifest does (an alias inside its own anchor).
func (t *taint) walk(d *decoder, n *yaml.Node, path string, depth int) bool {
	if d.budget--; d.budget < 0 || depth > maxDepth {
		return false
	}
	t.known[path] = true
	switch n.Kind {
	case yaml.ScalarNode:
		if keys := t.referenced(n.Value); len(keys) > 0 {
			t.refs[path] = keys
		}
	case yaml.MappingNode:
		es, err := d.entries(n)
		if err != nil {
			return false
		}
		for _, e := range es {
			c := childPath(path, e.key)
			if keys := t.referenced(e.key); len(keys) > 0 {
				t.refs[c] = keys
			}
			if !t.walk(d, e.v, c, depth+1) {
				return false
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if !t.walk(d, resolve(item), itemPath(path, i), depth+1) {
				return false
			}
		}
	}
	return true
}

// maxDepth is deeper than any field of a manifest
// (services.web.build.args[0] is 5).
const maxDepth = 32

// keysAt returns the keys whose values may be in the field at path or
// under it; nil when none, or when t is nil.
func (t *taint) keysAt(path string) []string {
	if t == nil {
		return nil
	}
	if !t.literal(path) {
		return t.all
	}
	var keys []string
	for p, refs := range t.refs {
		if path == "" || p == path || strings.HasPrefix(p, path+".") || strings.HasPrefix(p, path+"[") {
			for _, k := range refs {
				keys = addKey(keys, k)
			}
		}
	}
	return keys
}

// literal reports whether path is in the file as written: a map key that
// came from a value gives a path that is not.
func (t *taint) literal(path string) bool {
	return t == nil || t.known[path]
}

// safePath is path, or its nearest ancestor that is in the file as
// written, so that a key which came from a value is not shown in the path.
func (t *taint) safePath(path string) string {
	for !t.literal(path) {
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return ""
		}
		path = path[:i]
	}
	return path
}

// keysOnLine returns the keys interpolated on the line or the one before
// it (the YAML parser may report the line after the trouble), else all.
func (t *taint) keysOnLine(line int) []string {
	var keys []string
	for _, k := range append(slices.Clone(t.lines[line-1]), t.lines[line]...) {
		keys = addKey(keys, k)
	}
	if len(keys) == 0 {
		return t.all
	}
	return keys
}

// shown is text from the manifest that an error quotes between prefix and
// suffix: it prints as prefix + "text" + suffix, or as nothing when the
// text may hold an env value. Format it with %s.
type shown struct{ prefix, text, suffix string }

func (s shown) String() string { return s.prefix + strconv.Quote(s.text) + s.suffix }

func q(prefix, text string) shown { return shown{prefix: prefix, text: text} }

// errorf is the error for the field at path, written on line. With
// keys, the field holds interpolated values: every shown argument is left
// out and the error names the keys instead.
func (t *taint) errorf(path string, keys []string, line int, format string, args ...any) error {
	e := &ManifestError{Path: path, Message: fmt.Sprintf(format, args...), Line: line}
	if len(keys) > 0 {
		args = slices.Clone(args)
		for i, a := range args {
			if _, ok := a.(shown); ok {
				args[i] = ""
			}
		}
		e.Path, e.Message, e.Keys = t.safePath(path), fmt.Sprintf(format, args...), keys
	}
	if e.Path == "" {
		e.Message = "convox.yml: " + e.Message
	}
	return e
}

// interpolatedHint is what an error about an interpolated field adds:
// the keys, and what to fix.
func interpolatedHint(path string, keys []string) string {
	refs := make([]string, len(keys))
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = showKey(k)
		refs[i] = "${" + k + "}"
		if !ValidEnvName(k) {
			refs[i] = strconv.Quote(truncate(refs[i], 40))
		}
	}
	what := "the value of " + names[0]
	if len(keys) > 1 {
		what = "the values of " + strings.Join(names, ", ")
	}
	return fmt.Sprintf(" (after interpolating %s): fix %s or %s", strings.Join(refs, ", "), fieldName(path), what)
}

// fieldName names the field at path for a person: "the command" for
// services.web.command, "the service" for services.web.
func fieldName(path string) string {
	if path == "" {
		return "convox.yml"
	}
	segs := strings.Split(path, ".")
	last := segs[len(segs)-1]
	if i := strings.IndexByte(last, '['); i >= 0 {
		last = last[:i]
	}
	switch {
	case len(segs) == 2 && segs[0] == "services":
		return "the service"
	case plainKey.MatchString(last):
		return "the " + last
	}
	return path
}
