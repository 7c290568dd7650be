package model

import (
	"fmt"
	"regexp"
	"strings"
)

// MaxAppName keeps <rack>-<app> within a Kubernetes namespace name (63).
const MaxAppName = 40

var (
	appName  = regexp.MustCompile(`^[a-z]([a-z0-9-]*[a-z0-9])?$`)
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)
)

// ValidateAppName accepts names that work as part of a namespace name.
func ValidateAppName(name string) error {
	if len(name) > MaxAppName || !appName.MatchString(name) {
		return fmt.Errorf("invalid app name %q: use lower-case letters, digits and dashes, starting with a letter, at most %d characters", name, MaxAppName)
	}
	return nil
}

// AppNamespace is the namespace of an app in a rack: <rack>-<app>.
func AppNamespace(rack, app string) string { return rack + "-" + app }

// SystemNamespace is the rack's own namespace, where `slipway system
// install` puts the worker's ServiceAccount. No app may map onto it.
func SystemNamespace(rack string) string { return rack + "-system" }

// ValidateApp checks an app name in a rack: the name rules, and that the
// app's namespace is a DNS label that belongs neither to Kubernetes
// (kube-*, default) nor to the rack itself. A name that fails here must
// never reach the cluster: with rack "kube", app "system" is kube-system.
func ValidateApp(rack, app string) error {
	if err := ValidateAppName(app); err != nil {
		return err
	}
	if len(rack) > 63 || !dnsLabel.MatchString(rack) {
		return fmt.Errorf("invalid rack %q: set SLIPWAY_RACK to lower-case letters, digits and dashes", rack)
	}
	ns := AppNamespace(rack, app)
	switch {
	case len(ns) > 63 || !dnsLabel.MatchString(ns):
		return fmt.Errorf("app name %q is too long for rack %q: namespace %s would pass 63 characters; pick a shorter app name", app, rack, ns)
	case ns == "default" || strings.HasPrefix(ns, "kube-"):
		return fmt.Errorf("app name %q is reserved: namespace %s belongs to Kubernetes; pick another app name (or another SLIPWAY_RACK)", app, ns)
	case ns == SystemNamespace(rack):
		return fmt.Errorf("app name %q is reserved: namespace %s is the rack's own; pick another app name", app, ns)
	}
	return nil
}
