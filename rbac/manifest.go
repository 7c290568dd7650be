package rbac

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// toUnstructured turns a typed object (with its TypeMeta set) into what
// the dynamic client applies, dropping the empty creationTimestamp and
// status that typed objects carry.
func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// Manifests returns Objects(rack) and AdmissionPolicies(rack) as YAML
// documents, for `kubectl apply -f -`.
func Manifests(rack string) ([]byte, error) {
	var out []byte
	for _, obj := range append(Objects(rack), AdmissionPolicies(rack)...) {
		u, err := toUnstructured(obj)
		if err != nil {
			return nil, err
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
		}
		out = append(append(out, "---\n"...), b...)
	}
	return out, nil
}
