package incluster

import (
	"cmp"
	"fmt"
	"net"
	"strings"

	"github.com/slipway-dev/slipway/codec"
	"github.com/slipway-dev/slipway/config"
)

// Warnings are what the installer should hear about o before the workers
// run with it: settings that name this machine (loopback, a local
// folder), which a pod cannot reach, and a missing codec key.
func Warnings(o Options) []string {
	codecKeyEnv, blobEnv, registryEnv := codec.EnvKey, config.EnvBlobURL, config.EnvRegistry
	if o.Replicas == 0 {
		return nil
	}
	var out []string
	// An empty address is the SDK's default, localhost:7233.
	if addr := cmp.Or(o.Temporal.Address, "localhost:7233"); loopback(addr) {
		out = append(out, fmt.Sprintf("Temporal address %q is this machine: the in-cluster workers cannot reach it. Set TEMPORAL_ADDRESS (or --temporal-address) to an address the cluster reaches", addr))
	}
	if reg := o.Env[registryEnv]; reg != "" && loopback(reg) {
		out = append(out, fmt.Sprintf("registry %q is this machine: the in-cluster workers cannot push to it. Set %s to a registry the cluster reaches", reg, registryEnv))
	}
	if u := o.Env[blobEnv]; strings.HasPrefix(u, "file:") || strings.HasPrefix(u, "mem:") {
		out = append(out, fmt.Sprintf("blob store %q is not shared with the in-cluster workers: set %s=oci://REGISTRY/slipway/blobs, which the CLI and the workers both reach", u, blobEnv))
	}
	if o.Env[codecKeyEnv] == "" {
		out = append(out, fmt.Sprintf("no codec key: the in-cluster workers will hand Temporal payloads in the clear. Set %s (the CLI needs the same key)", codecKeyEnv))
	}
	return out
}

// loopback is true for host[:port] on this machine only.
func loopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
