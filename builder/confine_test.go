package builder

import (
	"archive/tar"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// The build path, the Dockerfile and COPY sources never lead the local
// builder out of the source, whatever symlinks the folder holds (the
// extractor refuses such links; this holds even if one got through).
func TestLocalStaysInsideTheSource(t *testing.T) {
	dir := writeTree(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY passwd hostname /loot/\n", "app/a": "a"})
	for link, target := range map[string]string{"host": "/", "up": "..", "app/etc": "/etc", "app/passwd": "/etc/passwd"} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	target, _ := name.ParseReference("127.0.0.1:1/x:y")
	for _, c := range []struct{ context, dockerfile, want string }{
		// The attack: build.path host/etc, manifest ../../Dockerfile.
		{"host/etc", "Dockerfile", "the build path host/etc leads outside the source through a symlink: point build.path at a folder inside the source"},
		{"up", "Dockerfile", "the build path up leads outside the source through a symlink"},
		{".", "host/etc/passwd", "the Dockerfile host/etc/passwd leads outside the source through a symlink: point build.manifest at a file inside the source"},
		{".", "up/Dockerfile", "the Dockerfile up/Dockerfile leads outside the source"},
		{".", "missing", "no Dockerfile at missing: no such file or directory"},
	} {
		_, err := Image(context.Background(), Input{Source: dir, Context: c.context, Dockerfile: c.dockerfile, Target: target, Log: io.Discard})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("context %s, Dockerfile %s: error %v, want %q", c.context, c.dockerfile, err, c.want)
		}
	}

	// COPY through a link to a directory outside finds nothing; COPY of a
	// link copies the link, not what it points to.
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY etc/passwd /loot/\n"), 0o644)
	_, err := Image(context.Background(), Input{Source: dir, Context: "app", Dockerfile: "Dockerfile", Target: target, Log: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "etc/passwd: no such file in the build context") {
		t.Fatalf("COPY through a link out: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY passwd a /loot/\n"), 0o644)
	img, err := Image(context.Background(), Input{Source: dir, Context: "app", Dockerfile: "Dockerfile", Target: target, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	seen := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		seen[hdr.Name] = string(hdr.Typeflag) + hdr.Linkname + string(body)
	}
	if seen["loot/passwd"] != string(tar.TypeSymlink)+"/etc/passwd" || seen["loot/a"] != string(tar.TypeReg)+"a" {
		t.Fatalf("image files %q: want loot/passwd as a link, never the worker's file", seen)
	}
}
