package model

import (
	"regexp"
	"strings"
	"testing"
)

var manifestLine = regexp.MustCompile(`^convox\.yml:[1-9][0-9]*: `)

// Every error about a field that took an env value names the field and the
// key, and never shows the value: these errors end up in the CLI, records,
// Temporal's history and logs.
func TestManifestErrorsNeverShowEnvValues(t *testing.T) {
	const canary = "canary-7Qx9"
	for _, tc := range []struct {
		name string
		yml  string
		env  Env
		path string // the field the error must name
		key  string // the key it must name
	}{
		{"command quote", "services:\n  web:\n    image: x\n    command: server --token '${TOKEN}'\n", Env{"TOKEN": "s3cr'et-" + canary}, "services.web.command", "TOKEN"},
		{"command double quote", "services:\n  web:\n    image: x\n    command: server --token ${TOKEN}\n", Env{"TOKEN": `"` + canary}, "services.web.command", "TOKEN"},
		{"command backslash", "services:\n  web:\n    image: x\n    command: run ${T}\n", Env{"T": canary + `\`}, "services.web.command", "T"},
		{"image space", "services:\n  web:\n    image: nginx:${TAG}\n", Env{"TAG": canary + " x"}, "services.web.image", "TAG"},
		{"yaml broken", "services:\n  web:\n    image: ${IMG}\n", Env{"IMG": canary + ": x"}, "convox.yml", "IMG"},
		{"yaml broken on a later line", "services:\n  web:\n    image: x\n    command: ${C}\n", Env{"C": "'" + canary}, "convox.yml", "C"},
		{"yaml duplicate key", "services:\n  web:\n    image: x\n    ${K}: 1\n    ${K}: 2\n", Env{"K": canary}, "convox.yml", "K"},
		{"health path", "services:\n  web:\n    image: x\n    health: ${HP}\n", Env{"HP": canary}, "services.web.health", "HP"},
		{"health map path", "services:\n  web:\n    image: x\n    health: {path: \"${HP}\"}\n", Env{"HP": canary}, "services.web.health.path", "HP"},
		{"build absolute", "services:\n  web:\n    build: ${BP}\n", Env{"BP": "/" + canary}, "services.web.build", "BP"},
		{"build escapes", "services:\n  web:\n    build: ${BP}\n", Env{"BP": "../" + canary}, "services.web.build", "BP"},
		{"build manifest absolute", "services:\n  web:\n    build: {manifest: \"${DF}\"}\n", Env{"DF": "/" + canary}, "services.web.build.manifest", "DF"},
		{"build manifest escapes via path", "services:\n  web:\n    build: {path: \"${BP}\", manifest: ../../Dockerfile}\n", Env{"BP": canary}, "services.web.build.manifest", "BP"},
		{"node selector value", "services:\n  web:\n    image: x\n    nodeSelectorLabels: {tier: \"${TIER}\"}\n", Env{"TIER": canary + " !"}, "services.web.nodeSelectorLabels.tier", "TIER"},
		{"port scheme", "services:\n  web:\n    image: x\n    port: ${P}\n", Env{"P": canary + ":80"}, "services.web.port", "P"},
		{"domain", "services:\n  web:\n    image: x\n    port: 80\n    domain: ${D}\n", Env{"D": canary + "_x.org"}, "services.web.domain", "D"},
		{"domain list", "services:\n  web:\n    image: x\n    port: 80\n    domain: [a.org, \"${D}\"]\n", Env{"D": canary + "_x.org"}, "services.web.domain[1]", "D"},
		{"whitelist", "services:\n  web:\n    image: x\n    whitelist: ${W}\n", Env{"W": canary}, "services.web.whitelist", "W"},
		{"scale range", "services:\n  web:\n    image: x\n    scale: {count: \"${N}\"}\n", Env{"N": canary}, "services.web.scale.count", "N"},
		{"resource type", "resources:\n  db:\n    type: ${T}\nservices:\n  web:\n    image: x\n", Env{"T": canary}, "resources.db.type", "T"},
		{"managed resource type", "resources:\n  db:\n    type: rds-${T}\nservices:\n  web:\n    image: x\n", Env{"T": canary}, "resources.db", "T"},
		{"service resource", "resources:\n  db: {type: redis}\nservices:\n  web:\n    image: x\n    resources: [\"${R}\"]\n", Env{"R": canary}, "services.web.resources[0]", "R"},
		{"timer schedule", "services:\n  web:\n    image: x\ntimers:\n  t:\n    schedule: \"${S}\"\n    service: web\n", Env{"S": canary}, "timers.t.schedule", "S"},
		{"timer service", "services:\n  web:\n    image: x\ntimers:\n  t:\n    schedule: \"* * * * *\"\n    service: ${S}\n", Env{"S": canary}, "timers.t.service", "S"},
		{"timer concurrency", "services:\n  web:\n    image: x\ntimers:\n  t:\n    schedule: \"* * * * *\"\n    service: web\n    concurrency: ${C}\n", Env{"C": canary}, "timers.t.concurrency", "C"},
		{"balancer whitelist", "services:\n  web:\n    image: x\nbalancers:\n  b:\n    service: web\n    ports: {80: 3000}\n    whitelist: [\"${W}\"]\n", Env{"W": canary}, "balancers.b.whitelist[0]", "W"},
		{"volume", "services:\n  web:\n    image: x\n    volumes: [\"${V}\"]\n", Env{"V": canary}, "services.web.volumes[0]", "V"},
		{"label key", "services:\n  web:\n    image: x\n    labels: {\"${LK}\": x}\n", Env{"LK": "-" + canary}, "services.web.labels", "LK"},
		{"label list", "services:\n  web:\n    image: x\n    labels: [\"${L}\"]\n", Env{"L": "slipway.dev/x=" + canary}, "services.web.labels[0]", "L"},
		{"annotation key", "services:\n  web:\n    image: x\n    annotations: [\"${AK}=1\"]\n", Env{"AK": "bad " + canary}, "services.web.annotations[0]", "AK"},
		{"annotation without equals", "services:\n  web:\n    image: x\n    annotations: [\"${A}\"]\n", Env{"A": canary}, "services.web.annotations[0]", "A"},
		{"annotation twice", "services:\n  web:\n    image: x\n    annotations: [\"${A}=1\", \"${A}=2\"]\n", Env{"A": canary}, "services.web.annotations[1]", "A"},
		{"env name", "services:\n  web:\n    image: x\n    environment: [\"${E}\"]\n", Env{"E": canary}, "services.web.environment[0]", "E"},
		{"env twice", "services:\n  web:\n    image: x\n    environment: [\"${E}\", \"${E}=1\"]\n", Env{"E": "CANARY_7Qx9"}, "services.web.environment[1]", "E"},
		{"service name from env", "services:\n  ${S}:\n    image: x\n", Env{"S": "Canary_7Qx9"}, "services", "S"},
		{"service names clash", "services:\n  ${S}:\n    image: x\n  canary-7qx9:\n    image: y\n", Env{"S": "Canary-7Qx9"}, "services", "S"},
		{"port", "services:\n  web:\n    image: x\n    port: ${P}\n", Env{"P": canary}, "services.web.port", "P"},
		{"flow style", "services: {web: {image: x, port: ${P}}}\n", Env{"P": canary}, "services.web.port", "P"},
		{"flow style image", "services: {web: {image: nginx:${TAG}}}\n", Env{"TAG": canary + " x"}, "services.web.image", "TAG"},
		{"scale", "services:\n  web:\n    image: x\n    scale: ${N}\n", Env{"N": canary}, "services.web.scale", "N"},
		// yaml.v3 quotes an anchor's name with ' in its error.
		{"unknown anchor", "services:\n  web:\n    image: x\n    <<: *${A}\n", Env{"A": canary}, "convox.yml", "A"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseManifest([]byte(tc.yml), tc.env)
			if err == nil {
				t.Fatalf("ParseManifest gave %+v, want an error", m)
			}
			msg := err.Error()
			for _, v := range tc.env {
				if strings.Contains(strings.ToLower(msg), strings.ToLower(v)) {
					t.Fatalf("error shows the value %q: %s", v, msg)
				}
			}
			// convox.yml:12: services.web.port: ..., or convox.yml:12: ...
			// for the file as a whole.
			where := manifestLine.FindString(msg)
			if where == "" || tc.path != "convox.yml" && !strings.HasPrefix(msg[len(where):], tc.path+":") {
				t.Errorf("error does not start with convox.yml:LINE: %s: %s", tc.path, msg)
			}
			if !strings.Contains(msg, "${"+tc.key+"}") || !strings.Contains(msg, "the value of "+tc.key) {
				t.Errorf("error does not name ${%s}: %s", tc.key, msg)
			}
			if strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error spans lines: %q", msg)
			}
		})
	}
}

// The example of the error for a value that breaks the command's quoting,
// word for word.
func TestCommandErrorText(t *testing.T) {
	_, err := ParseManifest([]byte("services:\n  web:\n    image: x\n    command: server --token '${TOKEN}'\n"), Env{"TOKEN": "s3cr'et"})
	want := `convox.yml:4: services.web.command: unterminated ' quote: close it (after interpolating ${TOKEN}): fix the command or the value of TOKEN`
	if err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
	// The same command written out, with no env in it, may be quoted.
	_, err = ParseManifest([]byte("services:\n  web:\n    image: x\n    command: server --token 'x\n"), nil)
	if want := `convox.yml:4: services.web.command: unterminated ' quote: close it`; err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
}

// Literal text next to an interpolated field is still shown: only fields
// that took a value lose their text.
func TestLiteralFieldsStillQuoted(t *testing.T) {
	_, err := ParseManifest([]byte("services:\n  web:\n    image: ${IMG}\n    health: {path: up}\n"), Env{"IMG": "canary"})
	if want := `convox.yml:4: services.web.health.path: must start with "/", like "/health", not "up"`; err == nil || err.Error() != want {
		t.Fatalf("error\n got: %v\nwant: %s", err, want)
	}
}

func TestEnvErrorsNeverShowValues(t *testing.T) {
	const canary = "canary-7Qx9"
	for _, text := range []string{
		"KEY=-----BEGIN KEY-----\n" + canary + "\n",
		"=" + canary + "\n",
		"KEY=\"" + canary + "\n",
		"KEY=\"a\n" + canary + "\" x\n",
	} {
		_, err := ParseEnv(text)
		if err == nil || strings.Contains(err.Error(), canary) {
			t.Errorf("ParseEnv(%q) error %v: want one without the value", text, err)
		}
	}
	for _, args := range [][]string{{canary}, {"=" + canary}, {"A=1", canary}} {
		_, err := ParsePairs(args)
		if err == nil || strings.Contains(err.Error(), canary) {
			t.Errorf("ParsePairs(%q) error %v: want one without the value", args, err)
		}
	}
}

// No manifest shows an interpolated value in its error: the value is
// marked at both ends, so even a shortened quote of it would be caught.
func FuzzManifestErrorsHideValues(f *testing.F) {
	f.Add([]byte("services:\n  web:\n    image: x\n    command: server --token '${V}'\n"), "s3cr'et")
	f.Add([]byte("services:\n  web:\n    image: ${V}\n"), ": x")
	f.Add([]byte("services:\n  web:\n    image: x\n    labels: {\"${V}\": x}\n"), "-bad")
	f.Add([]byte("services: {web: {image: x, annotations: [\"${V}\"]}}\n"), "nokey")
	f.Add([]byte("services:\n  ${V}:\n    image: x\n"), "Bad")
	f.Add([]byte("services:\n  web:\n    build: {path: \"${V}\", manifest: ../../D}\n"), "a")
	f.Add([]byte("services:\n  web:\n    image: x\n    ${V}: 1\n"), "zenvironment")
	f.Add([]byte("services:\n  web:\n    image: x\n    labels: {a: \"${V}\"}\n"), "not a label value")
	f.Add([]byte("services:\n  web:\n    image: x\n    port: ${V}\n"), "https:80")
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		const mark = "QZXV"
		if strings.Contains(string(data), mark) {
			return
		}
		value = mark + value + mark
		m, err := ParseManifest(data, Env{"V": value, "W": value})
		if err != nil && strings.Contains(err.Error(), mark) {
			t.Fatalf("error shows the value: %v", err)
		}
		if m != nil {
			for _, w := range m.Warnings {
				if strings.Contains(w, mark) {
					t.Fatalf("warning shows the value: %s", w)
				}
			}
		}
	})
}
