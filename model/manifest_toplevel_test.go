package model

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseManifestTopLevel(t *testing.T) {
	m := mustParse(t, `
labels:
  team: core
  note: see the wiki
resources:
  main-db:
    type: postgres
    options:
      version: 16
      storage: 10
      durable: true
  cache:
    type: redis
services:
  web:
    image: x
    port: 3000
    resources: [main-db, cache, main-db]
    labels: {team: web}
  worker:
    image: x
timers:
  cleanup:
    schedule: "0 3 * * ?"
    command: bin/cleanup --all
    service: worker
    concurrency: forbid
  report:
    schedule: "*/5 * * * ? *"
    service: web
    parallelCount: 3
  nightly:
    schedule: "@daily"
    service: web
    concurrency: REPLACE
balancers:
  tcp:
    service: web
    ports:
      "5432": 5432
      53: {port: 5353, protocol: udp}
      80: {port: 3000}
    whitelist: 10.0.0.0/8
`, nil)
	wantResources := []Resource{
		{Name: "cache", Type: "redis"},
		{Name: "main-db", Type: "postgres", Options: map[string]string{"version": "16", "storage": "10", "durable": "true"}},
	}
	if !reflect.DeepEqual(m.Resources, wantResources) {
		t.Errorf("resources %s\nwant %s", js(m.Resources), js(wantResources))
	}
	wantTimers := []Timer{
		{Name: "cleanup", Schedule: "0 3 * * *", Command: "bin/cleanup --all", Service: "worker", Concurrency: "Forbid", Parallel: 1},
		{Name: "nightly", Schedule: "0 0 * * *", Service: "web", Concurrency: "Replace", Parallel: 1},
		{Name: "report", Schedule: "*/5 * * * *", Service: "web", Concurrency: "Allow", Parallel: 3},
	}
	if !reflect.DeepEqual(m.Timers, wantTimers) {
		t.Errorf("timers %s\nwant %s", js(m.Timers), js(wantTimers))
	}
	wantBalancers := []Balancer{{Name: "tcp", Service: "web", Whitelist: []string{"10.0.0.0/8"}, Ports: []BalancerPort{
		{Source: 53, Target: 5353, Protocol: "UDP"},
		{Source: 80, Target: 3000, Protocol: "TCP"},
		{Source: 5432, Target: 5432, Protocol: "TCP"},
	}}}
	if !reflect.DeepEqual(m.Balancers, wantBalancers) {
		t.Errorf("balancers %s\nwant %s", js(m.Balancers), js(wantBalancers))
	}
	web, _ := m.Service("web")
	worker, _ := m.Service("worker")
	if !reflect.DeepEqual(web.Resources, []string{"cache", "main-db"}) || worker.Resources != nil {
		t.Errorf("service resources %q, %q", web.Resources, worker.Resources)
	}
	// The top-level labels go under each service's own; one that is not a
	// label value goes on the pods as an annotation.
	if !reflect.DeepEqual(web.Labels, map[string]string{"team": "web"}) || !reflect.DeepEqual(worker.Labels, map[string]string{"team": "core"}) {
		t.Errorf("labels %q, %q", web.Labels, worker.Labels)
	}
	if want := map[string]string{"note": "see the wiki"}; !reflect.DeepEqual(web.Annotations, want) || !reflect.DeepEqual(worker.Annotations, want) {
		t.Errorf("annotations %q, %q", web.Annotations, worker.Annotations)
	}
	wantWarnings := []string{
		"convox.yml:4: labels.note: not a valid Kubernetes label value: put on the pods as an annotation instead",
		"convox.yml:29: timers.report.schedule: the fields after the fifth are ignored, as in Convox: slipway's schedules have five (minute hour day month weekday)",
	}
	if !reflect.DeepEqual(m.Warnings, wantWarnings) {
		t.Errorf("warnings %q\nwant %q", m.Warnings, wantWarnings)
	}
	if got := (Resource{Name: "main-db"}).EnvPrefix(); got != "MAIN_DB" {
		t.Errorf("EnvPrefix = %q", got)
	}
}

// Keys Convox ignores, or that mean nothing to slipway, are warnings, one
// line each, in file order, with a did-you-mean when one is close.
func TestParseManifestWarnings(t *testing.T) {
	m := mustParse(t, `version: "2"
appSettings: {a: 1}
services:
  web:
    image: x
    zenvironment: [A]
    Port: 5000
    drain: 10
    securityContext: {runAsNonRoot: true}
    links: [db]
    build: {dockerfile: Dockerfile.web}
    health: {intervall: 3}
    deployment: {min: 1}
    termination: {graec: 5}
    scale:
      replicas: 3
      targets: {requests: 10}
timers:
  t:
    schedule: "* * * * *"
    service: web
    annotations: [a=b]
balancers:
  b:
    service: web
    ports: {80: 3000}
    annotations: [a=b]
servces: {}
`, nil)
	want := []string{
		`convox.yml:1: version: unknown field, ignored`,
		`convox.yml:2: appSettings: ignored: slipway does not support it yet`,
		`convox.yml:6: services.web.zenvironment: unknown field, ignored: did you mean "environment"?`,
		`convox.yml:7: services.web.Port: unknown field, ignored: did you mean "port"?`,
		`convox.yml:8: services.web.drain: ignored: slipway does not support it yet`,
		`convox.yml:9: services.web.securityContext: ignored: slipway does not support it yet`,
		`convox.yml:10: services.web.links: ignored: slipway does not support it yet`,
		`convox.yml:11: services.web.build.dockerfile: unknown field, ignored`,
		`convox.yml:12: services.web.health.intervall: unknown field, ignored: did you mean "interval"?`,
		`convox.yml:13: services.web.deployment.min: unknown field, ignored`,
		`convox.yml:14: services.web.termination.graec: unknown field, ignored: did you mean "grace"?`,
		`convox.yml:16: services.web.scale.replicas: unknown field, ignored`,
		`convox.yml:17: services.web.scale.targets.requests: ignored: slipway does not support it yet`,
		`convox.yml:22: timers.t.annotations: ignored: slipway does not support it yet`,
		`convox.yml:27: balancers.b.annotations: ignored: slipway does not support it yet`,
		`convox.yml:28: servces: unknown field, ignored: did you mean "services"?`,
	}
	if !reflect.DeepEqual(m.Warnings, want) {
		t.Fatalf("warnings\n%s\nwant\n%s", strings.Join(m.Warnings, "\n"), strings.Join(want, "\n"))
	}
	// The image wins over build, as before; the ignored keys changed
	// nothing.
	s, _ := m.Service("web")
	if s.Image != "x" || s.Port != 0 || s.Scale.Count != 1 || s.Health.Interval != 5 || s.Environment != nil {
		t.Fatalf("service %s", js(s))
	}
}

// A warning never shows an env value: a key that came from the env is
// not named, its ${KEY} is.
func TestManifestWarningsNeverShowEnvValues(t *testing.T) {
	const canary = "canary-7Qx9"
	for _, tc := range []struct {
		name, yml string
		env       Env
		want      string
	}{
		{"unknown key", "services:\n  web:\n    image: x\n    ${F}: 1\n", Env{"F": canary},
			"convox.yml:4: services.web: unknown field, ignored (after interpolating ${F})"},
		{"unknown key inside", "services:\n  web:\n    image: x\n    health: {${F}: 1}\n", Env{"F": canary},
			"convox.yml:4: services.web.health: unknown field, ignored (after interpolating ${F})"},
		{"label value", "services:\n  web:\n    image: x\n    labels: {tier: \"${T}\"}\n", Env{"T": canary + " !"},
			"convox.yml:4: services.web.labels.tier: not a valid Kubernetes label value: put on the pods as an annotation instead"},
		{"label key from env", "services:\n  web:\n    image: x\n    labels: {\"${K}\": \"a b\"}\n", Env{"K": canary},
			"convox.yml:4: services.web.labels: not a valid Kubernetes label value: put on the pods as an annotation instead (after interpolating ${K})"},
		{"schedule", "services:\n  web:\n    image: x\ntimers:\n  t:\n    schedule: \"${S}\"\n    service: web\n", Env{"S": "1 2 3 4 5 " + canary},
			"convox.yml:6: timers.t.schedule: the fields after the fifth are ignored, as in Convox: slipway's schedules have five (minute hour day month weekday)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustParse(t, tc.yml, tc.env)
			if len(m.Warnings) != 1 || m.Warnings[0] != tc.want {
				t.Fatalf("warnings %q\nwant %q", m.Warnings, tc.want)
			}
			for _, w := range m.Warnings {
				if strings.Contains(strings.ToLower(w), strings.ToLower(canary)) {
					t.Fatalf("warning shows the value: %s", w)
				}
			}
		})
	}
}
