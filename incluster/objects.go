package incluster

import (
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/slipway-dev/slipway/internal/kubeobj"
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

// Manifests are Objects(o) as YAML documents, for `kubectl apply -f -`.
func Manifests(o Options) ([]byte, error) {
	objs, err := Objects(o)
	if err != nil {
		return nil, err
	}
	return kubeobj.YAML(objs)
}
