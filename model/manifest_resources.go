package model

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The top-level sections besides services: resources, timers and
// balancers.

// EnvPrefix is the start of the env names that carry the resource's
// address to services: NAME upper-cased, "-" as "_" (DB_URL, DB_USER...).
func (r Resource) EnvPrefix() string {
	return strings.ReplaceAll(strings.ToUpper(r.Name), "-", "_")
}

var resourceFields = fields{known: []string{"options", "type"}, ignored: []string{"image"}}

const nameRule = "use at most 63 lower-case letters, digits and dashes, starting with a letter and not ending with a dash"

// parseResources reads `resources: {NAME: {type, options}}`. Managed cloud
// types (rds-*, elasticache-*, efs) are refused with what to do instead.
func parseResources(v val) ([]Resource, error) {
	ms, err := v.members("a map of resource names to resources")
	if err != nil {
		return nil, err
	}
	var out []Resource
	for _, m := range ms {
		r := Resource{Name: m.key}
		if !ValidServiceName(m.key) {
			return nil, m.errorf("invalid resource name: %s", nameRule)
		}
		o, err := m.object("a map with type and options", resourceFields)
		if err != nil {
			return nil, err
		}
		tn := o.get("type")
		if tn.kind() == kNull {
			return nil, m.errorf("needs a type: use one of %s", strings.Join(ResourceTypes, ", "))
		}
		if r.Type, err = tn.str("a resource type"); err != nil {
			return nil, err
		}
		r.Type = strings.TrimSpace(r.Type)
		// The error is about the resource (resources.NAME), where the
		// fix is.
		at := m.val
		at.line = tn.line
		switch {
		case strings.HasPrefix(r.Type, "rds-"), strings.HasPrefix(r.Type, "elasticache-"):
			return nil, at.errorf("type%s is a managed cloud database that slipway does not run: remove it and set %s_URL in the app's env (slipway env set %s_URL=...)", q(" ", r.Type), r.EnvPrefix(), r.EnvPrefix())
		case r.Type == "efs":
			return nil, at.errorf("type efs is a managed cloud file system that slipway does not run: remove it and mount a shared volume instead (volumes: [\"%s:/path\"])", r.Name)
		case !slices.Contains(ResourceTypes, r.Type):
			return nil, tn.errorf("unknown resource type%s: use one of %s", q(" ", r.Type), strings.Join(ResourceTypes, ", "))
		}
		if r.Options, err = parseOptions(o.get("options")); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// parseOptions reads a resource's options as text, as Convox does
// (storage: 10 is "10").
func parseOptions(v val) (map[string]string, error) {
	ms, err := v.members("a map of option names to values")
	if err != nil {
		return nil, err
	}
	var out map[string]string
	for _, m := range ms {
		switch m.kind() {
		case kNull:
			continue
		case kString, kNumber, kBool:
		default:
			return nil, m.errorf("must be a single value, not %s", m.kind())
		}
		if out == nil {
			out = map[string]string{}
		}
		out[m.key] = m.n.Value
	}
	return out, nil
}

// parseServiceResources reads a service's resources: names of the
// top-level ones. Convox's "name:ENV" form renames the env; slipway keeps
// its names and says so.
func parseServiceResources(v val, resources []Resource) ([]string, error) {
	items, err := v.items("a list of resource names")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, in := range items {
		name, err := in.str("a resource name")
		if err != nil {
			return nil, err
		}
		name, _, renamed := strings.Cut(strings.TrimSpace(name), ":")
		name = strings.TrimSpace(name)
		if !slices.ContainsFunc(resources, func(r Resource) bool { return r.Name == name }) {
			return nil, in.errorf("no resource%s in the top-level resources: add it there or remove it here", q(" ", name))
		}
		if renamed {
			in.warn("the env name after \":\" is ignored: the service gets the resource's own names (NAME_URL, NAME_USER, ...)")
		}
		if i, found := slices.BinarySearch(out, name); !found {
			out = slices.Insert(out, i, name)
		}
	}
	return out, nil
}

var timerFields = fields{known: []string{"command", "concurrency", "parallelCount", "schedule", "service"}, ignored: []string{"annotations"}}

// parseTimers reads `timers: {NAME: {schedule, command, service,
// concurrency, parallelCount}}`.
func parseTimers(v val, m *Manifest) ([]Timer, error) {
	ms, err := v.members("a map of timer names to timers")
	if err != nil {
		return nil, err
	}
	var out []Timer
	for _, tm := range ms {
		t := Timer{Name: tm.key, Concurrency: "Allow", Parallel: 1}
		if !ValidServiceName(tm.key) {
			return nil, tm.errorf("invalid timer name: %s", nameRule)
		}
		o, err := tm.object("a map with schedule, command and service", timerFields)
		if err != nil {
			return nil, err
		}
		if t.Schedule, err = parseSchedule(o.get("schedule"), tm.val); err != nil {
			return nil, err
		}
		if t.Command, err = parseCommand(o.get("command")); err != nil {
			return nil, err
		}
		if t.Service, err = serviceRef(o.get("service"), tm.val, m); err != nil {
			return nil, err
		}
		if cn := o.get("concurrency"); cn.kind() != kNull {
			c, err := cn.str("Allow, Forbid or Replace")
			if err != nil {
				return nil, err
			}
			switch strings.ToLower(strings.TrimSpace(c)) {
			case "allow":
				t.Concurrency = "Allow"
			case "forbid":
				t.Concurrency = "Forbid"
			case "replace":
				t.Concurrency = "Replace"
			default:
				return nil, cn.errorf("unknown concurrency%s: use Allow, Forbid or Replace", q(" ", c))
			}
		}
		if err := o.get("parallelCount").optInt(&t.Parallel, 0, 100, "must be a whole number of processes between 1 and 100"); err != nil {
			return nil, err
		}
		t.Parallel = max(t.Parallel, 1) // Convox reads 0 as 1
		out = append(out, t)
	}
	return out, nil
}

var (
	cronField  = regexp.MustCompile(`^[0-9A-Za-z*,/-]+$`)
	cronMacros = map[string]string{
		"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
		"@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
	}
)

// parseSchedule reads a cron schedule as Convox does (ApplyCompatibility):
// fields after the fifth are dropped (Convox v2 took AWS's six-field form,
// with a year) and "?" is "*". @daily and the like are spelt out.
func parseSchedule(v, timer val) (string, error) {
	if v.kind() == kNull {
		return "", timer.errorf("needs a schedule: write a cron expression like \"0 * * * *\" (every hour, UTC)")
	}
	s, err := v.str("a cron expression")
	if err != nil {
		return "", err
	}
	if m, ok := cronMacros[strings.ToLower(strings.TrimSpace(s))]; ok {
		return m, nil
	}
	fields := strings.Fields(s)
	if len(fields) < 5 {
		return "", v.errorf("must have five fields (minute hour day month weekday) like \"0 * * * *\"%s", q(", not ", s))
	}
	if len(fields) > 5 {
		v.warn("the fields after the fifth are ignored, as in Convox: slipway's schedules have five (minute hour day month weekday)")
		fields = fields[:5]
	}
	for i, f := range fields {
		if f == "?" {
			fields[i] = "*"
		} else if !cronField.MatchString(f) {
			return "", v.errorf("is not a cron expression%s: use five fields of digits, *, \",\", \"-\" and \"/\" like \"*/15 * * * *\"", q(" ", s))
		}
	}
	return strings.Join(fields, " "), nil
}

// serviceRef reads the service a timer or balancer names; owner is the
// timer or balancer.
func serviceRef(v, owner val, m *Manifest) (string, error) {
	if v.kind() == kNull {
		return "", owner.errorf("needs a service: name one of the manifest's services")
	}
	s, err := v.str("a service name")
	if err != nil {
		return "", err
	}
	if _, ok := m.Service(s); !ok {
		return "", v.errorf("no service%s in the manifest: name one of its services", q(" ", s))
	}
	return s, nil
}

var balancerFields = fields{known: []string{"ports", "service", "whitelist"}, ignored: []string{"annotations"}}

var balancerPortFields = fields{known: []string{"port", "protocol"}}

// parseBalancers reads `balancers: {NAME: {service, ports: {"SOURCE":
// TARGET | {port, protocol}}, whitelist}}`.
func parseBalancers(v val, m *Manifest) ([]Balancer, error) {
	ms, err := v.members("a map of balancer names to balancers")
	if err != nil {
		return nil, err
	}
	var out []Balancer
	for _, bm := range ms {
		b := Balancer{Name: bm.key}
		if !ValidServiceName(bm.key) {
			return nil, bm.errorf("invalid balancer name: %s", nameRule)
		}
		o, err := bm.object("a map with service, ports and whitelist", balancerFields)
		if err != nil {
			return nil, err
		}
		if b.Service, err = serviceRef(o.get("service"), bm.val, m); err != nil {
			return nil, err
		}
		pn := o.get("ports")
		ports, err := pn.members("a map of balancer ports to service ports")
		if err != nil {
			return nil, err
		}
		if len(ports) == 0 {
			return nil, bm.errorf("needs ports: write ports: {\"80\": 3000} to forward port 80 to the service's 3000")
		}
		for _, p := range ports {
			bp := BalancerPort{Protocol: "TCP"}
			bp.Source, err = strconv.Atoi(p.key)
			if err != nil || bp.Source < 1 || bp.Source > 65535 {
				return nil, p.errorf("the balancer port must be a number between 1 and 65535")
			}
			proto := ""
			if p.kind() == kMap {
				po, err := p.object("", balancerPortFields)
				if err != nil {
					return nil, err
				}
				if err := po.get("port").optInt(&bp.Target, 1, 65535, portMsg); err != nil {
					return nil, err
				}
				if bp.Target == 0 {
					return nil, p.errorf("needs a port: write {port: 3000, protocol: tcp}")
				}
				if prn := po.get("protocol"); prn.kind() != kNull {
					if proto, err = prn.str("tcp or udp"); err != nil {
						return nil, err
					}
				}
			} else if bp.Target, err = p.integer(1, 65535, portMsg); err != nil {
				return nil, err
			}
			switch strings.ToLower(strings.TrimSpace(proto)) {
			case "", "tcp":
			case "udp":
				bp.Protocol = "UDP"
			default:
				return nil, p.errorf("unknown protocol%s: use tcp or udp", q(" ", proto))
			}
			b.Ports = append(b.Ports, bp)
		}
		slices.SortFunc(b.Ports, func(a, c BalancerPort) int { return a.Source - c.Source })
		for i := 1; i < len(b.Ports); i++ {
			if b.Ports[i].Source == b.Ports[i-1].Source {
				return nil, pn.errorf("port %d is listed twice: keep one", b.Ports[i].Source)
			}
		}
		if b.Whitelist, err = parseWhitelist(o.get("whitelist")); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
