package config

import (
	"github.com/slipway-dev/slipway/codec"
	"github.com/slipway-dev/slipway/source"
)

// The environment variables Resolve reads. Deployments (docker-compose.yml,
// a pod spec) set them by name, so they are named once, here.
const (
	EnvHome                 = "SLIPWAY_HOME"
	EnvRack                 = "SLIPWAY_RACK"
	EnvKubeconfig           = "KUBECONFIG"
	EnvRegistry             = "SLIPWAY_REGISTRY"
	EnvBlobURL              = "SLIPWAY_BLOB_URL"
	EnvBuilder              = "SLIPWAY_BUILDER"
	EnvBuilderImage         = "SLIPWAY_BUILDER_IMAGE"
	EnvFetchImage           = "SLIPWAY_FETCH_IMAGE"
	EnvIngressClass         = "SLIPWAY_INGRESS_CLASS"
	EnvInternalIngressClass = "SLIPWAY_INTERNAL_INGRESS_CLASS"
	EnvInsecureRegistries   = "SLIPWAY_INSECURE_REGISTRIES"
	EnvRegistryAllow        = "SLIPWAY_REGISTRY_ALLOW"
)

// Env lists every variable slipway's clients and workers read themselves:
// Resolve's, the codec keys' and the worker's source caps. The Temporal
// SDK's envconfig reads the TEMPORAL_* ones (TEMPORAL_ADDRESS,
// TEMPORAL_NAMESPACE, TLS and API key settings) on top of these.
var Env = []string{
	EnvHome, EnvRack, EnvKubeconfig, EnvRegistry, EnvBlobURL,
	EnvBuilder, EnvBuilderImage, EnvFetchImage,
	EnvIngressClass, EnvInternalIngressClass,
	EnvInsecureRegistries, EnvRegistryAllow,
	codec.EnvKey, codec.EnvKeysFile,
	source.EnvMaxCompressed, source.EnvMaxExpanded, source.EnvMaxEntries,
}
