package releases

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/golden"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden.Assert(t, name+".golden", got)
}

// render returns what p writes, after checking it for trailing spaces.
func render(t *testing.T, p func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := p(&buf); err != nil {
		t.Fatal(err)
	}
	golden.NoTrailingSpace(t, buf.Bytes())
	return buf.Bytes()
}

var now = time.Date(2026, 1, 1, 0, 6, 0, 0, time.UTC)

func release(id, build, desc string, created time.Time) *records.Release {
	return &records.Release{
		ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(id), Namespace: "dev-myapp", CreationTimestamp: metav1.NewTime(created)},
		Spec:       records.ReleaseSpec{ID: id, App: "myapp", Build: build, Description: desc, Env: records.EnvSecretName(id)},
	}
}

// The rows of the reference `slipway releases -a myapp`: an env change on
// top of an active build release, as Convox's releases table shows them.
func designReleases() []*records.Release {
	return []*records.Release{
		release("RCDEFGHIJKL", "BABCDEFGHIJ", "env add:FOO", now.Add(-time.Minute)),
		release("RBCDEFGHIJK", "BABCDEFGHIJ", "build 0a1b2c3d4e my commit message", now.Add(-5*time.Minute)),
	}
}

func TestTable(t *testing.T) {
	got := render(t, func(b *bytes.Buffer) error { return Table(designReleases(), "RBCDEFGHIJK", now).Print(b) })
	assertGolden(t, "releases_table", got)

	// Byte for byte Convox's releases table: columns two spaces apart,
	// newest first, STATUS active for the app's current release.
	design := "" +
		"ID           STATUS  BUILD        CREATED        DESCRIPTION\n" +
		"RCDEFGHIJKL          BABCDEFGHIJ  1 minute ago   env add:FOO\n" +
		"RBCDEFGHIJK  active  BABCDEFGHIJ  5 minutes ago  build 0a1b2c3d4e my commit message\n"
	if string(got) != design {
		t.Errorf("releases table differs from Convox's:\n%s\nwant:\n%s", got, design)
	}
}

func TestTableVariants(t *testing.T) {
	tests := []struct {
		name   string
		rs     []*records.Release
		active string
	}{
		{"releases_table_newest_active", designReleases(), "RCDEFGHIJKL"},
		{"releases_table_none_active", designReleases(), ""},
		{"releases_table_empty", nil, ""},
		{"releases_table_no_build", []*records.Release{
			release("RDEFGHIJKLM", "", "env add:FOO", now),
			release("RCDEFGHIJKL", "", "", now.Add(-2*time.Hour)),
		}, "RCDEFGHIJKL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertGolden(t, tt.name, render(t, func(b *bytes.Buffer) error { return Table(tt.rs, tt.active, now).Print(b) }))
		})
	}
}

func TestInfo(t *testing.T) {
	r := release("RCDEFGHIJKL", "BABCDEFGHIJ", "env add:FOO", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))

	// The reference `slipway releases info`: Convox's info block, labels
	// padded to the widest plus two spaces.
	got := render(t, func(b *bytes.Buffer) error { return Info(r, model.Env{"FOO": "bar"}).Print(b) })
	assertGolden(t, "releases_info", got)
	design := "" +
		"Id           RCDEFGHIJKL\n" +
		"Build        BABCDEFGHIJ\n" +
		"Created      2026-01-01T00:00:00Z\n" +
		"Description  env add:FOO\n" +
		"Env          FOO=bar\n"
	if string(got) != design {
		t.Errorf("releases info differs from Convox's:\n%s\nwant:\n%s", got, design)
	}

	// Several keys, listed sorted and indented to the value column; a
	// value with a newline stays on its line, quoted as env files write it.
	env := model.Env{
		"ZED":          "last",
		"DATABASE_URL": "postgres://u:p@db/app?sslmode=disable",
		"PEM":          "-----BEGIN KEY-----\nabc\n-----END KEY-----",
		"EMPTY":        "",
		"A":            "1",
	}
	got = render(t, func(b *bytes.Buffer) error { return Info(r, env).Print(b) })
	assertGolden(t, "releases_info_env", got)

	// Who made it, when known, under the description.
	by := release("RCDEFGHIJKL", "BABCDEFGHIJ", "env add:FOO", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	by.Spec.Actor = "alice@example.com"
	if got := render(t, func(b *bytes.Buffer) error { return Info(by, model.Env{"FOO": "bar"}).Print(b) }); !strings.Contains(string(got), "Description  env add:FOO\nBy           alice@example.com\nEnv          FOO=bar\n") {
		t.Errorf("releases info with an actor:\n%s", got)
	}
	back, err := model.ParseEnv(strings.Join(indentedValue(t, string(got), "Env"), "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(env) || back["PEM"] != env["PEM"] {
		t.Errorf("the printed env does not read back: %q", back)
	}

	// A release with no env and no build yet (a created timestamp in
	// another zone prints in UTC).
	bare := release("RDEFGHIJKLM", "", "", time.Date(2026, 1, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600)))
	assertGolden(t, "releases_info_bare", render(t, func(b *bytes.Buffer) error { return Info(bare, model.Env{}).Print(b) }))
}

// indentedValue returns the lines of label's value in an info block.
func indentedValue(t *testing.T, out, label string) []string {
	t.Helper()
	var lines []string
	col := -1
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, label+" "):
			col = len(l) - len(strings.TrimLeft(l[len(label):], " "))
			lines = append(lines, l[col:])
		case col >= 0 && strings.HasPrefix(l, strings.Repeat(" ", col)):
			lines = append(lines, l[col:])
		case col >= 0:
			return lines
		}
	}
	if col < 0 {
		t.Fatalf("no %s in %q", label, out)
	}
	return lines
}
