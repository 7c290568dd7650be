package incluster

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Objects are the in-cluster worker's objects in the order to apply them
// (the Secret before the pods that read it); none when o.Replicas is 0.
func Objects(o Options) ([]runtime.Object, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Replicas == 0 {
		return nil, nil
	}
	secret, err := Secret(o)
	if err != nil {
		return nil, err
	}
	objs := []runtime.Object{secret, Deployment(o, secret), Service(o)}
	if pdb := DisruptionBudget(o); pdb != nil {
		objs = append(objs, pdb)
	}
	return objs, nil
}

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
	unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

// Manifests are Objects(o) as YAML documents, for `kubectl apply -f -`.
func Manifests(o Options) ([]byte, error) {
	objs, err := Objects(o)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, obj := range objs {
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
