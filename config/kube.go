package config

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// RESTConfig loads the Kubernetes client configuration: the resolved
// kubeconfig if any, else client-go's usual rules (in-cluster, ~/.kube/config).
func (s *Settings) RESTConfig() (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = s.Kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if clientcmd.IsEmptyConfig(err) {
		return nil, fmt.Errorf("no Kubernetes cluster configured: run `slipway dev up`, or pass --kubeconfig")
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes config: %w (run `slipway dev up`, or pass --kubeconfig)", err)
	}
	// The CLI and worker make bursts of small reads (lists, records): the
	// default 5 QPS would throttle them for no reason on a local API server.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "slipway"
	return cfg, nil
}
