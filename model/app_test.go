package model

import "testing"

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
