package model

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// The sections of convox.yml, each read from its node (see
// manifest_decode.go) with Convox's forms and defaults.

var rootFields = fields{
	known:  []string{"environment", "services"},
	convox: []string{"appSettings", "balancers", "budget", "configs", "labels", "params", "resources", "timers"},
}

var serviceFields = fields{
	known: []string{"annotations", "build", "command", "deployment", "environment", "health", "image", "labels", "port", "scale", "termination"},
	convox: []string{
		"accessControl", "agent", "certificate", "configMounts", "dnsConfig", "domain", "drain",
		"gpu", "imagePullSecrets", "ingressAnnotations", "init", "initContainer", "internal",
		"internalRouter", "liveness", "nlb", "nodeAffinityLabels", "nodeSelectorLabels",
		"ports", "privileged", "readiness", "resources", "securityContext", "singleton",
		"startupProbe", "sticky", "test", "timeout", "tls", "volumeOptions", "volumes",
		"whitelist",
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
		s, err := parseService(sv.key, sv.val, m.Environment)
		if err != nil {
			return nil, err
		}
		m.Services = append(m.Services, s)
	}
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

func parseService(name string, v val, global []EnvVar) (Service, error) {
	s := Service{Name: name}
	if !ValidServiceName(name) {
		return s, v.errorf("invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash")
	}
	if v.kind() == kNull {
		return s, needsBuildOrImage(v)
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
	if in := o.get("image"); in.kind() != kNull {
		if s.Image, err = parseImage(in); err != nil {
			return s, err
		}
		// Convox (pkg/build) runs the image and ignores build when a
		// service has both; slipway does the same.
		s.Build = nil
	}
	if s.Build == nil && s.Image == "" {
		return s, needsBuildOrImage(v)
	}
	if cn := o.get("command"); cn.kind() != kNull {
		if s.Command, err = cn.str("a string"); err != nil {
			return s, err
		}
		// Split it here, where the keys that went into it are known, so
		// that a value that breaks the quoting fails with their names.
		if _, err := SplitCommand(s.Command); err != nil {
			return s, cn.errorf("%v", err)
		}
	}
	if err := o.get("port").optInt(&s.Port, 1, 65535, "must be a number between 1 and 65535"); err != nil {
		return s, err
	}
	if s.Health, err = parseHealth(o.get("health")); err != nil {
		return s, err
	}
	if s.Scale, err = parseScale(o.get("scale")); err != nil {
		return s, err
	}
	own, err := parseEnvList(o.get("environment"))
	if err != nil {
		return s, err
	}
	s.Environment = mergeEnvLists(global, own)
	if s.Deployment, err = parseDeployment(o.get("deployment")); err != nil {
		return s, err
	}
	if s.Termination, err = parseTermination(o.get("termination")); err != nil {
		return s, err
	}
	if s.Annotations, err = parseAnnotations(o.get("annotations")); err != nil {
		return s, err
	}
	if s.Labels, err = parseLabels(o.get("labels")); err != nil {
		return s, err
	}
	return s, nil
}

func needsBuildOrImage(v val) error {
	return v.errorf("needs a build or an image: add \"build: .\" or \"image: <name>\"")
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

var healthFields = fields{known: []string{"grace", "interval", "path", "timeout"}, convox: []string{"disable"}}

// parseHealth reads `health: /path` or `health: {path, interval, timeout,
// grace}` and applies Convox's defaults: path "/", interval 5, timeout
// interval-1, grace interval.
func parseHealth(v val) (Health, error) {
	h := Health{Path: DefaultHealthPath, Interval: DefaultHealthInterval}
	pn, short := v, v.kind() == kString
	var o object
	if !short {
		var err error
		if o, err = v.object("a path or a map with path, interval, timeout and grace", healthFields); err != nil {
			return h, err
		}
		pn = o.get("path")
	}
	if pn.kind() != kNull {
		p, err := pn.str("a path")
		if err != nil {
			return h, err
		}
		if !strings.HasPrefix(p, "/") {
			return h, pn.errorf("must start with \"/\", like \"/health\"%s", q(", not ", p))
		}
		h.Path = p
	}
	if short {
		h.Timeout, h.Grace = h.Interval-1, h.Interval
		return h, nil
	}
	var err error
	if h.Interval, err = o.get("interval").seconds(2, 3600, DefaultHealthInterval); err != nil {
		return h, err
	}
	tn := o.get("timeout")
	if h.Timeout, err = tn.seconds(1, 3600, h.Interval-1); err != nil {
		return h, err
	}
	if h.Timeout >= h.Interval {
		return h, tn.errorf("must be less than the interval (%d seconds): lower it or raise health.interval", h.Interval)
	}
	h.Grace, err = o.get("grace").seconds(0, 86400, h.Interval)
	return h, err
}

var scaleFields = fields{
	known:  []string{"count", "cpu", "memory"},
	convox: []string{"autoscale", "gpu", "keda", "limit", "max", "min", "targets", "vpa"},
}

// parseScale reads `scale: N` or `scale: {count, cpu, memory}`.
func parseScale(v val) (Scale, error) {
	s := Scale{Count: DefaultScaleCount, CPU: DefaultCPU, Memory: DefaultMemory}
	countMsg := fmt.Sprintf("must be a whole number of processes between 0 and %d", MaxScaleCount)
	switch v.kind() {
	case kNumber:
		return s, v.optInt(&s.Count, 0, MaxScaleCount, countMsg)
	case kString:
		return s, v.errorf("%s (ranges such as \"1-5\" for autoscaling are not supported)", countMsg)
	}
	o, err := v.object("a count or a map with count, cpu and memory", scaleFields)
	if err == nil {
		err = o.get("count").optInt(&s.Count, 0, MaxScaleCount, countMsg)
	}
	if err == nil {
		err = o.get("cpu").optInt(&s.CPU, 1, MaxScaleCPU, fmt.Sprintf("must be a number of millicores between 1 and %d (1000 is one core)", MaxScaleCPU))
	}
	if err == nil {
		err = o.get("memory").optInt(&s.Memory, 1, MaxScaleMemory, fmt.Sprintf("must be a number of megabytes between 1 and %d", MaxScaleMemory))
	}
	return s, err
}

var deploymentFields = fields{known: []string{"maximum", "minimum"}}

// parseDeployment applies Convox's defaults and ranges: minimum 0..100
// (default 50), maximum 100..200 (default 200), in percent.
func parseDeployment(v val) (Deployment, error) {
	d := Deployment{Minimum: DefaultDeploymentMin, Maximum: DefaultDeploymentMax}
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

// parseEnvList reads a list of `KEY` and `KEY=default` strings. "*" is
// skipped: in Convox it passes every release variable to the service,
// which slipway does anyway (see ServiceEnv).
func parseEnvList(v val) ([]EnvVar, error) {
	items, err := v.items("a list of KEY or KEY=default strings")
	if err != nil {
		return nil, err
	}
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
// (Convox writes annotations as a list). The keys come back in a stable
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
