package system

import (
	"encoding/base64"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/slipway-dev/slipway/codec"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/incluster"
	"github.com/slipway-dev/slipway/source"
)

// passedOn are the worker's settings install hands the in-cluster workers
// only when the installer's environment sets them: left unset, the worker
// keeps its own default.
var passedOn = []string{
	config.EnvBuilder, config.EnvBuilderImage, config.EnvFetchImage,
	config.EnvIngressClass, config.EnvInternalIngressClass,
	source.EnvMaxCompressed, source.EnvMaxExpanded, source.EnvMaxEntries,
}

// workerOptions gathers what the in-cluster workers are told: the rack,
// registry, blob store and codec key as the installer resolved them (the
// local stack's included), the settings of passedOn its environment sets,
// and its Temporal profile (address and namespace as resolved, TLS and API
// key as envconfig read them) with every TLS file read in, since the pod
// has none of the installer's files.
func workerOptions(s *config.Settings, image string, replicas int32) (incluster.Options, error) {
	o := incluster.Options{Rack: s.Rack, Image: image, Replicas: replicas, Env: map[string]string{config.EnvRack: s.Rack}}
	if o.Replicas <= 0 {
		return o, o.Validate()
	}
	if o.Image == "" && s.Registry != "" {
		o.Image = incluster.DefaultImage(s.Registry, version())
	}
	set := func(k, v string) {
		if v != "" {
			o.Env[k] = v
		}
	}
	set(config.EnvRegistry, s.Registry)
	set(config.EnvBlobURL, s.BlobURL)
	set(config.EnvInsecureRegistries, strings.Join(s.InsecureRegistries, ","))
	set(config.EnvRegistryAllow, strings.Join(s.RegistryAllow, ","))
	for _, k := range passedOn {
		set(k, os.Getenv(k))
	}
	var stackKeys string
	if s.Stack != nil {
		stackKeys = s.Stack.CodecKeysFile
	}
	keys, err := codec.LoadKeys(stackKeys)
	if err != nil {
		return o, err
	}
	set(codec.EnvKey, keyList(keys))
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{})
	if err != nil {
		return o, fmt.Errorf("temporal config: %w (check TEMPORAL_PROFILE and TEMPORAL_CONFIG_FILE)", err)
	}
	prof.Address, prof.Namespace = s.Temporal.HostPort, s.Temporal.Namespace
	if prof.TLS != nil {
		if err := inline(prof.TLS); err != nil {
			return o, err
		}
	}
	o.Temporal = prof
	return o, o.Validate()
}

// inline replaces the TLS files a profile names with their contents.
func inline(t *envconfig.ClientConfigTLS) error {
	for _, f := range []struct {
		path *string
		data *[]byte
		what string
	}{
		{&t.ClientCertPath, &t.ClientCertData, "client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH, client_cert_path)"},
		{&t.ClientKeyPath, &t.ClientKeyData, "client key (TEMPORAL_TLS_CLIENT_KEY_PATH, client_key_path)"},
		{&t.ServerCACertPath, &t.ServerCACertData, "server CA (TEMPORAL_TLS_SERVER_CA_CERT_PATH, server_ca_cert_path)"},
	} {
		if *f.path == "" {
			continue
		}
		b, err := os.ReadFile(*f.path)
		if err != nil {
			return fmt.Errorf("Temporal TLS %s: %w: fix the path, or give the contents (…_DATA, …_data)", f.what, err)
		}
		*f.data, *f.path = b, ""
	}
	return nil
}

// keyList writes keys as SLIPWAY_CODEC_KEY reads them, oldest first, so
// the workers encrypt with the installer's newest key.
func keyList(keys []codec.Key) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.ID + ":" + base64.StdEncoding.EncodeToString(k.Secret)
	}
	return strings.Join(out, ",")
}

// version is this binary's module version, which names the default image's
// tag when it is a release.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}
