package source

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/dustin/go-humanize"
)

// Limits bound what one build source may cost the worker that unpacks it.
// A source comes from anyone who may run `slipway build`, so none of it is
// trusted: not its names, not its links, not the sizes its headers claim.
type Limits struct {
	Compressed int64 // bytes of the gzipped tarball as uploaded
	Expanded   int64 // bytes of every file's content once unpacked
	Entries    int   // files, directories and links
}

// DefaultLimits fit any app source a person would build (the CLI itself
// refuses a context over 1 GiB by default) while keeping a hostile one from
// filling the worker's disk.
var DefaultLimits = Limits{Compressed: 1 << 30, Expanded: 4 << 30, Entries: 100_000}

// The worker's settings that raise the limits, named in every error.
const (
	EnvMaxCompressed = "SLIPWAY_SOURCE_MAX_COMPRESSED"
	EnvMaxExpanded   = "SLIPWAY_SOURCE_MAX_EXPANDED"
	EnvMaxEntries    = "SLIPWAY_SOURCE_MAX_ENTRIES"
)

// LimitsFromEnv reads the worker's limits, each defaulting to DefaultLimits.
// Sizes take units ("8GiB", "500MB") or plain bytes.
func LimitsFromEnv(getenv func(string) string) (Limits, error) {
	l := DefaultLimits
	for _, s := range []struct {
		env  string
		into *int64
	}{{EnvMaxCompressed, &l.Compressed}, {EnvMaxExpanded, &l.Expanded}} {
		v := getenv(s.env)
		if v == "" {
			continue
		}
		n, err := humanize.ParseBytes(v)
		if err != nil || n == 0 || n > 1<<62 {
			return l, fmt.Errorf("%s=%q is not a size: write bytes or a size such as 8GiB", s.env, v)
		}
		*s.into = int64(n)
	}
	if v := getenv(EnvMaxEntries); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			return l, fmt.Errorf("%s=%q is not a count: write a positive number such as 200000", EnvMaxEntries, v)
		}
		l.Entries = n
	}
	return l, nil
}

// LimitError is a source over one of the worker's limits.
type LimitError struct {
	What  string // "compressed size", "expanded size" or "entry count"
	Limit int64
	Env   string // the worker's setting that raises it
}

func (e *LimitError) Error() string {
	limit := humanize.IBytes(uint64(e.Limit))
	if e.Env == EnvMaxEntries {
		limit = fmt.Sprintf("%d entries", e.Limit)
	}
	return fmt.Sprintf("the source is over the worker's %s cap of %s: leave out what the build does not need with .dockerignore, or raise %s on the worker",
		e.What, limit, e.Env)
}

// EntryError is an entry of the source that is refused.
type EntryError struct {
	Name   string
	Reason string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("source entry %q: %s", e.Name, e.Reason)
}

// Extract unpacks a gzipped source tarball into dir, which must exist and
// should be empty. Every write goes through an os.Root on dir, so nothing
// can land outside it whatever the archive says; on top of that, what could
// mislead a later reader is refused with an error naming the entry: paths
// that are absolute or climb with "..", symlinks that are absolute or lead
// outside dir, entries written through a symlink or over one, hard links,
// devices and FIFOs. The limits are enforced on the bytes actually read and
// written, so a header that lies (a sparse file claiming little, a gzip
// bomb) is caught while streaming.
func Extract(r io.Reader, dir string, l Limits) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	x := &extractor{root: root, links: map[string]string{}}
	if err := walk(r, l, x); err != nil {
		return err
	}
	return x.checkLinks()
}

// Check reads a gzipped source tarball with the same rules and limits as
// Extract, writing nothing: for a source that is unpacked elsewhere.
func Check(r io.Reader, l Limits) error {
	x := &checker{links: map[string]string{}}
	if err := walk(r, l, x); err != nil {
		return err
	}
	return checkLinksLexically(x.links)
}

// sink is what walk hands each accepted entry to.
type sink interface {
	dir(name string, mode fs.FileMode) error
	file(name string, mode fs.FileMode, body io.Reader) error
	symlink(name, target string) error
	seen() map[string]string // symlinks so far: name -> target
}

func walk(r io.Reader, l Limits, s sink) error {
	// The tar stream is a little more than the files it holds: headers and
	// padding, at most a few blocks an entry (PAX records are capped by the
	// tar reader). Counting it bounds the work of entries we skip as well.
	compressed := &capReader{r: r, left: l.Compressed, err: &LimitError{"compressed size", l.Compressed, EnvMaxCompressed}}
	zr, err := gzip.NewReader(compressed)
	if err != nil {
		if errors.As(err, new(*LimitError)) {
			return err
		}
		return fmt.Errorf("source is not a gzipped tarball: %w", err)
	}
	expanded := &LimitError{"expanded size", l.Expanded, EnvMaxExpanded}
	stream := &capReader{r: zr, left: l.Expanded + int64(l.Entries+1)*4<<10 + 1<<20, err: expanded}
	tr := tar.NewReader(stream)
	left := l.Expanded
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if errors.As(err, new(*LimitError)) {
				return err
			}
			return fmt.Errorf("the source is not a valid tarball (%v): build again with slipway", err)
		}
		if entries >= l.Entries {
			return &LimitError{"entry count", int64(l.Entries), EnvMaxEntries}
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue // metadata (git archive writes its commit there), no file
		}
		name, err := entryName(hdr.Name)
		if err != nil {
			return &EntryError{hdr.Name, err.Error()}
		}
		if name == "." {
			if hdr.Typeflag == tar.TypeDir {
				continue
			}
			return &EntryError{hdr.Name, "only the source's root directory may have this name"}
		}
		if through := throughLink(s.seen(), name); through != "" {
			return &EntryError{hdr.Name, fmt.Sprintf("it would be written through the symlink %q: a source never has entries inside a link", through)}
		}
		if _, ok := s.seen()[name]; ok {
			return &EntryError{hdr.Name, "a symlink of that name came earlier: a source never writes over a link"}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = s.dir(name, fs.FileMode(hdr.Mode).Perm())
		case tar.TypeReg, tar.TypeGNUSparse:
			// The header's size is only a claim; the copy below counts
			// what really comes out. Refusing on the claim first spares
			// the disk a write that is bound to fail.
			if hdr.Size > left {
				return expanded
			}
			body := &capReader{r: tr, left: left, err: expanded}
			err = s.file(name, fs.FileMode(hdr.Mode).Perm(), body)
			left = body.left
		case tar.TypeSymlink:
			if err := linkInside(name, hdr.Linkname); err != nil {
				return &EntryError{hdr.Name, err.Error()}
			}
			err = s.symlink(name, hdr.Linkname)
		case tar.TypeLink:
			return &EntryError{hdr.Name, fmt.Sprintf("a hard link (to %q): a source holds only files, directories and relative symlinks", hdr.Linkname)}
		case tar.TypeChar, tar.TypeBlock:
			return &EntryError{hdr.Name, "a device file: a source holds only files, directories and relative symlinks"}
		case tar.TypeFifo:
			return &EntryError{hdr.Name, "a FIFO: a source holds only files, directories and relative symlinks"}
		default:
			return &EntryError{hdr.Name, fmt.Sprintf("an entry of type %q: a source holds only files, directories and relative symlinks", hdr.Typeflag)}
		}
		if err != nil {
			var le *LimitError
			if errors.As(err, &le) {
				return le
			}
			return &EntryError{hdr.Name, err.Error()}
		}
	}
}

// entryName is the cleaned, slash-separated name of an entry inside the
// source, or an error for a name that is absolute or climbs out.
func entryName(name string) (string, error) {
	if name == "" {
		return "", errors.New("an entry has no name")
	}
	if strings.HasPrefix(name, "/") {
		return "", errors.New("an absolute path: entries must be relative to the source")
	}
	if strings.ContainsRune(name, 0) || strings.Contains(name, "\\") {
		return "", errors.New("a name with a NUL or a backslash: rename it")
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", errors.New(`a path with "..": entries must stay inside the source`)
		}
	}
	return path.Clean(name), nil
}

// linkInside checks a symlink's target by its text: relative, and inside
// the source once joined to the link's directory.
func linkInside(name, target string) error {
	switch {
	case target == "":
		return errors.New("a symlink with no target")
	case strings.HasPrefix(target, "/"):
		return fmt.Errorf("a symlink to %q, an absolute path: links must be relative and stay inside the source", target)
	}
	if j := path.Join(path.Dir(name), target); j == ".." || strings.HasPrefix(j, "../") {
		return fmt.Errorf("a symlink to %q, which leads outside the source: links must stay inside it", target)
	}
	return nil
}

// throughLink is the symlink among name's parent directories, if any.
func throughLink(links map[string]string, name string) string {
	if len(links) == 0 {
		return ""
	}
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if _, ok := links[d]; ok {
			return d
		}
	}
	return ""
}

// checkLinksLexically catches the links that each look inside but lead out
// together (p -> ., q -> p/../x): following the chain by text, as the
// kernel would, must never climb above the source.
func checkLinksLexically(links map[string]string) error {
	for _, name := range slices.Sorted(maps.Keys(links)) {
		if _, err := resolveText(links, name); err != nil {
			return &EntryError{name, err.Error()}
		}
	}
	return nil
}

// resolveText follows name through the links, component by component, as
// a path lookup does, and fails if it climbs above the root.
func resolveText(links map[string]string, name string) (string, error) {
	var cur []string
	todo := strings.Split(name, "/")
	for hops := 0; len(todo) > 0; {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", errors.New("a symlink that leads outside the source through other links: links must stay inside it")
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := strings.Join(append(cur, part), "/")
		target, ok := links[p]
		if !ok {
			cur = append(cur, part)
			continue
		}
		if hops++; hops > 255 {
			return "", errors.New("a symlink loop: remove it")
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return strings.Join(cur, "/"), nil
}

// capReader fails with err once more than left bytes are read.
type capReader struct {
	r    io.Reader
	left int64
	err  error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, c.err
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, c.err
	}
	return n, err
}

type checker struct{ links map[string]string }

func (c *checker) dir(string, fs.FileMode) error { return nil }
func (c *checker) file(_ string, _ fs.FileMode, body io.Reader) error {
	_, err := io.Copy(io.Discard, body)
	return err
}
func (c *checker) symlink(name, target string) error { c.links[name] = target; return nil }
func (c *checker) seen() map[string]string           { return c.links }

// extractor writes through an os.Root: the kernel-level guarantee under
// the checks above.
type extractor struct {
	root  *os.Root
	links map[string]string
}

func (x *extractor) seen() map[string]string { return x.links }

func (x *extractor) dir(name string, _ fs.FileMode) error {
	return x.root.MkdirAll(name, 0o755)
}

func (x *extractor) file(name string, mode fs.FileMode, body io.Reader) error {
	if d := path.Dir(name); d != "." {
		if err := x.root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if fi, err := x.root.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return errors.New("a file where the source already has a directory: the archive is damaged")
	}
	f, err := x.root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (x *extractor) symlink(name, target string) error {
	if d := path.Dir(name); d != "." {
		if err := x.root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := x.root.Symlink(target, name); err != nil {
		return err
	}
	x.links[name] = target
	return nil
}

// checkLinks follows every extracted link as the kernel will, inside the
// root: one that resolves outside it is refused. A dangling link is fine.
func (x *extractor) checkLinks() error {
	if err := checkLinksLexically(x.links); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(x.links)) {
		if _, err := x.root.Stat(name); escapes(err) {
			return &EntryError{name, fmt.Sprintf("a symlink to %q, which leads outside the source: links must stay inside it", x.links[name])}
		}
	}
	return nil
}

// escapes reports an os.Root refusal to leave its directory. The os
// package does not export that error, so its text is the only handle.
func escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}
