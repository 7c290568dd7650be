package model

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var noAlso [2]string

// A manifest long enough that each error is on a line of its own.
const linesBase = `# a comment
environment:
  - TOP=1
services:
  web: &web
    build:
      path: api
      args:
        - A=1
    command: bin/web
    port: 5000
    health:
      path: /up
      interval: 10
    scale:
      count: 2
      cpu: 500
    labels:
      tier: web
  worker:
    <<: *web
    command: bin/worker
`

// TestManifestErrorLines: every error names the line of the file as
// written where the bad key, item or value is.
func TestManifestErrorLines(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string // replace old with new in linesBase
		env      Env
		want     string
		also     [2]string // a second replacement
	}{
		{"top-level env item", "  - TOP=1", "  - 1TOP", nil, `convox.yml:3: environment[0]: invalid name "1TOP": use letters, digits and underscores, not starting with a digit`, noAlso},
		{"nested build path", "path: api", "path: /api", nil, `convox.yml:7: services.web.build.path: must be a path relative to the app's source, not "/api"`, noAlso},
		{"build arg", "        - A=1", "        - A-B=1", nil, `convox.yml:9: services.web.build.args[0]: invalid name "A-B": use letters, digits and underscores, not starting with a digit`, noAlso},
		{"port", "port: 5000", "port: 0", nil, `convox.yml:11: services.web.port: must be a number between 1 and 65535`, noAlso},
		{"health interval", "interval: 10", "interval: 1", nil, `convox.yml:14: services.web.health.interval: must be a number of seconds between 2 and 3600`, noAlso},
		{"scale cpu", "cpu: 500", "cpu: 0", nil, `convox.yml:17: services.web.scale.cpu: must be a number of millicores between 1 and 1000000 (1000 is one core)`, noAlso},
		{"label", "tier: web", "-tier: web", nil, `convox.yml:19: services.web.labels."-tier": invalid label key "-tier": use an optional DNS prefix and "/" (like "example.com/") and a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`, noAlso},
		{"service", "  worker:\n    <<: *web\n", "  worker:\n    <<: *web\n    image: \"\"\n", nil, `convox.yml:22: services.worker.image: must not be empty: give an image such as "nginx:1.27" or use build`, noAlso},
		// A merged field is where it is written: in the anchor.
		{"merged field", "port: 5000", "port: 70000", nil, `convox.yml:11: services.api.port: must be a number between 1 and 65535`, [2]string{"  worker:", "  api:"}},
		{"unknown anchor", "<<: *web", "<<: *webb", nil, `convox.yml:21: invalid YAML: unknown anchor 'webb' referenced`, noAlso},
		// A value with newlines does not move the lines below it.
		{"after a multi-line value", "command: bin/web", "command: \"${CMD}\"", Env{"CMD": "a\nb\nc"}, `convox.yml:11: services.web.port: must be a number between 1 and 65535`, [2]string{"port: 5000", "port: 0"}},
		{"the line of an interpolated field", "path: /up", "path: ${HP}", Env{"HP": "x"}, `convox.yml:13: services.web.health.path: must start with "/", like "/health" (after interpolating ${HP}): fix the path or the value of HP`, noAlso},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(linesBase, tc.old) {
				t.Fatalf("%q not in the base manifest", tc.old)
			}
			yml := strings.Replace(linesBase, tc.old, tc.new, 1)
			yml = strings.Replace(yml, tc.also[0], tc.also[1], 1)
			_, err := ParseManifest([]byte(yml), tc.env)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("%s\n got: %v\nwant: %s", yml, err, tc.want)
			}
			var me *ManifestError
			if !errors.As(err, &me) || me.Line == 0 {
				t.Fatalf("error %#v has no line", err)
			}
		})
	}
	if _, err := ParseManifest([]byte(linesBase), nil); err != nil {
		t.Fatalf("the base manifest: %v", err)
	}
}

// TestManifestDuplicateKeys: a key written twice in one map is an error
// at every level, with both lines, merge keys or not.
func TestManifestDuplicateKeys(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		env            Env
		want           string
	}{
		{"top level", "services:\n", "environment: []\nservices:\n", nil, `convox.yml:4: key "environment" appears twice in the same map (first at line 2): keep one`},
		{"service", "  worker:\n", "  web:\n    image: x\n  worker:\n", nil, `convox.yml:20: key "web" appears twice in the same map (first at line 5): keep one`},
		{"service field", "    port: 5000\n", "    port: 5000\n    port: 5001\n", nil, `convox.yml:12: key "port" appears twice in the same map (first at line 11): keep one`},
		{"build", "      path: api\n", "      path: api\n      path: web\n", nil, `convox.yml:8: key "path" appears twice in the same map (first at line 7): keep one`},
		{"health", "      interval: 10\n", "      interval: 10\n      path: /x\n", nil, `convox.yml:15: key "path" appears twice in the same map (first at line 13): keep one`},
		{"scale", "      cpu: 500\n", "      cpu: 500\n      count: 3\n", nil, `convox.yml:18: key "count" appears twice in the same map (first at line 16): keep one`},
		{"labels", "      tier: web\n", "      tier: web\n      tier: api\n", nil, `convox.yml:20: key "tier" appears twice in the same map (first at line 19): keep one`},
		// yaml.v2's strict mode took a key that overrides a merged one
		// for a duplicate, so the old parser let every duplicate through
		// in a file with merge keys. This one is after the merge.
		{"after a merge key", "    command: bin/worker\n", "    command: bin/worker\n    command: bin/other\n", nil, `convox.yml:23: key "command" appears twice in the same map (first at line 22): keep one`},
		{"in a flow map", "    command: bin/worker\n", "    command: bin/worker\n    deployment: {minimum: 10, minimum: 20}\n", nil, `convox.yml:23: key "minimum" appears twice in the same map (first at line 23): keep one`},
		{"in a map that is not read", "    labels:\n", "    x-notes: {a: 1, a: 2}\n    labels:\n", nil, `convox.yml:18: key "a" appears twice in the same map (first at line 18): keep one`},
		// A key that took an env value is not shown.
		{"interpolated key", "    port: 5000\n", "    port: 5000\n    ${K}: 1\n    ${K}: 2\n", Env{"K": "secret"}, `convox.yml:13: a key appears twice in the same map (first at line 12): keep one (after interpolating ${K}): fix convox.yml or the value of K`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(linesBase, tc.old) {
				t.Fatalf("%q not in the base manifest", tc.old)
			}
			yml := strings.Replace(linesBase, tc.old, tc.new, 1)
			_, err := ParseManifest([]byte(yml), tc.env)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("%s\n got: %v\nwant: %s", yml, err, tc.want)
			}
		})
	}
}

// A key written in a map wins over the same key merged in, wherever the
// merge key is; among merged maps, the first wins.
func TestManifestMergeKeysOrder(t *testing.T) {
	m := mustParse(t, `
services:
  a: &base {image: a, command: base, port: 1}
  b: &other {image: b, command: other, port: 2, scale: 3}
  web:
    port: 3
    <<: [*base, *other]
    command: own
`, nil)
	web, _ := m.Service("web")
	if web.Image != "a" || web.Command != "own" || web.Port != 3 || web.Scale.Count != 3 {
		t.Fatalf("web = %+v, want image a, command own, port 3, scale 3", web)
	}
}

// A manifest's errors name its file when the caller gives it.
func TestInManifestFile(t *testing.T) {
	_, err := ParseManifest([]byte("services:\n  web:\n    image: x\n    port: 0\n"), nil)
	if got, want := InManifestFile("api/app.yml", err).Error(), "api/app.yml:4: services.web.port: must be a number between 1 and 65535"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	_, err = ParseManifest([]byte("services:\n  web:\n    image: x\n   port: 1\n"), nil)
	if got, want := InManifestFile("app.yml", err).Error(), "app.yml:4: invalid YAML: did not find expected key"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	_, err = ParseManifest(nil, nil)
	if got, want := InManifestFile("app.yml", err).Error(), `app.yml: convox.yml has no services: add a "services" map with at least one service`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if got, want := InManifestFile("app.yml", errors.New("other")).Error(), "app.yml: other"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	var me *ManifestError
	if !errors.As(InManifestFile("app.yml", err), &me) {
		t.Error("InManifestFile lost the *ManifestError")
	}
}

func TestManifestErrorTextWithLine(t *testing.T) {
	for _, tc := range []struct {
		e    ManifestError
		want string
	}{
		{ManifestError{Path: "services.web.port", Message: "bad", Line: 12}, "convox.yml:12: services.web.port: bad"},
		{ManifestError{Message: "convox.yml: invalid YAML: x", Line: 3}, "convox.yml:3: invalid YAML: x"},
		{ManifestError{Path: "services.web", Message: "bad", Line: 2, File: "app.yml"}, "app.yml:2: services.web: bad"},
		{ManifestError{Path: "services.web.port", Message: "bad", Line: 4, Keys: []string{"P"}}, "convox.yml:4: services.web.port: bad (after interpolating ${P}): fix the port or the value of P"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

// Merges that refer to each other are refused, not followed for ever.
func TestManifestMergeLoops(t *testing.T) {
	for _, yml := range []string{
		"services:\n  web: &w\n    image: x\n    <<: *w\n",
		"services:\n  web: &w\n    image: x\n    labels: &l {<<: *l}\n",
	} {
		_, err := ParseManifest([]byte(yml), nil)
		if err == nil || !strings.Contains(err.Error(), "merge") {
			t.Errorf("%s\nerror %v, want one about merge keys", yml, err)
		}
	}
}

// An alias inside its own anchor, through a merge key, is a loop for
// anything that follows aliases: the parse still ends at once.
func TestManifestAliasLoopEnds(t *testing.T) {
	yml := "services:\n  web: &w\n    image: x\n    labels:\n      <<: [*w, {a: b}]\n    command: ${C}\n"
	start := time.Now()
	_, err := ParseManifest([]byte(yml), Env{"C": "x"})
	if err == nil {
		t.Fatal("a map merging the service it is in was accepted")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("took %v", took)
	}
}
