package cmdutil

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/records"
)

// StageSecret writes values a workflow will read (env changes, build
// args) to a Secret in the app's namespace: values never travel through
// Temporal, whose history anyone with UI access can read.
func StageSecret(ctx context.Context, s *records.Store, a *records.App, name string, values map[string]string) error {
	data := make(map[string][]byte, len(values))
	for k, v := range values {
		data[k] = []byte(v)
	}
	_, err := s.Core.CoreV1().Secrets(a.Namespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{records.LabelApp: a.Name}},
		Data:       data,
	}, metav1.CreateOptions{})
	return KubeError(err)
}
