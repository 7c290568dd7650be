package model

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// How traffic reaches a service: its port and scheme, extra ports, domains
// and what its Ingress does.

const portMsg = "must be a number between 1 and 65535"

// parseRouting reads port, ports, domain, internal, internalRouter,
// sticky, tls, timeout, whitelist and ingressAnnotations.
func parseRouting(o object, s *Service) error {
	pn := o.get("port")
	port, scheme, err := parsePortScheme(pn, "port")
	if err != nil {
		return err
	}
	s.Port = port
	if port > 0 {
		s.Scheme = cmp.Or(scheme, "http")
	} else if scheme != "" {
		return pn.errorf("needs a port number as well as the scheme: write %s:PORT", scheme)
	}
	if s.Ports, err = parsePorts(o.get("ports"), s.Port); err != nil {
		return err
	}
	if s.Domains, err = parseDomains(o.get("domain")); err != nil {
		return err
	}
	if s.Domains != nil && s.Port == 0 {
		o.get("domain").warn("ignored: the service has no port to route to")
		s.Domains = nil
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"internal", &s.Internal}, {"internalRouter", &s.InternalRouter}, {"sticky", &s.Sticky}} {
		if err := o.get(f.key).boolean(f.dst); err != nil {
			return err
		}
	}
	if s.Internal && s.InternalRouter {
		return o.get("internalRouter").errorf("cannot be true with internal: true: internal keeps the service off every router, so set one of them")
	}
	if s.TLS, err = parseTLS(o.get("tls")); err != nil {
		return err
	}
	if s.Timeout, err = o.get("timeout").seconds(0, 3600, DefaultTimeout); err != nil {
		return err
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout // Convox reads 0 as unset
	}
	if s.Whitelist, err = parseWhitelist(o.get("whitelist")); err != nil {
		return err
	}
	s.IngressAnnotations, err = parseAnnotations(o.get("ingressAnnotations"))
	return err
}

var portSchemeFields = fields{known: []string{"port", "scheme"}}

// parsePortScheme reads Convox's port forms: 5000, "5000", "https:3000"
// and {port: 3000, scheme: https}. The scheme is lower-case, "" when not
// written. A port that an env value left empty is an error: the key is
// named, since the field was clearly meant to be set.
func parsePortScheme(v val, field string) (int, string, error) {
	switch v.kind() {
	case kNull:
		// Written, but empty: only an env value can do that here.
		if v.n != nil && len(v.d.t.keysAt(v.path)) > 0 {
			return 0, "", v.errorf("is empty: give a number between 1 and 65535, or leave the %s out", field)
		}
		return 0, "", nil
	case kNumber:
		p, err := v.integer(1, 65535, portMsg)
		return p, "", err
	case kString:
		return portString(v, v.n.Value)
	case kMap:
		o, err := v.object("", portSchemeFields)
		if err != nil {
			return 0, "", err
		}
		pn := o.get("port")
		var port int
		var scheme string
		switch pn.kind() {
		case kNull:
			return 0, "", v.errorf("needs a port: write {port: 3000, scheme: https}")
		case kString:
			port, scheme, err = portString(pn, pn.n.Value)
		default:
			port, err = pn.integer(1, 65535, portMsg)
		}
		if err != nil {
			return 0, "", err
		}
		if sn := o.get("scheme"); sn.kind() != kNull {
			sc, err := sn.str("a scheme")
			if err != nil {
				return 0, "", err
			}
			if scheme, err = checkScheme(sn, sc); err != nil {
				return 0, "", err
			}
		}
		return port, scheme, nil
	}
	return 0, "", v.errorf("%s", portMsg)
}

// portString reads "5000" or "scheme:5000".
func portString(v val, text string) (int, string, error) {
	scheme, num, hasScheme := strings.Cut(strings.TrimSpace(text), ":")
	if !hasScheme {
		num, scheme = scheme, ""
	}
	p, err := strconv.Atoi(num)
	if err != nil || p < 1 || p > 65535 {
		return 0, "", v.errorf("must be a port between 1 and 65535, optionally after a scheme like https:3000%s", q(", not ", text))
	}
	if hasScheme {
		if scheme, err = checkScheme(v, scheme); err != nil {
			return 0, "", err
		}
	}
	return p, scheme, nil
}

func checkScheme(v val, scheme string) (string, error) {
	switch l := strings.ToLower(scheme); l {
	case "http", "https", "grpc":
		return l, nil
	}
	return "", v.errorf("unknown scheme%s: use http, https or grpc", q(" ", scheme))
}

var portProtocolFields = fields{known: []string{"port", "protocol"}}

// parsePorts reads Convox's extra ports: 5000, "5000/udp" or {port: 5000,
// protocol: udp}. A TCP port equal to the main port is dropped, as Convox
// drops it: the main port wins.
func parsePorts(v val, main int) ([]ServicePort, error) {
	items, err := v.items("a list of ports like 5000 or \"5000/udp\"")
	if err != nil {
		return nil, err
	}
	var out []ServicePort
	for _, in := range items {
		p := ServicePort{Protocol: "TCP"}
		proto := ""
		switch in.kind() {
		case kNumber:
			p.Port, err = in.integer(1, 65535, portMsg)
		case kString:
			num, pr, _ := strings.Cut(in.n.Value, "/")
			proto = pr
			if p.Port, err = strconv.Atoi(strings.TrimSpace(num)); err != nil || p.Port < 1 || p.Port > 65535 {
				err = in.errorf("must be a port between 1 and 65535, optionally with a protocol like 5000/udp%s", q(", not ", in.n.Value))
			}
		case kMap:
			var o object
			if o, err = in.object("", portProtocolFields); err != nil {
				return nil, err
			}
			if err = o.get("port").optInt(&p.Port, 1, 65535, portMsg); err == nil && p.Port == 0 {
				err = in.errorf("needs a port: write {port: 5000, protocol: udp}")
			}
			if pn := o.get("protocol"); err == nil && pn.kind() != kNull {
				proto, err = pn.str("tcp or udp")
			}
		default:
			err = in.errorf("must be a port like 5000 or \"5000/udp\", not %s", in.kind())
		}
		if err != nil {
			return nil, err
		}
		switch strings.ToLower(strings.TrimSpace(proto)) {
		case "", "tcp":
		case "udp":
			p.Protocol = "UDP"
		default:
			return nil, in.errorf("unknown protocol%s: use tcp or udp", q(" ", proto))
		}
		if p.Port == main && p.Protocol == "TCP" {
			continue
		}
		out, err = joinPorts(in, out, []ServicePort{p})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// joinPorts adds more to ports, sorted by port then protocol; a port
// listed twice is an error at v.
func joinPorts(v val, ports, more []ServicePort) ([]ServicePort, error) {
	for _, p := range more {
		i, found := slices.BinarySearchFunc(ports, p, comparePorts)
		if found {
			return nil, v.errorf("port %d/%s is listed twice: keep one", p.Port, strings.ToLower(p.Protocol))
		}
		ports = slices.Insert(ports, i, p)
	}
	return ports, nil
}

func comparePorts(a, b ServicePort) int {
	if a.Port != b.Port {
		return a.Port - b.Port
	}
	return strings.Compare(a.Protocol, b.Protocol)
}

// parseDomains reads `domain`: a name, names separated by commas, or a
// list. Names are trimmed, empty ones dropped (so an unset ${HOST} means
// no domain, as in Convox), lower-cased and kept once.
func parseDomains(v val) ([]string, error) {
	var out []string
	add := func(at val, d string) error {
		d = strings.ToLower(strings.TrimSpace(d))
		if d == "" || slices.Contains(out, d) {
			return nil
		}
		if len(content.IsDNS1123Subdomain(strings.TrimPrefix(d, "*."))) > 0 {
			return at.errorf("invalid domain%s: use a DNS name like app.example.org (a leading \"*.\" is allowed)", q(" ", truncate(d, 80)))
		}
		out = append(out, d)
		return nil
	}
	switch v.kind() {
	case kNull:
		return nil, nil
	case kString:
		for _, d := range strings.Split(v.n.Value, ",") {
			if err := add(v, d); err != nil {
				return nil, err
			}
		}
	case kList:
		items, _ := v.items("")
		for _, in := range items {
			if in.kind() == kNull {
				continue
			}
			d, err := in.str("a domain name")
			if err != nil {
				return nil, err
			}
			if err := add(in, d); err != nil {
				return nil, err
			}
		}
	default:
		return nil, v.errorf("must be a domain name or a list of them, not %s", v.kind())
	}
	return out, nil
}

var tlsFields = fields{known: []string{"redirect"}}

func parseTLS(v val) (TLS, error) {
	t := TLS{Redirect: true}
	o, err := v.object("a map with redirect", tlsFields)
	if err == nil {
		err = o.get("redirect").boolean(&t.Redirect)
	}
	return t, err
}

// parseWhitelist reads CIDR blocks: one string with commas (Convox's
// form) or a list. A bare address is its own block (/32 or /128), as the
// ingress controller reads it.
func parseWhitelist(v val) ([]string, error) {
	var out []string
	add := func(at val, c string) error {
		c = strings.TrimSpace(c)
		if c == "" {
			return nil
		}
		if !strings.Contains(c, "/") {
			ip := net.ParseIP(c)
			switch {
			case ip == nil:
			case ip.To4() != nil:
				c += "/32"
			default:
				c += "/128"
			}
		}
		if _, _, err := net.ParseCIDR(c); err != nil {
			return at.errorf("invalid CIDR block%s: write one like 10.0.0.0/8 or 203.0.113.7", q(" ", truncate(c, 60)))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
		return nil
	}
	switch v.kind() {
	case kNull:
		return nil, nil
	case kString:
		for _, c := range strings.Split(v.n.Value, ",") {
			if err := add(v, c); err != nil {
				return nil, err
			}
		}
	case kList:
		items, _ := v.items("")
		for _, in := range items {
			c, err := in.str("a CIDR block")
			if err != nil {
				return nil, err
			}
			if err := add(in, c); err != nil {
				return nil, err
			}
		}
	default:
		return nil, v.errorf("must be CIDR blocks separated by commas, or a list of them, not %s", v.kind())
	}
	return out, nil
}

// portOrNumber reads a port written as a number or a numeric string, for
// fields Convox keeps as text (startupProbe.tcpSocketPort).
func portOrNumber(v val) (int, error) {
	if v.kind() == kString {
		p, err := strconv.Atoi(strings.TrimSpace(v.n.Value))
		if err != nil || p < 1 || p > 65535 {
			return 0, v.errorf("%s%s", portMsg, q(", not ", v.n.Value))
		}
		return p, nil
	}
	return v.integer(1, 65535, portMsg)
}
