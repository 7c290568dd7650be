package releases

import (
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// ReleaseJSON is a release in `releases -o json`.
type ReleaseJSON struct {
	ID          string `json:"id"`
	App         string `json:"app"`
	Build       string `json:"build"`
	Parent      string `json:"parent"`
	Active      bool   `json:"active"`
	Created     string `json:"created"`
	Description string `json:"description"`
	Actor       string `json:"actor"`
}

// ReleaseInfoJSON is `releases info -o json`: the release and its env.
type ReleaseInfoJSON struct {
	ReleaseJSON
	Env map[string]string `json:"env"`
}

// InfoJSON is a release with its env; active is the app's active release.
func InfoJSON(r *records.Release, active string, env model.Env) ReleaseInfoJSON {
	if env == nil {
		env = model.Env{}
	}
	return ReleaseInfoJSON{ReleaseJSON: JSON(r, active), Env: env}
}

// JSON is a release as the JSON output shows it; active is the app's
// active release.
func JSON(r *records.Release, active string) ReleaseJSON {
	return ReleaseJSON{
		ID: r.Spec.ID, App: r.Spec.App, Build: r.Spec.Build, Parent: r.Spec.Parent, Active: r.Spec.ID == active,
		Created: cmdutil.JSONTime(r.CreationTimestamp.Time), Description: r.Spec.Description, Actor: r.Spec.Actor,
	}
}

// ListJSON is `releases -o json`: newest first, never null.
func ListJSON(rs []*records.Release, active string) []ReleaseJSON {
	out := make([]ReleaseJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, JSON(r, active))
	}
	return out
}
