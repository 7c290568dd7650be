// Package codec encrypts what slipway's workflows hand Temporal (inputs,
// results, failure messages) with AES-256-GCM, so that the history Temporal
// stores holds no release env, build argument or error text in the clear.
// It is a Temporal PayloadCodec: workers and the CLI use it through their
// data converter, and `slipway codec-server` serves it to the Temporal UI.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
)

const (
	// Encoding is the metadata "encoding" of an encrypted payload.
	Encoding = "binary/encrypted"
	// MetadataKeyID names the key that encrypted a payload, so keys can
	// rotate: new payloads use the newest key, old ones still decrypt.
	MetadataKeyID = "encryption-key-id"
)

// Codec encrypts with its newest key and decrypts with any of its keys.
type Codec struct {
	aead    map[string]cipher.AEAD
	ids     []string // oldest first
	current string
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New makes a codec from keys, oldest first: the last one encrypts.
func New(keys []Key) (*Codec, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("no codec key: set %s or %s", EnvKey, EnvKeysFile)
	}
	c := &Codec{aead: map[string]cipher.AEAD{}}
	for _, k := range keys {
		if len(k.Secret) != 32 {
			return nil, fmt.Errorf("codec key %q is %d bytes, AES-256 needs 32", k.ID, len(k.Secret))
		}
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("codec key %q: %w", k.ID, err)
		}
		gcm, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		if _, dup := c.aead[k.ID]; dup {
			return nil, fmt.Errorf("codec key ID %q appears twice: give each key its own ID", k.ID)
		}
		c.aead[k.ID] = gcm
		c.ids = append(c.ids, k.ID)
	}
	c.current = keys[len(keys)-1].ID
	return c, nil
}

// KeyID is the ID of the key that encrypts.
func (c *Codec) KeyID() string { return c.current }

// Encode encrypts every payload whole (data and metadata). The key ID is
// also the additional data, so a payload moved under another ID fails.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	aead := c.aead[c.current]
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		plain, err := p.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, err
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(Encoding),
				MetadataKeyID:              []byte(c.current),
			},
			Data: aead.Seal(nonce, nonce, plain, []byte(c.current)),
		}
	}
	return out, nil
}

// Decode decrypts the payloads this codec encrypted and passes any other
// through, so history written before encryption was turned on still reads.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != Encoding {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.aead[id]
		if !ok {
			return nil, fmt.Errorf("payload is encrypted with codec key %q, which this process does not have (it has %s): add that key to %s or %s",
				id, strings.Join(quoted(c.ids), ", "), EnvKeysFile, EnvKey)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize() {
			return nil, fmt.Errorf("payload encrypted with codec key %q is cut short: it was altered", id)
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], []byte(id))
		if err != nil {
			return nil, fmt.Errorf("payload encrypted with codec key %q does not decrypt: it was altered, or the key named %q in %s / %s is not the one it was encrypted with", id, id, EnvKeysFile, EnvKey)
		}
		var back commonpb.Payload
		if err := back.Unmarshal(plain); err != nil {
			return nil, fmt.Errorf("payload encrypted with codec key %q: %w", id, err)
		}
		out[i] = &back
	}
	return out, nil
}

func quoted(ids []string) []string {
	out := slices.Clone(ids)
	for i, id := range out {
		out[i] = fmt.Sprintf("%q", id)
	}
	return out
}

// NoKey is the codec of a process with no key: it encrypts nothing, and
// an encrypted payload fails with what to set rather than with Temporal's
// "unknown encoding".
type NoKey struct{}

func (NoKey) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) { return payloads, nil }

func (NoKey) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	for _, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) == Encoding {
			return nil, fmt.Errorf("payload is encrypted with codec key %q and this process has no codec key: set %s or %s (on the local stack, run `slipway dev up`)",
				p.GetMetadata()[MetadataKeyID], EnvKeysFile, EnvKey)
		}
	}
	return payloads, nil
}
