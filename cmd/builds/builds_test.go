package builds

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/slipway-dev/slipway/internal/golden"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/records"
)

// assertGolden compares what print writes with testdata/<name>.golden.
func assertGolden(t *testing.T, name string, print func(*bytes.Buffer) error) {
	t.Helper()
	var buf bytes.Buffer
	if err := print(&buf); err != nil {
		t.Fatal(err)
	}
	golden.NoTrailingSpace(t, buf.Bytes())
	golden.Assert(t, name+".golden", buf.Bytes())
}

var (
	now = time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)
	t0  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

func ts(t time.Time) *metav1.MicroTime { m := metav1.NewMicroTime(t); return &m }

func build(id, status, release, desc string, created time.Time, started, ended *metav1.MicroTime) *records.Build {
	return &records.Build{
		ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(id), Namespace: "dev-myapp", CreationTimestamp: metav1.NewTime(created)},
		Spec:       records.BuildSpec{ID: id, App: "myapp", Description: desc, Source: "source/myapp/" + id + ".tgz", ManifestPath: "convox.yml"},
		Status:     records.BuildStatus{Status: status, Release: release, Started: started, Ended: ended},
	}
}

// Newest first, as ListBuilds returns them.
func builds() []*records.Build {
	running := build("BCDEFGHIJKL", "running", "", "build 1b2c3d4e5f second", now.Add(-30*time.Second), ts(now.Add(-29*time.Second)), nil)
	created := build("BDEFGHIJKLM", "created", "", "", now, nil, nil)
	failed := build("BBCDEFGHIJK", "failed", "", "build 0a1b2c3d4e broken", t0.Add(50*time.Minute), ts(t0.Add(50*time.Minute)), ts(t0.Add(50*time.Minute+3*time.Second)))
	failed.Status.Reason = "service web: RUN is not supported\nbuilder: exit status 1"
	done := build("BABCDEFGHIJ", "complete", "RBCDEFGHIJK", "build 0a1b2c3d4e my commit message", t0, ts(t0.Add(time.Second)), ts(t0.Add(71*time.Second)))
	done.Status.Images = []records.Image{
		{Service: "web", Ref: "registry.local/myapp/web:BABCDEFGHIJ", Digest: "sha256:0123456789abcdef"},
		{Service: "worker", Ref: "registry.local/myapp/worker:BABCDEFGHIJ"},
	}
	return []*records.Build{created, running, failed, done}
}

func TestTable(t *testing.T) {
	assertGolden(t, "builds_table", func(b *bytes.Buffer) error { return Table(builds(), now).Print(b) })
	assertGolden(t, "builds_table_empty", func(b *bytes.Buffer) error { return Table(nil, now).Print(b) })
}

func TestInfo(t *testing.T) {
	for _, b := range builds() {
		name := "builds_info_" + b.Status.Status
		t.Run(name, func(t *testing.T) {
			assertGolden(t, name, func(w *bytes.Buffer) error { return Info(b).Print(w) })
		})
	}
}
