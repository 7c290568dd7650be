package render

import (
	"maps"
	"slices"

	"github.com/slipway-dev/slipway/model"
)

// Scale is a service's scale set by hand (`slipway scale`); a nil field
// leaves the manifest's value.
type Scale struct {
	Count, CPU, Memory *int32
}

// withScale is in with the scale set by hand applied to its manifest's
// services: it wins over the manifest's, so no release undoes it, and a
// count set by hand wins over the Deployment's current replicas. in's
// manifest and maps are not changed.
func withScale(in Input) Input {
	if len(in.Scale) == 0 || in.Manifest == nil {
		return in
	}
	m := *in.Manifest
	m.Services = slices.Clone(m.Services)
	in.Replicas = maps.Clone(in.Replicas)
	for i, svc := range m.Services {
		sc, ok := in.Scale[svc.Name]
		if !ok {
			continue
		}
		m.Services[i] = scaled(svc, sc)
		if sc.Count != nil {
			delete(in.Replicas, svc.Name)
		}
	}
	in.Manifest = &m
	return in
}

func scaled(svc model.Service, sc Scale) model.Service {
	if sc.Count != nil {
		svc.Scale.Count = int(*sc.Count)
		// A count by hand is a fixed count: past the autoscaler's
		// maximum, the maximum follows it.
		svc.Scale.Max = max(svc.Scale.Max, svc.Scale.Count)
	}
	if sc.CPU != nil {
		svc.Scale.CPU = int(*sc.CPU)
	}
	if sc.Memory != nil {
		svc.Scale.Memory = int(*sc.Memory)
	}
	// A limit is never below the request, which the API server refuses.
	if l := &svc.Scale.Limit; l.CPU > 0 && l.CPU < svc.Scale.CPU {
		l.CPU = svc.Scale.CPU
	}
	if l := &svc.Scale.Limit; l.Memory > 0 && l.Memory < svc.Scale.Memory {
		l.Memory = svc.Scale.Memory
	}
	return svc
}
