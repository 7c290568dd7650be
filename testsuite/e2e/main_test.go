// Package e2e tests slipway end to end against the real stack that
// testsuite starts: a Temporal dev server, a Kubernetes control plane with
// kwok nodes, a registry and a slipway worker process.
package e2e

import (
	"testing"

	"github.com/slipway-dev/slipway/testsuite"
)

func TestMain(m *testing.M) { testsuite.Main(m) }
