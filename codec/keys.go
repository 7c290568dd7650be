package codec

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Where a process finds its keys. A key is `id:base64key` (32 bytes once
// decoded, for AES-256); the newest key, which encrypts, is the last one.
const (
	// EnvKey holds one or more keys separated by commas.
	EnvKey = "SLIPWAY_CODEC_KEY"
	// EnvKeysFile names a file of keys, one a line; blank lines and lines
	// starting with "#" are skipped.
	EnvKeysFile = "SLIPWAY_CODEC_KEYS_FILE"
)

// Key is one AES-256 key and the ID that payloads encrypted with it carry.
type Key struct {
	ID     string
	Secret []byte
}

// ParseKeys reads keys separated by newlines or commas, oldest first.
// Errors say where the bad key is, never what it holds.
func ParseKeys(text, source string) ([]Key, error) {
	var keys []Key
	seen := map[string]bool{}
	for i, entry := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		entry = strings.TrimSpace(entry)
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		where := fmt.Sprintf("%s: entry %d", source, i+1)
		id, b64, ok := strings.Cut(entry, ":")
		id = strings.TrimSpace(id)
		if !ok || id == "" {
			return nil, fmt.Errorf("%s is not id:base64key: write an ID, a colon, then the key (make one with `openssl rand -base64 32`)", where)
		}
		if seen[id] {
			return nil, fmt.Errorf("%s: key ID %q appears twice: give each key its own ID", where, id)
		}
		secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil {
			return nil, fmt.Errorf("%s: key %q is not base64: make one with `openssl rand -base64 32`", where, id)
		}
		if len(secret) != 32 {
			return nil, fmt.Errorf("%s: key %q is %d bytes, AES-256 needs 32: make one with `openssl rand -base64 32`", where, id, len(secret))
		}
		seen[id] = true
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s holds no key: add a line id:base64key", source)
	}
	return keys, nil
}

// LoadKeys finds the process's keys: $SLIPWAY_CODEC_KEY, else the file
// $SLIPWAY_CODEC_KEYS_FILE, else fallbackFile (the local stack's; "" for
// none). It returns nil, nil when none is configured.
func LoadKeys(fallbackFile string) ([]Key, error) {
	if v := os.Getenv(EnvKey); v != "" {
		return ParseKeys(v, "$"+EnvKey)
	}
	file, source := os.Getenv(EnvKeysFile), "$"+EnvKeysFile
	if file == "" {
		file, source = fallbackFile, fallbackFile
	}
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) && source == fallbackFile {
		// The local stack's file goes with the stack: `dev reset` removes
		// both, and then nothing is encrypted until the next `dev up`.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("codec keys: %w (check %s)", err, source)
	}
	return ParseKeys(string(b), file)
}

// NewKeyLine makes a fresh key as a line for a keys file.
func NewKeyLine(id string, random []byte) string {
	return id + ":" + base64.StdEncoding.EncodeToString(random) + "\n"
}
