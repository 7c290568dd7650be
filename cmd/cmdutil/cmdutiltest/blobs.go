package cmdutiltest

import (
	"context"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

// ShareBlobs makes each Factory.Blobs call open a new bucket on one store,
// as the real Factory does, so a command may close the bucket it opened
// (as it must) and e.Bucket, another bucket on that store, stays open for
// the test to seed and read. The store is a directory under t.TempDir: a
// memblob bucket keeps its objects to itself, so it cannot be shared.
func (e *Env) ShareBlobs(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	open := func(context.Context) (*blob.Bucket, error) { return fileblob.OpenBucket(dir, nil) }
	b, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.Bucket.Close() // the memory bucket New made; New's cleanup closes this one
	e.Bucket = b
	e.Factory.Blobs = open
}
