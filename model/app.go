package model

import (
	"fmt"
	"regexp"
)

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

// MaxAppName keeps <rack>-<app> within a Kubernetes namespace name (63).
const MaxAppName = 40

var appName = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)

// ValidateAppName accepts names that work as part of a namespace name.
func ValidateAppName(name string) error {
	if len(name) > MaxAppName || !appName.MatchString(name) {
		return fmt.Errorf("invalid app name %q: use lower-case letters, digits and dashes, starting with a letter, at most %d characters", name, MaxAppName)
	}
	return nil
}
