package ociblob

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"gocloud.dev/blob/driver"
	"gocloud.dev/blob/drivertest"
)

type harness struct{ host string }

func (h *harness) MakeDriver(context.Context) (driver.Bucket, error) {
	b, err := openBucket(h.host+"/conformance/bucket", Options{Insecure: []string{h.host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		return nil, err
	}
	// The suite signs a GET URL for a key before the object exists, and
	// PUTs through a signed URL: a URL that names the bytes by their
	// digest can do neither. TestSignedURLAnonymousPull,
	// TestSignedURLPrivateRegistry and TestDistribution test what this
	// driver signs instead.
	b.noSignedURL = true
	return b, nil
}

// A repository exists once something is pushed to it: there is no
// nonexistent bucket to open.
func (h *harness) MakeDriverForNonexistentBucket(context.Context) (driver.Bucket, error) {
	return nil, nil
}
func (h *harness) HTTPClient() *http.Client         { return http.DefaultClient }
func (h *harness) SupportsCopy() bool               { return true }
func (h *harness) SupportsNonSlashDelimiters() bool { return true }
func (h *harness) Close()                           {}

// gocloud's own conformance suite: reads, ranges, writes, attributes,
// metadata, MD5, listing with delimiters and pages, copy, delete, odd
// keys, IfNotExist.
func TestConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return &harness{host: newRegistry(t, nil)}, nil
	}, nil)
}
