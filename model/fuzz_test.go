package model

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// More seeds live in testdata/fuzz/<FuzzName>/.

func FuzzParseEnv(f *testing.F) {
	for _, s := range []string{
		"",
		"FOO=bar\nBAZ=qux\n",
		"# comment\n\nexport A=1\r\n",
		"KEY=\"-----BEGIN KEY-----\nMIIB\n-----END KEY-----\"\n",
		`A="x\n\"y\"\\z"`,
		`A="a"b`,
		"A=\"",
		"A=\"x\ny\" z",
		"FOO",
		"=x",
		"\ufeffA=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		env, err := ParseEnv(text)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "line ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error not one line starting with the line number: %q", msg)
			}
		} else if env.Validate() == nil {
			roundTrip(t, env)
		}
		// Any text is a value that String must be able to write back.
		if one := (Env{"VALUE": text}); one.Validate() == nil {
			roundTrip(t, one)
		}
	})
}

func roundTrip(t *testing.T, env Env) {
	t.Helper()
	back, err := ParseEnv(env.String())
	if err != nil {
		t.Fatalf("ParseEnv(String()) of %q: %v\n%q", env, err, env.String())
	}
	if len(env) == 0 && len(back) == 0 {
		return
	}
	if !reflect.DeepEqual(back, env) {
		t.Fatalf("round trip of %q gave %q (via %q)", env, back, env.String())
	}
}

// FuzzParsePairs takes the arguments joined by NUL, which no argument can
// contain.
func FuzzParsePairs(f *testing.F) {
	for _, s := range []string{"A=1\x00B=2", "FOO", "=x", `A="q"`, "A=1\x00A=2", "A=\nB=c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		args := strings.Split(joined, "\x00")
		env, err := ParsePairs(args)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "invalid env pair ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("bad error text: %q", msg)
			}
			return
		}
		for _, a := range args {
			k, _, _ := strings.Cut(a, "=")
			if _, ok := env[k]; !ok {
				t.Fatalf("key %q of %q missing from %q", k, a, env)
			}
		}
		last := args[len(args)-1]
		k, v, _ := strings.Cut(last, "=")
		if env[k] != v {
			t.Fatalf("last pair %q: got %q", last, env[k])
		}
		if env.Validate() == nil {
			roundTrip(t, env)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	full, err := os.ReadFile(filepath.Join("testdata", "full.yml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full, "TAG=1\nWORKERS=2\n")
	f.Add([]byte("services:\n  web:\n    build: .\n    port: ${PORT}\n"), "PORT=5000")
	f.Add([]byte("services:\n  web: &b\n    image: x\n  w2:\n    <<: *b\n    command: y\n"), "")
	f.Add([]byte("services:\n  web:\n    image: ${IMG}\n"), "IMG=a: b")
	f.Add([]byte("services: {web: {build: {path: a, manifest: ../D, args: [A, B=1]}, scale: {count: 2, cpu: 1, memory: 1}, health: {interval: 2}}}"), "")
	f.Add([]byte("- x"), "")
	f.Add([]byte("a: &a [*a]"), "")
	f.Fuzz(func(t *testing.T, data []byte, envText string) {
		env, err := ParseEnv(envText)
		if err != nil {
			env = nil
		}
		m, err := ParseManifest(data, env)
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error is %T, want *ManifestError: %v", err, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		checkInvariants(t, m)
		_ = m.MissingEnv(env)
		_ = m.CheckEnv(env)
		for _, s := range m.Services {
			got, ok := m.Service(s.Name)
			if !ok || !reflect.DeepEqual(got, s) {
				t.Fatalf("Service(%q) = %v, %v", s.Name, got, ok)
			}
			_ = m.ServiceEnv(s, env)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var back Manifest
		err = json.Unmarshal(b, &back)
		back.Warnings = m.Warnings // not serialised: they are for the person who wrote the file
		if err != nil || !reflect.DeepEqual(&back, m) {
			t.Fatalf("JSON round trip: %v\n%s", err, b)
		}
	})
}
