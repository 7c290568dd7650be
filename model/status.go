package model

// Every status slipway writes lives here, so the records, the workflows,
// the activities and the CLI agree on one spelling. They are stored in
// records and shown to people: never change a value.

// App statuses, as Convox names them.
const (
	AppRunning  = "running"
	AppUpdating = "updating"
	AppRollback = "rollback"
	AppDeleting = "deleting"
	// AppError means a rollback itself failed: what runs is unknown and
	// the app's Reason says why. Promoting a release recovers it.
	AppError = "error"
)

// Build statuses: created -> running -> complete | failed.
const (
	BuildCreated  = "created"
	BuildRunning  = "running"
	BuildComplete = "complete"
	BuildFailed   = "failed"
)

// Promotion phases and results, as the Promotion record and
// `promotions` show them.
const (
	PhasePending = "pending"
	// PhaseCreating is a rollback's first phase: copying the target
	// release.
	PhaseCreating    = "creating release"
	// PhaseAwaitingApproval is a protected app's promotion waiting for
	// someone other than who started it to continue it.
	PhaseAwaitingApproval = "awaiting approval"
	PhaseRollingOut  = "rolling out"
	PhasePaused      = "paused"
	PhaseRollingBack = "rolling back"
	PhaseDone        = "done"

	ResultActive     = "active"
	ResultRolledBack = "rolled back"
	ResultFailed     = "failed"
)

// Atom statuses, as the promotion's events show them: `Status: A => B`.
const (
	AtomRunning  = "Running"
	AtomPending  = "Pending"
	AtomUpdating = "Updating"
	AtomRollback = "Rollback"
	AtomError    = "Error"
)
