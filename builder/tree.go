package builder

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// file is one entry of a filesystem that COPY reads from: the build
// context, or an earlier stage's image.
type file struct {
	mode fs.FileMode
	link string
	size int64
	open func() (io.ReadCloser, error)
}

// tree maps slash-separated paths, relative to its root, to their entries.
type tree map[string]*file

// dirTree indexes the build context; contents are read only when copied.
// Everything goes through the context's os.Root: symlinks are recorded as
// links (COPY copies them as links, never follows them), and a file is
// opened by its path inside the root, so nothing outside it can be read.
func dirTree(root *os.Root) (tree, error) {
	t := tree{}
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := &file{mode: info.Mode(), size: info.Size()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if f.link, err = root.Readlink(p); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			f.open = func() (io.ReadCloser, error) { return openRegular(root, p) }
		case !info.IsDir():
			return nil
		}
		t[p] = f
		return nil
	})
	return t, err
}

// openRegular opens a file of the context that was a regular file when it
// was indexed, refusing it if it has since become anything else.
func openRegular(root *os.Root, p string) (io.ReadCloser, error) {
	if fi, err := root.Lstat(p); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s changed while it was being built", p)
	}
	return root.Open(p)
}

// imageTree indexes the flattened filesystem of an image (for COPY --from).
func imageTree(img v1.Image) (tree, error) {
	rc := mutate.Extract(img)
	defer rc.Close()
	t := tree{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		p := strings.Trim(path.Clean("/"+hdr.Name), "/")
		if p == "" {
			continue
		}
		f := &file{mode: hdr.FileInfo().Mode(), link: hdr.Linkname, size: hdr.Size}
		if hdr.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				return nil, err
			}
			f.open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		}
		t[p] = f
	}
}

// match returns the paths a COPY source names: itself, or what its glob
// matches, sorted.
func (t tree) match(src string) ([]string, error) {
	p := strings.Trim(path.Clean("/"+src), "/")
	if p == "" {
		return []string{""}, nil // the whole tree
	}
	if _, ok := t[p]; ok {
		return []string{p}, nil
	}
	if !strings.ContainsAny(p, "*?[") {
		return nil, fmt.Errorf("%s: no such file in the build context", src)
	}
	var out []string
	for k := range t {
		if ok, err := path.Match(p, k); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		} else if ok {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: matches no file in the build context", src)
	}
	sort.Strings(out)
	return out, nil
}

// under lists the paths below dir ("" for all), sorted.
func (t tree) under(dir string) []string {
	var out []string
	for k := range t {
		if dir == "" || strings.HasPrefix(k, dir+"/") {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
