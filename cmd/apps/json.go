package apps

import "github.com/slipway-dev/slipway/records"

// AppJSON is an app in `apps -o json` and `apps info -o json`.
type AppJSON struct {
	Name      string      `json:"name"`
	Namespace string      `json:"namespace"`
	Status    string      `json:"status"`
	Release   string      `json:"release"`
	Latest    string      `json:"latest"`
	Reason    string      `json:"reason"`
	Protected bool        `json:"protected"`
	Scale     []ScaleJSON `json:"scale"`
}

// ScaleJSON is a scale set by hand; null where the manifest's value applies.
type ScaleJSON struct {
	Service string `json:"service"`
	Count   *int32 `json:"count"`
	CPU     *int32 `json:"cpu"`
	Memory  *int32 `json:"memory"`
}

// JSON is an app as the JSON output shows it.
func JSON(a *records.App) AppJSON {
	out := AppJSON{
		Name: a.Name, Namespace: a.Namespace, Status: a.Status.Status, Release: a.Status.Release,
		Latest: a.Status.Latest, Reason: a.Status.Reason, Protected: a.Spec.Protected, Scale: []ScaleJSON{},
	}
	for _, sc := range a.Spec.Scale {
		out.Scale = append(out.Scale, ScaleJSON{Service: sc.Service, Count: sc.Count, CPU: sc.CPU, Memory: sc.Memory})
	}
	return out
}

// ListJSON is `apps -o json`, never null.
func ListJSON(apps []*records.App) []AppJSON {
	out := make([]AppJSON, 0, len(apps))
	for _, a := range apps {
		out = append(out, JSON(a))
	}
	return out
}
