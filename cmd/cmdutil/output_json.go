package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// OutputJSON is the one value of -o/--output: without it, commands print
// Convox's tables and info blocks.
const OutputJSON = "json"

// AddOutputFlag adds -o/--output to a list or info command.
func AddOutputFlag(cmd *cobra.Command, output *string) {
	cmd.Flags().StringVarP(output, "output", "o", "", "json: print JSON (field names lower case, times RFC 3339) instead of a table")
}

// CheckOutput refuses an --output other than json, before anything runs.
func CheckOutput(output string) error {
	if output != "" && output != OutputJSON {
		return fmt.Errorf("--output %q: the only format is json (leave it out for a table)", output)
	}
	return nil
}

// JSON writes v as indented JSON and a newline: the stable, scriptable
// form of a list or info command (the shapes are in README.md).
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// JSONTime is t as JSON carries it: RFC 3339 in UTC, "" for no time.
func JSONTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
