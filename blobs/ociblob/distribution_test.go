package ociblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/slipway-dev/slipway/devstack"
)

// distribution starts the registry the local stack runs (CNCF
// distribution, from .tools/bin, with deletes enabled as the stack's) and
// returns its host.
func distribution(t testing.TB) string {
	t.Helper()
	bin := toolsBin(t, "registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "registry.yml")
	if err := os.WriteFile(conf, devstack.RegistryConfig(filepath.Join(dir, "data"), addr), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", conf)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry at %s did not answer in 20s: %v", addr, err)
		}
	}
}

// toolsBin finds a program of the local stack in .tools/bin, above the
// package's folder.
func toolsBin(t testing.TB, name string) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, ".tools", "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no .tools/bin/%s above the package: run `make stack-tools`", name)
		}
		dir = parent
	}
}

// The registry a rack runs (distribution) answers the way the driver
// needs: deletes by tag, streamed uploads, ranges, the tags list.
func TestDistribution(t *testing.T) {
	ctx := context.Background()
	host := distribution(t)
	b, err := OpenBucket(host+"/slipway/blobs", Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const key = "apps/web/builds/B1/log"
	if _, err := b.ReadAll(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("ReadAll before any write: %v, want NotFound", err)
	}
	for _, s := range []string{"line 1\n", "line 1\nline 2\n"} {
		if err := b.WriteAll(ctx, key, []byte(s), nil); err != nil {
			t.Fatal(err)
		}
		if got, err := b.ReadAll(ctx, key); err != nil || string(got) != s {
			t.Fatalf("ReadAll = %q, %v; want %q", got, err, s)
		}
	}
	r, err := b.NewRangeReader(ctx, key, 7, 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); string(got) != "line" {
		t.Errorf("range 7+4 = %q", got)
	}
	r.Close()

	big := make([]byte, streamAfter+4321)
	rand.Read(big)
	if err := b.WriteAll(ctx, "apps/web/builds/B1/source.tgz", big, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := b.ReadAll(ctx, "apps/web/builds/B1/source.tgz"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("streamed object: %d bytes, %v", len(got), err)
	}
	u, err := b.SignedURL(ctx, "apps/web/builds/B1/source.tgz", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, big) {
		t.Errorf("GET %s: %d bytes, want the object", u, len(got))
	}

	page, _, err := b.ListPage(ctx, blob.FirstPageToken, 10, &blob.ListOptions{Prefix: "apps/web/builds/B1/"})
	if err != nil || len(page) != 2 || page[0].Key != key {
		t.Fatalf("list = %v, %v", page, err)
	}
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ReadAll(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("ReadAll after Delete: %v, want NotFound", err)
	}
	if err := b.Delete(ctx, key); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("second Delete: %v, want NotFound", err)
	}
	if ok, _ := b.Exists(ctx, "apps/web/builds/B1/source.tgz"); !ok {
		t.Error("deleting one key deleted another")
	}

	// Bytes the bucket pushed before are tagged without a new upload; if
	// the registry dropped them meanwhile, they are uploaded again.
	if err := b.WriteAll(ctx, "a", []byte("same bytes"), nil); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodDelete, "http://"+host+"/v2/slipway/blobs/blobs/"+v1Digest([]byte("same bytes")).String(), nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("delete the blob: %v %v", resp, err)
	}
	if err := b.WriteAll(ctx, "b", []byte("same bytes"), nil); err != nil {
		t.Fatal(err)
	}
	fresh, _ := OpenBucket(host+"/slipway/blobs", Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain()})
	if got, err := fresh.ReadAll(ctx, "b"); err != nil || string(got) != "same bytes" {
		t.Errorf("read from another bucket = %q, %v", got, err)
	}
}
