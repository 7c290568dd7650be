package ociblob

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"gocloud.dev/blob/driver"
)

const (
	// ArtifactType marks a manifest as one of slipway's blobs.
	ArtifactType = "application/vnd.slipway.blob.v1"
	// layerType is the one layer's media type: the bytes as written.
	layerType = "application/vnd.slipway.blob.data.v1"
	// tagPrefix starts every object's tag; the rest is the key's SHA-256.
	tagPrefix = "blob-"
)

// The empty config of an OCI artifact: "{}".
var (
	emptyConfig     = []byte("{}")
	emptyConfigDesc = v1.Descriptor{
		MediaType: "application/vnd.oci.empty.v1+json",
		Size:      2,
		Digest:    v1.Hash{Algorithm: "sha256", Hex: "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
		Data:      emptyConfig,
	}
)

// Annotations that carry the object's key and attributes.
const (
	annKey                = "dev.slipway.blob.key"
	annModTime            = "org.opencontainers.image.created"
	annContentType        = "dev.slipway.blob.content-type"
	annCacheControl       = "dev.slipway.blob.cache-control"
	annContentDisposition = "dev.slipway.blob.content-disposition"
	annContentEncoding    = "dev.slipway.blob.content-encoding"
	annContentLanguage    = "dev.slipway.blob.content-language"
	annMD5                = "dev.slipway.blob.md5"
	annMetaPrefix         = "dev.slipway.blob.meta."
)

// Tag is the tag of the object at key: tags allow only [A-Za-z0-9_.-] and
// 128 characters, keys anything.
func Tag(key string) string {
	sum := sha256.Sum256([]byte(key))
	return tagPrefix + hex.EncodeToString(sum[:])
}

// object is what a manifest says of the object it tags.
type object struct {
	key   string
	layer v1.Descriptor
	attrs driver.Attributes
}

// newManifest describes an object whose bytes are the layer.
func newManifest(key string, layer v1.Descriptor, contentType string, md5 []byte, modTime time.Time, opts *driver.WriterOptions) ([]byte, error) {
	ann := map[string]string{
		annKey:         key,
		annModTime:     modTime.UTC().Format(time.RFC3339Nano),
		annContentType: contentType,
	}
	if md5 != nil {
		ann[annMD5] = base64.StdEncoding.EncodeToString(md5)
	}
	if opts != nil {
		set := func(k, v string) {
			if v != "" {
				ann[k] = v
			}
		}
		set(annCacheControl, opts.CacheControl)
		set(annContentDisposition, opts.ContentDisposition)
		set(annContentEncoding, opts.ContentEncoding)
		set(annContentLanguage, opts.ContentLanguage)
		for k, v := range opts.Metadata {
			ann[annMetaPrefix+k] = v
		}
	}
	return json.Marshal(v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  ArtifactType,
		Config:        emptyConfigDesc,
		Layers:        []v1.Descriptor{layer},
		Annotations:   ann,
	})
}

// retarget is the manifest of a copy of obj at key: the same layer, so a
// copy moves no bytes.
func retarget(raw []byte, key string, modTime time.Time) ([]byte, error) {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	m.Annotations[annKey] = key
	m.Annotations[annModTime] = modTime.UTC().Format(time.RFC3339Nano)
	return json.Marshal(m)
}

// parseManifest reads an object's manifest. A manifest that is not one of
// slipway's blobs, or is another key's, is an error (errNotBlob): the
// tag is not this key's object.
func parseManifest(raw []byte, digest, key string) (*object, error) {
	var m v1.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", errNotBlob, err)
	}
	if m.ArtifactType != ArtifactType || len(m.Layers) != 1 {
		return nil, errNotBlob
	}
	ann := m.Annotations
	if key != "" && ann[annKey] != key {
		return nil, errNotBlob
	}
	o := &object{key: ann[annKey], layer: m.Layers[0]}
	mod, _ := time.Parse(time.RFC3339Nano, ann[annModTime])
	o.attrs = driver.Attributes{
		CacheControl:       ann[annCacheControl],
		ContentDisposition: ann[annContentDisposition],
		ContentEncoding:    ann[annContentEncoding],
		ContentLanguage:    ann[annContentLanguage],
		ContentType:        ann[annContentType],
		ModTime:            mod,
		Size:               m.Layers[0].Size,
		ETag:               strconv.Quote(digest),
	}
	o.attrs.MD5, _ = base64.StdEncoding.DecodeString(ann[annMD5])
	for k, v := range ann {
		if mk, ok := strings.CutPrefix(k, annMetaPrefix); ok {
			if o.attrs.Metadata == nil {
				o.attrs.Metadata = map[string]string{}
			}
			o.attrs.Metadata[mk] = v
		}
	}
	return o, nil
}
