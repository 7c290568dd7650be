package blobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// An oci:// bucket speaks plain HTTP to exactly the registries Open is
// told are insecure, and HTTPS to every other.
func TestOpenTrustsTheGivenInsecureRegistries(t *testing.T) {
	var plain atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain.Add(1)
		http.NotFound(w, r)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	t.Setenv("SLIPWAY_INSECURE_REGISTRIES", "")
	ctx := context.Background()

	for _, c := range []struct {
		insecure  []string
		wantPlain bool
	}{
		{nil, false},
		{[]string{"elsewhere:5000"}, false},
		{[]string{"elsewhere:5000", host}, true},
	} {
		plain.Store(0)
		b, err := Open(ctx, "oci://"+host+"/slipway/blobs", c.insecure)
		if err != nil {
			t.Fatalf("insecure %v: %v", c.insecure, err)
		}
		_, _ = b.Exists(ctx, "apps/a/builds/B1/log")
		b.Close()
		if got := plain.Load() > 0; got != c.wantPlain {
			t.Errorf("insecure %v: plain HTTP requests reached the registry: %v, want %v", c.insecure, got, c.wantPlain)
		}
	}
}

func TestOpenWithoutURL(t *testing.T) {
	if _, err := Open(context.Background(), "", nil); err == nil || !strings.Contains(err.Error(), "SLIPWAY_BLOB_URL") {
		t.Fatalf("Open without a URL: %v, want an error naming SLIPWAY_BLOB_URL", err)
	}
}
