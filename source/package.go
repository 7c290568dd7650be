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
	"maps"
	"os"
	"path/filepath"
	"slices"
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
//
// Nothing outside dir is ever read: symlinks are stored as links, never
// followed, and files are opened through an os.Root on dir. A symlink that
// points outside dir (absolute, or climbing out with "..", alone or through
// other links) is refused with its name: the worker would refuse the source
// anyway, and saying so before the upload is the clearest place.
func Package(dir string, w io.Writer) (Stats, error) {
	var st Stats
	root, err := os.OpenRoot(dir)
	if err != nil {
		return st, fmt.Errorf("package %s: %w", dir, err)
	}
	defer root.Close()
	matcher, err := ignoreMatcher(root)
	if err != nil {
		return st, err
	}
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	links := map[string]string{}
	err = fs.WalkDir(root.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		if err != nil || rel == "." {
			return err
		}
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
		return addEntry(tw, root, rel, d, &st, links)
	})
	if err == nil {
		err = linksInside(links)
	}
	if err != nil {
		return st, fmt.Errorf("package %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return st, err
	}
	return st, zw.Close()
}

func addEntry(tw *tar.Writer, root *os.Root, rel string, d fs.DirEntry, st *Stats, links map[string]string) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = root.Readlink(rel); err != nil {
			return err
		}
		if err := linkInside(rel, link); err != nil {
			return refusedLink(rel, link)
		}
		links[rel] = link
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
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(tw, bufio.NewReaderSize(f, 256<<10))
	st.Files++
	st.Bytes += n
	return err
}

// refusedLink is the packager's error for a link that leads out.
func refusedLink(rel, target string) error {
	return fmt.Errorf("symlink %s points to %s, outside the source: make it a relative link inside the source, or list it in .dockerignore", rel, target)
}

// linksInside follows every link by its text, as a path lookup would, so
// that links that each stay inside but lead out together are refused too.
func linksInside(links map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(links)) {
		if _, err := resolveText(links, name); err != nil {
			return refusedLink(name, links[name])
		}
	}
	return nil
}

func ignoreMatcher(root *os.Root) (*patternmatcher.PatternMatcher, error) {
	f, err := root.Open(".dockerignore")
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
