package ociblob

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"gocloud.dev/blob/driver"
	"gocloud.dev/gcerrors"
)

// bucket is the driver.Bucket of one repository.
type bucket struct {
	c     *client
	cache *layerCache
	// noSignedURL makes SignedURL answer Unimplemented; see
	// TestConformance.
	noSignedURL bool
}

var _ driver.Bucket = (*bucket)(nil)

var (
	// errNotBlob: the tag holds something that is not this key's object.
	errNotBlob = errors.New("not a slipway blob")
	// errExists: IfNotExist was asked and the key has an object.
	errExists = errors.New("the key already has an object")
)

// unimplemented is an operation this driver does not do, and why.
type unimplemented struct{ msg string }

func (e *unimplemented) Error() string { return e.msg }

// invalidKey is a key no object can have.
type invalidKey struct{}

func (invalidKey) Error() string { return "an object's key cannot be empty" }

// notFound is a key with no object.
type notFound struct{ key string }

func (e *notFound) Error() string { return fmt.Sprintf("no object at %q", e.key) }

func (b *bucket) ErrorCode(err error) gcerrors.ErrorCode {
	var nf *notFound
	var un *unimplemented
	var te *transport.Error
	switch {
	case errors.As(err, &nf):
		return gcerrors.NotFound
	case errors.As(err, &un):
		return gcerrors.Unimplemented
	case errors.As(err, new(invalidKey)):
		return gcerrors.InvalidArgument
	case errors.Is(err, errExists):
		return gcerrors.FailedPrecondition
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	case errors.As(err, &te):
		switch {
		case te.StatusCode == http.StatusNotFound:
			return gcerrors.NotFound
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return gcerrors.PermissionDenied
		case te.StatusCode == http.StatusTooManyRequests:
			return gcerrors.ResourceExhausted
		case te.StatusCode == http.StatusBadRequest:
			return gcerrors.InvalidArgument
		}
	}
	return gcerrors.Unknown
}

func (b *bucket) As(any) bool { return false }

// ErrorAs exposes the registry's error as *transport.Error.
func (b *bucket) ErrorAs(err error, i any) bool {
	if p, ok := i.(**transport.Error); ok {
		return errors.As(err, p)
	}
	return false
}

func (b *bucket) Close() error { return nil }

// lookup fetches the object at key. A missing tag, or one that holds
// another key's manifest, is notFound.
func (b *bucket) lookup(ctx context.Context, key string) (*object, []byte, error) {
	raw, digest, err := b.c.getManifest(ctx, Tag(key))
	if err != nil {
		if isMissing(err) {
			return nil, nil, &notFound{key: key}
		}
		return nil, nil, err
	}
	o, err := parseManifest(raw, digest, key)
	if err != nil {
		return nil, nil, &notFound{key: key}
	}
	return o, raw, nil
}

// isMissing is a registry's answer for a tag, blob or repository it does
// not have.
func isMissing(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode:
			return true
		}
	}
	return false
}

func (b *bucket) Attributes(ctx context.Context, key string) (*driver.Attributes, error) {
	o, _, err := b.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	return &o.attrs, nil
}

// NewRangeReader fetches the manifest, then the bytes asked for: two GETs,
// one when the layer is in the cache or the range is empty.
func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, _ *driver.ReaderOptions) (driver.Reader, error) {
	o, _, err := b.lookup(ctx, key)
	if err != nil {
		return nil, err
	}
	r := &reader{attrs: driver.ReaderAttributes{ContentType: o.attrs.ContentType, ModTime: o.attrs.ModTime, Size: o.attrs.Size}}
	if length == 0 || offset >= o.attrs.Size {
		r.body = io.NopCloser(bytes.NewReader(nil))
		return r, nil
	}
	if length < 0 || offset+length > o.attrs.Size {
		length = o.attrs.Size - offset
	}
	if data, ok := b.cache.get(o.layer.Digest); ok {
		r.body = io.NopCloser(nil)
		r.r = bytes.NewReader(data[offset : offset+length])
		return r, nil
	}
	if offset == 0 && length == o.attrs.Size && o.attrs.Size <= cacheObjectMax {
		// A whole small object: read it now, and keep it.
		body, err := b.c.getBlob(ctx, o.layer.Digest, o.attrs.Size, 0, length)
		if err != nil {
			if isMissing(err) {
				return nil, &notFound{key: key}
			}
			return nil, err
		}
		defer body.Close()
		data, err := io.ReadAll(io.LimitReader(body, length))
		if err != nil {
			return nil, err
		}
		if int64(len(data)) == length && v1Digest(data) == o.layer.Digest {
			b.cache.put(o.layer.Digest, data)
		}
		r.body = io.NopCloser(nil)
		r.r = bytes.NewReader(data)
		return r, nil
	}
	body, err := b.c.getBlob(ctx, o.layer.Digest, o.attrs.Size, offset, length)
	if err != nil {
		if isMissing(err) {
			return nil, &notFound{key: key}
		}
		return nil, err
	}
	r.body = body
	r.r = io.LimitReader(body, length)
	return r, nil
}

type reader struct {
	body  io.ReadCloser
	r     io.Reader
	attrs driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error) {
	if r.r == nil {
		return 0, io.EOF
	}
	return r.r.Read(p)
}
func (r *reader) Close() error                         { return r.body.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return &r.attrs }
func (r *reader) As(any) bool                          { return false }

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	if key == "" {
		return nil, invalidKey{}
	}
	if opts.BeforeWrite != nil {
		if err := opts.BeforeWrite(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	return newWriter(ctx, b, key, contentType, opts), nil
}

// Copy tags a manifest of the same layer with dstKey: no bytes move.
func (b *bucket) Copy(ctx context.Context, dstKey, srcKey string, opts *driver.CopyOptions) error {
	if opts.BeforeCopy != nil {
		if err := opts.BeforeCopy(func(any) bool { return false }); err != nil {
			return err
		}
	}
	_, raw, err := b.lookup(ctx, srcKey)
	if err != nil {
		return err
	}
	if err := b.c.pushConfig(ctx); err != nil {
		return err
	}
	m, err := retarget(raw, dstKey, time.Now())
	if err != nil {
		return err
	}
	return b.c.putManifest(ctx, Tag(dstKey), m)
}

// Delete removes the key's tag. Where the registry cannot delete a tag,
// the manifest goes by its digest (each key's manifest names its key, so
// no other key shares it). The layer stays until the registry's garbage
// collection.
func (b *bucket) Delete(ctx context.Context, key string, opts *driver.DeleteOptions) error {
	if opts.BeforeDelete != nil {
		if err := opts.BeforeDelete(func(any) bool { return false }); err != nil {
			return err
		}
	}
	_, raw, err := b.lookup(ctx, key)
	if err != nil {
		return err
	}
	err = b.c.deleteManifest(ctx, Tag(key))
	if err == nil {
		return nil
	}
	if isMissing(err) {
		return &notFound{key: key}
	}
	var te *transport.Error
	if !errors.As(err, &te) || (te.StatusCode != http.StatusBadRequest && te.StatusCode != http.StatusMethodNotAllowed) {
		return deleteHint(err)
	}
	if err := b.c.deleteManifest(ctx, digestOf(raw)); err != nil {
		if isMissing(err) {
			return &notFound{key: key}
		}
		return deleteHint(err)
	}
	return nil
}

func deleteHint(err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusMethodNotAllowed {
		return fmt.Errorf("%w (the registry refuses deletes: enable them, e.g. storage.delete.enabled in distribution's config)", err)
	}
	return err
}

// ListPaged lists the repository's tags and reads each object's manifest
// for its key: a listing costs one request per object, so it suits
// buckets of thousands of objects, not millions.
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	if opts.BeforeList != nil {
		if err := opts.BeforeList(func(any) bool { return false }); err != nil {
			return nil, err
		}
	}
	tags, err := b.c.tags(ctx)
	if err != nil && !isMissing(err) {
		return nil, err
	}
	objs, err := b.objects(ctx, tags)
	if err != nil {
		return nil, err
	}
	return page(objs, opts), nil
}

// objects reads the manifests of the tags that are objects' tags, eight
// at a time. A tag gone since the listing is skipped.
func (b *bucket) objects(ctx context.Context, tags []string) ([]*driver.ListObject, error) {
	tags = slices.DeleteFunc(tags, func(t string) bool { return !strings.HasPrefix(t, tagPrefix) })
	out := make([]*driver.ListObject, len(tags))
	errs := make([]error, len(tags))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, tag := range tags {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			raw, digest, err := b.c.getManifest(ctx, tag)
			if err != nil {
				if !isMissing(err) {
					errs[i] = err
				}
				return
			}
			o, err := parseManifest(raw, digest, "")
			if err != nil || Tag(o.key) != tag {
				return
			}
			out[i] = &driver.ListObject{Key: o.key, ModTime: o.attrs.ModTime, Size: o.attrs.Size, MD5: o.attrs.MD5}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out = slices.DeleteFunc(out, func(o *driver.ListObject) bool { return o == nil })
	slices.SortFunc(out, func(a, b *driver.ListObject) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

const defaultPageSize = 1000

// page picks one page of a sorted listing: the prefix, the delimiter's
// "directories", the objects after the page token.
func page(objs []*driver.ListObject, opts *driver.ListOptions) *driver.ListPage {
	pageSize := opts.PageSize
	if pageSize == 0 {
		pageSize = defaultPageSize
	}
	token := string(opts.PageToken)
	var lastDir string
	res := &driver.ListPage{}
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, opts.Prefix) {
			continue
		}
		if opts.Delimiter != "" {
			rest := o.Key[len(opts.Prefix):]
			if i := strings.Index(rest, opts.Delimiter); i >= 0 {
				dir := opts.Prefix + rest[:i+len(opts.Delimiter)]
				if dir == lastDir {
					continue
				}
				lastDir = dir
				o = &driver.ListObject{Key: dir, IsDir: true}
			}
		}
		if token != "" && o.Key <= token {
			continue
		}
		if len(res.Objects) == pageSize {
			res.NextPageToken = []byte(res.Objects[pageSize-1].Key)
			return res
		}
		res.Objects = append(res.Objects, o)
	}
	return res
}

func digestOf(raw []byte) string { return v1Digest(raw).String() }

func v1Digest(raw []byte) v1.Hash {
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	return h
}

func decodeJSON(r io.Reader, v any) error {
	return json.NewDecoder(io.LimitReader(r, 64<<20)).Decode(v)
}
