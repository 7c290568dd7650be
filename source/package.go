// Package source turns an app's directory into the tarball a build reads,
// honouring .dockerignore as Docker does, and reads files back out of it.
package source

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Stats describe a packaged source.
type Stats struct {
	Files int
	Bytes int64 // uncompressed
}

// epoch is every entry's modification time: the same tree always packs to
// the same bytes, whatever its files' times are.
var epoch = time.Unix(0, 0).UTC()

// Package writes dir as a gzipped tarball to w, leaving out what
// .dockerignore excludes. Entries are in lexical order with fixed times and
// owners, so the tarball depends only on the files' names, modes and bytes.
func Package(dir string, w io.Writer) (Stats, error) {
	var st Stats
	matcher, err := ignoreMatcher(dir)
	if err != nil {
		return st, err
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if matcher != nil {
			skip, err := matcher.MatchesOrParentMatches(rel)
			if err != nil {
				return err
			}
			// A directory may not be skipped whole when an exclusion
			// (!pattern) could bring back something inside it.
			if skip && (!d.IsDir() || !matcher.Exclusions()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if skip {
				return nil
			}
		}
		return addEntry(tw, path, rel, d, &st)
	})
	if err != nil {
		return st, fmt.Errorf("package %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	return st, zw.Close()
}

func addEntry(tw *tar.Writer, path, rel string, d fs.DirEntry, st *Stats) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = os.Readlink(path); err != nil {
			return err
		}
	} else if !info.Mode().IsRegular() && !info.IsDir() {
		return nil // sockets, devices and pipes have no place in a build
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return err
	}
	hdr.Name = rel
	if info.IsDir() {
		hdr.Name += "/"
	}
	hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = epoch, time.Time{}, time.Time{}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
	hdr.Format = tar.FormatPAX
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(tw, bufio.NewReaderSize(f, 256<<10))
	st.Files++
	st.Bytes += n
	return err
}

func ignoreMatcher(dir string) (*patternmatcher.PatternMatcher, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	m, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf(".dockerignore: %w", err)
	}
	return m, nil
}

// ReadFile returns one file of a gzipped source tarball.
func ReadFile(r io.Reader, name string) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("source is not a gzipped tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	name = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(name)), "./")
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s not found in the source", name)
		}
		if err != nil {
			return nil, err
		}
		if hdr.Name == name && hdr.Typeflag == tar.TypeReg {
			return io.ReadAll(io.LimitReader(tr, 4<<20))
		}
	}
}

// Extract unpacks a gzipped source tarball into dir, refusing entries that
// would land outside it.
func Extract(r io.Reader, dir string) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("source is not a gzipped tarball: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel := filepath.FromSlash(strings.TrimPrefix(filepath.ToSlash(filepath.Clean("/"+hdr.Name)), "/"))
		if rel == "" || rel == "." {
			continue
		}
		target := filepath.Join(dir, rel)
		// A symlink extracted earlier must not carry a later entry out of
		// dir (a link "a" -> "/etc" followed by a file "a/passwd").
		if parent, err := filepath.EvalSymlinks(filepath.Dir(target)); err == nil {
			if root, _ := filepath.EvalSymlinks(dir); parent != root && !strings.HasPrefix(parent, root+string(filepath.Separator)) {
				return fmt.Errorf("extract %s: it leads out of the source through a symlink", hdr.Name)
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeSymlink:
			if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
				err = os.Symlink(hdr.Linkname, target)
			}
		case tar.TypeReg:
			err = writeFile(target, tr, hdr.FileInfo().Mode().Perm())
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", hdr.Name, err)
		}
	}
}

func writeFile(path string, r io.Reader, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
