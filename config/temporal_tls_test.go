package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/slipway-dev/slipway/codec"
)

// temporalEnv clears every setting Resolve reads for Temporal and points
// the SDK's config file at file, with TEMPORAL_PROFILE=profile.
func temporalEnv(t *testing.T, file, profile string) {
	t.Helper()
	t.Setenv("SLIPWAY_HOME", t.TempDir())
	for _, k := range []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
		"TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
		"TEMPORAL_TLS_SERVER_NAME", codec.EnvKey, codec.EnvKeysFile} {
		// Unset, not empty: envconfig takes a variable set to "" as a
		// value. t.Setenv first, so the test restores it.
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", file)
	t.Setenv("TEMPORAL_PROFILE", profile)
}

// A worker's envconfig profile with a [tls] table gives client options
// that present its certificate, trust its CA and check its server name;
// the SDK's TEMPORAL_TLS_* variables win over the file, as they do for
// the address.
func TestResolveTemporalProfileTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir, "client")
	ca, _ := selfSigned(t, dir, "ca")
	file := filepath.Join(dir, "temporal.toml")
	writeFile(t, file, fmt.Sprintf(`[profile.prod]
address = "temporal.prod:7233"
namespace = "slipway"

[profile.prod.tls]
client_cert_path = %q
client_key_path = %q
server_ca_cert_path = %q
server_name = "temporal.internal"
`, cert, key, ca))
	temporalEnv(t, file, "prod")

	s, err := Resolve(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	tc := s.Temporal.ConnectionOptions.TLS
	if s.Temporal.HostPort != "temporal.prod:7233" || s.Temporal.Namespace != "slipway" || tc == nil ||
		len(tc.Certificates) != 1 || tc.RootCAs == nil || tc.ServerName != "temporal.internal" || s.Temporal.ConnectionOptions.TLSDisabled {
		t.Fatalf("the profile's mTLS settings did not reach the client options: %+v, TLS %+v", s.Temporal, tc)
	}

	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "override.internal")
	if s, err = Resolve(Overrides{}); err != nil {
		t.Fatal(err)
	}
	if got := s.Temporal.ConnectionOptions.TLS.ServerName; got != "override.internal" {
		t.Fatalf("TEMPORAL_TLS_SERVER_NAME must win over the profile: server name %q", got)
	}

	t.Setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", filepath.Join(dir, "missing-key.pem"))
	if _, err := Resolve(Overrides{}); err == nil {
		t.Fatal("Resolve with a missing client key succeeded, want an error naming the Temporal config")
	}
}

// An API key in a profile turns on the SDK's bearer credentials and TLS,
// without a [tls] table; `disabled = true` is the only way back to
// plaintext. Dialing a TLS gRPC server that trusts nothing but records
// the call, the key arrives as `authorization: Bearer <key>`.
func TestResolveTemporalAPIKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "temporal.toml")
	writeFile(t, file, `[profile.cloud]
address = "slipway.a1b2c.tmprl.cloud:7233"
namespace = "slipway.a1b2c"
api_key = "key-123"

[profile.plain]
address = "127.0.0.1:7233"
api_key = "key-123"
[profile.plain.tls]
disabled = true
`)
	temporalEnv(t, file, "cloud")
	s, err := Resolve(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Temporal.Credentials == nil || s.Temporal.ConnectionOptions.TLS == nil || s.Temporal.ConnectionOptions.TLSDisabled {
		t.Fatalf("an API key must give credentials and TLS by default: credentials %v, TLS %v, disabled %v",
			s.Temporal.Credentials, s.Temporal.ConnectionOptions.TLS, s.Temporal.ConnectionOptions.TLSDisabled)
	}

	t.Setenv("TEMPORAL_PROFILE", "plain")
	if s, err = Resolve(Overrides{}); err != nil {
		t.Fatal(err)
	}
	if s.Temporal.Credentials == nil || s.Temporal.ConnectionOptions.TLS != nil || !s.Temporal.ConnectionOptions.TLSDisabled {
		t.Fatalf("tls.disabled must keep the key and turn TLS off: credentials %v, TLS %v, disabled %v",
			s.Temporal.Credentials, s.Temporal.ConnectionOptions.TLS, s.Temporal.ConnectionOptions.TLSDisabled)
	}

	// The key on the wire: the same cloud profile, pointed at a local TLS
	// server whose certificate it is told to trust.
	srv := startRecorder(t, dir)
	t.Setenv("TEMPORAL_PROFILE", "cloud")
	t.Setenv("TEMPORAL_ADDRESS", srv.addr)
	t.Setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", srv.cert)
	if s, err = Resolve(Overrides{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, s.Temporal)
	if err != nil {
		t.Fatalf("dial the recording server over TLS: %v", err)
	}
	c.Close()
	if got := srv.authorization(); got != "Bearer key-123" {
		t.Fatalf("the server saw authorization %q, want %q", got, "Bearer key-123")
	}
}

// recorder is a gRPC server on TLS that answers GetSystemInfo (what the
// SDK calls when it dials) and records the call's authorization header.
type recorder struct {
	workflowservice.UnimplementedWorkflowServiceServer
	addr, cert string
	mu         sync.Mutex
	auth       []string
}

func (r *recorder) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	r.mu.Lock()
	r.auth = append(r.auth, md.Get("authorization")...)
	r.mu.Unlock()
	return &workflowservice.GetSystemInfoResponse{}, nil
}

func (r *recorder) authorization() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.auth) != 1 {
		return fmt.Sprintf("%d values: %q", len(r.auth), r.auth)
	}
	return r.auth[0]
}

func startRecorder(t *testing.T, dir string) *recorder {
	t.Helper()
	certFile, keyFile := selfSigned(t, dir, "server")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{addr: l.Addr().String(), cert: certFile}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))
	workflowservice.RegisterWorkflowServiceServer(gs, r)
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	return r
}

// selfSigned writes dir/name.pem and dir/name-key.pem: a self-signed
// certificate for 127.0.0.1 that serves as its own CA.
func selfSigned(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writeFile(t, cert, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	writeFile(t, key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return cert, key
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}
