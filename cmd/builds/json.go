package builds

import (
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/records"
)

// BuildJSON is a build in `builds -o json` and `builds info -o json`.
type BuildJSON struct {
	ID          string      `json:"id"`
	App         string      `json:"app"`
	Status      string      `json:"status"`
	Release     string      `json:"release"`
	Description string      `json:"description"`
	Actor       string      `json:"actor"`
	Builder     string      `json:"builder"`
	Reason      string      `json:"reason"`
	Started     string      `json:"started"`
	Ended       string      `json:"ended"`
	Images      []ImageJSON `json:"images"`
}

// ImageJSON is what a build made for one service.
type ImageJSON struct {
	Service string `json:"service"`
	Ref     string `json:"ref"`
	Digest  string `json:"digest"`
}

// JSON is a build as the JSON output shows it.
func JSON(b *records.Build) BuildJSON {
	out := BuildJSON{
		ID: b.Spec.ID, App: b.Spec.App, Status: b.Status.Status, Release: b.Status.Release,
		Description: b.Spec.Description, Actor: b.Spec.Actor, Builder: b.Status.Builder, Reason: b.Status.Reason,
		Started: cmdutil.JSONTime(started(b)), Images: []ImageJSON{},
	}
	if b.Status.Ended != nil {
		out.Ended = cmdutil.JSONTime(b.Status.Ended.Time)
	}
	for _, im := range b.Status.Images {
		out.Images = append(out.Images, ImageJSON{Service: im.Service, Ref: im.Ref, Digest: im.Digest})
	}
	return out
}

// ListJSON is `builds -o json`: newest first, never null.
func ListJSON(bs []*records.Build) []BuildJSON {
	out := make([]BuildJSON, 0, len(bs))
	for _, b := range bs {
		out = append(out, JSON(b))
	}
	return out
}
