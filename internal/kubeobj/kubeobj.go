// Package kubeobj turns the typed objects slipway's installers build into
// what the dynamic client applies and what `kubectl apply -f -` reads.
package kubeobj

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Unstructured turns a typed object (with its TypeMeta set) into what the
// dynamic client applies, dropping the empty creationTimestamps and status
// that typed objects carry: applied, they would claim fields slipway does
// not set.
func Unstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// YAML is objs as one stream of YAML documents, in order.
func YAML(objs []runtime.Object) ([]byte, error) {
	var out []byte
	for _, obj := range objs {
		u, err := Unstructured(obj)
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
