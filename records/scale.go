package records

import (
	"fmt"

	"github.com/slipway-dev/slipway/model"
)

// Validate says what is wrong with a scale set by hand, in the manifest's
// own bounds, or nil.
func (sc ServiceScale) Validate() error {
	if sc.Count == nil && sc.CPU == nil && sc.Memory == nil {
		return fmt.Errorf("nothing to scale: pass --count, --cpu or --memory")
	}
	if sc.Count != nil && (*sc.Count < 0 || *sc.Count > model.MaxScaleCount) {
		return fmt.Errorf("--count %d: must be a whole number of processes between 0 and %d", *sc.Count, model.MaxScaleCount)
	}
	if sc.CPU != nil && (*sc.CPU < 1 || *sc.CPU > model.MaxScaleCPU) {
		return fmt.Errorf("--cpu %d: must be a number of millicores between 1 and %d (1000 is one core)", *sc.CPU, model.MaxScaleCPU)
	}
	if sc.Memory != nil && (*sc.Memory < 1 || *sc.Memory > model.MaxScaleMemory) {
		return fmt.Errorf("--memory %d: must be a number of megabytes between 1 and %d", *sc.Memory, model.MaxScaleMemory)
	}
	return nil
}

// ScaleBusyError refuses a scale while the app is being changed by
// something that applies its Deployments itself (a promotion, a rollback,
// its deletion).
func ScaleBusyError(app, status string) error {
	return fmt.Errorf("app %s is currently %s: wait for it to end (`slipway promotions info -a %s`), then scale", app, status, app)
}
