package builder

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestRegistriesAllowList(t *testing.T) {
	r := &Registries{Allow: SplitHosts(" ghcr.io, docker.io ,"), Own: "127.0.0.1:5000"}
	for _, ref := range []string{"ghcr.io/org/app:1", "busybox:1.36", "docker.io/library/alpine", "127.0.0.1:5000/app:web.B"} {
		if _, err := r.Parse(ref, "services.web.image"); err != nil {
			t.Errorf("%s: %v", ref, err)
		}
	}
	_, err := r.Parse("evil.example:443/loot:1", "services.web.image")
	want := "services.web.image names the registry evil.example:443, which this worker does not allow: use one of ghcr.io, docker.io, 127.0.0.1:5000, or add it to SLIPWAY_REGISTRY_ALLOW on the worker"
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant %s", err, want)
	}
	// No list: every host is allowed.
	if _, err := (&Registries{}).Parse("evil.example/loot:1", "x"); err != nil {
		t.Fatal(err)
	}
}

// Plain HTTP only for registries named insecure: go-containerregistry
// would fall back to it for any loopback or private address by itself.
func TestRegistriesPlainHTTPOnlyWhenNamedInsecure(t *testing.T) {
	reg := testRegistry(t) // an HTTP registry on 127.0.0.1
	img, err := FilesImage(map[string]string{"a": "a"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	strict := &Registries{}
	ref, err := strict.Parse(reg+"/app:1", "--registry")
	if err != nil {
		t.Fatal(err)
	}
	err = remote.Write(ref, img, strict.Options()...)
	var plain *PlainHTTPError
	if !errors.As(err, &plain) || plain.Host != reg {
		t.Fatalf("push over plain HTTP to a registry not named insecure: %v", err)
	}
	if msg := Plain(err).Error(); !strings.Contains(msg, "add it to SLIPWAY_INSECURE_REGISTRIES on the worker") || strings.Contains(msg, "\n") {
		t.Fatalf("message %q", msg)
	}

	named := &Registries{Insecure: []string{reg}}
	if ref, err = named.Parse(reg+"/app:1", "--registry"); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, named.Options()...); err != nil {
		t.Fatalf("push to a registry named insecure: %v", err)
	}
	// A host named insecure is parsed as such even off loopback, so it is
	// reached over HTTP where go-containerregistry would insist on HTTPS.
	other, _ := (&Registries{Insecure: []string{"registry.internal:5000"}}).Parse("registry.internal:5000/a:1", "x")
	if other.Context().Scheme() != "http" {
		t.Fatal("a host named insecure is not reached over HTTP")
	}
	if r, _ := name.ParseReference("registry.internal:5000/a:1"); r.Context().Scheme() != "https" {
		t.Fatal("a host not named insecure is reached over HTTP")
	}
}
