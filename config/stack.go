package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Stack is what `slipway dev up` (and the test harness) writes about the
// local stack it started, so that every later command finds it with no flags.
type Stack struct {
	Dir             string `json:"dir"`
	TemporalAddress string `json:"temporalAddress"`
	TemporalUI      string `json:"temporalUI,omitempty"`
	Kubeconfig      string `json:"kubeconfig"`
	Registry        string `json:"registry"`
	BlobURL         string `json:"blobURL"`
	WorkerLog       string `json:"workerLog"`
	// CodecKeysFile holds the key that encrypts Temporal payloads (see
	// package codec); CodecEndpoint is the codec server the UI calls.
	CodecKeysFile string `json:"codecKeysFile,omitempty"`
	CodecEndpoint string `json:"codecEndpoint,omitempty"`
}

// StackFile is where the local stack's settings live under a home folder.
func StackFile(home string) string { return filepath.Join(home, "dev", "stack.json") }

// LoadStack reads the local stack's settings; nil when none was brought up.
func LoadStack(home string) (*Stack, error) {
	b, err := os.ReadFile(StackFile(home))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s Stack
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): run `slipway dev up` to rewrite it", StackFile(home), err)
	}
	return &s, nil
}

// Save writes the settings atomically, so a reader never sees half a file.
func (s *Stack) Save(home string) error {
	path := StackFile(home)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
