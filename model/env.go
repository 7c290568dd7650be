package model

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on a release's env. The env of a release lives in one Kubernetes
// Secret, whose data may not exceed 1 MiB; keeping the total below that (with
// room for the Secret's other fields) means writing the Secret never fails
// after the release has been accepted.
const (
	MaxEnvValueBytes = 128 << 10 // 128 KiB per value
	MaxEnvTotalBytes = 1 << 20   // 1 MiB for all of len(key)+len(value)+2
)

// Env is a set of environment variables: key to value. A nil Env is empty.
type Env map[string]string

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidEnvName reports whether key can be the name of an environment
// variable: a letter or underscore, then letters, digits and underscores.
func ValidEnvName(key string) bool { return envName.MatchString(key) }

// ParseEnv reads KEY=VALUE lines, as written by String or by a person (a
// .env file piped to `env set`). The line is split at its first "=", so a
// value may hold "=", spaces, quotes and any other text, kept as is. Blank
// lines and lines whose first non-blank character is "#" are skipped; an
// "export " in front of the key is dropped. Space around the key is trimmed;
// the value is never trimmed.
//
// Double quotes follow the dotenv convention so that a value can span lines
// (a PEM key, say): a value that starts with `"` and has no closing `"` on
// its line goes on over the next lines up to the line that ends with the
// closing `"`; a value that is one double-quoted string on its line is
// unquoted too. Inside the quotes `\n`, `\r`, `\"` and `\\` are escapes and
// any other backslash is kept. A value that merely contains quotes (`'x'`,
// `a "b" c`, `"a"b`) is literal.
//
// A later line for the same key wins. ParseEnv checks the shape of the text
// only; call Validate for names and sizes.
func ParseEnv(text string) (Env, error) {
	env := Env{}
	// Editors on Windows may start the file with a byte order mark.
	text = strings.TrimPrefix(text, "\ufeff")
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimSuffix(lines[i], "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d has no \"=\": use KEY=VALUE, and put a value that spans lines in double quotes", lineNo)
		}
		if rest, ok := strings.CutPrefix(strings.TrimLeft(key, " \t"), "export "); ok {
			key = rest
		}
		key = strings.TrimSpace(key)
		if key == "" {
			return nil, fmt.Errorf("line %d has no name before \"=\": use KEY=VALUE", lineNo)
		}
		if !strings.HasPrefix(value, `"`) {
			env[key] = value
			continue
		}
		if end := closingQuote(value, 1); end >= 0 {
			if strings.TrimRight(value[end+1:], " \t") == "" {
				env[key] = unescape(value[1:end])
			} else {
				env[key] = value // `"a"b`: not a quoted string, so literal
			}
			continue
		}
		// An opening quote without its closing quote: the value goes on
		// over the next lines.
		var b strings.Builder
		b.WriteString(value[1:])
		closed := false
		for i+1 < len(lines) {
			i++
			next := strings.TrimSuffix(lines[i], "\r")
			b.WriteByte('\n')
			end := closingQuote(next, 0)
			if end < 0 {
				b.WriteString(next)
				continue
			}
			if strings.TrimRight(next[end+1:], " \t") != "" {
				return nil, fmt.Errorf("line %d: %s: text after the closing quote of a multi-line value: end the line at the quote", i+1, showKey(key))
			}
			b.WriteString(next[:end])
			closed = true
			break
		}
		if !closed {
			return nil, fmt.Errorf("line %d: %s: the value opens a double quote that is never closed: add the closing \" or escape the quote as \\\"", lineNo, showKey(key))
		}
		env[key] = unescape(b.String())
	}
	return env, nil
}

// closingQuote returns the index in s of the first `"` at or after from
// that is not escaped by a backslash, or -1.
func closingQuote(s string, from int) int {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '"', '\\':
			b.WriteByte(s[i+1])
		default:
			// Not an escape: keep the backslash (Windows paths, regexps).
			b.WriteByte('\\')
			b.WriteByte(s[i+1])
		}
		i++
	}
	return b.String()
}

// ParsePairs reads the KEY=VALUE arguments of `env set`. Each must contain
// "="; the value is everything after the first "=" and is taken literally,
// since the shell has already dealt with quoting. A later pair for the same
// key wins.
func ParsePairs(args []string) (Env, error) {
	env := Env{}
	for i, arg := range args {
		key, value, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, fmt.Errorf("invalid env pair (argument %d): no \"=\" in it: use KEY=VALUE", i+1)
		}
		if key == "" {
			return nil, fmt.Errorf("invalid env pair (argument %d): no name before \"=\": use KEY=VALUE", i+1)
		}
		env[key] = value
	}
	return env, nil
}

// Validate checks every name and the sizes against the limits, so that the
// env can be stored and handed to a container. Keys are checked in sorted
// order, so the error is the same on every run.
func (e Env) Validate() error {
	total := 0
	for _, k := range e.Keys() {
		v := e[k]
		if k == "" {
			return errors.New("invalid env name \"\": a name cannot be empty")
		}
		if !ValidEnvName(k) {
			return fmt.Errorf("invalid env name %q: use letters, digits and underscores, not starting with a digit", truncate(k, 40))
		}
		if len(v) > MaxEnvValueBytes {
			return fmt.Errorf("env %s: value is %d bytes, more than the limit of %d (128 KiB): store large data elsewhere and pass a reference", k, len(v), MaxEnvValueBytes)
		}
		total += len(k) + len(v) + 2
	}
	if total > MaxEnvTotalBytes {
		return fmt.Errorf("env is %d bytes in all, more than the limit of %d (1 MiB): remove or shorten some values", total, MaxEnvTotalBytes)
	}
	return nil
}

// Keys returns the keys in sorted order.
func (e Env) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// String writes one KEY=VALUE line per key, sorted by key, each ending in a
// newline. A value that holds a line break or starts with `"` is written
// double-quoted with escapes, so that ParseEnv(e.String()) gives e back for
// every e that passes Validate.
func (e Env) String() string {
	var b strings.Builder
	for _, k := range e.Keys() {
		v := e[k]
		b.WriteString(k)
		b.WriteByte('=')
		if strings.ContainsAny(v, "\n\r") || strings.HasPrefix(v, `"`) {
			b.WriteString(quote(v))
		} else {
			b.WriteString(v)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Clone returns a copy that can be changed without changing e. It is never
// nil.
func (e Env) Clone() Env {
	c := make(Env, len(e))
	for k, v := range e {
		c[k] = v
	}
	return c
}

// Merge returns a new Env with the entries of e and other; where both have a
// key, other's value wins. Neither e nor other is changed.
func (e Env) Merge(other Env) Env {
	m := e.Clone()
	for k, v := range other {
		m[k] = v
	}
	return m
}

// showKey writes a key for an error message: as is when it is a valid
// name, else quoted and shortened so that the message stays one line.
func showKey(k string) string {
	if ValidEnvName(k) {
		return k
	}
	return strconv.Quote(truncate(k, 40))
}

// truncate shortens s to at most n runes for an error message, so that a
// long line (perhaps a secret) is not printed whole.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	return string(runes[:n]) + "..."
}
