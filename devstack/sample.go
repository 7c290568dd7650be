package devstack

import (
	"context"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/slipway-dev/slipway/builder"
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
	img, err := builder.FilesImage(map[string]string{"README": sampleReadme}, []string{"/README"})
	if err != nil {
		return err
	}
	return remote.Write(ref, img, remote.WithContext(ctx))
}
