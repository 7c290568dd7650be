package source

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Every hostile archive is refused, by Extract and by Check alike, with an
// error that names the entry (or the cap), and nothing lands outside the
// folder it is unpacked into.
func TestExtractRefusesHostileArchives(t *testing.T) {
	small := Limits{Compressed: 1 << 20, Expanded: 1 << 20, Entries: 1000}
	tests := []struct {
		name    string
		archive func(t *testing.T) []byte
		limits  Limits
		want    string
	}{
		{"zip-slip", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{reg("ok"), reg("../evil")}, nil)
		}, DefaultLimits, `source entry "../evil": a path with "..": entries must stay inside the source`},
		{"zip-slip that cleans back inside", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{reg("a/../../evil")}, nil)
		}, DefaultLimits, `source entry "a/../../evil": a path with ".."`},
		{"absolute path", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{reg("/tmp/evil")}, nil)
		}, DefaultLimits, `source entry "/tmp/evil": an absolute path: entries must be relative to the source`},
		{"symlink to an absolute directory, then a file through it", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{symlink("x", "/tmp"), reg("x/f")}, nil)
		}, DefaultLimits, `source entry "x": a symlink to "/tmp", an absolute path: links must be relative and stay inside the source`},
		{"symlink inside, then a file through it", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{dir("sub/"), symlink("x", "sub"), reg("x/f")}, nil)
		}, DefaultLimits, `source entry "x/f": it would be written through the symlink "x": a source never has entries inside a link`},
		{"symlink to a file outside, then a file of its name", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{symlink("a", "/some/file"), reg("a")}, nil)
		}, DefaultLimits, `source entry "a": a symlink to "/some/file", an absolute path`},
		{"symlink inside, then a file over it", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{reg("b"), symlink("a", "b"), reg("a")}, nil)
		}, DefaultLimits, `source entry "a": a symlink of that name came earlier: a source never writes over a link`},
		{"symlink to /", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{symlink("host", "/"), reg("Dockerfile")}, nil)
		}, DefaultLimits, `source entry "host": a symlink to "/", an absolute path: links must be relative and stay inside the source`},
		{"symlink climbing out", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{symlink("deep/up", "../../etc")}, nil)
		}, DefaultLimits, `source entry "deep/up": a symlink to "../../etc", which leads outside the source: links must stay inside it`},
		{"links that lead out together", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{symlink("p", "."), symlink("q", "p/../etc")}, nil)
		}, DefaultLimits, `source entry "q": a symlink that leads outside the source through other links`},
		{"hard link out", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{hardlink("passwd", "/etc/passwd")}, nil)
		}, DefaultLimits, `source entry "passwd": a hard link (to "/etc/passwd"): a source holds only files, directories and relative symlinks`},
		{"hard link inside", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{reg("a"), hardlink("b", "a")}, nil)
		}, DefaultLimits, `source entry "b": a hard link (to "a")`},
		{"character device", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{special("null", tar.TypeChar)}, nil)
		}, DefaultLimits, `source entry "null": a device file: a source holds only files, directories and relative symlinks`},
		{"block device", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{special("sda", tar.TypeBlock)}, nil)
		}, DefaultLimits, `source entry "sda": a device file`},
		{"FIFO", func(t *testing.T) []byte {
			return tgz(t, []*tar.Header{special("pipe", tar.TypeFifo)}, nil)
		}, DefaultLimits, `source entry "pipe": a FIFO: a source holds only files, directories and relative symlinks`},
		{"10 GiB sparse file", func(t *testing.T) []byte {
			return sparseBomb(t, "bomb", 10<<30)
		}, DefaultLimits, "the source is over the worker's expanded size cap of 4.0 GiB: leave out what the build does not need with .dockerignore, or raise SLIPWAY_SOURCE_MAX_EXPANDED on the worker"},
		{"files that add up over the expanded cap", func(t *testing.T) []byte {
			body := strings.Repeat("x", 600<<10)
			return tgz(t, []*tar.Header{reg("a"), reg("b")}, map[string]string{"a": body, "b": body})
		}, small, "over the worker's expanded size cap of 1.0 MiB"},
		{"over the compressed cap", func(t *testing.T) []byte {
			// Random-looking bytes do not compress: 2 MiB stay about 2 MiB.
			body := make([]byte, 2<<20)
			rand.NewChaCha8([32]byte{1}).Read(body)
			return tgz(t, []*tar.Header{reg("noise")}, map[string]string{"noise": string(body)})
		}, Limits{Compressed: 64 << 10, Expanded: 1 << 30, Entries: 10}, "over the worker's compressed size cap of 64 KiB: leave out what the build does not need with .dockerignore, or raise SLIPWAY_SOURCE_MAX_COMPRESSED on the worker"},
		{"not a tarball", func(t *testing.T) []byte { return []byte("plain text") }, DefaultLimits, "source is not a gzipped tarball"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			archive := tt.archive(t)
			base := t.TempDir()
			dest := filepath.Join(base, "src")
			if err := os.Mkdir(dest, 0o755); err != nil {
				t.Fatal(err)
			}
			err := Extract(bytes.NewReader(archive), dest, tt.limits)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Extract: error %v\nwant one line containing %q", err, tt.want)
			}
			// Nothing was written beside the folder.
			if es, _ := os.ReadDir(base); len(es) != 1 {
				t.Fatalf("extraction wrote outside its folder: %v", es)
			}
			// Nothing big was written inside it either.
			var total int64
			filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					if fi, err := d.Info(); err == nil {
						total += fi.Size()
					}
				}
				return nil
			})
			if total > 2<<20 {
				t.Fatalf("a refused archive left %d bytes", total)
			}
			if err := Check(bytes.NewReader(archive), tt.limits); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check: error %v, want %q", err, tt.want)
			}
		})
	}
}

// A million entries are generated as they are read; the entry cap stops
// the extractor after the first 100,000, without reading the rest.
func TestExtractEntryCap(t *testing.T) {
	start := time.Now()
	r := manyEntries(1_000_000)
	defer r.Close()
	err := Check(r, DefaultLimits)
	want := "the source is over the worker's entry count cap of 100000 entries: leave out what the build does not need with .dockerignore, or raise SLIPWAY_SOURCE_MAX_ENTRIES on the worker"
	if err == nil || err.Error() != want {
		t.Fatalf("Check: %v\nwant %s", err, want)
	}
	var le *LimitError
	if !errors.As(err, &le) || le.Env != EnvMaxEntries {
		t.Fatalf("not a LimitError naming %s: %#v", EnvMaxEntries, err)
	}
	// Extract trips the same cap; a smaller one keeps the test's disk use low.
	r2 := manyEntries(1_000_000)
	defer r2.Close()
	err = Extract(r2, t.TempDir(), Limits{Compressed: 1 << 30, Expanded: 1 << 30, Entries: 5000})
	if err == nil || !strings.Contains(err.Error(), "entry count cap of 5000 entries") {
		t.Fatalf("Extract: %v", err)
	}
	t.Logf("refused a million-entry archive in %v", time.Since(start))
}

// The expanded-size cap counts the bytes that really come out of the
// archive, not what the headers claim.
func TestCapReaderCountsWhatIsRead(t *testing.T) {
	limit := &LimitError{"expanded size", 1 << 20, EnvMaxExpanded}
	n, err := io.Copy(io.Discard, &capReader{r: endless{}, left: 1 << 20, err: limit})
	if err != limit {
		t.Fatalf("an endless stream gave %v after %d bytes", err, n)
	}
	if n > 1<<20+1 {
		t.Fatalf("read %d bytes past a 1 MiB cap", n)
	}
	if _, err := io.Copy(io.Discard, &capReader{r: strings.NewReader("exactly"), left: 7, err: limit}); err != nil {
		t.Fatalf("a stream at the cap is refused: %v", err)
	}
}

// A source that the packager makes unpacks to the same tree: files with
// their modes, directories, and links that stay inside.
func TestExtractRoundTrip(t *testing.T) {
	src := t.TempDir()
	writeTree(t, src, map[string]string{
		"convox.yml": "services: {}\n", "sub/file": "f", "sub/deeper/x": "x",
		"link.txt": "->sub/file", "sub/up": "->../convox.yml", "linkdir": "->sub", "dangling": "->nope",
	})
	if err := os.Chmod(filepath.Join(src, "sub/file"), 0o755); err != nil {
		t.Fatal(err)
	}
	tarball, _ := pack(t, src)
	dest := t.TempDir()
	if err := Extract(bytes.NewReader(tarball), dest, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"convox.yml": "services: {}\n", "sub/file": "f", "sub/deeper/x": "x", "link.txt": "f", "sub/up": "services: {}\n", "linkdir/file": "f"} {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dest, "sub/file")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("sub/file lost its executable bit: %v %v", fi.Mode(), err)
	}
	for link, want := range map[string]string{"linkdir": "sub", "dangling": "nope"} {
		if got, err := os.Readlink(filepath.Join(dest, link)); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", link, got, err, want)
		}
	}
	if err := Check(bytes.NewReader(tarball), DefaultLimits); err != nil {
		t.Fatalf("Check refuses what the packager made: %v", err)
	}
}

func TestLimitsFromEnv(t *testing.T) {
	env := map[string]string{EnvMaxExpanded: "8GiB", EnvMaxEntries: "200000"}
	l, err := LimitsFromEnv(func(k string) string { return env[k] })
	if err != nil || l.Expanded != 8<<30 || l.Entries != 200000 || l.Compressed != DefaultLimits.Compressed {
		t.Fatalf("%+v %v", l, err)
	}
	for k, v := range map[string]string{EnvMaxCompressed: "lots", EnvMaxEntries: "-1", EnvMaxExpanded: "0"} {
		_, err := LimitsFromEnv(func(key string) string {
			if key == k {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), k+"=") {
			t.Errorf("%s=%s: error %v", k, v, err)
		}
	}
}

// The hand-built sparse archive is what it claims: tar expands it.
func TestSparseBombExpands(t *testing.T) {
	dest := t.TempDir()
	if err := Extract(bytes.NewReader(sparseBomb(t, "s", 8<<20)), dest, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dest, "s")); err != nil || fi.Size() != 8<<20 {
		t.Fatalf("sparse file unpacked as %v, %v; want 8 MiB", fi, err)
	}
	err := Extract(bytes.NewReader(sparseBomb(t, "s", 8<<20)), t.TempDir(), Limits{Compressed: 1 << 20, Expanded: 4 << 20, Entries: 10})
	if err == nil || !strings.Contains(err.Error(), "expanded size cap of 4.0 MiB") {
		t.Fatalf("an 8 MiB sparse file under a 4 MiB cap: %v", err)
	}
}

// A PAX global header, as git archive writes, is metadata, not an entry.
func TestExtractSkipsGlobalHeaders(t *testing.T) {
	archive := tgz(t, []*tar.Header{
		{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "0a1b2c3d"}},
		reg("convox.yml"),
	}, map[string]string{"convox.yml": "services: {}\n"})
	dest := t.TempDir()
	if err := Extract(bytes.NewReader(archive), dest, DefaultLimits); err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(dest); len(es) != 1 || es[0].Name() != "convox.yml" {
		t.Fatalf("unpacked %v", es)
	}
}
