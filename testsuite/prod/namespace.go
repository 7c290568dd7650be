package prod

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/slipway-dev/slipway/config"
)

// registerNamespace does what an operator does once on a new production
// Temporal server, which has no namespace and none of slipway's search
// attributes: it registers both through the operator API, with the
// Temporal CLI's `operator` commands.
func registerNamespace(ctx context.Context, tools, address, namespace string) error {
	temporal := filepath.Join(tools, "temporal")
	run := func(args ...string) error {
		args = append(args, "--address", address)
		out, err := exec.CommandContext(ctx, temporal, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("temporal %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("operator", "namespace", "create", "--namespace", namespace, "--retention", "72h"); err != nil {
		return err
	}
	// One at a time: given several names and one type, the command adds
	// only the first.
	for _, sa := range config.SearchAttributes {
		if err := run("operator", "search-attribute", "create", "--namespace", namespace, "--name", sa, "--type", "Keyword"); err != nil {
			return err
		}
	}
	return nil
}
