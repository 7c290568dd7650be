package prod

import (
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
	"time"
)

// ServerName is the name every client checks the Temporal server's
// certificate against (TEMPORAL_TLS_SERVER_NAME, server_name): the
// certificate names it and 127.0.0.1.
const ServerName = "localhost"

// ca is a throwaway certificate authority for one run: it signs the
// Temporal server's certificate and each client's, and the server trusts
// only clients it signed.
type ca struct {
	dir  string // the CA's certificate and every issued key pair
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// keyPair is where an issued certificate, its key and the CA's
// certificate (to check the other side with) are written.
type keyPair struct {
	Cert, Key, CA string
}

// newCA makes a CA whose certificate is dir/ca.pem.
func newCA(dir string) (*ca, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "slipway prod test CA"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	c := &ca{dir: dir, key: key}
	der, err := c.sign(tmpl, &key.PublicKey, tmpl, key)
	if err != nil {
		return nil, err
	}
	if c.cert, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	return c, writePEM(c.certPath(), "CERTIFICATE", der, 0o644)
}

func (c *ca) certPath() string { return filepath.Join(c.dir, "ca.pem") }

// sign fills in what every certificate of the run shares (serial,
// validity) and signs tmpl with parent's key.
func (c *ca) sign(tmpl *x509.Certificate, pub any, parent *x509.Certificate, signer *ecdsa.PrivateKey) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	// A little slack before now: the server may check a certificate the
	// same second it is made, on a clock a little behind.
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	return x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
}

// server issues the Temporal server's certificate, for 127.0.0.1 and
// ServerName. Its services present it to each other and to clients, and
// its own system worker presents it to the frontend as a client, so it
// serves both ends.
func (c *ca) server(dir, name string) (keyPair, error) {
	return c.issue(dir, name, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		DNSNames:    []string{ServerName},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
}

// client issues a client certificate whose common name is name.
func (c *ca) client(dir, name string) (keyPair, error) {
	return c.issue(dir, name, &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// issue writes dir/name.pem, dir/name-key.pem (readable by its owner
// only) and a copy of the CA's certificate, dir/ca.pem.
func (c *ca) issue(dir, name string, tmpl *x509.Certificate) (keyPair, error) {
	kp := keyPair{Cert: filepath.Join(dir, name+".pem"), Key: filepath.Join(dir, name+"-key.pem"), CA: filepath.Join(dir, "ca.pem")}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return kp, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return kp, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := c.sign(tmpl, &key.PublicKey, c.cert, c.key)
	if err != nil {
		return kp, fmt.Errorf("sign %s: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return kp, err
	}
	if err := writePEM(kp.Cert, "CERTIFICATE", der, 0o644); err != nil {
		return kp, err
	}
	if err := writePEM(kp.Key, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return kp, err
	}
	return kp, writePEM(kp.CA, "CERTIFICATE", c.cert.Raw, 0o644)
}

// tlsConfig is a Go client's mTLS configuration with kp: it presents
// kp's certificate and trusts only the CA's.
func (kp keyPair) tlsConfig() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(kp.Cert, kp.Key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(kp.CA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no certificate", kp.CA)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ServerName: ServerName}, nil
}

func writePEM(path, kind string, der []byte, mode os.FileMode) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), mode)
}
