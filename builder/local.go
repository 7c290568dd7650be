// Package builder makes OCI images from a Dockerfile. The local builder
// runs nothing: it assembles layers from the build context and earlier
// stages with go-containerregistry, so it works where no container can
// run, and it is reproducible: the same context and Dockerfile always give
// the same digest (fixed times, sorted entries), so an unchanged service is
// not pushed again. Steps that must execute (RUN) are refused with a
// message that names the line.
package builder

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// epoch is the time of every layer entry and of the image itself.
var epoch = time.Unix(0, 0).UTC()

// Input is one service's build.
type Input struct {
	// Source is the unpacked source. Nothing outside it is read: the
	// context and the Dockerfile are opened through an os.Root on it, so
	// a symlink (or a "..") cannot carry a build out of the source.
	Source     string
	Context    string            // the build context, relative to Source (build.path)
	Dockerfile string            // the Dockerfile, relative to Source
	Args       map[string]string // build args (--build-arg, build.args)
	Target     name.Reference    // where the image is pushed
	Remote     []remote.Option   // registry credentials and transport
	// Registries, when set, decides which hosts FROM and COPY --from may
	// name and which are reached over plain HTTP.
	Registries *Registries
	Log        io.Writer // one line per step
}

// Result of a build.
type Result struct {
	Digest string
	Pushed bool // false when the registry already had this very image
}

// Local builds the image and pushes it unless the registry has it already.
func Local(ctx context.Context, in Input) (Result, error) {
	img, err := Image(ctx, in)
	if err != nil {
		return Result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, err
	}
	opts := append([]remote.Option{remote.WithContext(ctx)}, in.Remote...)
	if desc, err := remote.Head(in.Target, opts...); err == nil && desc.Digest == digest {
		fmt.Fprintf(in.Log, "Unchanged: %s@%s\n", in.Target.Name(), digest)
		return Result{Digest: digest.String()}, nil
	}
	fmt.Fprintf(in.Log, "Pushing %s\n", in.Target.Name())
	if err := remote.Write(in.Target, img, opts...); err != nil {
		return Result{}, fmt.Errorf("push %s: %w", in.Target.Name(), Plain(err))
	}
	fmt.Fprintf(in.Log, "Pushed %s@%s\n", in.Target.Name(), digest)
	return Result{Digest: digest.String(), Pushed: true}, nil
}

// Image builds the image of the Dockerfile's last stage.
func Image(ctx context.Context, in Input) (v1.Image, error) {
	src, err := os.OpenRoot(in.Source)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	df, err := src.ReadFile(in.Dockerfile)
	if escapes(err) {
		return nil, fmt.Errorf("the Dockerfile %s leads outside the source through a symlink: point build.manifest at a file inside the source", in.Dockerfile)
	}
	if err != nil {
		return nil, fmt.Errorf("no Dockerfile at %s: %w", in.Dockerfile, cause(err))
	}
	ast, err := parser.Parse(bytes.NewReader(df))
	if err != nil {
		return nil, fmt.Errorf("Dockerfile: %v", err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return nil, fmt.Errorf("Dockerfile: %v", err)
	}
	if len(stages) == 0 {
		return nil, errors.New("Dockerfile has no FROM")
	}
	ctxRoot, err := src.OpenRoot(in.Context)
	if escapes(err) {
		return nil, fmt.Errorf("the build path %s leads outside the source through a symlink: point build.path at a folder inside the source", in.Context)
	}
	if err != nil {
		return nil, fmt.Errorf("build context %s: %w", in.Context, cause(err))
	}
	defer ctxRoot.Close()
	context, err := dirTree(ctxRoot)
	if err != nil {
		return nil, fmt.Errorf("build context: %w", err)
	}
	b := &build{in: in, ctx: ctx, context: context, global: map[string]string{}, stages: map[string]v1.Image{}}
	for _, a := range metaArgs {
		b.declare(b.global, a.Args)
	}
	steps := 0
	for _, st := range stages {
		steps += 1 + len(st.Commands)
	}
	var img v1.Image
	for i, st := range stages {
		if img, err = b.stage(st, steps); err != nil {
			return nil, err
		}
		b.stages[strconv.Itoa(i)] = img
		if st.Name != "" {
			b.stages[strings.ToLower(st.Name)] = img
		}
	}
	return img, nil
}

type build struct {
	in      Input
	ctx     context.Context
	context tree
	global  map[string]string // ARGs before the first FROM
	stages  map[string]v1.Image
	step    int
}

// declare gives ARGs their values: a build arg wins over the default.
func (b *build) declare(into map[string]string, args []instructions.KeyValuePairOptional) {
	for _, a := range args {
		if v, ok := b.in.Args[a.Key]; ok {
			into[a.Key] = v
		} else if a.Value != nil {
			into[a.Key] = *a.Value
		} else if v, ok := b.global[a.Key]; ok {
			into[a.Key] = v
		}
	}
}

func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

func (b *build) logf(format string, args ...any) {
	if b.in.Log != nil {
		fmt.Fprintf(b.in.Log, format+"\n", args...)
	}
}

func (b *build) stage(st instructions.Stage, steps int) (v1.Image, error) {
	b.step++
	b.logf("Step %d/%d : %s", b.step, steps, st.SourceCode)
	lex := shell.NewLex('\\')
	baseName, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(envList(nil, b.global)))
	if err != nil {
		return nil, fmt.Errorf("Dockerfile:%d: %v", line(st.Location), err)
	}
	img, err := b.base(baseName)
	if err != nil {
		return nil, fmt.Errorf("Dockerfile:%d: FROM %s: %v", line(st.Location), baseName, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg := *cf.Config.DeepCopy()
	args := map[string]string{}
	shellCmd := []string{"/bin/sh", "-c"}
	cmdSet := false
	expand := func(word string) (string, error) {
		// ENV wins over ARG of the same name, as in Docker.
		r, _, err := lex.ProcessWord(word, shell.EnvsFromSlice(envList(cfg.Env, args)))
		return r, err
	}
	for _, c := range st.Commands {
		b.step++
		b.logf("Step %d/%d : %s", b.step, steps, c)
		at := line(c.Location())
		fail := func(format string, a ...any) error {
			return fmt.Errorf("Dockerfile:%d: %s", at, fmt.Sprintf(format, a...))
		}
		if ex, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			if err := ex.Expand(expand); err != nil {
				return nil, fail("%v", err)
			}
		}
		switch c := c.(type) {
		case *instructions.ArgCommand:
			b.declare(args, c.Args)
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				cfg.Env = setEnv(cfg.Env, kv.Key, kv.Value)
			}
		case *instructions.WorkdirCommand:
			cfg.WorkingDir = resolve(cfg.WorkingDir, c.Path)
		case *instructions.ExposeCommand:
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = map[string]struct{}{}
			}
			for _, p := range c.Ports {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				cfg.ExposedPorts[p] = struct{}{}
			}
		case *instructions.UserCommand:
			cfg.User = c.User
		case *instructions.LabelCommand:
			if cfg.Labels == nil {
				cfg.Labels = map[string]string{}
			}
			for _, kv := range c.Labels {
				cfg.Labels[kv.Key] = kv.Value
			}
		case *instructions.CmdCommand:
			cfg.Cmd, cmdSet = command(c.CmdLine, c.PrependShell, shellCmd), true
		case *instructions.EntrypointCommand:
			cfg.Entrypoint = command(c.CmdLine, c.PrependShell, shellCmd)
			if !cmdSet {
				cfg.Cmd = nil // as Docker: a new entrypoint drops the base's CMD
			}
		case *instructions.ShellCommand:
			shellCmd = c.Shell
		case *instructions.StopSignalCommand:
			cfg.StopSignal = c.Signal
		case *instructions.VolumeCommand:
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			for _, v := range c.Volumes {
				cfg.Volumes[v] = struct{}{}
			}
		case *instructions.HealthCheckCommand:
			b.logf("HEALTHCHECK ignored: Kubernetes checks the manifest's health instead")
		case *instructions.MaintainerCommand:
			cf.Author = c.Maintainer
		case *instructions.CopyCommand:
			if img, err = b.copy(img, c.String(), c.From, c.SourcesAndDest, c.Chown, c.Chmod, cfg.WorkingDir); err != nil {
				return nil, fail("%v", err)
			}
		case *instructions.AddCommand:
			for _, src := range c.SourcePaths {
				if strings.Contains(src, "://") || strings.HasPrefix(src, "git@") {
					return nil, fail("ADD %s needs the network: use COPY, or the kubernetes builder", src)
				}
			}
			if img, err = b.copy(img, c.String(), "", c.SourcesAndDest, c.Chown, c.Chmod, cfg.WorkingDir); err != nil {
				return nil, fail("%v", err)
			}
		default:
			return nil, fail("%s needs to run a container, which the local builder cannot: use the kubernetes builder (--builder kubernetes)", strings.ToUpper(c.Name()))
		}
	}
	return withConfig(img, cfg, cf.Author)
}

// withConfig sets an image's config, with the fixed creation time (and a
// platform, for images built on scratch).
func withConfig(img v1.Image, cfg v1.Config, author string) (v1.Image, error) {
	out, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	out = out.DeepCopy()
	out.Config, out.Author = cfg, author
	out.Created = v1.Time{Time: epoch}
	if out.OS == "" {
		out.OS, out.Architecture = "linux", "amd64"
	}
	return mutate.ConfigFile(img, out)
}

// FilesImage is an image of the given files (path -> content) on scratch,
// made as every local build is: fixed times and sorted entries.
func FilesImage(files map[string]string, cmd []string) (v1.Image, error) {
	entries := map[string]*entry{}
	for p, body := range files {
		entries[path.Join("/", p)] = &entry{f: &file{mode: 0o644, size: int64(len(body)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader(body)), nil
		}}}
	}
	layer, err := layerOf(entries)
	if err != nil {
		return nil, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: epoch}}})
	if err != nil {
		return nil, err
	}
	return withConfig(img, v1.Config{Cmd: cmd}, "")
}

// base is the image a stage starts from: nothing, an earlier stage, or an
// image in a registry the worker can reach.
func (b *build) base(ref string) (v1.Image, error) {
	if ref == "scratch" {
		return empty.Image, nil
	}
	if img, ok := b.stages[strings.ToLower(ref)]; ok {
		return img, nil
	}
	var r name.Reference
	var err error
	if b.in.Registries != nil {
		r, err = b.in.Registries.Parse(ref, "the image")
	} else {
		r, err = name.ParseReference(ref)
	}
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(r, append([]remote.Option{remote.WithContext(b.ctx)}, b.in.Remote...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the image: %v", Plain(err))
	}
	return img, nil
}

// copy adds one layer with what a COPY or ADD brings in.
func (b *build) copy(img v1.Image, createdBy, from string, sd instructions.SourcesAndDest, chown, chmod, workdir string) (v1.Image, error) {
	if len(sd.SourceContents) > 0 {
		return nil, errors.New("heredoc sources are not supported: put the file in the build context")
	}
	src := b.context
	if from != "" {
		other, err := b.base(from)
		if err != nil {
			return nil, fmt.Errorf("--from=%s: %v", from, err)
		}
		if src, err = imageTree(other); err != nil {
			return nil, fmt.Errorf("--from=%s: %v", from, err)
		}
	}
	uid, gid, err := owner(chown)
	if err != nil {
		return nil, err
	}
	var mode *int64
	if chmod != "" {
		m, err := strconv.ParseInt(chmod, 8, 32)
		if err != nil {
			return nil, fmt.Errorf("--chmod=%s: use octal permissions such as 0755", chmod)
		}
		mode = &m
	}
	dest := resolve(workdir, sd.DestPath)
	var matches []string
	for _, s := range sd.SourcePaths {
		m, err := src.match(s)
		if err != nil {
			return nil, err
		}
		matches = append(matches, m...)
	}
	destIsDir := strings.HasSuffix(sd.DestPath, "/") || len(matches) > 1
	entries := map[string]*entry{}
	for _, m := range matches {
		f := src[m]
		if m == "" || f.mode.IsDir() {
			for _, p := range src.under(m) {
				rel := strings.TrimPrefix(strings.TrimPrefix(p, m), "/")
				entries[path.Join(dest, rel)] = &entry{f: src[p], uid: uid, gid: gid, mode: mode}
			}
			if m != "" {
				entries[dest] = &entry{f: f, uid: uid, gid: gid, mode: mode}
			}
			continue
		}
		target := dest
		if destIsDir {
			target = path.Join(dest, path.Base(m))
		}
		entries[target] = &entry{f: f, uid: uid, gid: gid, mode: mode}
	}
	layer, err := layerOf(entries)
	if err != nil {
		return nil, err
	}
	return mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: createdBy}})
}

type entry struct {
	f        *file
	uid, gid int
	mode     *int64
}

// layerOf writes entries (and their parent directories) as a tar layer,
// sorted, with fixed times: the same entries give the same digest.
func layerOf(entries map[string]*entry) (v1.Layer, error) {
	dirs := map[string]bool{}
	for p := range entries {
		for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				dirs[d] = true
			}
		}
	}
	names := slices.Sorted(maps.Keys(entries))
	for d := range dirs {
		names = append(names, d)
	}
	slices.Sort(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		name := strings.TrimPrefix(p, "/")
		e, ok := entries[p]
		if !ok {
			if err := tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
			continue
		}
		hdr := &tar.Header{Name: name, Mode: int64(e.f.mode.Perm()), Uid: e.uid, Gid: e.gid, ModTime: epoch, Format: tar.FormatPAX}
		if e.mode != nil {
			hdr.Mode = *e.mode
		}
		switch {
		case e.f.mode.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
		case e.f.link != "":
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.f.link
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.f.size
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			r, err := e.f.open()
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(tw, r)
			r.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressionLevel(gzip.BestSpeed))
}

// owner parses --chown: numeric uid[:gid] only, since nothing here can read
// the image's /etc/passwd reliably.
func owner(chown string) (int, int, error) {
	if chown == "" {
		return 0, 0, nil
	}
	u, g, found := strings.Cut(chown, ":")
	uid, err := strconv.Atoi(u)
	if err != nil {
		return 0, 0, fmt.Errorf("--chown=%s: use numeric ids (uid:gid) with the local builder", chown)
	}
	gid := uid
	if found {
		if gid, err = strconv.Atoi(g); err != nil {
			return 0, 0, fmt.Errorf("--chown=%s: use numeric ids (uid:gid) with the local builder", chown)
		}
	}
	return uid, gid, nil
}

// escapes reports an os.Root refusal to leave its directory (the os
// package does not export that error).
func escapes(err error) bool {
	return err != nil && strings.Contains(err.Error(), "path escapes from parent")
}

// cause drops the path an *fs.PathError names: the worker's folders mean
// nothing to the person reading the build log.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// resolve makes p absolute against dir (the WORKDIR), as Docker does.
func resolve(dir, p string) string {
	if !path.IsAbs(p) {
		if dir == "" {
			dir = "/"
		}
		p = path.Join(dir, p)
	}
	return path.Clean(p)
}

func command(cmdline []string, prependShell bool, sh []string) []string {
	if prependShell {
		return append(slices.Clone(sh), strings.Join(cmdline, " "))
	}
	return cmdline
}

func setEnv(env []string, k, v string) []string {
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

// envList is what ${VAR} sees: ARGs, then ENV over them.
func envList(env []string, args map[string]string) []string {
	out := make([]string, 0, len(env)+len(args))
	for _, k := range slices.Sorted(maps.Keys(args)) {
		out = append(out, k+"="+args[k])
	}
	return append(out, env...)
}
