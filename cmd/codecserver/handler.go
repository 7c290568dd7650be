package codecserver

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"slices"

	"go.temporal.io/sdk/converter"
)

// Options shape the codec server's HTTP handler.
type Options struct {
	// Origins may call from a browser (the Temporal UI's origin); "*"
	// allows any.
	Origins []string
	// Token, when set, must come as "Authorization: Bearer <token>".
	Token string
	// Namespace, when set, is the one Temporal namespace served: a
	// request whose X-Namespace names another is refused.
	Namespace string
}

// NewHandler serves Temporal's remote codec protocol for c: POST /encode
// and /decode with {"payloads": [...]}, as the Temporal UI and CLI call it,
// plus GET /health for probes.
func NewHandler(c converter.PayloadCodec, o Options) http.Handler {
	codec := converter.NewPayloadCodecHTTPHandler(c)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && (slices.Contains(o.Origins, origin) || slices.Contains(o.Origins, "*"))
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			h.Set("Access-Control-Max-Age", "600")
			h.Add("Vary", "Origin")
		}
		switch {
		case r.Method == http.MethodOptions:
			// A browser's preflight carries no credentials: answer it
			// for allowed origins only.
			if !allowed {
				http.Error(w, fmt.Sprintf("origin %q may not call this codec server: start it with --cors-origin %s", origin, origin), http.StatusForbidden)
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		case r.Method == http.MethodGet && r.URL.Path == "/health":
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		if o.Token != "" && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+o.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="slipway codec"`)
			http.Error(w, "missing or wrong bearer token: send Authorization: Bearer <the --token or $SLIPWAY_CODEC_TOKEN of the codec server>", http.StatusUnauthorized)
			return
		}
		if ns := r.Header.Get("X-Namespace"); o.Namespace != "" && ns != "" && ns != o.Namespace {
			http.Error(w, fmt.Sprintf("this codec server serves namespace %q, not %q: start one with --namespace %s", o.Namespace, ns, ns), http.StatusForbidden)
			return
		}
		codec.ServeHTTP(w, r)
	})
}
