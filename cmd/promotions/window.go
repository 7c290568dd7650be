package promotions

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-dev/slipway/workflows"
)

// AddKeepPreviousFlag adds --keep-previous, the rollback window of a
// promotion (see workflows/window.go).
func AddKeepPreviousFlag(cmd *cobra.Command, d *time.Duration) {
	cmd.Flags().DurationVar(d, "keep-previous", 0,
		"keep the release before running beside for this long once active (e.g. 10m): a `releases rollback` to it meanwhile switches the traffic at once")
}

// CheckKeepPrevious refuses a negative --keep-previous, before anything
// is built or promoted.
func CheckKeepPrevious(d time.Duration) error {
	if d < 0 {
		return errors.New("--keep-previous must be 0 (no window) or more, e.g. 10m")
	}
	return nil
}

// printWindow says what a promotion did with the rollback window: when a
// rollback's traffic went to the kept pods, and until when a promotion
// keeps the release before.
func printWindow(out io.Writer, o PromoteOptions, res workflows.PromoteResult, began time.Time) {
	if !res.Switched.IsZero() {
		fmt.Fprintf(out, "Traffic switched to %s (kept pods) at %s, %s after the rollback began\n",
			o.RollbackTo, res.Switched.UTC().Format("15:04:05.000"), res.Switched.Sub(began).Round(time.Millisecond))
	}
	if o.KeepPrevious > 0 && res.From != "" {
		fmt.Fprintf(out, "Keeping %s for %s: `slipway releases rollback %s -a %s` switches back at once\n",
			res.From, o.KeepPrevious, res.From, o.App)
	}
}
