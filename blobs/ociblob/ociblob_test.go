package ociblob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/registry"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"
)

// newRegistry serves go-containerregistry's registry in-process and
// returns its host. wrap, when given, stands in front of it.
func newRegistry(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func open(t testing.TB, host string) *blob.Bucket {
	t.Helper()
	b, err := OpenBucket(host+"/slipway/blobs", Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestRoundTripAndAttributes(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	key := "apps/web/builds/B1/log"
	before := time.Now().Add(-time.Second)
	if err := b.WriteAll(ctx, key, []byte("step 1\nstep 2\n"), &blob.WriterOptions{ContentType: "text/plain", Metadata: map[string]string{"build": "b1"}}); err != nil {
		t.Fatal(err)
	}
	got, err := b.ReadAll(ctx, key)
	if err != nil || string(got) != "step 1\nstep 2\n" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	a, err := b.Attributes(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(got)
	if a.Size != 14 || a.ContentType != "text/plain" || !bytes.Equal(a.MD5, sum[:]) || a.Metadata["build"] != "b1" {
		t.Errorf("attributes = size %d, type %q, md5 %x, metadata %v", a.Size, a.ContentType, a.MD5, a.Metadata)
	}
	if a.ModTime.Before(before) || a.ModTime.After(time.Now().Add(time.Second)) {
		t.Errorf("ModTime %v is not the write's time", a.ModTime)
	}
	if !strings.HasPrefix(a.ETag, `"sha256:`) {
		t.Errorf("ETag %q is not a manifest digest", a.ETag)
	}
}

func TestMissingKeyIsNotFound(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	// A repository nothing was pushed to yet (NAME_UNKNOWN) ...
	if _, err := b.ReadAll(ctx, "apps/web/builds/B1/log"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("ReadAll on an empty repository: %v (code %v), want NotFound", err, gcerrors.Code(err))
	}
	if err := b.WriteAll(ctx, "other", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	// ... and one that has other tags (MANIFEST_UNKNOWN).
	if _, err := b.ReadAll(ctx, "apps/web/builds/B1/log"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("ReadAll: %v, want NotFound", err)
	}
	if _, err := b.Attributes(ctx, "missing"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("Attributes: %v, want NotFound", err)
	}
	if err := b.Delete(ctx, "missing"); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("Delete: %v, want NotFound", err)
	}
	if ok, err := b.Exists(ctx, "missing"); ok || err != nil {
		t.Errorf("Exists = %v, %v", ok, err)
	}
}

func TestOverwriteAndDelete(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	const key = "apps/web/builds/B1/log"
	if err := b.WriteAll(ctx, key, []byte("first"), nil); err != nil {
		t.Fatal(err)
	}
	a1, _ := b.Attributes(ctx, key)
	if err := b.WriteAll(ctx, key, []byte("second, longer"), nil); err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(ctx, key); err != nil || string(got) != "second, longer" {
		t.Fatalf("after overwrite ReadAll = %q, %v", got, err)
	}
	a2, _ := b.Attributes(ctx, key)
	if a1.ETag == a2.ETag {
		t.Errorf("ETag %s did not change with the bytes", a2.ETag)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadAll(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("ReadAll after Delete: %v, want NotFound", err)
	}
}

func TestRanges(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	if err := b.WriteAll(ctx, "k", []byte("0123456789"), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, -1, "0123456789"}, {3, 4, "3456"}, {7, -1, "789"}, {8, 100, "89"}, {10, -1, ""}, {20, 5, ""}, {2, 0, ""}} {
		r, err := b.NewRangeReader(ctx, "k", c.off, c.n, nil)
		if err != nil {
			t.Fatalf("range %d+%d: %v", c.off, c.n, err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || string(got) != c.want {
			t.Errorf("range %d+%d = %q, %v; want %q", c.off, c.n, got, err, c.want)
		}
		if r.Size() != 10 {
			t.Errorf("range %d+%d: Size %d, want the object's 10", c.off, c.n, r.Size())
		}
	}
}

// A source tarball is larger than what a writer holds: it streams.
func TestLargeObjectStreams(t *testing.T) {
	ctx := context.Background()
	var patched atomic.Int32
	host := newRegistry(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPatch {
				patched.Add(1)
			}
			h.ServeHTTP(w, r)
		})
	})
	b := open(t, host)
	data := make([]byte, streamAfter*2+12345)
	rand.Read(data)
	w, err := b.NewWriter(ctx, "apps/web/builds/B1/source.tgz", nil)
	if err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; {
		n := min(len(p), 1<<20)
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := patched.Load(); n != 1 {
		t.Errorf("%d PATCH requests, want the one streamed upload", n)
	}
	got, err := b.ReadAll(ctx, "apps/web/builds/B1/source.tgz")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll: %d bytes (want %d), %v", len(got), len(data), err)
	}
}

// A write whose context ends leaves nothing under the key.
func TestCanceledWriteLeavesNothing(t *testing.T) {
	b := open(t, newRegistry(t, nil))
	for _, size := range []int{10, streamAfter + 10} {
		ctx, cancel := context.WithCancel(context.Background())
		w, err := b.NewWriter(ctx, "k", &blob.WriterOptions{ContentType: "application/octet-stream"})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, size))
		cancel()
		if err := w.Close(); !errors.Is(err, context.Canceled) {
			t.Errorf("size %d: Close = %v, want context.Canceled", size, err)
		}
		if ok, err := b.Exists(context.Background(), "k"); ok || err != nil {
			t.Errorf("size %d: Exists after a canceled write = %v, %v", size, ok, err)
		}
	}
}

func TestOddKeys(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	keys := []string{"a b/c d", "../../etc/passwd", "ünïcödé/日本", "UPPER:colon@at#hash?q=1", strings.Repeat("long/", 300), "a/b/", "."}
	for i, k := range keys {
		if err := b.WriteAll(ctx, k, []byte{byte(i)}, nil); err != nil {
			t.Fatalf("write %q: %v", k, err)
		}
	}
	for i, k := range keys {
		got, err := b.ReadAll(ctx, k)
		if err != nil || !bytes.Equal(got, []byte{byte(i)}) {
			t.Errorf("read %q = %v, %v", k, got, err)
		}
	}
	var listed []string
	it := b.List(nil)
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, o.Key)
	}
	if len(listed) != len(keys) {
		t.Errorf("listed %q, want every one of %q", listed, keys)
	}
}

func TestListAndCopy(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	for _, k := range []string{"apps/web/builds/B1/log", "apps/web/builds/B1/source.tgz", "apps/web/builds/B2/log", "apps/api/builds/B3/log"} {
		if err := b.WriteAll(ctx, k, []byte(k), nil); err != nil {
			t.Fatal(err)
		}
	}
	page, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Prefix: "apps/web/builds/", Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range page {
		got = append(got, o.Key)
	}
	if strings.Join(got, ",") != "apps/web/builds/B1/,apps/web/builds/B2/" {
		t.Errorf("listed %q", got)
	}
	p1, next, err := b.ListPage(ctx, blob.FirstPageToken, 2, &blob.ListOptions{Prefix: "apps/web/"})
	if err != nil || len(p1) != 2 || next == nil {
		t.Fatalf("first page %v, next %q, %v", p1, next, err)
	}
	p2, _, err := b.ListPage(ctx, next, 2, &blob.ListOptions{Prefix: "apps/web/"})
	if err != nil || len(p2) != 1 || p2[0].Key != "apps/web/builds/B2/log" || p2[0].Size != int64(len(p2[0].Key)) {
		t.Fatalf("second page %v, %v", p2, err)
	}
	if err := b.Copy(ctx, "copy/of/log", "apps/web/builds/B1/log", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(ctx, "copy/of/log"); err != nil || string(got) != "apps/web/builds/B1/log" {
		t.Errorf("copy reads %q, %v", got, err)
	}
	if err := b.Copy(ctx, "x", "missing", nil); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("Copy of a missing key: %v, want NotFound", err)
	}
}

func TestIfNotExist(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	opts := &blob.WriterOptions{IfNotExist: true}
	if err := b.WriteAll(ctx, "k", []byte("1"), opts); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(ctx, "k", []byte("2"), opts); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("second write: %v, want FailedPrecondition", err)
	}
	if got, _ := b.ReadAll(ctx, "k"); string(got) != "1" {
		t.Errorf("read %q, want the first write's", got)
	}
}

// The kubernetes builder's fetch container gets the source by URL alone.
func TestSignedURLAnonymousPull(t *testing.T) {
	ctx := context.Background()
	b := open(t, newRegistry(t, nil))
	if err := b.WriteAll(ctx, "apps/web/builds/B1/source.tgz", []byte("tarball"), nil); err != nil {
		t.Fatal(err)
	}
	u, err := b.SignedURL(ctx, "apps/web/builds/B1/source.tgz", &blob.SignedURLOptions{Expiry: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "/v2/slipway/blobs/blobs/sha256:") {
		t.Errorf("signed URL %s is not the blob's URL", u)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "tarball" {
		t.Errorf("GET %s = %q", u, body)
	}
	if _, err := b.SignedURL(ctx, "k", &blob.SignedURLOptions{Method: http.MethodPut}); gcerrors.Code(err) != gcerrors.Unimplemented {
		t.Errorf("PUT URL: %v, want Unimplemented", err)
	}
	if _, err := b.SignedURL(ctx, "missing", nil); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("URL of a missing key: %v, want NotFound", err)
	}
}

// basicAuth makes the registry ask for credentials; redirect, when set,
// sends authenticated blob GETs and HEADs to storage instead.
func basicAuth(redirect string) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pass" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if redirect != "" && strings.Contains(r.URL.Path, "/blobs/sha256:") && r.Method != http.MethodPost {
				http.Redirect(w, r, redirect+"?sig=signed", http.StatusTemporaryRedirect)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

type staticKeychain struct{}

func (staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: "user", Password: "pass"}, nil
}

func TestSignedURLPrivateRegistry(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, basicAuth(""))
	b, err := OpenBucket(host+"/slipway/blobs", Options{Insecure: []string{host}, Keychain: staticKeychain{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(ctx, "src", []byte("tarball"), nil); err != nil {
		t.Fatal(err)
	}
	_, err = b.SignedURL(ctx, "src", nil)
	if gcerrors.Code(err) != gcerrors.Unimplemented || !strings.Contains(err.Error(), "allow anonymous pull") {
		t.Errorf("SignedURL on a private registry: %v, want Unimplemented saying what to do", err)
	}

	// A registry that redirects blobs to storage hands out storage's URL.
	storage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "from storage") }))
	defer storage.Close()
	host = newRegistry(t, basicAuth(storage.URL+"/bucket/obj"))
	b, _ = OpenBucket(host+"/slipway/blobs", Options{Insecure: []string{host}, Keychain: staticKeychain{}})
	if err := b.WriteAll(ctx, "src", []byte("tarball"), nil); err != nil {
		t.Fatal(err)
	}
	u, err := b.SignedURL(ctx, "src", nil)
	if err != nil || u != storage.URL+"/bucket/obj?sig=signed" {
		t.Errorf("SignedURL = %q, %v; want the storage URL the registry redirects to", u, err)
	}
}

func TestPlainHTTPOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	host := newRegistry(t, nil)
	b, err := OpenBucket(host+"/slipway/blobs", Options{Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	err = b.WriteAll(ctx, "k", []byte("x"), nil)
	if err == nil || !strings.Contains(err.Error(), "insecure=true") {
		t.Errorf("write over plain HTTP to a host not named insecure: %v, want an error naming insecure=true", err)
	}

	// The URL's option and the env var both name it.
	u, _ := url.Parse("oci://" + host + "/slipway/blobs?insecure=true")
	b, err = (&URLOpener{Insecure: []string{}, Keychain: authn.NewMultiKeychain()}).OpenBucketURL(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(ctx, "k", []byte("x"), nil); err != nil {
		t.Errorf("with ?insecure=true: %v", err)
	}
	t.Setenv(EnvInsecureRegistries, "example.com, "+host)
	b, err = blob.OpenBucket(ctx, "oci://"+host+"/slipway/blobs")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(ctx, "k", []byte("y"), nil); err != nil {
		t.Errorf("with %s: %v", EnvInsecureRegistries, err)
	}
}

func TestBadURLs(t *testing.T) {
	ctx := context.Background()
	for url, want := range map[string]string{
		"oci://registry.example.com":                  "name a registry and a repository",
		"oci://registry.example.com/x?secure=1":       `unknown option "secure"`,
		"oci://registry.example.com/x?insecure=maybe": "not a boolean",
		"oci://u:secret@registry.example.com/x":       "docker login",
		"oci://registry.example.com/Upper/Case":       "lower-case path",
	} {
		_, err := blob.OpenBucket(ctx, url)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", url, err)
		}
	}
}
