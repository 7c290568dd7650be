// Package blobs opens the blob store that holds build sources and logs:
// a file:// bucket under the local stack's folder by default, any
// gocloud.dev bucket URL otherwise.
package blobs

import (
	"context"
	"fmt"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob" // file:// buckets
	_ "gocloud.dev/blob/memblob"  // mem:// buckets, for tests
)

// Open opens the bucket at url.
func Open(ctx context.Context, url string) (*blob.Bucket, error) {
	if url == "" {
		return nil, fmt.Errorf("no blob store: run `slipway dev up`, or set SLIPWAY_BLOB_URL to a bucket URL")
	}
	b, err := blob.OpenBucket(ctx, url)
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
