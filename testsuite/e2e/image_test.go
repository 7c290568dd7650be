package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slipway-dev/slipway/internal/composefile"
	"github.com/slipway-dev/slipway/testsuite"
)

// slipway builds its own image on the real stack: `go run ./deploy/image`
// assembles the context (the static binary, CA roots, Dockerfile and
// convox.yml), `slipway build` has a worker assemble the image with the
// local builder and push it. The image holds the binary at the path its
// entrypoint names and the CA roots, nothing else; it runs as a non-root
// user; and the compose file's services run `slipway worker`, `slipway
// codec-server` and `slipway system install` through that entrypoint.
// `make image`'s direct push gives the very same digest. The kwok nodes run
// no containers, so the image cannot be started on the stack: the test runs
// its binary, taken out of the layer, on this machine instead.
func TestSlipwayImage(t *testing.T) {
	s := testsuite.Get(t)
	dir := t.TempDir()
	assemble := exec.Command("go", "run", "./deploy/image", "-context", dir)
	assemble.Dir = s.Root
	if out, err := assemble.CombinedOutput(); err != nil {
		t.Fatalf("go run ./deploy/image -context: %v\n%s", err, out)
	}
	newApp(t, s, "slipway-image")
	out := s.MustCLI(t, "build", dir, "-a", "slipway-image", "-d", "slipway's own image")
	build := buildOf(t, out)
	rec, err := s.Store.GetBuild(context.Background(), "slipway-image", build)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Status.Images) != 1 || rec.Status.Images[0].Service != "slipway" {
		t.Fatalf("build recorded images %+v, want the one service slipway", rec.Status.Images)
	}
	ref, digest := rec.Status.Images[0].Ref, rec.Status.Images[0].Digest
	img, err := remote.Image(parseRef(t, ref+"@"+digest))
	if err != nil {
		t.Fatal(err)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if !slices.Equal(c.Entrypoint, []string{"/slipway"}) || !slices.Equal(c.Cmd, []string{"worker"}) {
		t.Fatalf("entrypoint %q cmd %q, want [/slipway] [worker]", c.Entrypoint, c.Cmd)
	}
	uid, _, _ := strings.Cut(c.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Fatalf("image user %q: want a numeric user that is not root", c.User)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Fatalf("image platform %s/%s, want linux/amd64 (what the binary is built for)", cf.OS, cf.Architecture)
	}

	files := imageFiles(t, img)
	want := map[string]string{
		"slipway":                           filepath.Join(dir, "bin", "slipway"),
		"etc/ssl/certs/ca-certificates.crt": filepath.Join(dir, "bin", "ca-certificates.crt"),
	}
	for p, f := range files {
		local, ok := want[p]
		if !ok {
			t.Errorf("the image holds /%s, which is not slipway's binary or CA roots", p)
			continue
		}
		b, err := os.ReadFile(local)
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(b) != sha256.Sum256(f.body) {
			t.Errorf("/%s in the image is not the assembled %s", p, local)
		}
	}
	bin, ok := files[strings.TrimPrefix(c.Entrypoint[0], "/")]
	if !ok {
		t.Fatalf("no file at the entrypoint's path %s (files %v)", c.Entrypoint[0], slices.Sorted(func(y func(string) bool) {
			for p := range files {
				if !y(p) {
					return
				}
			}
		}))
	}
	if bin.mode&0o111 == 0 || bin.uid != 0 {
		t.Errorf("/slipway mode %o owner %d: want executable and owned by root, so the runtime user cannot rewrite it", bin.mode, bin.uid)
	}
	static(t, bin.body)

	// The compose file's services, with this image, run slipway's commands.
	p, err := composefile.Load(context.Background(), s.Root, map[string]string{
		"SLIPWAY_IMAGE":     ref + "@" + digest,
		"SLIPWAY_CODEC_KEY": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	})
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(t.TempDir(), "slipway")
	if err := os.WriteFile(exe, bin.body, 0o755); err != nil {
		t.Fatal(err)
	}
	for svc, first := range map[string][]string{"worker": {"/slipway", "worker"}, "codec": {"/slipway", "codec-server"}, "install": {"/slipway", "system", "install"}} {
		sc, err := p.GetService(svc)
		if err != nil {
			t.Fatal(err)
		}
		argv := composefile.Command(sc, c.Entrypoint, c.Cmd)
		if len(argv) < len(first) || !slices.Equal(argv[:len(first)], first) {
			t.Errorf("compose service %s runs %q, want %q first", svc, argv, first)
			continue
		}
		if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
			continue
		}
		// --help parses every flag the service passes and runs nothing:
		// an unknown command or flag fails here, not in production.
		run := exec.Command(exe, append(argv[1:], "--help")...)
		run.Env = []string{"HOME=" + t.TempDir()}
		if out, err := run.CombinedOutput(); err != nil {
			t.Errorf("the image's binary refuses %q: %v\n%s", argv, err, out)
		}
	}

	// make image pushes the same image directly: same context, same digest.
	direct := exec.Command("go", "run", "./deploy/image", "-image", s.Settings.Registry+"/slipway/slipway:e2e")
	direct.Dir = s.Root
	var stderr bytes.Buffer
	direct.Stderr = &stderr
	pushed, err := direct.Output()
	if err != nil {
		t.Fatalf("go run ./deploy/image -image: %v\n%s", err, stderr.String())
	}
	if got, want := strings.TrimSpace(string(pushed)), s.Settings.Registry+"/slipway/slipway:e2e@"+digest; got != want {
		t.Fatalf("make image pushed %s, want %s: the same source must give the same image", got, want)
	}
}

type layerFile struct {
	mode int64
	uid  int
	body []byte
}

// imageFiles reads every regular file and link of every layer (a later
// layer's file replaces an earlier one's); directories are left out.
func imageFiles(t *testing.T, img v1.Image) map[string]layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]layerFile{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeDir {
				continue
			}
			body, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimPrefix(h.Name, "/")] = layerFile{mode: h.Mode, uid: h.Uid, body: body}
		}
		rc.Close()
	}
	return files
}

// static fails unless b is an ELF executable with no interpreter: FROM
// scratch has no dynamic loader or libc to run anything else.
func static(t *testing.T, b []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("/slipway is not an ELF executable: %v", err)
	}
	if f.Machine != elf.EM_X86_64 {
		t.Errorf("/slipway is built for %v, want x86-64", f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("/slipway is dynamically linked: build it with CGO_ENABLED=0")
		}
	}
}
