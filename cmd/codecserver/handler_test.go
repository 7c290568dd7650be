package codecserver

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/slipway-dev/slipway/codec"
)

const ui = "http://127.0.0.1:8233"

func server(t *testing.T, token string) (*httptest.Server, *codec.Codec) {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	c, err := codec.New([]codec.Key{{ID: "k1", Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewHandler(c, Options{Origins: DefaultOrigins, Token: token, Namespace: "default"}))
	t.Cleanup(srv.Close)
	return srv, c
}

// wire is the JSON of the remote codec protocol: protobuf's JSON of
// Payloads, bytes in base64.
type wire struct {
	Payloads []struct {
		Metadata map[string][]byte `json:"metadata"`
		Data     []byte            `json:"data"`
	} `json:"payloads"`
}

func toWire(t *testing.T, ps []*commonpb.Payload) string {
	t.Helper()
	var w wire
	for _, p := range ps {
		w.Payloads = append(w.Payloads, struct {
			Metadata map[string][]byte `json:"metadata"`
			Data     []byte            `json:"data"`
		}{p.Metadata, p.Data})
	}
	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// encrypted is a request body as the UI sends it: the payloads of a
// history event.
func encrypted(t *testing.T, c *codec.Codec, value any) string {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(value)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := c.Encode([]*commonpb.Payload{p})
	if err != nil {
		t.Fatal(err)
	}
	return toWire(t, enc)
}

func do(t *testing.T, method, url, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The Temporal UI first sends a CORS preflight, then POSTs the payloads to
// /decode with the namespace in X-Namespace.
func TestDecodeAsTheUICalls(t *testing.T) {
	srv, c := server(t, "")
	resp, _ := do(t, http.MethodOptions, srv.URL+"/decode", "", map[string]string{
		"Origin": ui, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace",
	})
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != ui ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Namespace") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
	}

	resp, body := do(t, http.MethodPost, srv.URL+"/decode", encrypted(t, c, map[string]string{"TOKEN": "canary-9f"}), map[string]string{
		"Origin": ui, "Content-Type": "application/json", "X-Namespace": "default",
	})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != ui {
		t.Fatalf("decode: %s %v %s", resp.Status, resp.Header, body)
	}
	var out wire
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("decode answer %s: %v", body, err)
	}
	var got map[string]string
	if len(out.Payloads) != 1 || converter.GetDefaultDataConverter().FromPayload(&commonpb.Payload{Metadata: out.Payloads[0].Metadata, Data: out.Payloads[0].Data}, &got) != nil || got["TOKEN"] != "canary-9f" {
		t.Fatalf("decoded %s, want the TOKEN back", body)
	}

	// /encode is the other half of the protocol.
	plain, _ := converter.GetDefaultDataConverter().ToPayload("x")
	resp, body = do(t, http.MethodPost, srv.URL+"/encode", toWire(t, []*commonpb.Payload{plain}), map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "YmluYXJ5L2VuY3J5cHRlZA==") { // base64 of binary/encrypted
		t.Fatalf("encode: %s %s", resp.Status, body)
	}
}

func TestOtherOriginRefused(t *testing.T) {
	srv, _ := server(t, "")
	resp, _ := do(t, http.MethodOptions, srv.URL+"/decode", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %s %v", resp.Status, resp.Header)
	}
}

func TestOtherNamespaceRefused(t *testing.T) {
	srv, c := server(t, "")
	resp, body := do(t, http.MethodPost, srv.URL+"/decode", encrypted(t, c, "x"), map[string]string{"X-Namespace": "prod"})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, `"default"`) {
		t.Fatalf("other namespace: %s %s", resp.Status, body)
	}
}

func TestBearerToken(t *testing.T) {
	srv, c := server(t, "s3cret")
	body := encrypted(t, c, "x")
	for _, auth := range []string{"", "Bearer wrong", "s3cret"} {
		resp, _ := do(t, http.MethodPost, srv.URL+"/decode", body, map[string]string{"Authorization": auth, "X-Namespace": "default"})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: %s, want 401", auth, resp.Status)
		}
	}
	// The preflight carries no credentials and still passes.
	resp, _ := do(t, http.MethodOptions, srv.URL+"/decode", "", map[string]string{"Origin": ui, "Access-Control-Request-Method": "POST"})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("preflight with a token set: %s", resp.Status)
	}
	resp, out := do(t, http.MethodPost, srv.URL+"/decode", body, map[string]string{"Authorization": "Bearer s3cret", "X-Namespace": "default"})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("right token: %s %s", resp.Status, out)
	}
}

func TestUndecryptableIsAClearError(t *testing.T) {
	srv, _ := server(t, "")
	_, other := server(t, "")
	resp, body := do(t, http.MethodPost, srv.URL+"/decode", encrypted(t, other, "x"), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `"k1"`) {
		t.Fatalf("payload from another key: %s %s", resp.Status, body)
	}
}
