package devstack

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// SampleImage is the image the local stack's registry starts with, so that
// `image:` services resolve on a machine that reaches no outside registry:
// <registry>/slipway/sample:1. Its one file says what it is; kwok nodes run
// no containers, so nothing ever executes it.
const SampleImage = "slipway/sample:1"

const sampleReadme = "slipway's sample image: the local stack's stand-in for an image from a public registry.\n"

// seedSample pushes the sample image unless the registry has it already.
func seedSample(ctx context.Context, registry string) error {
	ref, err := name.ParseReference(registry + "/" + SampleImage)
	if err != nil {
		return err
	}
	if _, err := remote.Head(ref, remote.WithContext(ctx)); err == nil {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	if err := tw.WriteHeader(&tar.Header{Name: "README", Mode: 0o644, Size: int64(len(sampleReadme)), ModTime: epoch}); err != nil {
		return err
	}
	if _, err := io.WriteString(tw, sampleReadme); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer})
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Created = "linux", "amd64", v1.Time{Time: epoch}
	cf.Config.Cmd = []string{"/README"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	return remote.Write(ref, img, remote.WithContext(ctx))
}
