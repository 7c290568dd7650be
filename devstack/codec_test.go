package devstack

import (
	"os"
	"testing"

	"github.com/slipway-dev/slipway/codec"
)

// The first `dev up` makes the stack's codec key, readable by its owner
// only; later ones keep it, so history written before stays readable.
func TestCodecKeyMadeOnce(t *testing.T) {
	home := t.TempDir()
	ui, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := New(Options{Home: home, UIPort: ui})
	if err := s.codec.prepare(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(s.codec.keysFile())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
	}
	first, _ := os.ReadFile(s.codec.keysFile())
	keys, err := codec.ParseKeys(string(first), s.codec.keysFile())
	if err != nil || len(keys) != 1 {
		t.Fatalf("key file: %v, %v", keys, err)
	}
	port := s.codec.port()

	if _, saved := s.codec.savedPort(); !saved {
		t.Fatal("a stack with a UI did not fix its codec port before Temporal starts")
	}
	again := New(Options{Home: home, UIPort: ui + 2})
	if err := again.codec.prepare(); err != nil {
		t.Fatal(err)
	}
	if second, _ := os.ReadFile(again.codec.keysFile()); string(second) != string(first) {
		t.Fatal("a second prepare replaced the key")
	}
	if again.codec.port() != port {
		t.Fatalf("port moved from %d to %d", port, again.codec.port())
	}
	if got := again.Settings(); got.CodecKeysFile != s.codec.keysFile() || got.CodecEndpoint != again.codec.endpoint() {
		t.Fatalf("settings name key %q at %q", got.CodecKeysFile, got.CodecEndpoint)
	}
}
