package builder

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Env vars of the worker that shape Registries.
const (
	EnvInsecureRegistries = "SLIPWAY_INSECURE_REGISTRIES"
	EnvRegistryAllow      = "SLIPWAY_REGISTRY_ALLOW"
)

// Registries is the worker's policy for the registries a build talks to:
// the ones it pulls from (image:, FROM, COPY --from) and pushes to (its own,
// or --registry). A build's references come from whoever may run
// `slipway build`, so the worker decides which hosts they may name.
type Registries struct {
	// Insecure hosts (host[:port]) are reached over plain HTTP. Every other
	// host is reached over HTTPS only, even on loopback or a private
	// network, where go-containerregistry would otherwise fall back to
	// plain HTTP on its own.
	Insecure []string
	// Allow, when not empty, lists the only hosts a build may name; Own
	// (the worker's registry) is always allowed.
	Allow []string
	Own   string
}

// SplitHosts reads a comma-separated list of hosts, as the env vars hold.
func SplitHosts(s string) []string {
	var out []string
	for _, h := range strings.Split(s, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// host is a registry host as go-containerregistry names it ("docker.io"
// is "index.docker.io").
func host(h string) string {
	if r, err := name.NewRegistry(h, name.WeakValidation); err == nil {
		return r.RegistryStr()
	}
	return h
}

func hostIn(list []string, h string) bool {
	return slices.ContainsFunc(list, func(e string) bool { return host(e) == h })
}

// Parse parses an image reference and checks its host against the policy.
// what names the reference in errors ("services.web.image", "--registry").
func (r *Registries) Parse(ref, what string) (name.Reference, error) {
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return nil, err
	}
	h := parsed.Context().RegistryStr()
	if len(r.Allow) > 0 && !hostIn(r.Allow, h) && (r.Own == "" || host(r.Own) != h) {
		return nil, fmt.Errorf("%s names the registry %s, which this worker does not allow: use one of %s, or add it to %s on the worker",
			what, h, strings.Join(r.allowed(), ", "), EnvRegistryAllow)
	}
	if hostIn(r.Insecure, h) {
		return name.ParseReference(ref, name.Insecure)
	}
	return parsed, nil
}

func (r *Registries) allowed() []string {
	out := slices.Clone(r.Allow)
	if r.Own != "" && !hostIn(out, host(r.Own)) {
		out = append(out, r.Own)
	}
	return out
}

// Options are the remote options that hold the worker to HTTPS for every
// host not named insecure.
func (r *Registries) Options() []remote.Option {
	return []remote.Option{remote.WithTransport(&httpsOnly{base: remote.DefaultTransport, insecure: r.Insecure})}
}

// PlainHTTPError is a request over plain HTTP to a registry that was not
// named insecure.
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("the registry %s was reached over plain HTTP, which this worker allows only for registries named insecure: serve it over HTTPS, or add it to %s on the worker if it is on a network you trust", e.Host, EnvInsecureRegistries)
}

// Plain returns the PlainHTTPError inside err, if any: the one line worth
// showing when go-containerregistry joins it with the HTTPS attempt's.
func Plain(err error) error {
	var p *PlainHTTPError
	if errors.As(err, &p) {
		return p
	}
	return err
}

type httpsOnly struct {
	base     http.RoundTripper
	insecure []string
}

func (t *httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !hostIn(t.insecure, host(req.URL.Host)) {
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	return t.base.RoundTrip(req)
}
