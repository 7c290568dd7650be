package model

import (
	"testing"
	"time"
)

func TestParseSteps(t *testing.T) {
	m, err := ParseManifest([]byte(`services:
  web:
    build: .
    port: 5000
    deployment:
      minimum: 50
      steps:
        - replicas: 20%
        - pause: 60s
        - pause: manual
        - replicas: 50
        - pause: 90
        - check: {http: /health/deep, expect: 204, for: 30s}
        - check: {http: /}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{
		{Replicas: 20}, {Pause: time.Minute}, {Manual: true}, {Replicas: 50}, {Pause: 90 * time.Second},
		{Check: &Check{HTTP: "/health/deep", Expect: 204, For: 30 * time.Second}},
		{Check: &Check{HTTP: "/", Expect: 200}},
	}
	got := m.Services[0].Deployment.Steps
	if len(got) != len(want) {
		t.Fatalf("steps: got %d, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].String() != want[i].String() || (want[i].Check != nil && *got[i].Check != *want[i].Check) {
			t.Errorf("step %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if m.Services[0].Deployment.Minimum != 50 {
		t.Errorf("steps changed the deployment's minimum: %+v", m.Services[0].Deployment)
	}
	if s := (Step{Check: &Check{HTTP: "/h", Expect: 200, For: 30 * time.Second}}).String(); s != "check /h answers 200 for 30s" {
		t.Errorf("check step shows as %q", s)
	}
}

func TestParseStepsErrors(t *testing.T) {
	const head = "services:\n  web:\n    build: .\n    port: 5000\n    deployment:\n      steps:\n"
	tests := []struct{ name, yaml, want string }{
		{"unknown key", head + "        - wait: 60s\n",
			`convox.yml:7: services.web.deployment.steps[0].wait: unknown step: use replicas, pause or check`},
		{"typo", head + "        - pauze: 60s\n",
			`convox.yml:7: services.web.deployment.steps[0].pauze: unknown step: use replicas, pause or check (did you mean "pause"?)`},
		{"two keys", head + "        - {replicas: 20%, pause: 60s}\n",
			`convox.yml:7: services.web.deployment.steps[0]: a step has one key, replicas, pause or check, not 2: write one step per item`},
		{"percent zero", head + "        - replicas: 0%\n",
			`convox.yml:7: services.web.deployment.steps[0].replicas: must be a percentage between 1 and 100, like 20%`},
		{"percent high", head + "        - pause: 5s\n        - replicas: 101%\n",
			`convox.yml:8: services.web.deployment.steps[1].replicas: must be a percentage between 1 and 100, like 20%`},
		{"percent text", head + "        - replicas: half\n",
			`convox.yml:7: services.web.deployment.steps[0].replicas: must be a percentage between 1 and 100, like 20%`},
		{"bad duration", head + "        - pause: soon\n",
			`convox.yml:7: services.web.deployment.steps[0].pause: must be a duration like 60s or 5m, or manual, between 1s and 24h`},
		{"too long", head + "        - pause: 25h\n",
			`convox.yml:7: services.web.deployment.steps[0].pause: must be a duration like 60s or 5m, or manual, between 1s and 24h`},
		{"check for", head + "        - check: {http: /h, for: forever}\n",
			`convox.yml:7: services.web.deployment.steps[0].check.for: must be a duration like 30s, between 1s and 24h`},
		{"check expect", head + "        - check: {http: /h, expect: 700}\n",
			`convox.yml:7: services.web.deployment.steps[0].check.expect: must be an HTTP status between 100 and 599, like 200`},
		{"check path", head + "        - check: {expect: 200}\n",
			`convox.yml:7: services.web.deployment.steps[0].check.http: is required: the path to GET, like /health`},
		{"check relative", head + "        - check: {http: health}\n",
			`convox.yml:7: services.web.deployment.steps[0].check.http: must be a path that starts with /, like /health`},
		{"not a list", head[:len(head)-1] + " 20%\n",
			`convox.yml:6: services.web.deployment.steps: must be a list of steps like {replicas: 20%}, {pause: 60s}, {pause: manual} or {check: {http: /health}}, not a string`},
		{"agent", "services:\n  web:\n    build: .\n    agent: true\n    deployment:\n      steps:\n        - replicas: 20%\n",
			`convox.yml:6: services.web.deployment.steps: an agent runs one process per node and cannot run a new release beside the old: remove steps, or drop agent`},
		{"singleton", "services:\n  web:\n    build: .\n    singleton: true\n    deployment:\n      steps:\n        - replicas: 20%\n",
			`convox.yml:6: services.web.deployment.steps: a singleton never runs two processes side by side: remove steps, or drop singleton`},
		{"check without port", "services:\n  web:\n    build: .\n    deployment:\n      steps:\n        - check: {http: /h}\n",
			`convox.yml:6: services.web.deployment.steps[0].check: services.web has no port to send the check to: add a port, or remove the check`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tt.yaml), nil)
			if err == nil {
				t.Fatalf("no error, want %s", tt.want)
			}
			if got := InManifestFile("convox.yml", err).Error(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
