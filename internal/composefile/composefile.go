// Package composefile loads the repository's docker-compose.yml the way
// `docker compose` does (schema validation, interpolation, merge keys), so
// tests can hold it to what slipway reads.
package composefile

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// Name is the compose file, at the repository's root.
const Name = "docker-compose.yml"

// Load reads root/docker-compose.yml with env as the only environment:
// neither the caller's environment nor a .env file leaks in.
func Load(ctx context.Context, root string, env map[string]string) (*types.Project, error) {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, Name)},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(list),
		cli.WithDiscardEnvFile,
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return nil, err
	}
	return opts.LoadProject(ctx)
}

// Root is the repository's root: the nearest folder above the working
// directory that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: run from inside the repository")
		}
		dir = parent
	}
}

// Command is the argv a service's container runs: the image's entrypoint
// (unless the service names one) followed by the service's command (or the
// image's cmd when it names none).
func Command(svc types.ServiceConfig, imageEntrypoint, imageCmd []string) []string {
	entry, cmd := imageEntrypoint, imageCmd
	if svc.Entrypoint != nil {
		entry, cmd = svc.Entrypoint, nil
	}
	if svc.Command != nil {
		cmd = svc.Command
	}
	return append(append([]string{}, entry...), cmd...)
}

// Env is a service's environment with unset entries dropped.
func Env(svc types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for k, v := range svc.Environment {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// HostPort splits "host:port".
func HostPort(s string) (host, port string) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}
