package model

import "fmt"

// Owned reports whether an object carries the labels slipway puts on what
// it makes for an app of a rack. slipway adopts, changes and deletes only
// what is Owned: RBAC cannot scope a namespace by its labels, so this check
// is the guard.
func Owned(labels map[string]string, rack, app string) bool {
	return labels[LabelRack] == rack && labels[LabelApp] == app
}

// NotOwnedError is why slipway refuses to make an app whose namespace
// exists without slipway's labels.
func NotOwnedError(ns string) error {
	return fmt.Errorf("namespace %s exists and is not slipway's: pick another app name", ns)
}

// NotOwnedDeleteError is why slipway refuses to delete a namespace.
func NotOwnedDeleteError(ns string) error {
	return fmt.Errorf("namespace %s is not slipway's (it lacks slipway's labels): slipway will not delete it; delete it with kubectl if you mean to", ns)
}
