package model

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Manifest is a parsed convox.yml, with every default applied. It is built by
// ParseManifest only; a Manifest that came from there satisfies every
// invariant stated on the fields below, so later steps (rendering,
// applying) need not check them again.
//
// Sections that Convox has and slipway does not yet (timers, resources,
// balancers, ...) are rejected by the parser with a message that says so;
// adding one means a field here, a parse function in manifest_parse.go and
// its name in the known fields of the root.
type Manifest struct {
	// Environment is the top-level environment list, in file order, one
	// entry per key. Every service inherits it (see Service.Environment).
	Environment []EnvVar `json:"environment,omitempty"`
	// Services has at least one entry, sorted by name, names unique.
	Services []Service `json:"services"`
}

// EnvVar is one entry of an environment list: `KEY` (Required) or
// `KEY=default`.
type EnvVar struct {
	// Key is a valid environment name (ValidEnvName).
	Key string `json:"key"`
	// Default is the text after the first "="; "" when Required.
	Default string `json:"default,omitempty"`
	// Required is true for a bare `KEY`: the release env must set it.
	Required bool `json:"required,omitempty"`
}

// Service is one entry of `services`.
type Service struct {
	// Name is a DNS-1035 label (lower-case letters, digits and "-",
	// starting with a letter, ending with a letter or digit, at most 63
	// characters), because it names Kubernetes objects.
	Name string `json:"name"`
	// Build is how to build the image from the app's source; nil when the
	// service runs Image. Exactly one of Build and Image is set.
	Build *Build `json:"build,omitempty"`
	// Image is an image reference to run as is; "" when Build is set. It
	// holds no whitespace.
	Image string `json:"image,omitempty"`
	// Command overrides the image's command; "" keeps the image's own.
	Command string `json:"command,omitempty"`
	// Port is the port the service listens on, 1..65535, or 0 for a
	// service that takes no traffic (a worker).
	Port int `json:"port,omitempty"`
	// Health is the HTTP check on Port; defaults applied.
	Health Health `json:"health"`
	// Scale is the size of the service; defaults applied.
	Scale Scale `json:"scale"`
	// Environment is the service's effective declaration list: the
	// top-level entries and the service's own, where the service's entry
	// for a key replaces the top-level one. One entry per key, sorted by
	// key.
	Environment []EnvVar `json:"environment,omitempty"`
	// Deployment bounds the rolling update; defaults applied.
	Deployment Deployment `json:"deployment"`
	// Termination is how a process is stopped; defaults applied.
	Termination Termination `json:"termination"`
	// Annotations go on the service's pods. Keys are valid Kubernetes
	// annotation keys; keys and values together take at most 256 KiB.
	// nil when none.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Labels go on the service's pods. Keys and values are valid
	// Kubernetes label keys and values, and no key is reserved
	// (ReservedLabel). nil when none.
	Labels map[string]string `json:"labels,omitempty"`
}

// Build says how to build a service's image.
type Build struct {
	// Path is the build context, relative to the root of the app's source
	// and inside it, cleaned ("." for the root).
	Path string `json:"path"`
	// Manifest is the Dockerfile, relative to Path (default "Dockerfile");
	// Path joined with Manifest stays inside the source.
	Manifest string `json:"manifest"`
	// Args are build arguments, one entry per key in file order. A bare
	// `KEY` (Required) takes its value from the release env at build time
	// and is left unset when the env has no such key, as `docker build
	// --build-arg KEY` does; build args never count as required env.
	Args []EnvVar `json:"args,omitempty"`
}

// Health is an HTTP readiness check. All times are in seconds.
type Health struct {
	// Path starts with "/". Default "/".
	Path string `json:"path"`
	// Interval between checks, 2..3600. Default 5.
	Interval int `json:"interval"`
	// Timeout of one check, 1..Interval-1. Default Interval-1 (4).
	Timeout int `json:"timeout"`
	// Grace is the wait before the first check, 0..86400. Default
	// Interval.
	Grace int `json:"grace"`
}

// Scale is how many processes run and what each may use.
type Scale struct {
	// Count of processes, 0..MaxScaleCount. Default 1.
	Count int `json:"count"`
	// CPU in millicores, 1..MaxScaleCPU. Default DefaultCPU (250).
	CPU int `json:"cpu"`
	// Memory in MB, 1..MaxScaleMemory. Default DefaultMemory (512).
	Memory int `json:"memory"`
}

// Deployment bounds a rolling update, in percent of Scale.Count.
type Deployment struct {
	// Minimum healthy during the update, 0..100. Default 50.
	Minimum int `json:"minimum"`
	// Maximum running during the update, 100..200. Default 200.
	Maximum int `json:"maximum"`
}

// Termination is how a process is stopped.
type Termination struct {
	// Grace is the time in seconds between SIGTERM and SIGKILL, 0..86400.
	// Default 30.
	Grace int `json:"grace"`
}

// Defaults and limits of the manifest. The defaults are Convox's
// (pkg/manifest ApplyDefaults); Convox's CPU default is 250 millicores.
const (
	DefaultHealthPath     = "/"
	DefaultHealthInterval = 5
	DefaultScaleCount     = 1
	DefaultCPU            = 250
	DefaultMemory         = 512
	DefaultDeploymentMin  = 50
	DefaultDeploymentMax  = 200
	DefaultTerminationSec = 30
	DefaultDockerfile     = "Dockerfile"

	MaxScaleCount   = 1000
	MaxScaleCPU     = 1000000 // 1000 cores
	MaxScaleMemory  = 4194304 // 4 TiB
	MaxAnnotationsB = 256 << 10
)

// ManifestError is an error in a convox.yml. Its text is one line that
// starts with the line of the file it comes from and the path of the bad
// field, and says what is expected:
// "convox.yml:12: services.web.port: must be a number between 1 and 65535".
type ManifestError struct {
	// Path of the bad field, "" for the file as a whole.
	Path string
	// Message says what is wrong and what to write instead. When Path is
	// "", Message starts with "convox.yml". It never holds text that came
	// from the env: when Keys is set, the text of the field is left out.
	Message string
	// Keys are the env keys interpolated into the bad field (or onto the
	// bad line), sorted; nil when the field is as written.
	Keys []string
	// Line of the file as written (before interpolation) where the bad
	// field's key, list item or text is, from 1; 0 when no line is to
	// blame (a file with no services).
	Line int
	// File names the file in the text, "convox.yml" when "". Set it with
	// InManifestFile.
	File string
}

func (e *ManifestError) Error() string {
	msg := e.Message
	if e.Path != "" {
		msg = e.Path + ": " + msg
	}
	if len(e.Keys) > 0 {
		msg += interpolatedHint(e.Path, e.Keys)
	}
	if e.Line == 0 && e.File == "" {
		return msg
	}
	file := cmp.Or(e.File, "convox.yml")
	if e.Line > 0 {
		file += ":" + strconv.Itoa(e.Line)
	}
	if rest, ok := strings.CutPrefix(msg, "convox.yml: "); ok && e.Path == "" {
		msg = rest
	}
	return file + ": " + msg
}

// InManifestFile names file, the manifest's path, in err, an error of
// ParseManifest: "api/convox.yml:12: services.web.port: ...". Any other
// error is wrapped as "file: err".
func InManifestFile(file string, err error) error {
	if me, ok := err.(*ManifestError); ok {
		c := *me
		c.File = file
		return &c
	}
	return fmt.Errorf("%s: %w", file, err)
}

// interpolation is Convox's pattern (pkg/manifest/helpers.go): ${NAME}
// with anything but "}" as NAME. There is no escape: Convox gives "$$" no
// meaning, so "$${X}" becomes "$" followed by X's value.
var interpolation = regexp.MustCompile(`\$\{([^}]*?)\}`)

// Interpolate replaces every ${NAME} in data with env[NAME], or with ""
// when env has no NAME, as Convox does before parsing convox.yml. The
// values are inserted as they are: a value that is not valid YAML where it
// lands makes the manifest invalid.
func Interpolate(data []byte, env Env) []byte {
	return interpolation.ReplaceAllFunc(data, func(m []byte) []byte {
		return []byte(env[string(m[2:len(m)-1])])
	})
}

// ParseManifest interpolates env into data (see Interpolate), then parses
// it strictly as a convox.yml and applies the defaults. Unknown fields,
// wrong types and values out of range are errors; the error is a
// *ManifestError, which never shows an env value: an error in a field that
// took one names the field and the ${KEY}s instead. The env is used for
// interpolation only: check required keys with CheckEnv.
func ParseManifest(data []byte, env Env) (*Manifest, error) {
	interpolated, t := interpolateTracked(data, env)
	d := &decoder{t: t, budget: mergeBudget}
	root, err := d.parseYAML(interpolated)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, noServices()
	}
	return parseManifest(val{n: root, line: root.Line, d: d})
}

// Service returns the service with the given name. The copy shares nothing
// with m.
func (m *Manifest) Service(name string) (Service, bool) {
	i, ok := slices.BinarySearchFunc(m.Services, name, func(s Service, name string) int {
		return strings.Compare(s.Name, name)
	})
	if !ok {
		return Service{}, false
	}
	return m.Services[i].clone(), true
}

// MissingEnv returns the keys that some service requires (a bare `KEY`
// in its effective environment, top-level or its own) and env does not
// set, sorted. A key set to "" counts as set.
func (m *Manifest) MissingEnv(env Env) []string {
	missing := map[string]bool{}
	for _, s := range m.Services {
		for _, e := range s.Environment {
			if _, ok := env[e.Key]; e.Required && !ok {
				missing[e.Key] = true
			}
		}
	}
	keys := make([]string, 0, len(missing))
	for k := range missing {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// CheckEnv returns Convox's error for required keys that env lacks,
// "required env: A, B", or nil.
func (m *Manifest) CheckEnv(env Env) error {
	if missing := m.MissingEnv(env); len(missing) > 0 {
		return errors.New("required env: " + strings.Join(missing, ", "))
	}
	return nil
}

// Defaults returns the defaults of the service's effective environment:
// the top-level `KEY=default` entries and the service's own, the service's
// winning.
func (s Service) Defaults() Env {
	env := Env{}
	for _, e := range s.Environment {
		if !e.Required {
			env[e.Key] = e.Default
		}
	}
	return env
}

// ServiceEnv is the env a process of s gets: s's defaults merged with the
// release env, the release env winning. Every key of the release env is
// passed, declared or not.
//
// Convox differs here: it passes only the keys the service declares
// (unless it declares "*"). slipway passes the whole release env, as its
// design asks; filtering would be a change here only.
func (m *Manifest) ServiceEnv(s Service, release Env) Env {
	return s.Defaults().Merge(release)
}

func (s Service) clone() Service {
	c := s
	if s.Build != nil {
		b := *s.Build
		b.Args = slices.Clone(s.Build.Args)
		c.Build = &b
	}
	c.Environment = slices.Clone(s.Environment)
	if s.Annotations != nil {
		c.Annotations = Env(s.Annotations).Clone()
	}
	if s.Labels != nil {
		c.Labels = Env(s.Labels).Clone()
	}
	return c
}
