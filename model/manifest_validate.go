package model

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

// Checks that make a parsed manifest safe to apply: what passes here is
// accepted by the Kubernetes API server, so a promotion never fails late on
// a name or a label that could have been caught when the release was made.

// reservedLabels are the label keys Convox reserves (pkg/manifest,
// ReservedLabelKeys) because it sets them itself, and the well-known key
// slipway sets on everything it renders; slipway's own selector labels
// are under ReservedLabelPrefix.
var reservedLabels = map[string]bool{
	"system": true, "rack": true, "app": true, "name": true,
	"service": true, "release": true, "type": true,
	LabelManagedBy: true,
}

// ReservedLabelPrefix is the label key prefix slipway keeps for itself.
const ReservedLabelPrefix = "slipway.dev/"

// ReservedLabel reports whether a service may not set the label key.
func ReservedLabel(key string) bool {
	return reservedLabels[key] || strings.HasPrefix(key, ReservedLabelPrefix)
}

const labelKeyRule = `use an optional DNS prefix and "/" (like "example.com/") and a name of at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`

// labelSet is a labels map as read: the label-safe entries, and those
// whose values Kubernetes refuses as label values, which go on the pods
// as annotations instead.
type labelSet struct {
	labels, moved map[string]string
}

const labelValueRule = `use at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit, or nothing`

// parseLabels reads labels. Convox copies them onto the pods' labels,
// where Kubernetes refuses a value such as "a b" or a URL; real
// manifests have them, so such a value becomes a pod annotation, with a
// warning. Keys follow the label key rules either way, and reserved keys
// are refused as Convox refuses them.
func parseLabels(v val) (labelSet, error) {
	var set labelSet
	labels, keys, err := parseStringMap(v)
	if err != nil {
		return set, err
	}
	for _, sk := range keys {
		k, kn := sk.key, sk.at
		if len(content.IsLabelKey(k)) > 0 {
			return set, kn.errorf("invalid label key%s: %s", q(" ", truncate(k, 80)), labelKeyRule)
		}
		if ReservedLabel(k) {
			return set, kn.errorf("label%s is set by slipway: use another key", q(" ", k))
		}
		if len(content.IsLabelValue(labels[k])) > 0 {
			kn.warn("not a valid Kubernetes label value: put on the pods as an annotation instead")
			if set.moved == nil {
				set.moved = map[string]string{}
			}
			set.moved[k] = labels[k]
			delete(labels, k)
		}
	}
	if len(labels) > 0 {
		set.labels = labels
	}
	return set, nil
}

// parseMetadata reads the service's annotations and labels and adds the
// top-level labels under the service's own (Convox's CombineLabels).
func parseMetadata(o object, s *Service, common labelSet) error {
	annotations, err := parseAnnotations(o.get("annotations"))
	if err != nil {
		return err
	}
	ln := o.get("labels")
	own, err := parseLabels(ln)
	if err != nil {
		return err
	}
	labels := own.labels
	moved := own.moved
	for k, v := range common.labels {
		_, setLabel := own.labels[k]
		if _, setMoved := own.moved[k]; !setLabel && !setMoved {
			if labels == nil {
				labels = map[string]string{}
			}
			labels[k] = v
		}
	}
	for k, v := range common.moved {
		if _, set := own.labels[k]; !set {
			if _, set := own.moved[k]; !set {
				if moved == nil {
					moved = map[string]string{}
				}
				moved[k] = v
			}
		}
	}
	// An annotation written as such wins over a label moved there.
	total := 0
	for k, v := range moved {
		if _, set := annotations[k]; !set {
			if annotations == nil {
				annotations = map[string]string{}
			}
			annotations[k] = v
		}
	}
	for k, v := range annotations {
		total += len(k) + len(v)
	}
	if total > MaxAnnotationsB {
		return ln.errorf("%s", fmt.Sprintf("annotations and labels moved to annotations take %d bytes, more than Kubernetes allows (%d): shorten them", total, MaxAnnotationsB))
	}
	s.Annotations, s.Labels = annotations, labels
	return nil
}

// parseNodeSelector reads nodeSelectorLabels, a map or a list of
// key=value, each a valid label: they must match the nodes' labels.
func parseNodeSelector(v val) (map[string]string, error) {
	labels, keys, err := parseStringMap(v)
	if err != nil {
		return nil, err
	}
	for _, sk := range keys {
		k, kn := sk.key, sk.at
		if len(content.IsLabelKey(k)) > 0 {
			return nil, kn.errorf("invalid label key%s: %s", q(" ", truncate(k, 80)), labelKeyRule)
		}
		if v := labels[k]; len(content.IsLabelValue(v)) > 0 {
			return nil, kn.errorf("invalid label value%s: %s", q(" ", truncate(v, 80)), labelValueRule)
		}
	}
	return labels, nil
}

func parseAnnotations(v val) (map[string]string, error) {
	annotations, keys, err := parseStringMap(v)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, sk := range keys {
		k, kn := sk.key, sk.at
		// The API server checks annotation keys in lower case.
		if len(content.IsLabelKey(strings.ToLower(k))) > 0 {
			return nil, kn.errorf("invalid annotation key%s: %s", q(" ", truncate(k, 80)), labelKeyRule)
		}
		total += len(k) + len(annotations[k])
	}
	if total > MaxAnnotationsB {
		return nil, v.errorf("%s", fmt.Sprintf("annotations take %d bytes, more than Kubernetes allows (%d): shorten them", total, MaxAnnotationsB))
	}
	return annotations, nil
}
