package codec

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

func key(t *testing.T, id string) Key {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return Key{ID: id, Secret: b}
}

func mustNew(t *testing.T, keys ...Key) *Codec {
	t.Helper()
	c, err := New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const canary = "canary-secret-4b1d"

func payload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"TOKEN": canary})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	c := mustNew(t, key(t, "k1"))
	in := []*commonpb.Payload{payload(t), payload(t)}
	enc, err := c.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range enc {
		if got := string(p.Metadata[converter.MetadataEncoding]); got != Encoding {
			t.Fatalf("encoding = %q, want %q", got, Encoding)
		}
		if got := string(p.Metadata[MetadataKeyID]); got != "k1" {
			t.Fatalf("key ID = %q, want k1", got)
		}
		if bytes.Contains(p.Data, []byte(canary)) || bytes.Contains(p.Data, []byte("json/plain")) {
			t.Fatal("ciphertext holds the plaintext")
		}
	}
	if bytes.Equal(enc[0].Data, enc[1].Data) {
		t.Fatal("the same payload encrypted twice gave the same bytes: nonces repeat")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if !in[i].Equal(dec[i]) {
			t.Fatalf("payload %d: got %v, want %v", i, dec[i], in[i])
		}
	}
}

func TestPlainPayloadsPassThrough(t *testing.T) {
	c := mustNew(t, key(t, "k1"))
	p := payload(t)
	dec, err := c.Decode([]*commonpb.Payload{p})
	if err != nil || dec[0] != p {
		t.Fatalf("Decode of a plain payload = %v, %v; want it unchanged", dec, err)
	}
}

func TestRotation(t *testing.T) {
	old, next := key(t, "2026-01"), key(t, "2026-06")
	before := mustNew(t, old)
	enc, err := before.Encode([]*commonpb.Payload{payload(t)})
	if err != nil {
		t.Fatal(err)
	}
	after := mustNew(t, old, next)
	if after.KeyID() != "2026-06" {
		t.Fatalf("KeyID = %q, want the newest, 2026-06", after.KeyID())
	}
	if _, err := after.Decode(enc); err != nil {
		t.Fatalf("old payload after rotation: %v", err)
	}
	enc2, err := after.Encode([]*commonpb.Payload{payload(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(enc2[0].Metadata[MetadataKeyID]); got != "2026-06" {
		t.Fatalf("new payload key ID = %q, want 2026-06", got)
	}
	// A process that has only the old key names the key it lacks.
	_, err = before.Decode(enc2)
	if err == nil || !strings.Contains(err.Error(), `"2026-06"`) || !strings.Contains(err.Error(), EnvKeysFile) {
		t.Fatalf("error = %v, want one naming key 2026-06 and %s", err, EnvKeysFile)
	}
}

func TestWrongKey(t *testing.T) {
	enc, err := mustNew(t, key(t, "k1")).Encode([]*commonpb.Payload{payload(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustNew(t, key(t, "k1")).Decode(enc) // same ID, other secret
	if err == nil || !strings.Contains(err.Error(), `"k1"`) || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("error = %v, want one naming key k1 and what to set", err)
	}
}

func TestTampered(t *testing.T) {
	c := mustNew(t, key(t, "k1"), key(t, "k2"))
	for name, tamper := range map[string]func(p *commonpb.Payload){
		"flipped bit": func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"cut short":   func(p *commonpb.Payload) { p.Data = p.Data[:5] },
		"other ID":    func(p *commonpb.Payload) { p.Metadata[MetadataKeyID] = []byte("k1") },
	} {
		enc, err := c.Encode([]*commonpb.Payload{payload(t)})
		if err != nil {
			t.Fatal(err)
		}
		tamper(enc[0])
		if dec, err := c.Decode(enc); err == nil {
			t.Errorf("%s: decoded to %v, want an error", name, dec)
		}
	}
}

// Through Temporal's converters, failure messages are encrypted too.
func TestFailureMessagesEncrypted(t *testing.T) {
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), mustNew(t, key(t, "k1")))
	fc := temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{DataConverter: dc, EncodeCommonAttributes: true})
	f := fc.ErrorToFailure(temporal.NewApplicationError("bad value "+canary, "Invalid"))
	if strings.Contains(f.String(), canary) {
		t.Fatalf("failure holds the message in the clear: %v", f)
	}
	back := fc.FailureToError(f)
	if !strings.Contains(back.Error(), canary) {
		t.Fatalf("decoded failure = %v, want the message back", back)
	}
}

func TestParseKeys(t *testing.T) {
	k1, k2 := key(t, "a"), key(t, "b")
	text := "# rotated June\n" + NewKeyLine("a", k1.Secret) + "\n" + NewKeyLine("b", k2.Secret)
	keys, err := ParseKeys(text, "keys")
	if err != nil || len(keys) != 2 || keys[0].ID != "a" || keys[1].ID != "b" || !bytes.Equal(keys[1].Secret, k2.Secret) {
		t.Fatalf("ParseKeys = %v, %v", keys, err)
	}
	comma := strings.TrimSpace(NewKeyLine("a", k1.Secret)) + "," + strings.TrimSpace(NewKeyLine("b", k2.Secret))
	if keys, err := ParseKeys(comma, "env"); err != nil || len(keys) != 2 {
		t.Fatalf("ParseKeys(comma list) = %v, %v", keys, err)
	}
	const secretish = "c2VjcmV0LWNhbmFyeQ=="
	for _, bad := range []string{"", "# none\n", "nocolon" + secretish, ":" + secretish, "a:" + secretish, "a:not base64!" + secretish,
		strings.TrimSpace(NewKeyLine("a", k1.Secret)) + "," + strings.TrimSpace(NewKeyLine("a", k2.Secret))} {
		_, err := ParseKeys(bad, "keys")
		if err == nil {
			t.Errorf("ParseKeys(%q) gave no error", bad)
			continue
		}
		if strings.Contains(err.Error(), secretish) || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("error shows key material: %v", err)
		}
	}
}

func TestLoadKeys(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := key(t, "file"), key(t, "env")
	file := filepath.Join(dir, "keys")
	if err := os.WriteFile(file, []byte(NewKeyLine(k1.ID, k1.Secret)), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvKey, "")
	t.Setenv(EnvKeysFile, "")
	if keys, err := LoadKeys(filepath.Join(dir, "missing")); keys != nil || err != nil {
		t.Fatalf("no key anywhere: got %v, %v; want nothing", keys, err)
	}
	if keys, err := LoadKeys(file); err != nil || keys[0].ID != "file" {
		t.Fatalf("stack file: got %v, %v", keys, err)
	}
	t.Setenv(EnvKeysFile, filepath.Join(dir, "missing"))
	if _, err := LoadKeys(file); err == nil || !strings.Contains(err.Error(), EnvKeysFile) {
		t.Fatalf("missing $%s: error %v, want one naming it", EnvKeysFile, err)
	}
	t.Setenv(EnvKeysFile, file)
	t.Setenv(EnvKey, strings.TrimSpace(NewKeyLine(k2.ID, k2.Secret)))
	if keys, err := LoadKeys(""); err != nil || keys[0].ID != "env" {
		t.Fatalf("$%s wins: got %v, %v", EnvKey, keys, err)
	}
}

func TestNewNeedsAKey(t *testing.T) {
	if _, err := New(nil); err == nil || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("New(nil) error = %v, want one saying what to set", err)
	}
	if _, err := New([]Key{{ID: "short", Secret: []byte("16 bytes key....")}}); err == nil {
		t.Fatal("New accepted a 16-byte key for AES-256")
	}
}

func TestNoKey(t *testing.T) {
	enc, err := mustNew(t, key(t, "k9")).Encode([]*commonpb.Payload{payload(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = NoKey{}.Decode(enc)
	if err == nil || !strings.Contains(err.Error(), `"k9"`) || !strings.Contains(err.Error(), EnvKey) {
		t.Fatalf("error = %v, want one naming key k9 and what to set", err)
	}
	plain := []*commonpb.Payload{payload(t)}
	if out, err := (NoKey{}).Encode(plain); err != nil || out[0] != plain[0] {
		t.Fatalf("NoKey encrypted: %v, %v", out, err)
	}
	if out, err := (NoKey{}).Decode(plain); err != nil || out[0] != plain[0] {
		t.Fatalf("NoKey changed a plain payload: %v, %v", out, err)
	}
}
