package model

// Label keys slipway puts on what it owns. They live here, in the package
// every other one already imports, so records (the CRDs), render (the
// workloads) and the builder agree on one spelling. The values are on
// objects in running clusters and in their selectors: never change them.
const (
	// LabelRack marks a namespace and an app record as a rack's.
	LabelRack = "slipway.dev/rack"
	// LabelApp and LabelService are the selector of a service's pods;
	// selectors use only these two, so a Deployment keeps its pods across
	// releases.
	LabelApp     = "slipway.dev/app"
	LabelService = "slipway.dev/service"
	LabelRelease = "slipway.dev/release"
	LabelBuild   = "slipway.dev/build"
	// LabelManagedBy is the well-known Kubernetes key, set to "slipway".
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// LabelTrack marks what runs beside a service's own Deployment: a
	// staged rollout's canary and a rollback window's kept release.
	LabelTrack = "slipway.dev/track"
)
