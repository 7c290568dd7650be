package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/converter"

	"github.com/slipway-dev/slipway/codec"
)

// With a key from the local stack or the environment, every client and
// worker encrypts payloads and failure messages; without one, nothing
// changes.
func TestResolveCodec(t *testing.T) {
	home := t.TempDir()
	t.Setenv("SLIPWAY_HOME", home)
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(home, "none.toml"))
	t.Setenv(codec.EnvKey, "")
	t.Setenv(codec.EnvKeysFile, "")

	s, err := Resolve(Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Codec != nil || s.Temporal.FailureConverter != nil {
		t.Fatalf("no key configured, yet a codec: %+v", s)
	}
	if p, err := s.Temporal.DataConverter.ToPayload("x"); err != nil || string(p.Metadata[converter.MetadataEncoding]) != converter.MetadataEncodingJSON {
		t.Fatalf("no key configured, yet payloads are not plain JSON: %v, %v", p, err)
	}

	keys := filepath.Join(home, "dev", "codec.keys")
	if err := os.MkdirAll(filepath.Dir(keys), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keys, []byte(codec.NewKeyLine("stack", make([]byte, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (&Stack{CodecKeysFile: keys}).Save(home); err != nil {
		t.Fatal(err)
	}
	if s, err = Resolve(Overrides{}); err != nil {
		t.Fatal(err)
	}
	if s.Codec == nil || s.Codec.KeyID() != "stack" || s.Temporal.FailureConverter == nil {
		t.Fatalf("the local stack's key is not used: %+v", s)
	}
	p, err := s.Temporal.DataConverter.ToPayload("canary")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(p.Metadata[converter.MetadataEncoding]); got != codec.Encoding {
		t.Fatalf("payload encoding = %q, want %q", got, codec.Encoding)
	}

	t.Setenv(codec.EnvKey, "broken")
	if _, err := Resolve(Overrides{}); err == nil || !strings.Contains(err.Error(), codec.EnvKey) {
		t.Fatalf("a bad $%s: error %v, want one naming it", codec.EnvKey, err)
	}
}
