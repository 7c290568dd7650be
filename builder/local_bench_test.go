package builder

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
)

// BenchmarkLocalBuildHello builds the example app's web image (a compiled
// binary on scratch) from examples/hello and pushes it to an in-process
// registry; every iteration pushes a new tag of a fresh build.
func BenchmarkLocalBuildHello(b *testing.B) {
	dir := b.TempDir()
	for _, f := range []string{"Dockerfile", ".dockerignore"} {
		data, err := os.ReadFile(filepath.Join("..", "examples", "hello", f))
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "bin", "hello"), "../examples/hello")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	reg := testRegistry(b)
	b.ResetTimer()
	for i := range b.N {
		target, _ := name.ParseReference(reg + "/hello:web.B" + string(rune('A'+i%26)))
		if _, err := Local(context.Background(), Input{Source: dir, Context: ".", Dockerfile: "Dockerfile", Target: target, Log: io.Discard}); err != nil {
			b.Fatal(err)
		}
	}
}
