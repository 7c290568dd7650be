package cmdutiltest

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	k8stesting "k8s.io/client-go/testing"
)

// Staged is the data of the Secret named name that the command created
// (env changes and build args are staged in one); it fails the test if
// there is none.
func (e *Env) Staged(t testing.TB, name string) map[string]string {
	t.Helper()
	for _, a := range e.Store.Core.Actions() {
		if c, ok := a.(k8stesting.CreateAction); ok && a.GetResource().Resource == "secrets" {
			if s := c.GetObject().(*corev1.Secret); s.Name == name {
				out := map[string]string{}
				for k, v := range s.Data {
					out[k] = string(v)
				}
				return out
			}
		}
	}
	t.Fatalf("no Secret %s was created", name)
	return nil
}
