package ociblob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// client speaks the registry API for one repository. Its transport (the
// ping, the credentials and the bearer token) is made on first use and
// kept, so a read or a write costs only its own requests.
type client struct {
	repo     name.Repository
	keychain authn.Keychain
	base     http.RoundTripper
	scheme   string // https, or http for a host named insecure

	mu sync.Mutex
	rt http.RoundTripper
	// configPushed is set once the empty config blob is known to be in the
	// repository: every manifest names it.
	configPushed bool
}

func newClient(repo name.Repository, keychain authn.Keychain, insecure []string) *client {
	scheme := "https"
	if hostIn(insecure, repo.RegistryStr()) {
		scheme = "http"
	}
	return &client{repo: repo, keychain: keychain, scheme: scheme, base: &httpsOnly{base: remote.DefaultTransport, insecure: insecure}}
}

// transport is the authenticated transport, made on first use. A failure
// is not kept: the next call tries again.
func (c *client) transport(ctx context.Context) (http.RoundTripper, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rt != nil {
		return c.rt, nil
	}
	auth, err := c.keychain.Resolve(c.repo.Registry)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", c.repo.RegistryStr(), err)
	}
	rt, err := transport.NewWithContext(ctx, c.repo.Registry, auth, c.base, []string{c.repo.Scope(transport.PushScope)})
	if err != nil {
		return nil, plain(fmt.Errorf("reach the registry %s: %w", c.repo.RegistryStr(), err))
	}
	c.rt = rt
	return rt, nil
}

// url is the API URL of a path under the repository: "manifests/TAG".
func (c *client) url(p string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s", c.scheme, c.repo.RegistryStr(), c.repo.RepositoryStr(), p)
}

// do sends a request and returns the response when its status is one of
// want; otherwise the registry's error (closed body).
func (c *client) do(ctx context.Context, method, u string, body io.Reader, hdr http.Header, want ...int) (*http.Response, error) {
	rt, err := c.transport(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if b, ok := body.(*bytes.Reader); ok {
		req.ContentLength = int64(b.Len())
	}
	resp, err := (&http.Client{Transport: rt, CheckRedirect: c.checkRedirect}).Do(req)
	if err != nil {
		return nil, plain(err)
	}
	if err := transport.CheckError(resp, want...); err != nil {
		drain(resp)
		return nil, err
	}
	return resp, nil
}

// checkRedirect follows a registry's redirect of a blob to its storage
// without the registry's credentials: the storage URL is signed.
func (c *client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Authorization")
	}
	return nil
}

var manifestAccept = http.Header{"Accept": {string(types.OCIManifestSchema1)}}

// getManifest fetches the manifest tagged ref, with its digest.
func (c *client) getManifest(ctx context.Context, ref string) ([]byte, string, error) {
	resp, err := c.do(ctx, http.MethodGet, c.url("manifests/"+ref), nil, manifestAccept, http.StatusOK)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, "", err
	}
	h, _, _ := v1.SHA256(bytes.NewReader(raw))
	return raw, h.String(), nil
}

// putManifest tags raw as ref.
func (c *client) putManifest(ctx context.Context, ref string, raw []byte) error {
	resp, err := c.do(ctx, http.MethodPut, c.url("manifests/"+ref), bytes.NewReader(raw),
		http.Header{"Content-Type": {string(types.OCIManifestSchema1)}}, http.StatusCreated, http.StatusOK, http.StatusAccepted)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// deleteManifest deletes the manifest ref (a tag or a digest).
func (c *client) deleteManifest(ctx context.Context, ref string) error {
	resp, err := c.do(ctx, http.MethodDelete, c.url("manifests/"+ref), nil, nil, http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// getBlob fetches length bytes of a blob of size bytes from offset on (a
// Range request, with both ends, unless it is the whole blob); the body
// starts at offset whether or not the registry honoured the range.
func (c *client) getBlob(ctx context.Context, digest v1.Hash, size, offset, length int64) (io.ReadCloser, error) {
	var hdr http.Header
	if end := offset + length - 1; offset > 0 || end < size-1 {
		hdr = http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", offset, end)}}
	}
	resp, err := c.do(ctx, http.MethodGet, c.url("blobs/"+digest.String()), nil, hdr, http.StatusOK, http.StatusPartialContent)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusOK && offset > 0 {
		// The registry sent the whole blob: skip to offset.
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil {
			drain(resp)
			return nil, err
		}
	}
	return resp.Body, nil
}

// pushSmall uploads a blob held in memory: POST for an upload URL, PUT
// the bytes with their digest.
func (c *client) pushSmall(ctx context.Context, digest v1.Hash, data []byte) error {
	loc, err := c.startUpload(ctx)
	if err != nil {
		return err
	}
	return c.finishUpload(ctx, loc, digest, bytes.NewReader(data))
}

// startUpload opens an upload session and returns its URL.
func (c *client) startUpload(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, http.MethodPost, c.url("blobs/uploads/"), nil, nil, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	drain(resp)
	return location(resp)
}

// patchUpload streams body into the upload session at loc and returns the
// session's next URL.
func (c *client) patchUpload(ctx context.Context, loc string, body io.Reader) (string, error) {
	resp, err := c.do(ctx, http.MethodPatch, loc, body, http.Header{"Content-Type": {"application/octet-stream"}}, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		return "", err
	}
	drain(resp)
	return location(resp)
}

// finishUpload closes the session at loc with the blob's digest (and its
// last bytes, if any).
func (c *client) finishUpload(ctx context.Context, loc string, digest v1.Hash, body io.Reader) error {
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	q := u.Query()
	q.Set("digest", digest.String())
	u.RawQuery = q.Encode()
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	resp, err := c.do(ctx, http.MethodPut, u.String(), body, hdr, http.StatusCreated, http.StatusAccepted, http.StatusNoContent)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// location is the absolute URL of a response's Location header.
func location(resp *http.Response) (string, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", fmt.Errorf("the registry answered %s %s with no Location", resp.Request.Method, resp.Request.URL.Path)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// pushConfig uploads the empty config every manifest names, once per
// client.
func (c *client) pushConfig(ctx context.Context) error {
	c.mu.Lock()
	done := c.configPushed
	c.mu.Unlock()
	if done {
		return nil
	}
	if err := c.pushSmall(ctx, emptyConfigDesc.Digest, emptyConfig); err != nil {
		return err
	}
	c.mu.Lock()
	c.configPushed = true
	c.mu.Unlock()
	return nil
}

// tags lists the repository's tags, every page.
func (c *client) tags(ctx context.Context) ([]string, error) {
	var all []string
	next := c.url("tags/list?n=1000")
	for next != "" {
		resp, err := c.do(ctx, http.MethodGet, next, nil, nil, http.StatusOK)
		if err != nil {
			return nil, err
		}
		var page struct {
			Tags []string `json:"tags"`
		}
		err = decodeJSON(resp.Body, &page)
		drain(resp)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Tags...)
		next = ""
		if link := resp.Header.Get("Link"); link != "" {
			// <url>; rel="next"
			if s, _, ok := strings.Cut(strings.TrimPrefix(link, "<"), ">"); ok {
				u, err := resp.Request.URL.Parse(s)
				if err != nil {
					return nil, err
				}
				next = u.String()
			}
		}
	}
	return all, nil
}

// httpsOnly refuses plain HTTP to every host not named insecure, even on
// loopback or a private network, where go-containerregistry would use it
// on its own.
type httpsOnly struct {
	base     http.RoundTripper
	insecure []string
}

// PlainHTTPError is a request over plain HTTP to a registry not named
// insecure.
type PlainHTTPError struct{ Host string }

func (e *PlainHTTPError) Error() string {
	return fmt.Sprintf("the registry %s was reached over plain HTTP, which slipway allows only for registries named insecure: serve it over HTTPS, or add ?insecure=true to the oci:// URL (or the host to %s) if it is on a network you trust", e.Host, EnvInsecureRegistries)
}

func (t *httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !hostIn(t.insecure, req.URL.Host) {
		return nil, &PlainHTTPError{Host: req.URL.Host}
	}
	return t.base.RoundTrip(req)
}

// plain returns the PlainHTTPError inside err, if any: the one line worth
// showing when the ping joins it with the HTTPS attempt's error.
func plain(err error) error {
	var p *PlainHTTPError
	if errors.As(err, &p) {
		return p
	}
	return err
}

// drain reads what is left of a small response before closing it, so its
// connection serves the next request.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
