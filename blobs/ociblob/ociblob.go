// Package ociblob is a gocloud.dev blob driver that keeps objects in an OCI
// registry, so a rack whose CLI and workers already reach a registry needs
// no shared filesystem and no cloud bucket for build sources and logs.
//
// A bucket is one repository: oci://registry.example.com/slipway/blobs.
// Each object is an OCI artifact in it: a manifest of artifact type
// application/vnd.slipway.blob.v1 with the empty config and one layer that
// holds the bytes, tagged with a hash of the key (keys such as
// apps/web/builds/B1/log are not valid tags) and carrying the key and the
// attributes as annotations.
//
// Registries are reached over HTTPS, with the credentials of the Docker
// config (authn.DefaultKeychain), as slipway's builds reach them. Plain HTTP
// is used only for a host named in SLIPWAY_INSECURE_REGISTRIES or a URL with
// ?insecure=true.
package ociblob

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"gocloud.dev/blob"
)

// Scheme is the URL scheme of registry buckets.
const Scheme = "oci"

// EnvInsecureRegistries names the hosts (host[:port], comma-separated)
// reached over plain HTTP: the same list slipway's builds honour.
const EnvInsecureRegistries = "SLIPWAY_INSECURE_REGISTRIES"

func init() {
	blob.DefaultURLMux().RegisterBucket(Scheme, &URLOpener{})
}

// URLOpener opens oci:// URLs: oci://HOST[:PORT]/REPOSITORY[?insecure=true].
type URLOpener struct {
	// Insecure hosts are reached over plain HTTP; nil means
	// $SLIPWAY_INSECURE_REGISTRIES.
	Insecure []string
	// Keychain finds the registry's credentials; nil means the Docker
	// config's (authn.DefaultKeychain).
	Keychain authn.Keychain
}

// OpenBucketURL opens the repository the URL names. It does not reach the
// registry: the first read or write does.
func (o *URLOpener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	opts := Options{Insecure: o.Insecure, Keychain: o.Keychain}
	if opts.Insecure == nil {
		opts.Insecure = splitHosts(os.Getenv(EnvInsecureRegistries))
	}
	for k, v := range u.Query() {
		switch k {
		case "insecure":
			switch strings.Join(v, ",") {
			case "true", "1":
				opts.Insecure = append(slices.Clone(opts.Insecure), u.Host)
			case "false", "0":
			default:
				return nil, fmt.Errorf("%s: insecure=%s is not a boolean: use insecure=true for a registry served over plain HTTP", redact(u), strings.Join(v, ","))
			}
		default:
			return nil, fmt.Errorf("%s: unknown option %q: the only option is insecure=true (plain HTTP)", redact(u), k)
		}
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s: credentials do not go in the URL: `docker login %s` (the Docker config is where slipway finds them)", redact(u), u.Host)
	}
	repo := strings.Trim(u.Path, "/")
	if u.Host == "" || repo == "" {
		return nil, fmt.Errorf("%s: name a registry and a repository, as oci://registry.example.com/slipway/blobs", redact(u))
	}
	drv, err := openBucket(u.Host+"/"+repo, opts)
	if err != nil {
		return nil, err
	}
	return blob.NewBucket(drv), nil
}

// Options shape a bucket.
type Options struct {
	Insecure []string
	Keychain authn.Keychain
}

// OpenBucket opens the repository (host[:port]/path) as a bucket.
func OpenBucket(repository string, opts Options) (*blob.Bucket, error) {
	drv, err := openBucket(repository, opts)
	if err != nil {
		return nil, err
	}
	return blob.NewBucket(drv), nil
}

func openBucket(repository string, opts Options) (*bucket, error) {
	var nameOpts []name.Option
	host, _, _ := strings.Cut(repository, "/")
	if hostIn(opts.Insecure, host) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	repo, err := name.NewRepository(repository, append(nameOpts, name.StrictValidation)...)
	if err != nil {
		return nil, fmt.Errorf("oci://%s is not a registry repository (%v): use oci://HOST[:PORT]/PATH with a lower-case path", repository, err)
	}
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	return &bucket{c: newClient(repo, opts.Keychain, opts.Insecure), cache: newLayerCache()}, nil
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

func splitHosts(s string) []string {
	var out []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// regHost is a host as go-containerregistry names it ("docker.io" is
// "index.docker.io").
func regHost(h string) string {
	if r, err := name.NewRegistry(h, name.WeakValidation); err == nil {
		return r.RegistryStr()
	}
	return h
}

func hostIn(list []string, h string) bool {
	h = regHost(h)
	return slices.ContainsFunc(list, func(e string) bool { return regHost(e) == h })
}
