package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/slipway-dev/slipway/model"
)

// LabelReleasePhase marks the one-off pod of a service's release command
// and names the promotion that runs it. The pod also carries LabelRun,
// so no Deployment adopts it and no rollout watch counts it.
const LabelReleasePhase = "slipway.dev/release-phase"

// ReleasePhaseName is the pod of service's release command for release:
// the same for every attempt of a promotion, so a retried attempt finds
// the pod its predecessor made instead of running the command twice.
func ReleasePhaseName(service, release string) string {
	suffix := "-release-" + strings.ToLower(release)
	if len(service)+len(suffix) <= 63 {
		return service + suffix
	}
	// A long service name is cut and told apart by a hash of it.
	sum := sha256.Sum256([]byte(service))
	keep := 63 - len(suffix) - 9
	return strings.TrimRight(service[:keep], "-") + "-" + hex.EncodeToString(sum[:4]) + suffix
}

// ReleasePhase is the one-off process that runs a service's release
// command during promotion of in.Release.
func ReleasePhase(in Input, svc model.Service, deadline int64) (OneOff, error) {
	args, err := model.SplitCommand(svc.Release)
	if err != nil {
		// Never quote the command: it may hold env values.
		return OneOff{}, fmt.Errorf("services.%s.release: %v", svc.Name, err)
	}
	if len(args) == 0 {
		return OneOff{}, fmt.Errorf("services.%s has no release command", svc.Name)
	}
	return OneOff{Input: in, Service: svc.Name, Name: ReleasePhaseName(svc.Name, in.Release), Args: args, Deadline: deadline}, nil
}

// ReleasePhasePod is the pod of o (see OneOffPod), marked with the
// promotion that runs it.
func ReleasePhasePod(o OneOff, promotion string) (*corev1.Pod, error) {
	p, err := OneOffPod(o)
	if err != nil {
		return nil, err
	}
	p.Labels[LabelReleasePhase] = promotion
	return p, nil
}
