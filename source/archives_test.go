package source

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"testing"
)

// Builders of hostile source tarballs, for the extractor's tests.

// tgz is a gzipped tarball of the given headers; a regular file's body is
// its Linkname-free content from bodies (or empty).
func tgz(t testing.TB, hdrs []*tar.Header, bodies map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		body := bodies[h.Name]
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if h.Mode == 0 && h.Typeflag != tar.TypeXGlobalHeader {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("header %s: %v", h.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.WriteString(tw, body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func reg(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg} }
func dir(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755} }
func symlink(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeSymlink, Linkname: target, Mode: 0o777}
}
func hardlink(name, target string) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeLink, Linkname: target}
}
func special(name string, kind byte) *tar.Header {
	return &tar.Header{Name: name, Typeflag: kind, Devmajor: 1, Devminor: 3}
}

// sparseBomb is a gzipped tarball holding one old-GNU sparse file whose
// header claims size bytes but whose archive holds a single byte of data:
// tar expands it to size bytes of (mostly) zeros. archive/tar cannot write
// sparse files, so the header is built by hand.
func sparseBomb(t testing.TB, name string, size int64) []byte {
	t.Helper()
	var blk [512]byte
	copy(blk[0:100], name)
	octal(blk[100:108], 0o644)
	octal(blk[108:116], 0)
	octal(blk[116:124], 0)
	octal(blk[124:136], 1) // bytes stored in the archive
	octal(blk[136:148], 0)
	blk[156] = tar.TypeGNUSparse
	copy(blk[257:263], "ustar ") // GNU magic
	copy(blk[263:265], " \x00")
	// One sparse entry: the last byte holds data, the rest is a hole.
	numeric(blk[386:398], size-1)
	numeric(blk[398:410], 1)
	numeric(blk[483:495], size) // the size once expanded
	for i := range blk[148:156] {
		blk[148+i] = ' '
	}
	var sum int64
	for _, b := range blk {
		sum += int64(b)
	}
	copy(blk[148:156], fmt.Sprintf("%06o\x00 ", sum))
	var raw bytes.Buffer
	raw.Write(blk[:])
	data := [512]byte{'x'}
	raw.Write(data[:])
	raw.Write(make([]byte, 1024)) // end of archive
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw.Bytes())
	zw.Close()
	return buf.Bytes()
}

// octal writes n as a NUL-terminated octal field.
func octal(f []byte, n int64) { copy(f, fmt.Sprintf("%0*o\x00", len(f)-1, n)) }

// numeric writes n in octal if it fits, else in GNU's base-256.
func numeric(f []byte, n int64) {
	if n < 1<<(3*(len(f)-1)) {
		octal(f, n)
		return
	}
	for i := range f {
		f[i] = 0
	}
	binary.BigEndian.PutUint64(f[len(f)-8:], uint64(n))
	f[0] = 0x80
}

// manyEntries streams a gzipped tarball of n empty files, generated as it
// is read, so a million entries cost nothing until someone reads them all.
// Closing the returned reader stops the generator.
func manyEntries(n int) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		zw, _ := gzip.NewWriterLevel(pw, gzip.BestSpeed)
		tw := tar.NewWriter(zw)
		var err error
		for i := 0; i < n && err == nil; i++ {
			err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("f/%07d", i), Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatUSTAR})
		}
		if err == nil {
			err = tw.Close()
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// endless is a reader of zeros that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
