package model

import (
	"strings"
)

// The checks on a service's processes: readiness (health), liveness and
// the startup probe, with Convox's defaults.

// parseProbes reads health, liveness, startupProbe. Convox renders the
// checks only for a service with a port; so does slipway, and says so.
func parseProbes(o object, s *Service) error {
	var err error
	if s.Health, err = parseHealth(o.get("health")); err != nil {
		return err
	}
	if s.Liveness, err = parseLiveness(o.get("liveness")); err != nil {
		return err
	}
	def := livenessDefaults
	if s.Liveness != nil {
		def = *s.Liveness
	}
	if s.StartupProbe, err = parseStartupProbe(o.get("startupProbe"), def); err != nil {
		return err
	}
	if s.Port == 0 {
		if s.Liveness != nil {
			o.get("liveness").warn("ignored: the service has no port")
			s.Liveness = nil
		}
		if s.StartupProbe != nil {
			o.get("startupProbe").warn("ignored: the service has no port")
			s.StartupProbe = nil
		}
	}
	return nil
}

var healthFields = fields{known: []string{"disable", "grace", "interval", "path", "port", "timeout"}}

// parseHealth reads `health: /path` or `health: {path, interval, timeout,
// grace, port, disable}` and applies Convox's defaults: path "/", interval
// 5, timeout interval-1, grace interval.
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
	// An empty path is the default, as in Convox.
	if pn.kind() != kNull && !(pn.kind() == kString && strings.TrimSpace(pn.n.Value) == "") {
		p, err := probePath(pn)
		if err != nil {
			return h, err
		}
		h.Path = p
	}
	if short {
		h.Timeout, h.Grace = h.Interval-1, h.Interval
		return h, nil
	}
	var err error
	if err = o.get("disable").boolean(&h.Disable); err != nil {
		return h, err
	}
	if h.Port, err = probePort(o.get("port")); err != nil {
		return h, err
	}
	if h.Interval, err = o.get("interval").seconds(2, 3600, DefaultHealthInterval); err != nil {
		return h, err
	}
	// Convox lets the timeout reach or pass the interval, and Kubernetes
	// takes it.
	if h.Timeout, err = o.get("timeout").seconds(1, 3600, h.Interval-1); err != nil {
		return h, err
	}
	h.Grace, err = o.get("grace").seconds(0, 86400, h.Interval)
	return h, err
}

func probePath(v val) (string, error) {
	p, err := v.str("a path")
	if err != nil {
		return "", err
	}
	p = strings.TrimSpace(p)
	if !strings.HasPrefix(p, "/") {
		return "", v.errorf("must start with \"/\", like \"/health\"%s", q(", not ", p))
	}
	return p, nil
}

// probePort reads a check's port, in Convox's port forms. Its scheme is
// the service's: a different one written here is ignored, with a
// warning.
func probePort(v val) (int, error) {
	p, scheme, err := parsePortScheme(v, "port")
	if err == nil && scheme != "" {
		v.warn("the scheme is ignored: slipway checks with the service's scheme")
	}
	return p, err
}

// livenessDefaults are Convox's for a liveness check with a path, and
// what a startup probe takes from it.
var livenessDefaults = Probe{Grace: 10, Interval: 5, Timeout: 5, SuccessThreshold: 1, FailureThreshold: 3}

var livenessFields = fields{known: []string{"failureThreshold", "grace", "interval", "path", "port", "successThreshold", "timeout"}}

// parseLiveness reads `liveness: {path, port, grace, interval, timeout,
// successThreshold, failureThreshold}`. Convox checks nothing without a
// path: nil then.
func parseLiveness(v val) (*Probe, error) {
	o, err := v.object("a map with path, port, grace, interval and timeout", livenessFields)
	if err != nil || v.kind() == kNull {
		return nil, err
	}
	pn := o.get("path")
	if pn.kind() == kNull || pn.kind() == kString && strings.TrimSpace(pn.n.Value) == "" {
		if len(o.m) > 0 {
			v.warn("ignored: it has no path")
		}
		return nil, nil
	}
	p := livenessDefaults
	if p.Path, err = probePath(pn); err != nil {
		return nil, err
	}
	if p.Port, err = probePort(o.get("port")); err != nil {
		return nil, err
	}
	return &p, probeTimes(o, &p)
}

var startupFields = fields{known: []string{"failureThreshold", "grace", "interval", "path", "successThreshold", "tcpSocketPort", "timeout"}}

// parseStartupProbe reads `startupProbe: {path | tcpSocketPort, grace,
// interval, timeout, successThreshold, failureThreshold}`; what is not set
// comes from def, the liveness check. Nil without a path or a port.
func parseStartupProbe(v val, def Probe) (*Probe, error) {
	o, err := v.object("a map with path or tcpSocketPort, grace, interval and timeout", startupFields)
	if err != nil || v.kind() == kNull {
		return nil, err
	}
	p := Probe{Grace: def.Grace, Interval: def.Interval, Timeout: def.Timeout, SuccessThreshold: def.SuccessThreshold, FailureThreshold: def.FailureThreshold}
	pn, tn := o.get("path"), o.get("tcpSocketPort")
	if pn.kind() != kNull && !(pn.kind() == kString && strings.TrimSpace(pn.n.Value) == "") {
		if p.Path, err = probePath(pn); err != nil {
			return nil, err
		}
	}
	if tn.kind() != kNull && !(tn.kind() == kString && strings.TrimSpace(tn.n.Value) == "") {
		if p.TCPPort, err = portOrNumber(tn); err != nil {
			return nil, err
		}
	}
	switch {
	case p.Path != "" && p.TCPPort != 0:
		return nil, tn.errorf("cannot be set with path: a startup probe checks one way, so keep one")
	case p.Path == "" && p.TCPPort == 0:
		if len(o.m) > 0 {
			v.warn("ignored: it has neither a path nor a tcpSocketPort")
		}
		return nil, nil
	}
	return &p, probeTimes(o, &p)
}

// probeTimes reads the times and thresholds of a liveness or startup
// check over the defaults in p; 0 is unset, as in Convox. Kubernetes
// allows only 1 success for either.
func probeTimes(o object, p *Probe) error {
	var err error
	if p.Grace, err = o.get("grace").seconds(0, 86400, p.Grace); err != nil {
		return err
	}
	for _, f := range []struct {
		key string
		dst *int
		max int
		msg string
	}{
		{"interval", &p.Interval, 3600, "must be a number of seconds between 1 and 3600"},
		{"timeout", &p.Timeout, 3600, "must be a number of seconds between 1 and 3600"},
		{"successThreshold", &p.SuccessThreshold, 1, "must be 1: Kubernetes takes one success as enough for this check"},
		{"failureThreshold", &p.FailureThreshold, 10000, "must be a whole number of failures between 1 and 10000"},
	} {
		n := *f.dst
		if err := o.get(f.key).optInt(&n, 0, f.max, f.msg); err != nil {
			return err
		}
		if n > 0 {
			*f.dst = n
		}
	}
	return nil
}
