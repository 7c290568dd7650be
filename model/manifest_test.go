package model

import (
	"encoding/json"
	"errors"
	"net"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// defaultService is what a service gets when it sets only how to build.
func defaultService(name string) Service {
	return Service{
		Name:        name,
		Build:       &Build{Path: ".", Manifest: "Dockerfile"},
		Health:      Health{Path: "/", Interval: 5, Timeout: 4, Grace: 5},
		Scale:       Scale{Count: 1, Max: 1, CPU: 250, Memory: 512},
		Deployment:  Deployment{Minimum: 50, Maximum: 200},
		Termination: Termination{Grace: 30},
		TLS:         TLS{Redirect: true},
		Timeout:     60,
		Init:        true,
	}
}

func mustParse(t *testing.T, yml string, env Env) *Manifest {
	t.Helper()
	m, err := ParseManifest([]byte(yml), env)
	if err != nil {
		t.Fatalf("ParseManifest:\n%s\nerror: %v", yml, err)
	}
	checkInvariants(t, m)
	return m
}

func TestParseManifestDefaults(t *testing.T) {
	m := mustParse(t, "services:\n  web:\n    build: .\n", nil)
	want := &Manifest{Services: []Service{defaultService("web")}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got  %s\nwant %s", js(m), js(want))
	}
}

func TestParseManifestFull(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "full.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, string(data), Env{"TAG": "1.27", "WORKERS": "3"})
	want := &Manifest{
		Environment: []EnvVar{
			{Key: "GLOBAL", Default: "yes"},
			{Key: "SECRET", Required: true},
			{Key: "OVERRIDDEN", Default: "top"},
		},
		Services: []Service{
			{
				Name:        "proxy",
				Image:       "nginx:1.27",
				Command:     "nginx -g 'daemon off;'",
				Port:        8080,
				Scheme:      "http",
				TLS:         TLS{Redirect: true},
				Timeout:     60,
				Init:        true,
				Health:      Health{Path: "/health", Interval: 5, Timeout: 4, Grace: 5},
				Scale:       Scale{Count: 1, Max: 1, CPU: 250, Memory: 512},
				Environment: []EnvVar{{Key: "GLOBAL", Default: "yes"}, {Key: "OVERRIDDEN", Default: "top"}, {Key: "SECRET", Required: true}},
				Deployment:  Deployment{Minimum: 50, Maximum: 200},
				Termination: Termination{Grace: 30},
				Annotations: map[string]string{"example.com/owner": "team-a", "note": `"quoted" = kept`},
			},
			{
				Name: "web",
				Build: &Build{Path: "api", Manifest: "../Dockerfile.api", Args: []EnvVar{
					{Key: "NODE_ENV", Default: "production"},
					{Key: "NPM_TOKEN", Required: true},
				}},
				Command:     "bin/web --port 5000",
				Port:        5000,
				Scheme:      "http",
				TLS:         TLS{Redirect: true},
				Timeout:     60,
				Init:        true,
				Health:      Health{Path: "/check", Interval: 10, Timeout: 3, Grace: 20},
				Scale:       Scale{Count: 3, Max: 3, CPU: 500, Memory: 1024},
				Environment: []EnvVar{{Key: "GLOBAL", Default: "yes"}, {Key: "LOG_LEVEL", Default: "debug"}, {Key: "OVERRIDDEN", Default: "service"}, {Key: "SECRET", Required: true}, {Key: "URL", Default: "a=b"}},
				Deployment:  Deployment{Minimum: 25, Maximum: 150},
				Termination: Termination{Grace: 45},
				Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/x", "slipway.dev/simulate": "crashloop"},
				Labels:      map[string]string{"tier": "frontend", "example.com/team": "a"},
			},
			{
				Name:        "worker",
				Build:       &Build{Path: ".", Manifest: "Dockerfile"},
				Command:     "bin/worker",
				TLS:         TLS{Redirect: true},
				Timeout:     60,
				Init:        true,
				Health:      Health{Path: "/", Interval: 5, Timeout: 4, Grace: 5},
				Scale:       Scale{Count: 3, Max: 3, CPU: 250, Memory: 512},
				Environment: []EnvVar{{Key: "GLOBAL", Default: "yes"}, {Key: "OVERRIDDEN", Default: "top"}, {Key: "QUEUE", Required: true}, {Key: "SECRET", Required: true}},
				Deployment:  Deployment{Minimum: 0, Maximum: 100},
				Termination: Termination{Grace: 0},
				Labels:      map[string]string{"tier": "background"},
			},
		},
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got  %s\nwant %s", js(m), js(want))
	}
	if got := m.MissingEnv(Env{"QUEUE": "q"}); !reflect.DeepEqual(got, []string{"SECRET"}) {
		t.Errorf("MissingEnv = %q", got)
	}
}

func js(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

// TestParseManifestForms covers the alternative ways of writing a field.
func TestParseManifestForms(t *testing.T) {
	for _, tc := range []struct {
		name string
		yml  string
		want func(*Service) // changes defaultService("web") into the expected service
	}{
		{"build path", "build: ./api/", func(s *Service) { s.Build.Path = "api" }},
		{"build empty string", `build: ""`, nil},
		{"build null", "build:", nil},
		{"build empty map", "build: {}", nil},
		{"build map path only", "build: {path: api}", func(s *Service) { s.Build.Path = "api" }},
		{"build manifest", "build: {manifest: docker/Dockerfile.prod}", func(s *Service) { s.Build.Manifest = "docker/Dockerfile.prod" }},
		{"build args", "build: {args: [A, B=1, C==x]}", func(s *Service) {
			s.Build.Args = []EnvVar{{Key: "A", Required: true}, {Key: "B", Default: "1"}, {Key: "C", Default: "=x"}}
		}},
		{"image", "image: postgres:16", func(s *Service) { s.Build = nil; s.Image = "postgres:16" }},
		{"image wins over build as in Convox", "build: .\n    image: redis", func(s *Service) { s.Build = nil; s.Image = "redis" }},
		{"command", "build: .\n    command: bin/web -x 'a b'", func(s *Service) { s.Command = "bin/web -x 'a b'" }},
		{"empty command", "build: .\n    command: \"\"", nil},
		{"release command", "build: .\n    release: bin/migrate --to 'v 2'", func(s *Service) { s.Release = "bin/migrate --to 'v 2'" }},
		{"empty release command", "build: .\n    release: \"\"", nil},
		{"port", "build: .\n    port: 65535", func(s *Service) { s.Port, s.Scheme = 65535, "http" }},
		{"port written as 5.0", "build: .\n    port: 5000.0", func(s *Service) { s.Port, s.Scheme = 5000, "http" }},
		{"health path", "build: .\n    health: /up", func(s *Service) { s.Health.Path = "/up" }},
		{"health null", "build: .\n    health:", nil},
		{"health interval sets timeout and grace", "build: .\n    health: {interval: 10}", func(s *Service) { s.Health = Health{Path: "/", Interval: 10, Timeout: 9, Grace: 10} }},
		{"health all", "build: .\n    health: {path: /x, interval: 2, timeout: 1, grace: 0}", func(s *Service) { s.Health = Health{Path: "/x", Interval: 2, Timeout: 1, Grace: 0} }},
		{"scale count", "build: .\n    scale: 4", func(s *Service) { s.Scale.Count, s.Scale.Max = 4, 4 }},
		{"scale zero", "build: .\n    scale: 0", func(s *Service) { s.Scale.Count, s.Scale.Max = 0, 0 }},
		{"scale map", "build: .\n    scale: {cpu: 1000, memory: 2048}", func(s *Service) { s.Scale = Scale{Count: 1, Max: 1, CPU: 1000, Memory: 2048} }},
		{"scale map count", "build: .\n    scale: {count: 2}", func(s *Service) { s.Scale.Count, s.Scale.Max = 2, 2 }},
		{"deployment min only", "build: .\n    deployment: {minimum: 100}", func(s *Service) { s.Deployment.Minimum = 100 }},
		{"deployment bounds", "build: .\n    deployment: {minimum: 0, maximum: 100}", func(s *Service) { s.Deployment = Deployment{Minimum: 0, Maximum: 100} }},
		{"termination", "build: .\n    termination: {grace: 120}", func(s *Service) { s.Termination.Grace = 120 }},
		{"termination empty", "build: .\n    termination: {}", nil},
		{"environment", "build: .\n    environment: [B=2, A, C=]", func(s *Service) {
			s.Environment = []EnvVar{{Key: "A", Required: true}, {Key: "B", Default: "2"}, {Key: "C"}}
		}},
		{"environment star skipped", "build: .\n    environment: [\"*\", A=1]", func(s *Service) { s.Environment = []EnvVar{{Key: "A", Default: "1"}} }},
		{"environment empty list", "build: .\n    environment: []", nil},
		{"annotations list", "build: .\n    annotations: [a=1, example.com/b=x=y, c=]", func(s *Service) {
			s.Annotations = map[string]string{"a": "1", "example.com/b": "x=y", "c": ""}
		}},
		{"annotations map", "build: .\n    annotations: {a: \"1\", B: two words}", func(s *Service) { s.Annotations = map[string]string{"a": "1", "B": "two words"} }},
		{"annotations empty", "build: .\n    annotations: []", nil},
		{"labels map", "build: .\n    labels: {tier: web, example.com/x: \"\"}", func(s *Service) { s.Labels = map[string]string{"tier": "web", "example.com/x": ""} }},
		{"labels list", "build: .\n    labels: [tier=web]", func(s *Service) { s.Labels = map[string]string{"tier": "web"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yml := "services:\n  web:\n    " + tc.yml + "\n"
			m := mustParse(t, yml, nil)
			want := defaultService("web")
			if tc.want != nil {
				tc.want(&want)
			}
			if len(m.Services) != 1 || !reflect.DeepEqual(m.Services[0], want) {
				t.Fatalf("%s\ngot  %s\nwant %s", yml, js(m.Services), js(want))
			}
		})
	}
}

func TestParseManifestMergeKeys(t *testing.T) {
	m := mustParse(t, `
services:
  web: &base
    build: .
    command: bin/web
    port: 5000
  worker:
    <<: *base
    command: bin/worker
`, nil)
	w, ok := m.Service("worker")
	if !ok || w.Command != "bin/worker" || w.Port != 5000 || w.Build == nil {
		t.Fatalf("worker = %+v, want base with command overridden", w)
	}
}

func TestParseManifestSortsServices(t *testing.T) {
	m := mustParse(t, "services:\n  zeta: {image: z}\n  alpha: {image: a}\n  mid-1: {image: m}\n", nil)
	var names []string
	for _, s := range m.Services {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, []string{"alpha", "mid-1", "zeta"}) {
		t.Fatalf("names = %q", names)
	}
}

func TestParseManifestErrors(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		name string
		yml  string
		env  Env
		want string
	}{
		// The file as a whole.
		{"empty file", "", nil, `convox.yml has no services: add a "services" map with at least one service`},
		{"comment only", "# nothing\n", nil, `convox.yml has no services: add a "services" map with at least one service`},
		{"no services key", "environment: [A]\n", nil, `convox.yml has no services: add a "services" map with at least one service`},
		{"services null", "services:\n", nil, `convox.yml has no services: add a "services" map with at least one service`},
		{"services empty", "services: {}\n", nil, `convox.yml has no services: add a "services" map with at least one service`},
		{"root is a list", "- web\n", nil, `convox.yml:1: must be a map with a "services" section, not a list`},
		{"root is a string", "hello\n", nil, `convox.yml:1: must be a map with a "services" section, not a string`},
		{"syntax error", "services:\n  web:\n    build: .\n   port: 5000\n", nil, `convox.yml:4: invalid YAML: did not find expected key`},
		{"tab indentation", "services:\n\tweb: {}\n", nil, `convox.yml:2: invalid YAML: found character that cannot start any token`},
		{"duplicate service", "services:\n  web:\n    build: .\n  web:\n    image: x\n", nil, `convox.yml:4: key "web" appears twice in the same map (first at line 2): keep one`},
		{"duplicate field", "services:\n  web:\n    build: .\n    port: 1\n    port: 2\n", nil, `convox.yml:5: key "port" appears twice in the same map (first at line 4): keep one`},
		{"nan", "services:\n  web:\n    image: x\n    port: .nan\n", nil, `convox.yml:4: invalid YAML: .nan and .inf are not numbers slipway accepts: write a whole number`},
		{"complex key", "services:\n  ? [a]\n  : x\n", nil, `convox.yml:2: invalid YAML: a map key must be a plain value, not a list`},
		{"interpolation breaks yaml", "services:\n  web:\n    image: ${IMG}\n", Env{"IMG": "a: b"}, `convox.yml:3: invalid YAML: mapping values are not allowed in this context (after interpolating ${IMG}): fix convox.yml or the value of IMG`},
		{"services a list", "services: [web]\n", nil, `convox.yml:1: services: must be a map of service names to services, not a list`},

		// Service names.
		{"case clash", "services:\n  Web: {image: x}\n  web: {image: y}\n", nil, `convox.yml:3: services: "Web" and "web" differ only in case: rename one`},
		{"upper-case name", "services:\n  Web: {image: x}\n", nil, `convox.yml:2: services.Web: invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`},
		{"underscore name", "services:\n  my_web: {image: x}\n", nil, `convox.yml:2: services.my_web: invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`},
		{"digit first", "services:\n  1web: {image: x}\n", nil, `convox.yml:2: services.1web: invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`},
		{"trailing dash", "services:\n  web-: {image: x}\n", nil, `convox.yml:2: services.web-: invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`},
		{"dotted name quoted in path", "services:\n  web.app: {image: x}\n", nil, `convox.yml:2: services."web.app": invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash`},
		{"too long", "services:\n  " + long + ": {image: x}\n", nil, "convox.yml:2: services." + long + ": invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash"},

		// Service shape.
		{"image from unset var", "services:\n  web:\n    image: ${IMAGE}\n", nil, `convox.yml:3: services.web.image: is empty: give an image such as "nginx:1.27", or use build (after interpolating ${IMAGE}): fix the image or the value of IMAGE`},
		{"service a string", "services:\n  web: nginx\n", nil, `convox.yml:2: services.web: must be a map of service settings, not a string`},

		// build
		{"build number", "services:\n  web:\n    build: 1\n", nil, `convox.yml:3: services.web.build: must be a path or a map with path, manifest and args, not a number`},
		{"build absolute", "services:\n  web:\n    build: /src\n", nil, `convox.yml:3: services.web.build: must be a path relative to the app's source, not "/src"`},
		{"build escapes", "services:\n  web:\n    build: a/../../b\n", nil, `convox.yml:3: services.web.build: must stay inside the app's source, not "a/../../b"`},
		{"build path escapes", "services:\n  web:\n    build: {path: ..}\n", nil, `convox.yml:3: services.web.build.path: must stay inside the app's source, not ".."`},
		{"build path number", "services:\n  web:\n    build: {path: 1}\n", nil, `convox.yml:3: services.web.build.path: must be a path, not a number: put it in quotes`},
		{"build manifest empty", "services:\n  web:\n    build: {manifest: \"\"}\n", nil, `convox.yml:3: services.web.build.manifest: must not be empty: leave it out to use "Dockerfile"`},
		{"build manifest absolute", "services:\n  web:\n    build: {manifest: /Dockerfile}\n", nil, `convox.yml:3: services.web.build.manifest: must be a path relative to the build path, not "/Dockerfile"`},
		{"build manifest escapes", "services:\n  web:\n    build: {path: api, manifest: ../../Dockerfile}\n", nil, `convox.yml:3: services.web.build.manifest: must stay inside the app's source, not "../../Dockerfile" (relative to the build path "api")`},
		{"build args map", "services:\n  web:\n    build: {args: {A: 1}}\n", nil, `convox.yml:3: services.web.build.args: must be a list of KEY or KEY=default strings, not a map`},
		{"build args bad name", "services:\n  web:\n    build: {args: [A-B=1]}\n", nil, `convox.yml:3: services.web.build.args[0]: invalid name "A-B": use letters, digits and underscores, not starting with a digit`},

		// image
		{"image empty", "services:\n  web:\n    image: \"\"\n", nil, `convox.yml:3: services.web.image: must not be empty: give an image such as "nginx:1.27" or use build`},
		{"image number", "services:\n  web:\n    image: 5\n", nil, `convox.yml:3: services.web.image: must be an image name, not a number: put it in quotes`},
		{"image yaml 1.1 bool", "services:\n  web:\n    image: y\n", nil, `convox.yml:3: services.web.image: must be an image name, not true/false: put it in quotes`},
		{"image space", "services:\n  web:\n    image: nginx latest\n", nil, `convox.yml:3: services.web.image: invalid image "nginx latest": an image name has no spaces`},

		// command
		{"command list", "services:\n  web:\n    build: .\n    command: [a, b]\n", nil, `convox.yml:4: services.web.command: must be a string, not a list`},
		{"command number", "services:\n  web:\n    build: .\n    command: 1\n", nil, `convox.yml:4: services.web.command: must be a string, not a number: put it in quotes`},
		{"release quote", "services:\n  web:\n    build: .\n    release: \"sh -c 'x\"\n", nil, `convox.yml:4: services.web.release: unterminated ' quote: close it`},
		{"release list", "services:\n  web:\n    build: .\n    release: [a, b]\n", nil, `convox.yml:4: services.web.release: must be a string, not a list`},

		// port
		{"port zero", "services:\n  web:\n    build: .\n    port: 0\n", nil, `convox.yml:4: services.web.port: must be a number between 1 and 65535`},
		{"port too big", "services:\n  web:\n    build: .\n    port: 65536\n", nil, `convox.yml:4: services.web.port: must be a number between 1 and 65535`},
		{"port huge", "services:\n  web:\n    build: .\n    port: 99999999999999999999999\n", nil, `convox.yml:4: services.web.port: must be a number between 1 and 65535`},
		{"port fraction", "services:\n  web:\n    build: .\n    port: 80.5\n", nil, `convox.yml:4: services.web.port: must be a number between 1 and 65535`},
		{"port bool", "services:\n  web:\n    build: .\n    port: true\n", nil, `convox.yml:4: services.web.port: must be a number between 1 and 65535`},

		// health
		{"health relative path", "services:\n  web:\n    build: .\n    health: health\n", nil, `convox.yml:4: services.web.health: must start with "/", like "/health", not "health"`},
		{"health map relative path", "services:\n  web:\n    build: .\n    health: {path: up}\n", nil, `convox.yml:4: services.web.health.path: must start with "/", like "/health", not "up"`},
		{"health path number", "services:\n  web:\n    build: .\n    health: {path: 1}\n", nil, `convox.yml:4: services.web.health.path: must be a path, not a number: put it in quotes`},
		{"health list", "services:\n  web:\n    build: .\n    health: [/]\n", nil, `convox.yml:4: services.web.health: must be a path or a map with path, interval, timeout and grace, not a list`},
		{"health interval 1", "services:\n  web:\n    build: .\n    health: {interval: 1}\n", nil, `convox.yml:4: services.web.health.interval: must be a number of seconds between 2 and 3600`},
		{"health interval string", "services:\n  web:\n    build: .\n    health: {interval: 5s}\n", nil, `convox.yml:4: services.web.health.interval: must be a number of seconds between 2 and 3600`},
		{"health timeout zero", "services:\n  web:\n    build: .\n    health: {timeout: 0}\n", nil, `convox.yml:4: services.web.health.timeout: must be a number of seconds between 1 and 3600`},
		{"health grace negative", "services:\n  web:\n    build: .\n    health: {grace: -1}\n", nil, `convox.yml:4: services.web.health.grace: must be a number of seconds between 0 and 86400`},

		// scale
		{"scale negative", "services:\n  web:\n    build: .\n    scale: -1\n", nil, `convox.yml:4: services.web.scale: must be a whole number of processes between 0 and 1000`},
		{"scale too many", "services:\n  web:\n    build: .\n    scale: 1001\n", nil, `convox.yml:4: services.web.scale: must be a whole number of processes between 0 and 1000`},
		{"scale list", "services:\n  web:\n    build: .\n    scale: [1]\n", nil, `convox.yml:4: services.web.scale: must be a count or a map with count, cpu and memory, not a list`},
		{"scale count fraction", "services:\n  web:\n    build: .\n    scale: {count: 1.5}\n", nil, `convox.yml:4: services.web.scale.count: must be a whole number of processes between 0 and 1000`},
		{"scale cpu zero", "services:\n  web:\n    build: .\n    scale: {cpu: 0}\n", nil, `convox.yml:4: services.web.scale.cpu: must be a number of millicores between 1 and 1000000 (1000 is one core)`},
		{"scale memory string", "services:\n  web:\n    build: .\n    scale: {memory: 512Mi}\n", nil, `convox.yml:4: services.web.scale.memory: must be a number of megabytes between 1 and 4194304`},

		// environment
		{"env not a list", "services:\n  web:\n    build: .\n    environment: {A: 1}\n", nil, `convox.yml:4: services.web.environment: must be a list of KEY or KEY=default strings, not a map`},
		{"env string", "services:\n  web:\n    build: .\n    environment: A=1\n", nil, `convox.yml:4: services.web.environment: must be a list of KEY or KEY=default strings, not a string`},
		{"env item map", "services:\n  web:\n    build: .\n    environment: [{A: 1}]\n", nil, `convox.yml:4: services.web.environment[0]: must be a string like KEY or KEY=default, not a map`},
		{"env item number", "services:\n  web:\n    build: .\n    environment: [A, 1]\n", nil, `convox.yml:4: services.web.environment[1]: must be a string like KEY or KEY=default, not a number`},
		{"env bad name", "services:\n  web:\n    build: .\n    environment: [MY-VAR=1]\n", nil, `convox.yml:4: services.web.environment[0]: invalid name "MY-VAR": use letters, digits and underscores, not starting with a digit`},
		{"env empty name", "services:\n  web:\n    build: .\n    environment: [\"=x\"]\n", nil, `convox.yml:4: services.web.environment[0]: invalid name "": use letters, digits and underscores, not starting with a digit`},
		{"env twice", "services:\n  web:\n    build: .\n    environment: [A, B, A=1]\n", nil, `convox.yml:4: services.web.environment[2]: A is listed twice: keep one`},
		{"top-level env bad", "environment: [1A]\nservices:\n  web: {build: .}\n", nil, `convox.yml:1: environment[0]: invalid name "1A": use letters, digits and underscores, not starting with a digit`},
		{"top-level env not a list", "environment: A\nservices:\n  web: {build: .}\n", nil, `convox.yml:1: environment: must be a list of KEY or KEY=default strings, not a string`},

		// deployment
		{"deployment minimum high", "services:\n  web:\n    build: .\n    deployment: {minimum: 101}\n", nil, `convox.yml:4: services.web.deployment.minimum: must be a percentage between 0 and 100`},
		{"deployment minimum negative", "services:\n  web:\n    build: .\n    deployment: {minimum: -1}\n", nil, `convox.yml:4: services.web.deployment.minimum: must be a percentage between 0 and 100`},
		{"deployment maximum low", "services:\n  web:\n    build: .\n    deployment: {maximum: 99}\n", nil, `convox.yml:4: services.web.deployment.maximum: must be a percentage between 100 and 200`},
		{"deployment maximum high", "services:\n  web:\n    build: .\n    deployment: {maximum: 201}\n", nil, `convox.yml:4: services.web.deployment.maximum: must be a percentage between 100 and 200`},
		{"deployment number", "services:\n  web:\n    build: .\n    deployment: 50\n", nil, `convox.yml:4: services.web.deployment: must be a map with minimum and maximum, not a number`},

		// termination
		{"termination number", "services:\n  web:\n    build: .\n    termination: 30\n", nil, `convox.yml:4: services.web.termination: must be a map with grace, not a number`},
		{"termination negative", "services:\n  web:\n    build: .\n    termination: {grace: -5}\n", nil, `convox.yml:4: services.web.termination.grace: must be a number of seconds between 0 and 86400`},

		// annotations
		{"annotations string", "services:\n  web:\n    build: .\n    annotations: a=b\n", nil, `convox.yml:4: services.web.annotations: must be a map or a list of key=value strings, not a string`},
		{"annotation no equals", "services:\n  web:\n    build: .\n    annotations: [a]\n", nil, `convox.yml:4: services.web.annotations[0]: "a" has no "=": use key=value`},
		{"annotation item number", "services:\n  web:\n    build: .\n    annotations: [1]\n", nil, `convox.yml:4: services.web.annotations[0]: must be a string like key=value, not a number`},
		{"annotation twice", "services:\n  web:\n    build: .\n    annotations: [a=1, a=2]\n", nil, `convox.yml:4: services.web.annotations[1]: "a" is listed twice: keep one`},
		{"annotation bad key", "services:\n  web:\n    build: .\n    annotations: [\"bad key=1\"]\n", nil, `convox.yml:4: services.web.annotations[0]: invalid annotation key "bad key": use an optional DNS prefix and "/" (like "example.com/") and a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`},
		{"annotation bad prefix", "services:\n  web:\n    build: .\n    annotations: {\"Example.com/x\": \"1\"}\n", nil, ``},
		{"annotation value number", "services:\n  web:\n    build: .\n    annotations: {a: 1}\n", nil, `convox.yml:4: services.web.annotations.a: must be a string, not a number: put it in quotes`},
		{"annotations too big", "services:\n  web:\n    build: .\n    annotations: {a: " + strings.Repeat("x", MaxAnnotationsB) + "}\n", nil, `convox.yml:4: services.web.annotations: annotations take 262145 bytes, more than Kubernetes allows (262144): shorten them`},

		// labels
		{"label bad key", "services:\n  web:\n    build: .\n    labels: {\"-x\": a}\n", nil, `convox.yml:4: services.web.labels."-x": invalid label key "-x": use an optional DNS prefix and "/" (like "example.com/") and a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`},
		{"label key too long", "services:\n  web:\n    build: .\n    labels: [" + long + "=a]\n", nil, `convox.yml:4: services.web.labels[0]: invalid label key "` + long + `": use an optional DNS prefix and "/" (like "example.com/") and a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`},
		{"label value number", "services:\n  web:\n    build: .\n    labels: {version: 1.10}\n", nil, `convox.yml:4: services.web.labels.version: must be a string, not a number: put it in quotes`},
		{"label value bool", "services:\n  web:\n    build: .\n    labels: {enabled: yes}\n", nil, `convox.yml:4: services.web.labels.enabled: must be a string, not true/false: put it in quotes`},
		{"label reserved", "services:\n  web:\n    build: .\n    labels: {app: x}\n", nil, `convox.yml:4: services.web.labels.app: label "app" is set by slipway: use another key`},
		{"label reserved prefix", "services:\n  web:\n    build: .\n    labels: [slipway.dev/release=x]\n", nil, `convox.yml:4: services.web.labels[0]: label "slipway.dev/release" is set by slipway: use another key`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.yml), tc.env)
			if tc.want == "" {
				// A case that documents an accepted input next to its
				// rejected neighbours.
				if err != nil {
					t.Fatalf("ParseManifest:\n%s\nerror: %v", tc.yml, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseManifest:\n%s\n= %s, want error %s", tc.yml, js(m), tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("ParseManifest:\n%s\n got: %s\nwant: %s", tc.yml, err, tc.want)
			}
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("error is %T, want *ManifestError", err)
			}
			checkErrorShape(t, err)
		})
	}
}

// checkErrorShape: one line, starting with the path of the bad field.
func checkErrorShape(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Fatalf("error spans lines: %q", msg)
	}
	if !strings.HasPrefix(msg, "convox.yml") && !strings.HasPrefix(msg, "services") && !strings.HasPrefix(msg, "environment") {
		t.Fatalf("error does not start with a path: %q", msg)
	}
}

func TestInterpolate(t *testing.T) {
	env := Env{"A": "1", "B": "two words", "EMPTY": "", "A_B": "ab"}
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"no vars", "no vars"},
		{"${A}", "1"},
		{"x${A}y${B}z", "x1ytwo wordsz"},
		{"${A_B}", "ab"},
		{"${MISSING}", ""},
		{"${EMPTY}", ""},
		{"$A", "$A"},     // only the braced form
		{"$${A}", "$1"},  // Convox gives $$ no meaning
		{"${A", "${A"},   // unclosed
		{"${}", ""},      // empty name: no such key
		{"${ A }", ""},   // the name is taken as written
		{"${A}}", "1}"},  // first "}" closes
		{"${${A}}", "}"}, // name "${A" is unknown, then "}"
		{"a\n${B}\n", "a\ntwo words\n"},
	} {
		if got := string(Interpolate([]byte(tc.in), env)); got != tc.want {
			t.Errorf("Interpolate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseManifestInterpolates(t *testing.T) {
	m := mustParse(t, "services:\n  web:\n    image: nginx:${TAG}\n    port: ${PORT}\n    scale: ${COUNT}\n", Env{"TAG": "1.27", "PORT": "8080", "COUNT": "2"})
	s := m.Services[0]
	if s.Image != "nginx:1.27" || s.Port != 8080 || s.Scale.Count != 2 {
		t.Fatalf("got %+v", s)
	}
}

func TestMissingEnvAndCheckEnv(t *testing.T) {
	yml := `
environment:
  - TOP
  - TOP_DEFAULT=x
  - OVERRIDE_TO_DEFAULT
  - OVERRIDE_TO_REQUIRED=y
services:
  web:
    build: .
    environment:
      - WEB
      - OVERRIDE_TO_DEFAULT=fine
      - OVERRIDE_TO_REQUIRED
  worker:
    build: {args: [BUILD_ARG]}
    environment:
      - WORKER
      - WORKER_DEFAULT=
`
	m := mustParse(t, yml, nil)
	for _, tc := range []struct {
		name string
		env  Env
		want []string
	}{
		// OVERRIDE_TO_DEFAULT is required for worker, which inherits the
		// top-level bare entry; web's default covers web only.
		{"nothing set", nil, []string{"OVERRIDE_TO_DEFAULT", "OVERRIDE_TO_REQUIRED", "TOP", "WEB", "WORKER"}},
		{"some set", Env{"TOP": "1", "WEB": "1"}, []string{"OVERRIDE_TO_DEFAULT", "OVERRIDE_TO_REQUIRED", "WORKER"}},
		{"empty value counts as set", Env{"TOP": "", "WEB": "", "WORKER": "", "OVERRIDE_TO_DEFAULT": "", "OVERRIDE_TO_REQUIRED": ""}, nil},
		{"extra keys ignored", Env{"TOP": "1", "WEB": "1", "WORKER": "1", "OVERRIDE_TO_DEFAULT": "1", "OVERRIDE_TO_REQUIRED": "1", "OTHER": "1"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := m.MissingEnv(tc.env)
			if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("MissingEnv = %q, want %q", got, tc.want)
			}
			err := m.CheckEnv(tc.env)
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("CheckEnv: %v", err)
				}
				return
			}
			if want := "required env: " + strings.Join(tc.want, ", "); err == nil || err.Error() != want {
				t.Fatalf("CheckEnv = %v, want %q", err, want)
			}
		})
	}
}

func TestCheckEnvMessage(t *testing.T) {
	m := mustParse(t, "services:\n  web:\n    build: .\n    environment: [FOO, BAR]\n", nil)
	if err := m.CheckEnv(Env{}); err == nil || err.Error() != "required env: BAR, FOO" {
		t.Fatalf("CheckEnv = %v", err)
	}
}

func TestServiceDefaultsAndEnv(t *testing.T) {
	m := mustParse(t, `
environment:
  - SHARED=top
  - TOP_ONLY=1
  - REQUIRED_TOP
services:
  web:
    build: .
    environment:
      - SHARED=web
      - WEB_ONLY=
      - REQUIRED_WEB
  other:
    image: x
`, nil)
	web, ok := m.Service("web")
	if !ok {
		t.Fatal("no web service")
	}
	if got, want := web.Defaults(), (Env{"SHARED": "web", "TOP_ONLY": "1", "WEB_ONLY": ""}); !reflect.DeepEqual(got, want) {
		t.Errorf("web.Defaults() = %q, want %q", got, want)
	}
	other, _ := m.Service("other")
	if got, want := other.Defaults(), (Env{"SHARED": "top", "TOP_ONLY": "1"}); !reflect.DeepEqual(got, want) {
		t.Errorf("other.Defaults() = %q, want %q", got, want)
	}
	release := Env{"SHARED": "release", "REQUIRED_TOP": "r", "REQUIRED_WEB": "w", "UNDECLARED": "u"}
	got := m.ServiceEnv(web, release)
	want := Env{"SHARED": "release", "TOP_ONLY": "1", "WEB_ONLY": "", "REQUIRED_TOP": "r", "REQUIRED_WEB": "w", "UNDECLARED": "u"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ServiceEnv = %q, want %q", got, want)
	}
	if release["TOP_ONLY"] != "" || len(release) != 4 {
		t.Error("ServiceEnv changed the release env")
	}
	if got := (Service{}).Defaults(); got == nil || len(got) != 0 {
		t.Errorf("empty Defaults() = %#v", got)
	}
}

func TestManifestServiceLookup(t *testing.T) {
	m := mustParse(t, `
services:
  b: {image: x, labels: {tier: web}, annotations: [a=1], environment: [A]}
  a: {build: {path: ., args: [X=1]}}
  c: {image: z}
`, nil)
	for _, name := range []string{"a", "b", "c"} {
		s, ok := m.Service(name)
		if !ok || s.Name != name {
			t.Errorf("Service(%q) = %v, %v", name, s.Name, ok)
		}
	}
	for _, name := range []string{"", "d", "A", "aa"} {
		if _, ok := m.Service(name); ok {
			t.Errorf("Service(%q) found", name)
		}
	}
	// The returned copy shares nothing with the manifest.
	b, _ := m.Service("b")
	b.Labels["tier"] = "changed"
	b.Annotations["a"] = "changed"
	b.Environment[0].Key = "CHANGED"
	a, _ := m.Service("a")
	a.Build.Path = "changed"
	a.Build.Args[0].Default = "changed"
	b2, _ := m.Service("b")
	a2, _ := m.Service("a")
	if b2.Labels["tier"] != "web" || b2.Annotations["a"] != "1" || b2.Environment[0].Key != "A" || a2.Build.Path != "." || a2.Build.Args[0].Default != "1" {
		t.Fatalf("changing a returned service changed the manifest: %s %s", js(a2), js(b2))
	}
}

func TestManifestJSONRoundTrip(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "full.yml"))
	if err != nil {
		t.Fatal(err)
	}
	m := mustParse(t, string(data), Env{"TAG": "latest"})
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Manifest
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, m) {
		t.Fatalf("JSON round trip changed the manifest:\n%s\n%s", js(m), js(&back))
	}
}

func TestValidServiceName(t *testing.T) {
	for name, ok := range map[string]bool{
		"web": true, "a": true, "web-2": true, "a-b-c": true, strings.Repeat("a", 63): true,
		"": false, "Web": false, "2web": false, "web-": false, "-web": false, "web_2": false,
		"web.x": false, strings.Repeat("a", 64): false, "wéb": false,
	} {
		if got := ValidServiceName(name); got != ok {
			t.Errorf("ValidServiceName(%q) = %v, want %v", name, got, ok)
		}
	}
}

func TestReservedLabel(t *testing.T) {
	for key, reserved := range map[string]bool{
		"app": true, "service": true, "release": true, "system": true, "rack": true, "name": true, "type": true,
		"slipway.dev/anything": true, "app.kubernetes.io/managed-by": true,
		"tier": false, "example.com/app": false, "App": false, "slipway.dev": false,
	} {
		if got := ReservedLabel(key); got != reserved {
			t.Errorf("ReservedLabel(%q) = %v, want %v", key, got, reserved)
		}
	}
}

func TestManifestErrorText(t *testing.T) {
	if got := (&ManifestError{Path: "services.web.port", Message: "bad"}).Error(); got != "services.web.port: bad" {
		t.Errorf("got %q", got)
	}
	if got := (&ManifestError{Message: "convox.yml has no services"}).Error(); got != "convox.yml has no services" {
		t.Errorf("got %q", got)
	}
}

// checkInvariants asserts what the Manifest type documents.
func checkInvariants(t testing.TB, m *Manifest) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("invariant broken: "+format+"\n%s", append(args, js(m))...)
	}
	if len(m.Services) == 0 {
		fail("no services")
	}
	checkEnvList := func(where string, list []EnvVar, sorted bool) {
		seen := map[string]bool{}
		for i, e := range list {
			if !ValidEnvName(e.Key) {
				fail("%s: invalid key %q", where, e.Key)
			}
			if seen[e.Key] {
				fail("%s: key %q twice", where, e.Key)
			}
			seen[e.Key] = true
			if e.Required && e.Default != "" {
				fail("%s: required %q has a default", where, e.Key)
			}
			if sorted && i > 0 && list[i-1].Key >= e.Key {
				fail("%s: not sorted", where)
			}
		}
	}
	checkEnvList("environment", m.Environment, false)
	checkTopLevel(t, fail, m)
	for i, s := range m.Services {
		if i > 0 && m.Services[i-1].Name >= s.Name {
			fail("services not sorted or not unique")
		}
		if !ValidServiceName(s.Name) {
			fail("bad name %q", s.Name)
		}
		if (s.Build == nil) == (s.Image == "") {
			fail("%s: want exactly one of build and image", s.Name)
		}
		if s.Build != nil {
			if s.Build.Path == "" || s.Build.Manifest == "" || strings.HasPrefix(s.Build.Path, "/") || strings.HasPrefix(s.Build.Path, "..") {
				fail("%s: bad build %+v", s.Name, s.Build)
			}
			checkEnvList(s.Name+".build.args", s.Build.Args, false)
		}
		if strings.ContainsAny(s.Image, " \t\n") {
			fail("%s: image with space", s.Name)
		}
		if s.Port < 0 || s.Port > 65535 {
			fail("%s: port %d", s.Name, s.Port)
		}
		h := s.Health
		if !strings.HasPrefix(h.Path, "/") || h.Interval < 2 || h.Interval > 3600 || h.Timeout < 1 || h.Timeout > 3600 || h.Port < 0 || h.Port > 65535 || h.Grace < 0 || h.Grace > 86400 {
			fail("%s: bad health %+v", s.Name, h)
		}
		sc := s.Scale
		if sc.Count < 0 || sc.Count > MaxScaleCount || sc.CPU < 1 || sc.CPU > MaxScaleCPU || sc.Memory < 1 || sc.Memory > MaxScaleMemory {
			fail("%s: bad scale %+v", s.Name, sc)
		}
		if sc.Max < sc.Count || sc.Max > MaxScaleCount || s.Agent && sc.Autoscales() ||
			sc.Autoscales() && sc.Targets == (ScaleTargets{}) ||
			sc.Targets.CPU < 0 || sc.Targets.CPU > 100 || sc.Targets.Memory < 0 || sc.Targets.Memory > 100 ||
			sc.Limit.CPU != 0 && sc.Limit.CPU < sc.CPU || sc.Limit.Memory != 0 && sc.Limit.Memory < sc.Memory {
			fail("%s: bad scale %+v", s.Name, sc)
		}
		checkService(t, fail, m, s)
		checkEnvList(s.Name+".environment", s.Environment, true)
		d := s.Deployment
		if d.Minimum < 0 || d.Minimum > 100 || d.Maximum < 100 || d.Maximum > 200 {
			fail("%s: bad deployment %+v", s.Name, d)
		}
		if s.Termination.Grace < 0 || s.Termination.Grace > 86400 {
			fail("%s: bad termination %+v", s.Name, s.Termination)
		}
		if s.Annotations != nil && len(s.Annotations) == 0 || s.Labels != nil && len(s.Labels) == 0 {
			fail("%s: empty non-nil map", s.Name)
		}
		for k := range s.Labels {
			if ReservedLabel(k) {
				fail("%s: reserved label %q", s.Name, k)
			}
		}
	}
}

// checkService asserts what the Service type documents of the fields
// that came with Convox's routing, probes, volumes and resources.
func checkService(t testing.TB, fail func(string, ...any), m *Manifest, s Service) {
	t.Helper()
	switch {
	case s.Port == 0 && s.Scheme != "", s.Port > 0 && s.Scheme != "http" && s.Scheme != "https" && s.Scheme != "grpc":
		fail("%s: scheme %q with port %d", s.Name, s.Scheme, s.Port)
	case s.Port == 0 && (s.Domains != nil || s.Liveness != nil || s.StartupProbe != nil):
		fail("%s: domains or probes without a port", s.Name)
	case s.Internal && s.InternalRouter:
		fail("%s: internal and internalRouter", s.Name)
	case s.Timeout < 1 || s.Timeout > 3600:
		fail("%s: timeout %d", s.Name, s.Timeout)
	}
	for i, p := range s.Ports {
		if p.Port < 1 || p.Port > 65535 || p.Protocol != "TCP" && p.Protocol != "UDP" || p.Port == s.Port && p.Protocol == "TCP" ||
			i > 0 && comparePorts(s.Ports[i-1], p) >= 0 {
			fail("%s: bad ports %+v", s.Name, s.Ports)
		}
	}
	seen := map[string]bool{}
	for _, d := range s.Domains {
		if seen[d] || d != strings.ToLower(d) || d == "" {
			fail("%s: bad domains %q", s.Name, s.Domains)
		}
		seen[d] = true
	}
	if s.Domains != nil && len(s.Domains) == 0 || s.Whitelist != nil && len(s.Whitelist) == 0 {
		fail("%s: empty non-nil list", s.Name)
	}
	for _, c := range s.Whitelist {
		if _, _, err := net.ParseCIDR(c); err != nil {
			fail("%s: bad whitelist %q", s.Name, c)
		}
	}
	for _, p := range []*Probe{s.Liveness, s.StartupProbe} {
		if p == nil {
			continue
		}
		if (p.Path == "") == (p.TCPPort == 0) || p.Path != "" && !strings.HasPrefix(p.Path, "/") || p.Port < 0 || p.Port > 65535 ||
			p.Grace < 0 || p.Grace > 86400 || p.Interval < 1 || p.Interval > 3600 || p.Timeout < 1 || p.Timeout > 3600 ||
			p.SuccessThreshold != 1 || p.FailureThreshold < 1 || p.FailureThreshold > 10000 {
			fail("%s: bad probe %+v", s.Name, *p)
		}
	}
	if s.Liveness != nil && s.Liveness.TCPPort != 0 || s.StartupProbe != nil && s.StartupProbe.Port != 0 {
		fail("%s: bad probes", s.Name)
	}
	for i, v := range s.Volumes {
		if v.Name != "" && v.Host != "" || v.Name != "" && !validVolumeName(v.Name) || v.Host != "" && v.Host != path.Clean(v.Host) ||
			v.Host != "" && !strings.HasPrefix(v.Host, "/") || v.Path != path.Clean(v.Path) || !strings.HasPrefix(v.Path, "/") ||
			i > 0 && s.Volumes[i-1].Path >= v.Path {
			fail("%s: bad volumes %+v", s.Name, s.Volumes)
		}
	}
	if s.Deployment.Minimum == 100 && s.Deployment.Maximum == 100 {
		fail("%s: no room to roll", s.Name)
	}
	for i, r := range s.Resources {
		if i > 0 && s.Resources[i-1] >= r || !slices.ContainsFunc(m.Resources, func(x Resource) bool { return x.Name == r }) {
			fail("%s: bad resources %q", s.Name, s.Resources)
		}
	}
	for _, mp := range []map[string]string{s.IngressAnnotations, s.NodeSelectorLabels} {
		if mp != nil && len(mp) == 0 {
			fail("%s: empty non-nil map", s.Name)
		}
	}
	for k, v := range s.Labels {
		if len(content.IsLabelKey(k)) > 0 || len(content.IsLabelValue(v)) > 0 {
			fail("%s: bad label %q=%q", s.Name, k, v)
		}
	}
	if s.Build != nil && s.Image != "" || s.Build == nil && s.Image == "" {
		fail("%s: build and image", s.Name)
	}
	if s.InitContainer != nil && strings.ContainsAny(s.InitContainer.Image, " \t\n") {
		fail("%s: bad init container", s.Name)
	}
}

// checkTopLevel asserts what Manifest documents of resources, timers and
// balancers.
func checkTopLevel(t testing.TB, fail func(string, ...any), m *Manifest) {
	t.Helper()
	for i, r := range m.Resources {
		if !ValidServiceName(r.Name) || i > 0 && m.Resources[i-1].Name >= r.Name || !slices.Contains(ResourceTypes, r.Type) || r.Options != nil && len(r.Options) == 0 {
			fail("bad resource %+v", r)
		}
	}
	for i, tm := range m.Timers {
		_, ok := m.Service(tm.Service)
		if !ValidServiceName(tm.Name) || i > 0 && m.Timers[i-1].Name >= tm.Name || !ok || len(strings.Fields(tm.Schedule)) != 5 ||
			strings.Join(strings.Fields(tm.Schedule), " ") != tm.Schedule ||
			!slices.Contains([]string{"Allow", "Forbid", "Replace"}, tm.Concurrency) || tm.Parallel < 1 || tm.Parallel > 100 {
			fail("bad timer %+v", tm)
		}
		if _, err := SplitCommand(tm.Command); err != nil {
			fail("timer command %q: %v", tm.Command, err)
		}
	}
	for i, b := range m.Balancers {
		_, ok := m.Service(b.Service)
		if !ValidServiceName(b.Name) || i > 0 && m.Balancers[i-1].Name >= b.Name || !ok || len(b.Ports) == 0 {
			fail("bad balancer %+v", b)
		}
		for j, p := range b.Ports {
			if p.Source < 1 || p.Source > 65535 || p.Target < 1 || p.Target > 65535 || p.Protocol != "TCP" && p.Protocol != "UDP" || j > 0 && b.Ports[j-1].Source >= p.Source {
				fail("bad balancer ports %+v", b.Ports)
			}
		}
	}
}

func TestDeploymentWithNoRoomToRoll(t *testing.T) {
	_, err := ParseManifest([]byte("services:\n  web:\n    image: x\n    deployment:\n      minimum: 100\n      maximum: 100\n"), nil)
	if err == nil || err.Error() != "convox.yml:4: services.web.deployment: minimum 100 with maximum 100 leaves no room to roll: lower minimum or raise maximum" {
		t.Fatalf("error %v", err)
	}
}
