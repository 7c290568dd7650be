package builder

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func writeTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func testRegistry(t testing.TB) string {
	t.Helper()
	s := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

const dockerfile = `ARG BASE=scratch
FROM ${BASE} AS files
COPY --chmod=0755 bin/ /out/
FROM scratch
ARG VERSION=dev
ENV GREETING="hello world" VERSION=${VERSION}
WORKDIR /app
COPY --from=files /out/hello ./hello
COPY --chown=1000:1000 conf/*.yml config/
EXPOSE 5000
USER 1000
LABEL org.example.version=${VERSION}
ENTRYPOINT ["/app/hello"]
CMD ["serve"]
`

func TestLocalBuildsTheDockerfilesImage(t *testing.T) {
	reg := testRegistry(t)
	dir := writeTree(t, map[string]string{
		"Dockerfile": dockerfile, "bin/hello": "#!binary", "conf/a.yml": "a: 1", "conf/b.yml": "b: 2", "conf/c.txt": "no",
	})
	target, _ := name.ParseReference(reg + "/myapp:web.BTEST")
	in := Input{Source: dir, Context: ".", Dockerfile: "Dockerfile", Args: map[string]string{"VERSION": "1.2"}, Target: target, Log: io.Discard}
	res, err := Local(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Pushed || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Fatalf("result %+v", res)
	}
	img, err := remote.Image(target)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != res.Digest {
		t.Fatalf("registry has %s, build said %s", d, res.Digest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/app/hello" || strings.Join(c.Cmd, " ") != "serve" || c.WorkingDir != "/app" || c.User != "1000" {
		t.Errorf("config %+v", c)
	}
	if _, ok := c.ExposedPorts["5000/tcp"]; !ok || c.Labels["org.example.version"] != "1.2" {
		t.Errorf("ports %v labels %v", c.ExposedPorts, c.Labels)
	}
	if strings.Join(c.Env, ";") != "GREETING=hello world;VERSION=1.2" {
		t.Errorf("env %v", c.Env)
	}
	if !cf.Created.Time.Equal(epoch) {
		t.Errorf("created %v, want the fixed epoch", cf.Created)
	}
	files := flatten(t, img)
	for p, want := range map[string]string{"app/hello": "#!binary 0755 0:0", "app/config/a.yml": "a: 1 0644 1000:1000", "app/config/b.yml": "b: 2 0644 1000:1000"} {
		if files[p] != want {
			t.Errorf("%s: %q, want %q", p, files[p], want)
		}
	}
	if _, ok := files["app/config/c.txt"]; ok {
		t.Error("the glob copied c.txt")
	}

	again, err := Local(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if again.Digest != res.Digest || again.Pushed {
		t.Fatalf("second build %+v, want the same digest %s and no push", again, res.Digest)
	}
}

// flatten reads an image's filesystem: path -> "body mode uid:gid".
func flatten(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	out := map[string]string{}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		out[hdr.Name] = fmt.Sprintf("%s %04o %d:%d", body, hdr.Mode, hdr.Uid, hdr.Gid)
	}
}

func TestLocalRefusesWhatNeedsExecution(t *testing.T) {
	for _, c := range []struct{ dockerfile, want string }{
		{"FROM scratch\nCOPY a /a\nRUN make\n", "Dockerfile:3: RUN needs to run a container"},
		{"FROM scratch\nADD https://example.com/x /x\n", "Dockerfile:2: ADD https://example.com/x needs the network"},
		{"FROM scratch\nCOPY missing /m\n", "Dockerfile:2: missing: no such file in the build context"},
		{"FROM scratch\nCOPY --chown=app a /a\n", "use numeric ids"},
		{"FROM scratch\nFROBNICATE\n", "Dockerfile: dockerfile parse error on line 2: unknown instruction: FROBNICATE"},
		{"FROM 127.0.0.1:1/nothing:here\n", "Dockerfile:1: FROM 127.0.0.1:1/nothing:here: cannot fetch the image"},
	} {
		dir := writeTree(t, map[string]string{"Dockerfile": c.dockerfile, "a": "a"})
		target, _ := name.ParseReference("127.0.0.1:1/x:y")
		_, err := Image(context.Background(), Input{Source: dir, Context: ".", Dockerfile: "Dockerfile", Target: target, Log: io.Discard})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.dockerfile, err, c.want)
		}
	}
}

func TestFilesImageIsReproducible(t *testing.T) {
	a, err := FilesImage(map[string]string{"README": "hi", "etc/x": "y"}, []string{"/README"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := FilesImage(map[string]string{"etc/x": "y", "README": "hi"}, []string{"/README"})
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("same files gave digests %s and %s", da, db)
	}
	files := flatten(t, a)
	if files["README"] != "hi 0644 0:0" || files["etc/x"] != "y 0644 0:0" {
		t.Fatalf("files %v", files)
	}
	cf, _ := a.ConfigFile()
	if cf.Config.Cmd[0] != "/README" || cf.OS != "linux" || !cf.Created.Time.Equal(epoch) {
		t.Fatalf("config %+v", cf)
	}
}
