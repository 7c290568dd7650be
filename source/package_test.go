package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeTree creates files (path -> content) under dir; a content starting
// with "->" makes a symlink to the rest.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func pack(t *testing.T, dir string) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Package(dir, &buf)
	if err != nil {
		t.Fatalf("Package: %v", err)
	}
	return buf.Bytes(), st
}

type entry struct {
	hdr  *tar.Header
	body string
}

func unpack(t *testing.T, tgz []byte) []entry {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []entry
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{hdr, string(b)})
	}
}

func names(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.hdr.Name)
	}
	return out
}

var appTree = map[string]string{
	"convox.yml":          "services:\n  web:\n    build: .\n    port: 5000\n",
	"Dockerfile":          "FROM scratch\n",
	"bin/web":             "#!/bin/sh\nexec true\n",
	"a.txt":               "a",
	"a/b.txt":             "ab",
	"a/c/d.txt":           "acd",
	"zz/last":             "z",
	"app/nested/deep.txt": "deep",
}

func TestPackageEntries(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, appTree)
	tgz, st := pack(t, dir)
	es := unpack(t, tgz)

	// Walk order: each directory's entries sorted by name, a directory
	// followed by its contents (so "a/" and its files come before "a.txt").
	want := []string{
		"Dockerfile", "a/", "a/b.txt", "a/c/", "a/c/d.txt", "a.txt",
		"app/", "app/nested/", "app/nested/deep.txt", "bin/", "bin/web", "convox.yml", "zz/", "zz/last",
	}
	if got := names(es); !slices.Equal(got, want) {
		t.Errorf("entries = %q\nwant      %q", got, want)
	}
	var bytesIn int64
	for _, e := range es {
		h := e.hdr
		if !h.ModTime.Equal(time.Unix(0, 0)) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v %v %v, want the epoch and no atime/ctime", h.Name, h.ModTime, h.AccessTime, h.ChangeTime)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s: owner %d:%d %q:%q, want 0:0 and no names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if strings.HasSuffix(h.Name, "/") != (h.Typeflag == tar.TypeDir) {
			t.Errorf("%s: type %c", h.Name, h.Typeflag)
		}
		if h.Typeflag == tar.TypeReg {
			if e.body != appTree[h.Name] {
				t.Errorf("%s: body %q, want %q", h.Name, e.body, appTree[h.Name])
			}
			bytesIn += int64(len(e.body))
		}
	}
	if st.Files != len(appTree) || st.Bytes != bytesIn {
		t.Errorf("Stats = %+v, want %d files, %d bytes", st, len(appTree), bytesIn)
	}
}

func TestPackageReproducible(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, appTree)
	first, _ := pack(t, dir)
	again, _ := pack(t, dir)
	if !bytes.Equal(first, again) {
		t.Fatal("packaging the same tree twice gave different bytes")
	}

	// The same tree elsewhere, written later, with other times on every
	// file and directory.
	other := t.TempDir()
	writeTree(t, other, appTree)
	when := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	err := filepath.Walk(other, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		when = when.Add(time.Hour)
		return os.Chtimes(p, when, when)
	})
	if err != nil {
		t.Fatal(err)
	}
	moved, _ := pack(t, other)
	if !bytes.Equal(first, moved) {
		t.Error("a tree with other modification times gave different bytes")
	}

	// And the bytes do depend on content.
	writeTree(t, other, map[string]string{"a.txt": "changed"})
	changed, _ := pack(t, other)
	if bytes.Equal(first, changed) {
		t.Error("changing a file did not change the tarball")
	}
}

func TestPackageDockerignore(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dockerignore": strings.Join([]string{
			"# comments and blank lines are skipped",
			"",
			"secret.txt", // a file
			"tmp",        // a directory
			"/build/",    // a directory, with slashes
			"*.log",      // a glob, at the top level only (as in Docker)
			"!keep.log",  // brought back from *.log
			"!tmp/keep.txt",
		}, "\n") + "\n",
		"convox.yml":      "services: {}\n",
		"secret.txt":      "s",
		"tmp/a.txt":       "a",
		"tmp/deeper/b":    "b",
		"tmp/keep.txt":    "k",
		"build/out":       "o",
		"debug.log":       "d",
		"keep.log":        "k",
		"src/app.log":     "nested logs are not matched by *.log",
		"src/main.go":     "package main",
		"notsecret.txt":   "n",
		"tmpfile":         "t",
		"build.txt":       "not the build directory",
		"src/secret.txt":  "secret.txt matches at the top only",
		"src/tmp/nested":  "tmp matches at the top only",
		"src/debug.log.x": "x",
	})
	tgz, st := pack(t, dir)
	want := []string{
		".dockerignore", "build.txt", "convox.yml", "keep.log", "notsecret.txt",
		"src/", "src/app.log", "src/debug.log.x", "src/main.go", "src/secret.txt", "src/tmp/", "src/tmp/nested",
		// The exclusion reaches inside the ignored directory; the directory
		// itself stays out.
		"tmp/keep.txt",
		"tmpfile",
	}
	if got := names(unpack(t, tgz)); !slices.Equal(got, want) {
		t.Errorf("entries = %q\nwant      %q", got, want)
	}
	if st.Files != 12 {
		t.Errorf("Stats.Files = %d, want 12", st.Files)
	}
}

func TestPackageDockerignoreDirectory(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		".dockerignore":           "node_modules\n",
		"index.js":                "x",
		"node_modules/a/index.js": "y",
	})
	tgz, _ := pack(t, dir)
	if got, want := names(unpack(t, tgz)), []string{".dockerignore", "index.js"}; !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
}

func TestPackageSymlinks(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"target.txt": "real",
		"sub/file":   "f",
		"link.txt":   "->target.txt",
		"linkdir":    "->sub",
		"dangling":   "->does/not/exist",
		"sub/up":     "->../target.txt",
	})
	tgz, st := pack(t, dir)
	es := unpack(t, tgz)
	links := map[string]string{}
	for _, e := range es {
		if e.hdr.Typeflag == tar.TypeSymlink {
			links[e.hdr.Name] = e.hdr.Linkname
			if e.body != "" || e.hdr.Size != 0 {
				t.Errorf("symlink %s has content %q", e.hdr.Name, e.body)
			}
		}
	}
	want := map[string]string{
		"link.txt": "target.txt", "linkdir": "sub", "dangling": "does/not/exist",
		"sub/up": "../target.txt",
	}
	if len(links) != len(want) {
		t.Errorf("symlinks = %q, want %q", links, want)
	}
	for k, v := range want {
		if links[k] != v {
			t.Errorf("symlink %s -> %q, want %q", k, links[k], v)
		}
	}
	// A link to a directory is not followed.
	if slices.Contains(names(es), "linkdir/file") {
		t.Error("the symlinked directory was followed")
	}
	if st.Files != 2 {
		t.Errorf("Stats.Files = %d, want 2 (symlinks are not files)", st.Files)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"convox.yml":          appTree["convox.yml"],
		"deploy/prod/app.yml": "nested",
		"link.yml":            "->convox.yml",
		"deploy/dir/x":        "x",
	})
	tgz, _ := pack(t, dir)
	tests := []struct {
		name    string
		want    string
		wantErr string
	}{
		{name: "convox.yml", want: appTree["convox.yml"]},
		{name: "./convox.yml", want: appTree["convox.yml"]},
		{name: "deploy/prod/app.yml", want: "nested"},
		{name: "deploy/../deploy/prod/app.yml", want: "nested"},
		{name: "missing.yml", wantErr: "missing.yml not found in the source"},
		{name: "deploy/prod/missing.yml", wantErr: "deploy/prod/missing.yml not found in the source"},
		{name: "deploy/dir", wantErr: "deploy/dir not found in the source"},
		{name: "link.yml", wantErr: "link.yml not found in the source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFile(bytes.NewReader(tgz), tt.name)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("ReadFile = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReadFileNotGzip(t *testing.T) {
	_, err := ReadFile(strings.NewReader("plain text"), "convox.yml")
	if err == nil || !strings.HasPrefix(err.Error(), "source is not a gzipped tarball: ") {
		t.Errorf("error = %v", err)
	}
}

func TestPackageMissingDir(t *testing.T) {
	_, err := Package(filepath.Join(t.TempDir(), "nope"), io.Discard)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error = %v, want one that wraps ErrNotExist", err)
	}
}

// The packager never follows a link out of the folder it packs: a link
// that points outside is refused with its name, before anything is
// uploaded, unless .dockerignore leaves it out.
func TestPackageRefusesLinksOut(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"symlink to /", map[string]string{"Dockerfile": "FROM scratch\n", "host": "->/"},
			"symlink host points to /, outside the source: make it a relative link inside the source, or list it in .dockerignore"},
		{"absolute symlink to a file", map[string]string{"passwd": "->/etc/passwd"}, "symlink passwd points to /etc/passwd, outside the source"},
		{"symlink climbing out", map[string]string{"a/b/up": "->../../.."}, "symlink a/b/up points to ../../.., outside the source"},
		{"links that lead out together", map[string]string{"p": "->.", "q": "->p/../x"}, "symlink q points to p/../x, outside the source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			var buf bytes.Buffer
			_, err := Package(dir, &buf)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v\nwant one line containing %q", err, tt.want)
			}
		})
	}
	// Ignored, the same link is no concern; the rest packs.
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{".dockerignore": "host\n", "host": "->/", "Dockerfile": "FROM scratch\n"})
	tgz, _ := pack(t, dir)
	if got := names(unpack(t, tgz)); !slices.Equal(got, []string{".dockerignore", "Dockerfile"}) {
		t.Fatalf("entries %q", got)
	}
}

// A FIFO in the folder is left out, never opened (which would block).
func TestPackageSkipsFIFOs(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	tgz, _ := pack(t, dir)
	if got := names(unpack(t, tgz)); !slices.Equal(got, []string{"Dockerfile"}) {
		t.Fatalf("entries %q", got)
	}
}
