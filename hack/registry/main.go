// The CNCF distribution registry with the only storage driver slipway's
// local stack uses (filesystem): the cloud drivers (S3, GCS, Azure) that
// the registry's own command compiles in are a fifth of its packages.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
