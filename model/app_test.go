package model

import (
	"strings"
	"testing"
)

func TestValidateAppName(t *testing.T) {
	for name, ok := range map[string]bool{
		"myapp": true, "my-app-2": true, "a": true,
		"": false, "MyApp": false, "2app": false, "app-": false, "my_app": false,
		"a234567890123456789012345678901234567890":  true,
		"a2345678901234567890123456789012345678901": false,
	} {
		if err := ValidateAppName(name); (err == nil) != ok {
			t.Errorf("ValidateAppName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestValidateApp(t *testing.T) {
	for _, c := range []struct {
		rack, app string
		want      string // a substring of the error; "" for accepted
	}{
		{"slipway", "myapp", ""},
		{"kube", "system", "namespace kube-system belongs to Kubernetes"},
		{"kube", "public", "namespace kube-public belongs to Kubernetes"},
		{"kube", "myapp", "belongs to Kubernetes"},
		{"slipway", "system", "namespace slipway-system is the rack's own"},
		{"prod", "system", "namespace prod-system is the rack's own"},
		{"slipway", "My_App", "invalid app name"},
		{"Bad_Rack", "myapp", "invalid rack"},
		{"", "myapp", "invalid rack"},
		{"r234567890123456789012345", "a234567890123456789012345678901234567890", "too long"},
		{"r234567890123456789012", "a234567890123456789012345678901234567890", ""},
	} {
		err := ValidateApp(c.rack, c.app)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("ValidateApp(%q, %q) = %v, want ok", c.rack, c.app, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("ValidateApp(%q, %q) = %v, want an error with %q", c.rack, c.app, err, c.want)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("ValidateApp(%q, %q): error %q is not one line", c.rack, c.app, err)
		}
	}
}
