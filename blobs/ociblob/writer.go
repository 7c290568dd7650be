package ociblob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"gocloud.dev/blob/driver"
)

// streamAfter is how much a writer holds in memory: an object up to this
// size is uploaded in one PUT on Close; a larger one (a source tarball,
// up to the worker's 1 GiB cap or more) is streamed to the registry as it
// is written, in one PATCH, so no writer holds more than this.
const streamAfter = 8 << 20

// writer uploads the layer, then tags its manifest, on Close. Nothing is
// visible under the key before Close succeeds.
type writer struct {
	ctx         context.Context
	b           *bucket
	key         string
	contentType string
	opts        *driver.WriterOptions

	sha, md5 hash.Hash
	size     int64
	buf      bytes.Buffer

	// Set once the object outgrows streamAfter: the PATCH in flight reads
	// from pw, and sends its result on patched.
	pw      *io.PipeWriter
	patched chan patchResult
	closed  chan struct{}
	err     error
}

type patchResult struct {
	loc string
	err error
}

func newWriter(ctx context.Context, b *bucket, key, contentType string, opts *driver.WriterOptions) *writer {
	return &writer{ctx: ctx, b: b, key: key, contentType: contentType, opts: opts, sha: sha256.New(), md5: md5.New()}
}

func (w *writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.fail(err)
		return 0, err
	}
	w.sha.Write(p)
	w.md5.Write(p)
	w.size += int64(len(p))
	if w.pw == nil {
		w.buf.Write(p)
		if w.buf.Len() <= streamAfter {
			return len(p), nil
		}
		if err := w.startStream(); err != nil {
			w.fail(err)
			return 0, err
		}
		return len(p), nil
	}
	if _, err := w.pw.Write(p); err != nil {
		w.fail(err)
		return 0, err
	}
	return len(p), nil
}

// startStream opens an upload session and streams what is buffered, then
// every later Write, into one PATCH.
func (w *writer) startStream() error {
	loc, err := w.b.c.startUpload(w.ctx)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	w.pw, w.patched = pw, make(chan patchResult, 1)
	held := bytes.NewReader(w.buf.Bytes())
	go func() {
		next, err := w.b.c.patchUpload(w.ctx, loc, io.MultiReader(held, pr))
		pr.CloseWithError(err) // unblocks a Write if the PATCH failed
		w.patched <- patchResult{next, err}
	}()
	w.closed = make(chan struct{})
	go func() {
		// A cancelled write ends the PATCH, even one blocked on the pipe.
		select {
		case <-w.ctx.Done():
			pw.CloseWithError(w.ctx.Err())
		case <-w.closed:
		}
	}()
	return nil
}

func (w *writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	if w.pw != nil {
		w.pw.CloseWithError(err)
	}
}

// Close finishes the upload and tags the manifest, unless the write
// failed or its context ended.
func (w *writer) Close() error {
	if w.closed != nil {
		defer close(w.closed)
	}
	if w.err == nil {
		w.err = w.ctx.Err()
	}
	if w.err != nil {
		w.fail(w.err)
		if w.patched != nil {
			<-w.patched
		}
		return w.err
	}
	digest := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(w.sha.Sum(nil))}
	if w.opts.IfNotExist {
		// Registries have no conditional tag: this check and the tag
		// below are two requests, so two writers racing may both win.
		if _, _, err := w.b.lookup(w.ctx, w.key); err == nil {
			w.fail(errExists)
			if w.patched != nil {
				<-w.patched
			}
			return errExists
		} else if !isNotFound(err) {
			w.fail(err)
			if w.patched != nil {
				<-w.patched
			}
			return err
		}
	}
	// Bytes this bucket pushed before (a log flushed unchanged) are not
	// uploaded again; should the registry have dropped them since, the
	// manifest is refused and they are.
	reuse := w.pw == nil && w.b.cache.wasPushed(digest)
	if !reuse {
		if err := w.upload(digest); err != nil {
			return err
		}
	}
	if err := w.b.c.pushConfig(w.ctx); err != nil {
		return err
	}
	layer := v1.Descriptor{MediaType: layerType, Size: w.size, Digest: digest}
	m, err := newManifest(w.key, layer, w.contentType, w.md5.Sum(nil), time.Now(), w.opts)
	if err != nil {
		return err
	}
	err = w.b.c.putManifest(w.ctx, Tag(w.key), m)
	if err != nil && reuse && blobUnknown(err) {
		w.b.cache.markPushed(digest, false)
		if err = w.upload(digest); err == nil {
			err = w.b.c.putManifest(w.ctx, Tag(w.key), m)
		}
	}
	if err != nil {
		return err
	}
	if w.pw == nil {
		w.b.cache.markPushed(digest, true)
		w.b.cache.put(digest, bytes.Clone(w.buf.Bytes()))
	}
	return nil
}

// upload finishes the layer's upload: the buffer in one POST and PUT, or
// the end of the streamed PATCH and its PUT.
func (w *writer) upload(digest v1.Hash) error {
	if w.pw == nil {
		return w.b.c.pushSmall(w.ctx, digest, w.buf.Bytes())
	}
	w.pw.Close()
	res := <-w.patched
	if res.err != nil {
		return res.err
	}
	return w.b.c.finishUpload(w.ctx, res.loc, digest, nil)
}

func isNotFound(err error) bool {
	_, ok := err.(*notFound)
	return ok
}

// blobUnknown is a manifest refused because a blob it names is not in the
// repository.
func blobUnknown(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	for _, d := range te.Errors {
		if d.Code == transport.BlobUnknownErrorCode || d.Code == "MANIFEST_BLOB_UNKNOWN" {
			return true
		}
	}
	return false
}
