package worker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/slipway-dev/slipway/config"
)

// The worker's Kubernetes clients have no client-side rate limit: one
// worker serves every app's promotions at once, and a shared limit turned
// that load into requests failed at their deadlines.
func TestActivitiesClientsHaveNoRateLimit(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	acts, err := NewActivities(context.Background(), &config.Settings{Kubeconfig: kubeconfig, BlobURL: "mem://", Rack: "slipway"})
	if err != nil {
		t.Fatal(err)
	}
	if rl := acts.Store.Core.CoreV1().RESTClient().GetRateLimiter(); rl != nil {
		t.Errorf("the worker's Kubernetes client has a rate limiter (%T, %v QPS)", rl, rl.QPS())
	}
}
