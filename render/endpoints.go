package render

import (
	"strconv"
	"strings"

	"github.com/slipway-dev/slipway/model"
)

// Endpoint is where a service of a release is reached, as `slipway
// services` shows it.
type Endpoint struct {
	Service string
	// Domain is where clients reach it: its domains through the Ingress,
	// else its name inside the cluster; "" for a service without a port.
	Domain string
	// Ports are "443:5000" through the Ingress, "5000" inside the cluster,
	// "9000/udp" for an extra UDP port, "balancer 443:5000" for a balancer.
	Ports []string
}

// Endpoints lists the endpoints of every service of m, in its order.
func Endpoints(m *model.Manifest, namespace string) []Endpoint {
	var out []Endpoint
	for _, svc := range m.Services {
		e := Endpoint{Service: svc.Name}
		switch {
		case routed(svc):
			e.Domain = strings.Join(svc.Domains, ",")
			e.Ports = append(e.Ports, "443:"+strconv.Itoa(svc.Port))
		case svc.Port > 0 || len(svc.Ports) > 0:
			e.Domain = svc.Name + "." + namespace + ".svc.cluster.local"
		}
		if svc.Port > 0 && e.Ports == nil {
			e.Ports = append(e.Ports, strconv.Itoa(svc.Port))
		}
		for _, p := range svc.Ports {
			port := strconv.Itoa(p.Port)
			if p.Protocol == "UDP" {
				port += "/udp"
			}
			e.Ports = append(e.Ports, port)
		}
		for _, b := range m.Balancers {
			if b.Service == svc.Name {
				for _, p := range b.Ports {
					e.Ports = append(e.Ports, "balancer "+strconv.Itoa(p.Source)+":"+strconv.Itoa(p.Target))
				}
			}
		}
		out = append(out, e)
	}
	return out
}
