package model

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// The sections of convox.yml, each read from its node (see
// manifest_decode.go) with Convox's forms and defaults.

var rootFields = fields{
	known:   []string{"balancers", "environment", "labels", "resources", "services", "timers"},
	ignored: []string{"appSettings", "budget", "configs", "params"},
}

var serviceFields = fields{
	known: []string{
		"agent", "annotations", "build", "command", "deployment", "domain", "environment",
		"grpcHealthEnabled", "health", "image", "ingressAnnotations", "init", "initContainer",
		"internal", "internalRouter", "labels", "lifecycle", "liveness", "nodeSelectorLabels",
		"port", "ports", "privileged", "release", "resources", "scale", "singleton", "startupProbe",
		"sticky", "termination", "timeout", "tls", "volumeOptions", "volumes", "whitelist",
	},
	// Convox's keys (and Convox v2's links) that change nothing here.
	ignored: []string{
		"accessControl", "certificate", "configMounts", "disableHostUsers", "dnsConfig",
		"drain", "gpu", "imagePullSecrets", "links", "nodeAffinityLabels", "securityContext",
		"test",
	},
}

func parseManifest(root val) (*Manifest, error) {
	switch root.kind() {
	case kNull:
		return nil, noServices()
	case kMap:
	default:
		return nil, root.errorf("must be a map with a \"services\" section, not %s", root.kind())
	}
	r, err := root.object("a map", rootFields)
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	if m.Environment, err = parseEnvList(r.get("environment")); err != nil {
		return nil, err
	}
	if m.Resources, err = parseResources(r.get("resources")); err != nil {
		return nil, err
	}
	// Convox puts the top-level labels on every service, under its own.
	var common labelSet
	if common, err = parseLabels(r.get("labels")); err != nil {
		return nil, err
	}

	sn := r.get("services")
	services, err := sn.members("a map of service names to services")
	if err != nil {
		return nil, err
	}
	if len(services) == 0 {
		return nil, noServices()
	}
	lower := map[string]string{}
	for _, s := range services {
		if other, ok := lower[strings.ToLower(s.key)]; ok {
			at := sn
			at.line = s.line
			if sn.d.t.literal(childPath(sn.path, other)) && sn.d.t.literal(s.path) {
				return nil, at.literalErrorf("%q and %q differ only in case: rename one", other, s.key)
			}
			return nil, at.errorf("two service names differ only in case: rename one")
		}
		lower[strings.ToLower(s.key)] = s.key
	}
	for _, sv := range services {
		s, err := parseService(sv.key, sv.val, m, common)
		if err != nil {
			return nil, err
		}
		m.Services = append(m.Services, s)
	}
	if m.Timers, err = parseTimers(r.get("timers"), m); err != nil {
		return nil, err
	}
	if m.Balancers, err = parseBalancers(r.get("balancers"), m); err != nil {
		return nil, err
	}
	m.Warnings = root.d.sortedWarnings()
	return m, nil
}

func noServices() error {
	return &ManifestError{Message: "convox.yml has no services: add a \"services\" map with at least one service"}
}

var serviceName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

// ValidServiceName reports whether name can name a service: a DNS-1035
// label, since it names Kubernetes objects.
func ValidServiceName(name string) bool {
	return len(name) <= 63 && serviceName.MatchString(name)
}

// parseService reads one service; m holds the top-level environment and
// resources, common the top-level labels.
func parseService(name string, v val, m *Manifest, common labelSet) (Service, error) {
	s := Service{Name: name}
	if !ValidServiceName(name) {
		return s, v.errorf("invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash")
	}
	o, err := v.object("a map of service settings", serviceFields)
	if err != nil {
		return s, err
	}

	// `build:` with no value builds the root, so presence counts here,
	// not the value.
	if o.has("build") {
		if s.Build, err = parseBuild(o.get("build")); err != nil {
			return s, err
		}
	}
	in := o.get("image")
	if in.n != nil && in.kind() == kNull && len(in.d.t.keysAt(in.path)) > 0 {
		// Convox would build the source instead: surely not what an
		// image from the env meant.
		return s, in.errorf("is empty: give an image such as \"nginx:1.27\", or use build")
	}
	if in.kind() != kNull {
		if s.Image, err = parseImage(in); err != nil {
			return s, err
		}
		// Convox (pkg/build) runs the image and ignores build when a
		// service has both; slipway does the same.
		s.Build = nil
	}
	if s.Build == nil && s.Image == "" {
		// Convox builds the root of the source (ApplyDefaults).
		s.Build = &Build{Path: ".", Manifest: DefaultDockerfile}
	}
	if s.Command, err = parseCommand(o.get("command")); err != nil {
		return s, err
	}
	if s.Release, err = parseCommand(o.get("release")); err != nil {
		return s, err
	}
	steps := []func() error{
		func() error { return parseRouting(o, &s) },
		func() error { return parseFlags(o, &s) },
		func() error { return parseProbes(o, &s) },
		func() (err error) {
			if s.Scale, err = parseScale(o.get("scale"), s.Agent); err == nil && s.Singleton && s.Scale.Max > 1 {
				o.get("scale").warn("a singleton runs one process at most: the count above 1 is not run")
			}
			return err
		},
		func() error {
			own, err := parseEnvList(o.get("environment"))
			s.Environment = mergeEnvLists(m.Environment, own)
			return err
		},
		func() (err error) {
			s.Deployment, err = parseDeployment(o.get("deployment"), s.Agent || s.Singleton)
			return err
		},
		func() (err error) { s.Deployment.Steps, err = deploymentSteps(o.get("deployment"), &s); return err }, // manifest_steps.go
		func() (err error) { s.Termination, err = parseTermination(o.get("termination")); return err },
		func() error { return parseProcess(o, &s) },
		func() (err error) {
			s.Resources, err = parseServiceResources(o.get("resources"), m.Resources)
			return err
		},
		func() error { return parseMetadata(o, &s, common) },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return s, err
		}
	}
	return s, nil
}

// parseCommand reads a command (the service's, a hook's, an init
// container's): a string that splits as a shell would.
func parseCommand(v val) (string, error) {
	if v.kind() == kNull {
		return "", nil
	}
	c, err := v.str("a string")
	if err != nil {
		return "", err
	}
	// Split it here, where the keys that went into it are known, so
	// that a value that breaks the quoting fails with their names.
	if _, err := SplitCommand(c); err != nil {
		return "", v.errorf("%v", err)
	}
	return c, nil
}

// parseFlags reads the service's switches. Init is on unless `init:
// false`, as in Convox.
func parseFlags(o object, s *Service) error {
	s.Init = true
	for _, f := range []struct {
		key string
		dst *bool
	}{
		{"grpcHealthEnabled", &s.GRPCHealth},
		{"init", &s.Init},
		{"privileged", &s.Privileged},
		{"singleton", &s.Singleton},
	} {
		if err := o.get(f.key).boolean(f.dst); err != nil {
			return err
		}
	}
	return parseAgent(o.get("agent"), s)
}

var agentFields = fields{known: []string{"enabled", "ports"}}

// parseAgent reads `agent: true`, or Convox v2's `agent: {enabled, ports}`,
// whose ports join the service's (Convox v3 moved them there).
func parseAgent(v val, s *Service) error {
	if v.kind() != kMap {
		return v.boolean(&s.Agent)
	}
	o, err := v.object("", agentFields)
	if err != nil {
		return err
	}
	if err := o.get("enabled").boolean(&s.Agent); err != nil {
		return err
	}
	more, err := parsePorts(o.get("ports"), s.Port)
	if err != nil {
		return err
	}
	s.Ports, err = joinPorts(o.get("ports"), s.Ports, more)
	return err
}

var buildFields = fields{known: []string{"args", "manifest", "path"}}

// parseBuild reads `build: path` or `build: {path, manifest, args}`. An
// empty build (`build:` or `build: {}`) builds the root of the source.
func parseBuild(v val) (*Build, error) {
	b := &Build{Path: ".", Manifest: DefaultDockerfile}
	if v.kind() == kString {
		p, err := relativePath(v, v.n.Value)
		b.Path = p
		return b, err
	}
	o, err := v.object("a path or a map with path, manifest and args", buildFields)
	if err != nil {
		return nil, err
	}
	if pn := o.get("path"); pn.kind() != kNull {
		s, err := pn.str("a path")
		if err != nil {
			return nil, err
		}
		if b.Path, err = relativePath(pn, s); err != nil {
			return nil, err
		}
	}
	if mn := o.get("manifest"); mn.kind() != kNull {
		s, err := mn.str("a path")
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, mn.errorf("must not be empty: leave it out to use %q", DefaultDockerfile)
		}
		if strings.HasPrefix(s, "/") {
			return nil, mn.errorf("must be a path relative to the build path%s", q(", not ", s))
		}
		// The Dockerfile is relative to the build path and may sit above
		// it (path: api, manifest: ../Dockerfile.api), but not outside
		// the source.
		if _, err := relativePath(mn, path.Join(b.Path, s)); err != nil {
			t := v.d.t
			keys := t.keysAt(v.path) // the path and the manifest
			return nil, t.errorf(mn.path, keys, t.written(mn.line), "must stay inside the app's source%s%s", q(", not ", s), shown{" (relative to the build path ", b.Path, ")"})
		}
		b.Manifest = s
	}
	if b.Args, err = parseEnvList(o.get("args")); err != nil {
		return nil, err
	}
	return b, nil
}

// relativePath checks that p stays inside the app's source, which is all
// the builder has, and returns it cleaned.
func relativePath(v val, p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") {
		return "", v.errorf("must be a path relative to the app's source%s", q(", not ", p))
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", v.errorf("must stay inside the app's source%s", q(", not ", p))
	}
	return c, nil
}

func parseImage(v val) (string, error) {
	s, err := v.str("an image name")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", v.errorf("must not be empty: give an image such as \"nginx:1.27\" or use build")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", v.errorf("invalid image%s: an image name has no spaces", q(" ", s))
	}
	return s, nil
}

var deploymentFields = fields{known: []string{"maximum", "minimum", "steps"}}

// parseDeployment applies Convox's defaults and ranges: minimum 0..100
// (default 50), maximum 100..200 (default 200), in percent. An agent or a
// singleton is replaced rather than rolled: minimum 0, maximum 100 unless
// set.
func parseDeployment(v val, replaced bool) (Deployment, error) {
	d := Deployment{Minimum: DefaultDeploymentMin, Maximum: DefaultDeploymentMax}
	if replaced {
		d = Deployment{Minimum: 0, Maximum: 100}
	}
	o, err := v.object("a map with minimum and maximum", deploymentFields)
	if err == nil {
		err = o.get("minimum").optInt(&d.Minimum, 0, 100, "must be a percentage between 0 and 100")
	}
	if err == nil {
		err = o.get("maximum").optInt(&d.Maximum, 100, 200, "must be a percentage between 100 and 200")
	}
	if err == nil && d.Minimum == 100 && d.Maximum == 100 {
		// Kubernetes refuses a rolling update that may neither add nor
		// remove a pod; say so here rather than at promote time.
		err = v.errorf("minimum 100 with maximum 100 leaves no room to roll: lower minimum or raise maximum")
	}
	return d, err
}

var terminationFields = fields{known: []string{"grace"}}

func parseTermination(v val) (Termination, error) {
	o, err := v.object("a map with grace", terminationFields)
	if err != nil {
		return Termination{}, err
	}
	grace, err := o.get("grace").seconds(0, 86400, DefaultTerminationSec)
	return Termination{Grace: grace}, err
}

// parseEnvList reads a list of `KEY` and `KEY=default` strings, lists of
// them included. "*" is skipped: in Convox it passes every release
// variable to the service, which slipway does anyway (see ServiceEnv).
func parseEnvList(v val) ([]EnvVar, error) {
	items, err := v.items("a list of KEY or KEY=default strings")
	if err != nil {
		return nil, err
	}
	// Convox flattens a list in the list, one level (`- *common` where
	// common is a list of entries).
	var flat []val
	for _, in := range items {
		if in.kind() == kList {
			inner, _ := in.items("")
			flat = append(flat, inner...)
		} else {
			flat = append(flat, in)
		}
	}
	items = flat
	var out []EnvVar
	seen := map[string]bool{}
	for _, in := range items {
		if in.kind() != kString {
			return nil, in.errorf("must be a string like KEY or KEY=default, not %s", in.kind())
		}
		if in.n.Value == "*" {
			continue
		}
		key, def, hasDefault := strings.Cut(in.n.Value, "=")
		if !ValidEnvName(key) {
			return nil, in.errorf("invalid name%s: use letters, digits and underscores, not starting with a digit", q(" ", truncate(key, 40)))
		}
		if seen[key] {
			if len(in.d.t.keysAt(in.path)) > 0 {
				return nil, in.errorf("a name is listed twice: keep one")
			}
			return nil, in.errorf("%s is listed twice: keep one", key)
		}
		seen[key] = true
		out = append(out, EnvVar{Key: key, Default: def, Required: !hasDefault})
	}
	return out, nil
}

// mergeEnvLists gives a service's effective list: global entries, each
// replaced by the service's own entry for the same key, sorted by key.
func mergeEnvLists(global, own []EnvVar) []EnvVar {
	byKey := map[string]EnvVar{}
	for _, e := range global {
		byKey[e.Key] = e
	}
	for _, e := range own {
		byKey[e.Key] = e
	}
	if len(byKey) == 0 {
		return nil
	}
	out := make([]EnvVar, 0, len(byKey))
	for _, e := range byKey {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b EnvVar) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// stringKey is a key of a string map and the node that wrote it, for
// errors about the key.
type stringKey struct {
	key string
	at  val
}

// parseStringMap reads a map of strings or a list of "key=value" strings
// or one-entry maps (Convox writes annotations as a list). The keys come back in a stable
// order.
func parseStringMap(v val) (map[string]string, []stringKey, error) {
	out := map[string]string{}
	var keys []stringKey
	switch v.kind() {
	case kNull:
		return nil, nil, nil
	case kList:
		items, _ := v.items("")
		for _, in := range items {
			if in.kind() == kMap {
				// Convox takes `- key: value` items too.
				ms, err := in.members("")
				if err != nil {
					return nil, nil, err
				}
				for _, m := range ms {
					if m.kind() != kString {
						return nil, nil, m.errorf("must be a string, not %s: put it in quotes", m.kind())
					}
					if _, dup := out[m.key]; dup {
						return nil, nil, m.errorf("%s is listed twice: keep one", q("", truncate(m.key, 63)))
					}
					out[m.key] = m.n.Value
					keys = append(keys, stringKey{m.key, m.val})
				}
				continue
			}
			if in.kind() != kString {
				return nil, nil, in.errorf("must be a string like key=value, not %s", in.kind())
			}
			k, val, ok := strings.Cut(in.n.Value, "=")
			if !ok {
				return nil, nil, in.errorf("%s has no \"=\": use key=value", q("", truncate(in.n.Value, 40)))
			}
			if _, dup := out[k]; dup {
				return nil, nil, in.errorf("%s is listed twice: keep one", q("", truncate(k, 63)))
			}
			out[k] = val
			keys = append(keys, stringKey{k, in})
		}
	case kMap:
		ms, err := v.members("")
		if err != nil {
			return nil, nil, err
		}
		for _, m := range ms {
			if m.kind() != kString {
				return nil, nil, m.errorf("must be a string, not %s: put it in quotes", m.kind())
			}
			out[m.key] = m.n.Value
			keys = append(keys, stringKey{m.key, m.val})
		}
	default:
		return nil, nil, v.errorf("must be a map or a list of key=value strings, not %s", v.kind())
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	return out, keys, nil
}
