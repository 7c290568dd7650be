package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// The parser works on the generic tree that sigs.k8s.io/yaml gives (YAML
// turned into JSON, decoded with json.Number) rather than on tagged
// structs, so that every error can name the exact field, say what was
// expected, and unknown fields are errors instead of being dropped.

// decodeYAML turns convox.yml into a tree of nil, bool, json.Number,
// string, []any and map[string]any. Duplicate keys are errors.
func decodeYAML(data []byte) (any, error) {
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil && yamlDuplicate.MatchString(err.Error()) && bytes.Contains(data, []byte("<<")) {
		// yaml.v2's strict mode also calls a key that overrides a merged
		// one a duplicate ("<<: *base" then "command: x"), which Convox
		// manifests do. With merge keys in the file, fall back to the
		// lenient decoder, as Convox always does: the explicit key wins
		// and a real duplicate goes undetected.
		js, err = yaml.YAMLToJSON(data)
	}
	if err != nil {
		return nil, yamlError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, &ManifestError{Message: "convox.yml: invalid YAML: " + oneLine(err.Error())}
	}
	return root, nil
}

var yamlDuplicate = regexp.MustCompile(`line (\d+): key (".*") already set in map`)

// yamlError makes the YAML library's error, which may span lines, into one
// line.
func yamlError(err error) error {
	msg := err.Error()
	if m := yamlDuplicate.FindStringSubmatch(msg); m != nil {
		return &ManifestError{Message: fmt.Sprintf("convox.yml: line %s: key %s appears twice in the same map: keep one", m[1], m[2])}
	}
	if strings.Contains(msg, "unsupported value: NaN") || strings.Contains(msg, "unsupported value: +Inf") || strings.Contains(msg, "unsupported value: -Inf") {
		return &ManifestError{Message: "convox.yml: invalid YAML: .nan and .inf are not numbers slipway accepts: write a whole number"}
	}
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:")
	return &ManifestError{Message: "convox.yml: invalid YAML: " + oneLine(msg)}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// node is a value of the tree with its path, for error messages, and the
// taint of the manifest (nil when nothing was interpolated).
type node struct {
	path string
	v    any
	t    *taint
}

// errorf is an error about n. Text of the manifest goes in as q(...)
// arguments, which are left out when n holds an interpolated value.
func (n node) errorf(format string, args ...any) error {
	return n.t.errorf(n.path, n.t.keysAt(n.path), format, args...)
}

// literalErrorf is an error about n that quotes only text known to be as
// written: a map key whose path is in the file as written.
func (n node) literalErrorf(format string, args ...any) error {
	return n.t.errorf(n.path, nil, format, args...)
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)

// child is the value under key in a map node.
func (n node) child(m map[string]any, key string) node {
	k := key
	if !plainKey.MatchString(key) {
		k = strconv.Quote(key)
	}
	if n.path != "" {
		k = n.path + "." + k
	}
	return node{path: k, v: m[key], t: n.t}
}

func (n node) index(i int, v any) node {
	return node{path: fmt.Sprintf("%s[%d]", n.path, i), v: v, t: n.t}
}

// kind names the YAML type of v for "not a ..." messages.
func kind(v any) string {
	switch v.(type) {
	case nil:
		return "empty"
	case bool:
		return "true/false"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	}
	return fmt.Sprintf("%T", v)
}

// fields describes the keys a map may have.
type fields struct {
	known []string
	// convox are fields Convox has and slipway does not support, so that
	// a Convox user hears why rather than "unknown field".
	convox []string
}

// object checks that n is a map with only known keys. An empty value is an
// empty map.
func (n node) object(what string, f fields) (map[string]any, error) {
	if n.v == nil {
		return map[string]any{}, nil
	}
	m, ok := n.v.(map[string]any)
	if !ok {
		return nil, n.errorf("must be %s, not %s", what, kind(n.v))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if slices.Contains(f.known, k) {
			continue
		}
		if !n.t.literal(n.child(m, k).path) {
			// The key itself came from the env.
			return nil, n.t.errorf(n.path, n.t.keysAt(n.path), "unknown field: use one of %s", strings.Join(f.known, ", "))
		}
		if slices.Contains(f.convox, k) {
			return nil, n.literalErrorf("field %q is a Convox feature that slipway does not support: remove it", k)
		}
		if s := suggest(k, f.known); s != "" {
			return nil, n.literalErrorf("unknown field %q: did you mean %q?", k, s)
		}
		return nil, n.literalErrorf("unknown field %q: use one of %s", k, strings.Join(f.known, ", "))
	}
	return m, nil
}

// suggest returns the known name closest to k when it is close enough to
// be a typo.
func suggest(k string, known []string) string {
	best, bestD := "", 3
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (n node) str(expected string) (string, error) {
	switch v := n.v.(type) {
	case string:
		return v, nil
	case bool, json.Number:
		// YAML reads 5, 1.10, yes, no, on, off, y and n as numbers and
		// true/false unless quoted.
		return "", n.errorf("must be %s, not %s: put it in quotes", expected, kind(n.v))
	}
	return "", n.errorf("must be %s, not %s", expected, kind(n.v))
}

// integer reads a whole number in lo..hi; msg is the whole message when it
// is not.
func (n node) integer(lo, hi int, msg string) (int, error) {
	num, ok := n.v.(json.Number)
	if !ok {
		return 0, n.errorf("%s", msg)
	}
	i, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		// YAML "5.0" arrives as 5; anything else with a fraction or an
		// exponent is not a whole number.
		f, ferr := num.Float64()
		if ferr != nil || f != float64(int64(f)) {
			return 0, n.errorf("%s", msg)
		}
		i = int64(f)
	}
	if i < int64(lo) || i > int64(hi) {
		return 0, n.errorf("%s", msg)
	}
	return int(i), nil
}

// seconds reads an optional number of seconds; def when absent.
func (n node) seconds(lo, hi, def int) (int, error) {
	if n.v == nil {
		return def, nil
	}
	return n.integer(lo, hi, fmt.Sprintf("must be a number of seconds between %d and %d", lo, hi))
}

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

func parseManifest(v any, t *taint) (*Manifest, error) {
	if v == nil {
		return nil, noServices()
	}
	root := node{v: v, t: t}
	if _, ok := v.(map[string]any); !ok {
		return nil, &ManifestError{Message: fmt.Sprintf("convox.yml: must be a map with a \"services\" section, not %s", kind(v))}
	}
	rm, err := root.object("a map", rootFields)
	if err != nil {
		e := err.(*ManifestError)
		if !strings.HasPrefix(e.Message, "convox.yml: ") {
			e.Message = "convox.yml: " + e.Message
		}
		return nil, e
	}

	m := &Manifest{}
	if m.Environment, err = parseEnvList(root.child(rm, "environment")); err != nil {
		return nil, err
	}

	sn := root.child(rm, "services")
	if sn.v == nil {
		return nil, noServices()
	}
	services, ok := sn.v.(map[string]any)
	if !ok {
		return nil, sn.errorf("must be a map of service names to services, not %s", kind(sn.v))
	}
	if len(services) == 0 {
		return nil, noServices()
	}
	names := make([]string, 0, len(services))
	for name := range services {
		names = append(names, name)
	}
	slices.Sort(names)
	lower := map[string]string{}
	for _, name := range names {
		if other, ok := lower[strings.ToLower(name)]; ok {
			if t.literal(sn.child(services, other).path) && t.literal(sn.child(services, name).path) {
				return nil, sn.literalErrorf("%q and %q differ only in case: rename one", other, name)
			}
			return nil, sn.errorf("two service names differ only in case: rename one")
		}
		lower[strings.ToLower(name)] = name
	}
	for _, name := range names {
		s, err := parseService(name, sn.child(services, name), m.Environment)
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

func parseService(name string, n node, global []EnvVar) (Service, error) {
	s := Service{Name: name}
	if !ValidServiceName(name) {
		return s, n.errorf("invalid service name: use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash")
	}
	if n.v == nil {
		return s, needsBuildOrImage(n)
	}
	m, err := n.object("a map of service settings", serviceFields)
	if err != nil {
		return s, err
	}

	// `build:` with no value builds the root, so presence counts here,
	// not the value.
	if _, ok := m["build"]; ok {
		if s.Build, err = parseBuild(n.child(m, "build")); err != nil {
			return s, err
		}
	}
	if in := n.child(m, "image"); in.v != nil {
		if s.Image, err = parseImage(in); err != nil {
			return s, err
		}
		// Convox (pkg/build) runs the image and ignores build when a
		// service has both; slipway does the same.
		s.Build = nil
	}
	if s.Build == nil && s.Image == "" {
		return s, needsBuildOrImage(n)
	}
	if cn := n.child(m, "command"); cn.v != nil {
		if s.Command, err = cn.str("a string"); err != nil {
			return s, err
		}
		// Split it here, where the keys that went into it are known, so
		// that a value that breaks the quoting fails with their names.
		if _, err := SplitCommand(s.Command); err != nil {
			return s, cn.errorf("%v", err)
		}
	}
	if pn := n.child(m, "port"); pn.v != nil {
		if s.Port, err = pn.integer(1, 65535, "must be a number between 1 and 65535"); err != nil {
			return s, err
		}
	}
	if s.Health, err = parseHealth(n.child(m, "health")); err != nil {
		return s, err
	}
	if s.Scale, err = parseScale(n.child(m, "scale")); err != nil {
		return s, err
	}
	own, err := parseEnvList(n.child(m, "environment"))
	if err != nil {
		return s, err
	}
	s.Environment = mergeEnvLists(global, own)
	if s.Deployment, err = parseDeployment(n.child(m, "deployment")); err != nil {
		return s, err
	}
	if s.Termination, err = parseTermination(n.child(m, "termination")); err != nil {
		return s, err
	}
	if s.Annotations, err = parseAnnotations(n.child(m, "annotations")); err != nil {
		return s, err
	}
	if s.Labels, err = parseLabels(n.child(m, "labels")); err != nil {
		return s, err
	}
	return s, nil
}

func needsBuildOrImage(n node) error {
	return n.errorf("needs a build or an image: add \"build: .\" or \"image: <name>\"")
}

var buildFields = fields{known: []string{"args", "manifest", "path"}}

// parseBuild reads `build: path` or `build: {path, manifest, args}`. An
// empty build (`build:` or `build: {}`) builds the root of the source.
func parseBuild(n node) (*Build, error) {
	b := &Build{Path: ".", Manifest: DefaultDockerfile}
	if s, ok := n.v.(string); ok {
		p, err := relativePath(n, s)
		if err != nil {
			return nil, err
		}
		b.Path = p
		return b, nil
	}
	m, err := n.object("a path or a map with path, manifest and args", buildFields)
	if err != nil {
		return nil, err
	}
	if pn := n.child(m, "path"); pn.v != nil {
		s, err := pn.str("a path")
		if err != nil {
			return nil, err
		}
		if b.Path, err = relativePath(pn, s); err != nil {
			return nil, err
		}
	}
	if mn := n.child(m, "manifest"); mn.v != nil {
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
			keys := n.t.keysAt(n.path) // the path and the manifest
			return nil, n.t.errorf(mn.path, keys, "must stay inside the app's source%s%s", q(", not ", s), shown{" (relative to the build path ", b.Path, ")"})
		}
		b.Manifest = s
	}
	an := n.child(m, "args")
	if b.Args, err = parseEnvList(an); err != nil {
		return nil, err
	}
	return b, nil
}

// relativePath checks that p stays inside the app's source, which is all
// the builder has, and returns it cleaned.
func relativePath(n node, p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	if strings.HasPrefix(p, "/") {
		return "", n.errorf("must be a path relative to the app's source%s", q(", not ", p))
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", n.errorf("must stay inside the app's source%s", q(", not ", p))
	}
	return c, nil
}

func parseImage(n node) (string, error) {
	s, err := n.str("an image name")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", n.errorf("must not be empty: give an image such as \"nginx:1.27\" or use build")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", n.errorf("invalid image%s: an image name has no spaces", q(" ", s))
	}
	return s, nil
}

var healthFields = fields{known: []string{"grace", "interval", "path", "timeout"}, convox: []string{"disable"}}

// parseHealth reads `health: /path` or `health: {path, interval, timeout,
// grace}` and applies Convox's defaults: path "/", interval 5, timeout
// interval-1, grace interval.
func parseHealth(n node) (Health, error) {
	h := Health{Path: DefaultHealthPath, Interval: DefaultHealthInterval}
	var pn node
	var m map[string]any
	if _, ok := n.v.(string); ok {
		pn = n
	} else {
		var err error
		if m, err = n.object("a path or a map with path, interval, timeout and grace", healthFields); err != nil {
			return h, err
		}
		pn = n.child(m, "path")
	}
	if pn.v != nil {
		p, err := pn.str("a path")
		if err != nil {
			return h, err
		}
		if !strings.HasPrefix(p, "/") {
			return h, pn.errorf("must start with \"/\", like \"/health\"%s", q(", not ", p))
		}
		h.Path = p
	}
	if m == nil {
		h.Timeout, h.Grace = h.Interval-1, h.Interval
		return h, nil
	}
	var err error
	if h.Interval, err = n.child(m, "interval").seconds(2, 3600, DefaultHealthInterval); err != nil {
		return h, err
	}
	tn := n.child(m, "timeout")
	if h.Timeout, err = tn.seconds(1, 3600, h.Interval-1); err != nil {
		return h, err
	}
	if h.Timeout >= h.Interval {
		return h, tn.errorf("must be less than the interval (%d seconds): lower it or raise health.interval", h.Interval)
	}
	if h.Grace, err = n.child(m, "grace").seconds(0, 86400, h.Interval); err != nil {
		return h, err
	}
	return h, nil
}

var scaleFields = fields{
	known:  []string{"count", "cpu", "memory"},
	convox: []string{"autoscale", "gpu", "keda", "limit", "max", "min", "targets", "vpa"},
}

// parseScale reads `scale: N` or `scale: {count, cpu, memory}`.
func parseScale(n node) (Scale, error) {
	s := Scale{Count: DefaultScaleCount, CPU: DefaultCPU, Memory: DefaultMemory}
	countMsg := fmt.Sprintf("must be a whole number of processes between 0 and %d", MaxScaleCount)
	if _, ok := n.v.(json.Number); ok {
		var err error
		s.Count, err = n.integer(0, MaxScaleCount, countMsg)
		return s, err
	}
	if _, ok := n.v.(string); ok {
		return s, n.errorf("%s (ranges such as \"1-5\" for autoscaling are not supported)", countMsg)
	}
	m, err := n.object("a count or a map with count, cpu and memory", scaleFields)
	if err != nil {
		return s, err
	}
	if cn := n.child(m, "count"); cn.v != nil {
		if s.Count, err = cn.integer(0, MaxScaleCount, countMsg); err != nil {
			return s, err
		}
	}
	if cn := n.child(m, "cpu"); cn.v != nil {
		if s.CPU, err = cn.integer(1, MaxScaleCPU, fmt.Sprintf("must be a number of millicores between 1 and %d (1000 is one core)", MaxScaleCPU)); err != nil {
			return s, err
		}
	}
	if mn := n.child(m, "memory"); mn.v != nil {
		if s.Memory, err = mn.integer(1, MaxScaleMemory, fmt.Sprintf("must be a number of megabytes between 1 and %d", MaxScaleMemory)); err != nil {
			return s, err
		}
	}
	return s, nil
}

var deploymentFields = fields{known: []string{"maximum", "minimum"}}

// parseDeployment applies Convox's defaults and ranges: minimum 0..100
// (default 50), maximum 100..200 (default 200), in percent.
func parseDeployment(n node) (Deployment, error) {
	d := Deployment{Minimum: DefaultDeploymentMin, Maximum: DefaultDeploymentMax}
	m, err := n.object("a map with minimum and maximum", deploymentFields)
	if err != nil {
		return d, err
	}
	if mn := n.child(m, "minimum"); mn.v != nil {
		if d.Minimum, err = mn.integer(0, 100, "must be a percentage between 0 and 100"); err != nil {
			return d, err
		}
	}
	if mn := n.child(m, "maximum"); mn.v != nil {
		if d.Maximum, err = mn.integer(100, 200, "must be a percentage between 100 and 200"); err != nil {
			return d, err
		}
	}
	if d.Minimum == 100 && d.Maximum == 100 {
		// Kubernetes refuses a rolling update that may neither add nor
		// remove a pod; say so here rather than at promote time.
		return d, n.errorf("minimum 100 with maximum 100 leaves no room to roll: lower minimum or raise maximum")
	}
	return d, nil
}

var terminationFields = fields{known: []string{"grace"}}

func parseTermination(n node) (Termination, error) {
	m, err := n.object("a map with grace", terminationFields)
	if err != nil {
		return Termination{}, err
	}
	grace, err := n.child(m, "grace").seconds(0, 86400, DefaultTerminationSec)
	return Termination{Grace: grace}, err
}

// parseEnvList reads a list of `KEY` and `KEY=default` strings. "*" is
// skipped: in Convox it passes every release variable to the service,
// which slipway does anyway (see ServiceEnv).
func parseEnvList(n node) ([]EnvVar, error) {
	if n.v == nil {
		return nil, nil
	}
	items, ok := n.v.([]any)
	if !ok {
		return nil, n.errorf("must be a list of KEY or KEY=default strings, not %s", kind(n.v))
	}
	var out []EnvVar
	seen := map[string]bool{}
	for i, item := range items {
		in := n.index(i, item)
		s, ok := item.(string)
		if !ok {
			return nil, in.errorf("must be a string like KEY or KEY=default, not %s", kind(item))
		}
		if s == "*" {
			continue
		}
		key, def, hasDefault := strings.Cut(s, "=")
		if !ValidEnvName(key) {
			return nil, in.errorf("invalid name%s: use letters, digits and underscores, not starting with a digit", q(" ", truncate(key, 40)))
		}
		if seen[key] {
			if len(in.t.keysAt(in.path)) > 0 {
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

// parseStringMap reads a map of strings or a list of "key=value" strings
// (Convox writes annotations as a list).
func parseStringMap(n node) (map[string]string, []node, error) {
	if n.v == nil {
		return nil, nil, nil
	}
	out := map[string]string{}
	var at []node // the node of each key, for errors, in a stable order
	switch v := n.v.(type) {
	case []any:
		for i, item := range v {
			in := n.index(i, item)
			s, ok := item.(string)
			if !ok {
				return nil, nil, in.errorf("must be a string like key=value, not %s", kind(item))
			}
			k, val, ok := strings.Cut(s, "=")
			if !ok {
				return nil, nil, in.errorf("%s has no \"=\": use key=value", q("", truncate(s, 40)))
			}
			if _, dup := out[k]; dup {
				return nil, nil, in.errorf("%s is listed twice: keep one", q("", truncate(k, 63)))
			}
			out[k] = val
			at = append(at, node{path: in.path, v: k, t: n.t})
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			kn := n.child(v, k)
			s, ok := kn.v.(string)
			if !ok {
				return nil, nil, kn.errorf("must be a string, not %s: put it in quotes", kind(kn.v))
			}
			out[k] = s
			at = append(at, node{path: kn.path, v: k, t: n.t})
		}
	default:
		return nil, nil, n.errorf("must be a map or a list of key=value strings, not %s", kind(n.v))
	}
	if len(out) == 0 {
		return nil, nil, nil
	}
	return out, at, nil
}
