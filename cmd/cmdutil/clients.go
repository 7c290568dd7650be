package cmdutil

import (
	"context"
	"fmt"
	"os/user"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"gocloud.dev/blob"
	authv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records"
)

// New returns the Factory of the real clients on the given streams. Each
// is built once, on first use, from the settings the global flags and the
// environment resolve to.
func New(io *IOStreams) *Factory {
	f := &Factory{IO: io, Now: time.Now}
	f.Settings = sync.OnceValues(func() (*config.Settings, error) { return config.Resolve(f.Overrides) })
	var dialed client.Client
	f.Temporal = sync.OnceValues(func() (client.Client, error) {
		s, err := f.Settings()
		if err != nil {
			return nil, err
		}
		dialed, err = dial(s)
		return dialed, err
	})
	f.Store = sync.OnceValues(func() (*records.Store, error) {
		s, err := f.Settings()
		if err != nil {
			return nil, err
		}
		rc, err := s.RESTConfig()
		if err != nil {
			return nil, err
		}
		return records.NewStore(rc, s.Rack)
	})
	f.Blobs = func(ctx context.Context) (*blob.Bucket, error) {
		s, err := f.Settings()
		if err != nil {
			return nil, err
		}
		return blobs.Open(ctx, s.BlobURL, s.InsecureRegistries)
	}
	var actor string
	f.Actor = func(ctx context.Context) string {
		if actor == "" {
			actor = whoAmI(ctx, f.Store)
		}
		return actor
	}
	f.Close = func() {
		if dialed != nil {
			dialed.Close()
		}
	}
	return f
}

// dial connects to Temporal, or says how to get one. The SDK's reason is
// kept: it tells nothing listening from a server that wants TLS or a
// client certificate ("tls: certificate required").
func dial(s *config.Settings) (client.Client, error) {
	opts := s.Temporal
	opts.Logger = quietLogger()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s: %v: run `slipway dev up`, or set TEMPORAL_ADDRESS, and for a server that requires TLS the TEMPORAL_TLS_* variables or a TEMPORAL_PROFILE", opts.HostPort, err)
	}
	return c, nil
}

// whoAmI is the Kubernetes identity the API server sees (a
// SelfSubjectReview), which is what RBAC judges; else the OS user.
func whoAmI(ctx context.Context, store func() (*records.Store, error)) string {
	if s, err := store(); err == nil {
		r, err := s.Core.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err == nil && r.Status.UserInfo.Username != "" {
			return r.Status.UserInfo.Username
		}
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}
