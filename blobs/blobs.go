// Package blobs opens the blob store that holds build sources and logs:
// a file:// bucket under the local stack's folder by default, or an
// oci:// repository in a registry, which the CLI and the workers reach
// over the network (mem:// in tests). Cloud buckets (s3://, gs://,
// azblob://) are not compiled in: their SDKs would weigh on every build.
package blobs

import (
	"context"
	"fmt"
	neturl "net/url"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets, for tests

	"github.com/slipway-dev/slipway/blobs/ociblob"
)

// Open opens the bucket at url. insecure lists the registries reached over
// plain HTTP (the settings' InsecureRegistries, which add the local
// stack's registry to $SLIPWAY_INSECURE_REGISTRIES), so an oci:// bucket
// trusts exactly the registries slipway's builds trust.
func Open(ctx context.Context, url string, insecure []string) (*blob.Bucket, error) {
	if url == "" {
		return nil, fmt.Errorf("no blob store: run `slipway dev up`, or set SLIPWAY_BLOB_URL to a bucket URL (oci://REGISTRY/REPOSITORY or file:///PATH)")
	}
	var b *blob.Bucket
	var err error
	if u, perr := neturl.Parse(url); perr == nil && u.Scheme == ociblob.Scheme {
		b, err = (&ociblob.URLOpener{Insecure: insecure}).OpenBucketURL(ctx, u)
	} else {
		b, err = blob.OpenBucket(ctx, url)
	}
	if err != nil {
		return nil, fmt.Errorf("open blob store %s: %w", url, err)
	}
	return b, nil
}

// SourceKey is where a build's source tarball lives.
func SourceKey(app, build string) string {
	return fmt.Sprintf("apps/%s/builds/%s/source.tgz", app, build)
}

// LogKey is where a build's log lives.
func LogKey(app, build string) string { return fmt.Sprintf("apps/%s/builds/%s/log", app, build) }

// ReleaseOutputKey is where the output of a promotion's release commands
// lives.
func ReleaseOutputKey(app, promotion string) string {
	return fmt.Sprintf("apps/%s/promotions/%s/release-output", app, promotion)
}
