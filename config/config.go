// Package config resolves where slipway finds Temporal, Kubernetes, the image
// registry and the blob store. The local stack's settings are the defaults;
// the usual overrides win: flags, KUBECONFIG, TEMPORAL_ADDRESS and the
// Temporal SDK's envconfig profiles.
package config

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/slipway-dev/slipway/codec"
)

const (
	// TaskQueue is the one task queue slipway's workers poll.
	TaskQueue = "slipway"
	// DefaultRack prefixes every app namespace: <rack>-<app>.
	DefaultRack = "slipway"
)

// Home is the folder of slipway's local state: $SLIPWAY_HOME, else ~/.slipway.
func Home() string {
	if h := os.Getenv(EnvHome); h != "" {
		return h
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".slipway")
	}
	return ".slipway"
}

// Overrides are the connection flags a command was given.
type Overrides struct {
	Kubeconfig      string
	TemporalAddress string
	Namespace       string
}

// Settings are everything a slipway client or worker connects to.
type Settings struct {
	Temporal   client.Options
	Kubeconfig string // empty means in-cluster or client-go's defaults
	Rack       string
	Registry   string // host:port of the image registry
	BlobURL    string // gocloud.dev bucket URL for sources and logs
	// Builder is the default builder (local or kubernetes); JobImage and
	// FetchImage are the kubernetes builder's images.
	Builder, JobImage, FetchImage string
	Stack                         *Stack // the local stack, when one has been brought up
	// InsecureRegistries (host[:port]) are the only registries reached
	// over plain HTTP: $SLIPWAY_INSECURE_REGISTRIES, comma-separated, plus
	// the local stack's own. RegistryAllow, when not empty, lists the only
	// registries a build may pull from or push to
	// ($SLIPWAY_REGISTRY_ALLOW; the worker's Registry is always allowed).
	InsecureRegistries, RegistryAllow []string
	// IngressClass and InternalIngressClass route services with domains:
	// $SLIPWAY_INGRESS_CLASS (default "nginx") and
	// $SLIPWAY_INTERNAL_INGRESS_CLASS (default "nginx-internal") for those
	// marked internalRouter.
	IngressClass, InternalIngressClass string
	// Codec encrypts Temporal payloads; nil when no key is configured
	// (SLIPWAY_CODEC_KEY, SLIPWAY_CODEC_KEYS_FILE or the local stack's).
	Codec *codec.Codec
}

// Resolve merges the local stack's settings with the overrides, in this
// order of precedence: flags, environment and Temporal profiles, local stack.
func Resolve(o Overrides) (*Settings, error) {
	stack, err := LoadStack(Home())
	if err != nil {
		return nil, err
	}
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{})
	if err != nil {
		return nil, fmt.Errorf("temporal config: %w (check TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE)", err)
	}
	s := &Settings{Rack: cmp.Or(os.Getenv(EnvRack), DefaultRack), Stack: stack}
	var local Stack
	if stack != nil {
		local = *stack
	}
	prof.Address = cmp.Or(o.TemporalAddress, prof.Address, local.TemporalAddress, "localhost:7233")
	prof.Namespace = cmp.Or(o.Namespace, prof.Namespace, "default")
	s.Temporal, err = prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
	if err != nil {
		return nil, fmt.Errorf("temporal config: %w", err)
	}
	if err := s.useCodec(local.CodecKeysFile); err != nil {
		return nil, err
	}
	s.Kubeconfig = cmp.Or(o.Kubeconfig, os.Getenv(EnvKubeconfig), local.Kubeconfig)
	s.Registry = cmp.Or(os.Getenv(EnvRegistry), local.Registry)
	s.BlobURL = cmp.Or(os.Getenv(EnvBlobURL), local.BlobURL)
	s.Builder = cmp.Or(os.Getenv(EnvBuilder), "local")
	s.JobImage = cmp.Or(os.Getenv(EnvBuilderImage), "gcr.io/kaniko-project/executor:v1.23.2")
	s.FetchImage = cmp.Or(os.Getenv(EnvFetchImage), "busybox:1.36")
	s.IngressClass = cmp.Or(os.Getenv(EnvIngressClass), "nginx")
	s.InternalIngressClass = cmp.Or(os.Getenv(EnvInternalIngressClass), "nginx-internal")
	s.InsecureRegistries = hosts(os.Getenv(EnvInsecureRegistries))
	if local.Registry != "" && !slices.Contains(s.InsecureRegistries, local.Registry) {
		// The local stack's registry serves plain HTTP on loopback.
		s.InsecureRegistries = append(s.InsecureRegistries, local.Registry)
	}
	s.RegistryAllow = hosts(os.Getenv(EnvRegistryAllow))
	return s, nil
}

// useCodec encrypts every payload and failure message the client or worker
// hands Temporal, when a codec key is configured: workflow inputs carry
// release env and errors may name what went wrong with it.
func (s *Settings) useCodec(stackKeys string) error {
	keys, err := codec.LoadKeys(stackKeys)
	if err != nil {
		return err
	}
	if keys == nil {
		// Nothing to encrypt with; an encrypted payload still fails
		// saying which key it needs.
		s.Temporal.DataConverter = converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec.NoKey{})
		return nil
	}
	if s.Codec, err = codec.New(keys); err != nil {
		return err
	}
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), s.Codec)
	s.Temporal.DataConverter = dc
	s.Temporal.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: dc, EncodeCommonAttributes: true,
	})
	return nil
}

// hosts splits a comma-separated list of registry hosts.
func hosts(list string) []string {
	var out []string
	for _, h := range strings.Split(list, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// Custom search attributes (Keyword) on every run, so the Temporal UI can
// list an app's history: `SlipwayApp="myapp"`.
const (
	SearchApp     = "SlipwayApp"
	SearchRelease = "SlipwayRelease"
	SearchBuild   = "SlipwayBuild"
)

// SearchAttributes are registered when the local stack starts.
var SearchAttributes = []string{SearchApp, SearchRelease, SearchBuild}
