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

func parseLabels(v val) (map[string]string, error) {
	labels, keys, err := parseStringMap(v)
	if err != nil {
		return nil, err
	}
	for _, sk := range keys {
		k, kn := sk.key, sk.at
		if len(content.IsLabelKey(k)) > 0 {
			return nil, kn.errorf("invalid label key%s: %s", q(" ", truncate(k, 80)), labelKeyRule)
		}
		if ReservedLabel(k) {
			return nil, kn.errorf("label%s is set by slipway: use another key", q(" ", k))
		}
		if v := labels[k]; len(content.IsLabelValue(v)) > 0 {
			return nil, kn.errorf("invalid label value%s: use at most 63 letters, digits, \"-\", \"_\" or \".\", starting and ending with a letter or digit, or nothing", q(" ", truncate(v, 80)))
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
