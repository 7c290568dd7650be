// Command image builds slipway's own image with slipway's local builder:
// it compiles the static binary (CGO_ENABLED=0, linux/amd64, the platform
// the local builder gives a FROM scratch image), assembles the build
// context (Dockerfile, convox.yml, bin/slipway and the CA roots), and
// pushes the image. `make image` runs it.
//
//	go run ./deploy/image -image localhost:5000/slipway/slipway:latest
//	go run ./deploy/image -context DIR   # assemble only; then slipway build DIR
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slipway-dev/slipway/builder"
	"github.com/slipway-dev/slipway/config"
)

var (
	//go:embed Dockerfile
	dockerfile []byte
	//go:embed convox.yml
	manifest []byte
)

// caBundles are where Linux distributions keep their CA roots, first found
// wins. The image is FROM scratch, so it carries the build machine's.
var caBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
	"/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL
	"/etc/ssl/ca-bundle.pem",             // openSUSE
}

func main() {
	image := flag.String("image", "", "where to push the image, e.g. localhost:5000/slipway/slipway:latest (empty: only assemble the context)")
	dir := flag.String("context", "", "assemble the build context in this folder and keep it (default: a temporary folder)")
	insecure := flag.Bool("insecure", false, "push over plain HTTP (default: only to loopback and $"+config.EnvInsecureRegistries+")")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *image, *dir, *insecure); err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, image, dir string, insecure bool) error {
	if image == "" && dir == "" {
		return errors.New("nothing to do: give -image REF to build and push, or -context DIR to assemble the build context")
	}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "slipway-image-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	if err := assemble(ctx, dir); err != nil {
		return err
	}
	if image == "" {
		fmt.Println(dir)
		return nil
	}
	policy := &builder.Registries{Insecure: builder.SplitHosts(os.Getenv(config.EnvInsecureRegistries))}
	target, err := policy.Parse(image, "-image")
	if err != nil {
		return fmt.Errorf("-image %s: %w", image, err)
	}
	if h := target.Context().RegistryStr(); insecure || loopback(h) {
		policy.Insecure = append(policy.Insecure, h)
		if target, err = policy.Parse(image, "-image"); err != nil {
			return err
		}
	}
	res, err := builder.Local(ctx, builder.Input{
		Source:     dir,
		Context:    ".",
		Dockerfile: "Dockerfile",
		Target:     target,
		Remote:     append(policy.Options(), remote.WithAuthFromKeychain(authn.DefaultKeychain)),
		Registries: policy,
		Log:        os.Stderr,
	})
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", target.Name(), res.Digest)
	return nil
}

// assemble writes the build context: the Dockerfile, convox.yml, the static
// binary and the CA roots.
func assemble(ctx context.Context, dir string) error {
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "convox.yml"), manifest, 0o644); err != nil {
		return err
	}
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(bin, "slipway"), "./cmd/slipway")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	build.Dir, build.Stdout, build.Stderr = moduleRoot(), os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./cmd/slipway: %w", err)
	}
	for _, ca := range caBundles {
		if err := copyFile(ca, filepath.Join(bin, "ca-certificates.crt")); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return fmt.Errorf("no CA bundle at %v: install your distribution's ca-certificates package", caBundles)
}

// moduleRoot is the folder of slipway's go.mod, above the working directory.
func moduleRoot() string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(out) < 2 {
		return "."
	}
	return filepath.Dir(string(out[:len(out)-1]))
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// loopback hosts are reached over plain HTTP, as docker does for them.
func loopback(hostport string) bool {
	h, _, err := net.SplitHostPort(hostport)
	if err != nil {
		h = hostport
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
