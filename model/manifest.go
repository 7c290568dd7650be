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
// Keys Convox does not know are ignored there; slipway ignores them too and
// says so in Warnings, as it does for keys Convox knows that change nothing
// in slipway. The one thing Convox runs that slipway refuses is a managed
// cloud resource (rds-*, elasticache-*, efs): that error says what to do
// instead.
type Manifest struct {
	// Environment is the top-level environment list, in file order, one
	// entry per key. Every service inherits it (see Service.Environment).
	Environment []EnvVar `json:"environment,omitempty"`
	// Services has at least one entry, sorted by name, names unique.
	Services []Service `json:"services"`
	// Resources are the app's backing services (databases, caches), sorted
	// by name, names unique DNS-1035 labels. They outlive releases.
	Resources []Resource `json:"resources,omitempty"`
	// Timers are scheduled one-off processes, sorted by name, names unique
	// DNS-1035 labels; each names a service of Services.
	Timers []Timer `json:"timers,omitempty"`
	// Balancers are custom TCP/UDP load balancers, sorted by name, names
	// unique DNS-1035 labels; each names a service of Services.
	Balancers []Balancer `json:"balancers,omitempty"`
	// Warnings are what the parser ignored (unknown keys, with a
	// did-you-mean when one is close) or accepted without effect, one line
	// each, in file order: "convox.yml:7: services.web.zenvironment:
	// unknown field, ignored: did you mean \"environment\"?".
	Warnings []string `json:"-"`
}

// Resource is one entry of `resources`: a backing service run in the
// app's namespace, whose URL the services that list it get in the env.
type Resource struct {
	// Name is a DNS-1035 label; its env prefix is NAME upper-cased with
	// "-" as "_" (EnvPrefix).
	Name string `json:"name"`
	// Type is one of ResourceTypes.
	Type string `json:"type"`
	// Options are the type's settings (version, storage, durable, ...),
	// each value's text as written (storage: 10 is "10"); nil when none.
	Options map[string]string `json:"options,omitempty"`
}

// ResourceTypes are the resource types slipway runs in the cluster.
// Managed cloud types (rds-*, elasticache-*, efs) are refused.
var ResourceTypes = []string{"mariadb", "memcached", "mysql", "postgres", "redis"}

// Timer is one entry of `timers`: Command run on Schedule as a one-off
// process of Service, from the service's image and env.
type Timer struct {
	// Name is a DNS-1035 label.
	Name string `json:"name"`
	// Schedule is a five-field cron expression, in UTC. As in Convox,
	// fields after the fifth are dropped and "?" is "*"; @daily and the
	// like are spelt out.
	Schedule string `json:"schedule"`
	// Command is what runs; it splits with SplitCommand. "" runs the
	// image's own command, as in Convox.
	Command string `json:"command"`
	// Service names a service of the manifest.
	Service string `json:"service"`
	// Concurrency is "Allow" (default), "Forbid" or "Replace": what to do
	// when a run is still going at the next time.
	Concurrency string `json:"concurrency"`
	// Parallel is how many processes each run starts, 1..100. Default 1.
	Parallel int `json:"parallel"`
}

// Balancer is one entry of `balancers`: a load balancer in front of
// Service, forwarding each port in Ports.
type Balancer struct {
	// Name is a DNS-1035 label.
	Name string `json:"name"`
	// Service names a service of the manifest.
	Service string `json:"service"`
	// Ports has at least one entry, sorted by Source, sources unique.
	Ports []BalancerPort `json:"ports"`
	// Whitelist are CIDR blocks allowed in; nil allows all.
	Whitelist []string `json:"whitelist,omitempty"`
}

// BalancerPort forwards Source on the balancer to Target on the service.
type BalancerPort struct {
	Source int `json:"source"` // 1..65535
	Target int `json:"target"` // 1..65535
	// Protocol is "TCP" (default) or "UDP".
	Protocol string `json:"protocol"`
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
	// service runs Image. Exactly one of Build and Image is set: a service
	// with neither builds the root of the source, as in Convox.
	Build *Build `json:"build,omitempty"`
	// Image is an image reference to run as is; "" when Build is set. It
	// holds no whitespace.
	Image string `json:"image,omitempty"`
	// Command overrides the image's command; "" keeps the image's own.
	Command string `json:"command,omitempty"`
	// Release is the service's release command (Heroku's release phase):
	// a promotion runs it once, in a one-off process with the new
	// release's image and env, before it applies anything, and is
	// rejected if it fails. "" runs none. It splits with SplitCommand.
	Release string `json:"release,omitempty"`
	// Port is the port the service listens on, 1..65535, or 0 for a
	// service that takes no traffic (a worker).
	Port int `json:"port,omitempty"`
	// Scheme is how the service speaks on Port: "http" (default), "https"
	// or "grpc"; "" when Port is 0.
	Scheme string `json:"scheme,omitempty"`
	// Ports are extra ports, reachable inside the cluster only; sorted by
	// port then protocol, each (port, protocol) once, and none is Port
	// over TCP (Convox drops that one: Port wins). Port over UDP may be
	// listed.
	Ports []ServicePort `json:"ports,omitempty"`
	// Domains are the host names the service answers on outside the
	// cluster, in file order, unique, each a lower-case DNS name (a
	// leading "*." is allowed). nil when none. Only a service with a Port
	// has them.
	Domains []string `json:"domains,omitempty"`
	// Internal keeps the service inside the cluster: no Ingress.
	// InternalRouter routes it through the internal ingress class instead
	// of the public one. At most one of them is true (Convox refuses
	// both).
	Internal       bool `json:"internal,omitempty"`
	InternalRouter bool `json:"internalRouter,omitempty"`
	// TLS says what the service's Ingress does about plain HTTP.
	TLS TLS `json:"tls"`
	// Timeout is the longest a request through the Ingress may take, in
	// seconds, 1..3600. Default 60 (also for 0, as in Convox).
	Timeout int `json:"timeout"`
	// Sticky routes a client to the same process (a cookie on the
	// Ingress).
	Sticky bool `json:"sticky,omitempty"`
	// Whitelist are CIDR blocks allowed through the Ingress, each once;
	// a bare address is written as its /32 (or /128). nil allows all.
	Whitelist []string `json:"whitelist,omitempty"`
	// IngressAnnotations go on the service's Ingress; nil when none.
	IngressAnnotations map[string]string `json:"ingressAnnotations,omitempty"`
	// Health is the readiness check on Port; defaults applied.
	Health Health `json:"health"`
	// Liveness restarts a process that stops answering; nil when none
	// (also when written without a path, as Convox checks nothing then).
	// Only a service with a Port has it.
	Liveness *Probe `json:"liveness,omitempty"`
	// StartupProbe holds the other checks back until it passes; nil when
	// none. Its times and thresholds not written are Liveness's, or
	// Liveness's defaults when there is no liveness check. Only a service
	// with a Port has it.
	StartupProbe *Probe `json:"startupProbe,omitempty"`
	// GRPCHealth checks readiness with the gRPC health protocol on Port
	// instead of HTTP.
	GRPCHealth bool `json:"grpcHealth,omitempty"`
	// Agent runs one process on every node (a DaemonSet) instead of
	// Scale.Count processes.
	Agent bool `json:"agent,omitempty"`
	// Singleton runs at most one process: it is replaced (stopped, then
	// started), never rolled with two side by side. Its Deployment
	// defaults to minimum 0, maximum 100, as in Convox. Convox only
	// replaces it and runs Scale.Count of it; slipway keeps Scale as
	// written and warns that a count above 1 is not run.
	Singleton bool `json:"singleton,omitempty"`
	// Privileged runs the process privileged.
	Privileged bool `json:"privileged,omitempty"`
	// Init runs the process under an init that reaps zombies and forwards
	// signals (the pod shares its process namespace). Default true, as in
	// Convox: false only with `init: false`.
	Init bool `json:"init,omitempty"`
	// Lifecycle hooks, each a command; "" when none.
	Lifecycle Lifecycle `json:"lifecycle"`
	// Volumes are mounted into the service's processes, sorted by path,
	// paths unique.
	Volumes []Volume `json:"volumes,omitempty"`
	// InitContainer runs to completion before each process starts; nil
	// when none.
	InitContainer *InitContainer `json:"initContainer,omitempty"`
	// NodeSelectorLabels restrict the nodes the service runs on; nil when
	// none.
	NodeSelectorLabels map[string]string `json:"nodeSelectorLabels,omitempty"`
	// Resources name the app's resources whose URLs the service gets in
	// its env (NAME_URL, NAME_USER, ...); sorted, each in
	// Manifest.Resources.
	Resources []string `json:"resources,omitempty"`
	// Scale is the size of the service; defaults applied. An agent never
	// autoscales (Max equals Count).
	Scale Scale `json:"scale"`
	// Environment is the service's effective declaration list: the
	// top-level entries and the service's own, where the service's entry
	// for a key replaces the top-level one. One entry per key, sorted by
	// key.
	Environment []EnvVar `json:"environment,omitempty"`
	// Deployment bounds the rolling update; defaults applied (an agent's
	// and a singleton's are minimum 0, maximum 100, as in Convox).
	Deployment Deployment `json:"deployment"`
	// Termination is how a process is stopped; defaults applied.
	Termination Termination `json:"termination"`
	// Annotations go on the service's pods. Keys are valid Kubernetes
	// annotation keys; keys and values together take at most 256 KiB.
	// nil when none.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Labels go on the service's pods: the service's own and the
	// top-level ones it does not set. Keys and values are valid
	// Kubernetes label keys and values, and no key is reserved
	// (ReservedLabel). A label written with a value Kubernetes refuses as
	// a label value is in Annotations instead, with a warning. nil when
	// none.
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

// ServicePort is an extra port of a service.
type ServicePort struct {
	Port int `json:"port"` // 1..65535
	// Protocol is "TCP" (default) or "UDP".
	Protocol string `json:"protocol"`
}

// TLS settings of a service's Ingress.
type TLS struct {
	// Redirect sends plain HTTP to HTTPS. Default true, as in Convox.
	Redirect bool `json:"redirect"`
}

// Lifecycle hooks of a service's processes, each a command run in the
// process's container; "" when none.
type Lifecycle struct {
	PreStop   string `json:"preStop,omitempty"`
	PostStart string `json:"postStart,omitempty"`
}

// Volume is a directory mounted into a service's processes. At most one
// of Name and Host is set; with neither it is a scratch directory of each
// process, empty at its start.
type Volume struct {
	// Name is a shared volume's name (`name:/path`, or the id of an
	// awsEfs or azureFiles volumeOption): the same name in two services is
	// one volume, claimed once per app and kept with it. It is a DNS-1123
	// label of at most 56 characters, as it names Kubernetes objects
	// ("shared-NAME", "volume-NAME"). Convox v3 mounts `name:/path` as an
	// empty directory of each process; v2 shared it through the host, as
	// slipway shares it.
	Name string `json:"name,omitempty"`
	// Host is a directory of the node (`/host/dir:/path`, or a path of
	// the node alone, such as /var/run/docker.sock, which Convox mounts
	// from the node), for agents that read the node's state; absolute,
	// cleaned. A bare "/path" other than those is a scratch directory, as
	// in Convox, and so is an emptyDir volumeOption.
	Host string `json:"host,omitempty"`
	// Path is the absolute path where it is mounted, cleaned.
	Path string `json:"path"`
}

// InitContainer runs before a service's process.
type InitContainer struct {
	// Image is the image to run; "" runs the service's own image.
	Image string `json:"image,omitempty"`
	// Command overrides the image's command; "" keeps it.
	Command string `json:"command,omitempty"`
}

// Probe is an HTTP (or TCP) check. All times are in seconds. Convox's
// defaults for a liveness check: grace 10, interval 5, timeout 5, success
// 1, failure 3.
type Probe struct {
	// Path starts with "/"; "" with TCPPort set. Exactly one of Path and
	// TCPPort is set.
	Path string `json:"path,omitempty"`
	// Port to check, 0..65535; 0 is the service's Port. Always 0 for a
	// startup probe.
	Port int `json:"port,omitempty"`
	// TCPPort, 1..65535 when set, checks that the port accepts a
	// connection instead of an HTTP request (startup probe only).
	TCPPort  int `json:"tcpPort,omitempty"`
	Grace    int `json:"grace"`    // 0..86400
	Interval int `json:"interval"` // 1..3600
	Timeout  int `json:"timeout"`  // 1..3600
	// SuccessThreshold is 1, all Kubernetes allows for liveness and
	// startup checks.
	SuccessThreshold int `json:"successThreshold"`
	FailureThreshold int `json:"failureThreshold"` // 1..10000
}

// Health is an HTTP readiness check. All times are in seconds.
type Health struct {
	// Disable turns the readiness check off: a process is ready once it
	// runs.
	Disable bool `json:"disable,omitempty"`
	// Port to check; 0 is the service's Port. A scheme written with it
	// (https:8443) is ignored, with a warning: the check uses the
	// service's Scheme.
	Port int `json:"port,omitempty"`
	// Path starts with "/". Default "/".
	Path string `json:"path"`
	// Interval between checks, 2..3600. Default 5.
	Interval int `json:"interval"`
	// Timeout of one check, 1..3600 (Convox lets it reach the interval,
	// and Kubernetes takes that). Default Interval-1 (4).
	Timeout int `json:"timeout"`
	// Grace is the wait before the first check, 0..86400. Default
	// Interval.
	Grace int `json:"grace"`
}

// Scale is how many processes run and what each may use.
type Scale struct {
	// Count of processes, 0..MaxScaleCount. Default 1. With autoscaling
	// (Max > Count) it is the minimum. Written as N, "N", "N-M" or
	// {min, max}, or as scale.min and scale.max; Convox's parser refuses
	// "N+", and so does slipway.
	Count int `json:"count"`
	// Max is the most processes autoscaling may run, Count..MaxScaleCount;
	// equal to Count when the service does not autoscale.
	Max int `json:"max"`
	// Targets are the average use, in percent of the request, that
	// autoscaling keeps each process at; 0 for none. When Max > Count and
	// neither is set, CPU is DefaultTargetCPU: Convox renders such a
	// HorizontalPodAutoscaler with no metric, which Kubernetes defaults
	// to 80% CPU.
	Targets ScaleTargets `json:"targets"`
	// CPU in millicores, 1..MaxScaleCPU. Default DefaultCPU (250), or
	// Limit.CPU when only that is set (as in Convox); Memory likewise.
	CPU int `json:"cpu"`
	// Memory in MB, 1..MaxScaleMemory. Default DefaultMemory (512).
	Memory int `json:"memory"`
	// Limit caps what a process may use; 0 for no cap. A set limit is at
	// least the request.
	Limit ScaleLimit `json:"limit"`
}

// ScaleTargets are autoscaling targets, in percent, 1..100; 0 when unset.
type ScaleTargets struct {
	CPU    int `json:"cpu,omitempty"`
	Memory int `json:"memory,omitempty"`
}

// ScaleLimit are resource limits; 0 when unset.
type ScaleLimit struct {
	CPU    int `json:"cpu,omitempty"`    // millicores
	Memory int `json:"memory,omitempty"` // MB
}

// Autoscales reports whether the service's count moves between Count and
// Max.
func (s Scale) Autoscales() bool { return s.Max > s.Count }

// Deployment bounds a rolling update, in percent of Scale.Count.
type Deployment struct {
	// Minimum healthy during the update, 0..100. Default 50.
	Minimum int `json:"minimum"`
	// Maximum running during the update, 100..200. Default 200.
	Maximum int `json:"maximum"`
	// Steps stage the rollout (manifest_steps.go); none: a rolling update.
	Steps []Step `json:"steps,omitempty"`
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
	DefaultTimeout        = 60
	DefaultTargetCPU      = 80
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
// it as a convox.yml and applies the defaults. Unknown fields are
// ignored, as Convox ignores them, and listed in Manifest.Warnings; wrong
// types and values out of range are errors. The error is a
// *ManifestError, which never shows an env value: an error in a field that
// took one names the field and the ${KEY}s instead; warnings do the same.
// The env is used for interpolation only: check required keys with
// CheckEnv.
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
	if s.IngressAnnotations != nil {
		c.IngressAnnotations = Env(s.IngressAnnotations).Clone()
	}
	if s.NodeSelectorLabels != nil {
		c.NodeSelectorLabels = Env(s.NodeSelectorLabels).Clone()
	}
	c.Ports = slices.Clone(s.Ports)
	c.Domains = slices.Clone(s.Domains)
	c.Whitelist = slices.Clone(s.Whitelist)
	c.Volumes = slices.Clone(s.Volumes)
	c.Resources = slices.Clone(s.Resources)
	for _, p := range []**Probe{&c.Liveness, &c.StartupProbe} {
		if *p != nil {
			cp := **p
			*p = &cp
		}
	}
	if s.InitContainer != nil {
		ic := *s.InitContainer
		c.InitContainer = &ic
	}
	return c
}
