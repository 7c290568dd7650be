package cmdutil

import (
	"context"
	"os/user"

	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Actor is who runs this command, for the records and the workflow's memo:
// the Kubernetes identity the API server sees (a SelfSubjectReview), which
// is what RBAC judges; else the OS user. It is asked once per command.
func (f *Factory) Actor(ctx context.Context) string {
	if f.actor != "" {
		return f.actor
	}
	f.actor = "unknown"
	if s, err := f.Store(); err == nil {
		r, err := s.Core.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err == nil && r.Status.UserInfo.Username != "" {
			f.actor = r.Status.UserInfo.Username
			return f.actor
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		f.actor = u.Username
	}
	return f.actor
}
