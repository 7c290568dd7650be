package ociblob

import (
	"context"
	"fmt"
	"net/http"

	"gocloud.dev/blob/driver"
)

// SignedURL returns a URL that GETs the object's bytes with no
// credentials, for a client that can only fetch a URL (the kubernetes
// builder's fetch container):
//
//   - the blob's content-addressed URL, /v2/<repository>/blobs/<digest>,
//     when the registry serves it without credentials (the repository
//     allows anonymous pull). It does not expire: it names bytes, not the
//     key, and anyone who can pull the repository can fetch them anyway;
//   - otherwise the URL the registry redirects the blob to (registries on
//     S3, GCS or Azure storage redirect to a URL their storage signed,
//     valid for the time the registry chose);
//   - otherwise an error: a registry bearer token cannot travel in a URL.
//
// Only GET is signed: writes go through the registry's API.
func (b *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	if b.noSignedURL {
		return "", &unimplemented{"this bucket signs no URLs"}
	}
	if opts.Method != "" && opts.Method != http.MethodGet {
		return "", &unimplemented{fmt.Sprintf("oci:// buckets sign only GET URLs, not %s: write through the bucket", opts.Method)}
	}
	if opts.BeforeSign != nil {
		if err := opts.BeforeSign(func(any) bool { return false }); err != nil {
			return "", err
		}
	}
	o, _, err := b.lookup(ctx, key)
	if err != nil {
		return "", err
	}
	u := b.c.url("blobs/" + o.layer.Digest.String())
	if ok, err := b.anonymous(ctx, u); err != nil {
		return "", err
	} else if ok {
		return u, nil
	}
	// Ask with credentials, without following a redirect: its target is
	// the signed URL.
	rt, err := b.c.transport(ctx)
	if err != nil {
		return "", err
	}
	// GET, not HEAD: some registries redirect only a GET. A body that is
	// not a redirect's is closed unread.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	noFollow := &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		return "", plain(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
		target, err := resp.Request.URL.Parse(loc)
		if err != nil {
			return "", err
		}
		return target.String(), nil
	}
	return "", &unimplemented{fmt.Sprintf("%s needs credentials to pull %s and does not redirect blobs to signed storage URLs, so no URL can fetch %q without them: allow anonymous pull of that repository", b.c.repo.RegistryStr(), b.c.repo.RepositoryStr(), key)}
}

// anonymous says whether u answers a HEAD without credentials (following
// redirects, as wget does).
func (b *bucket) anonymous(ctx context.Context, u string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
	if err != nil {
		return false, err
	}
	resp, err := (&http.Client{Transport: b.c.base}).Do(req)
	if err != nil {
		return false, plain(err)
	}
	drain(resp)
	return resp.StatusCode == http.StatusOK, nil
}
