package apps

import (
	"bytes"
	"testing"

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

func app(name, status, release, reason string) *records.App {
	return &records.App{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "dev-" + name},
		Status:     records.AppStatus{Status: status, Release: release, Latest: release, Reason: reason},
	}
}

func TestAppsTable(t *testing.T) {
	apps := []*records.App{
		app("api", "running", "RBCDEFGHIJK", ""),
		app("myapp", "updating", "RCDEFGHIJKL", ""),
		app("new", "running", "", ""),
		app("worker-long-name", "rollback", "RDEFGHIJKLM", "crash loop"),
	}
	assertGolden(t, "apps_table", func(b *bytes.Buffer) error { return AppsTable(apps).Print(b) })
	assertGolden(t, "apps_table_empty", func(b *bytes.Buffer) error { return AppsTable(nil).Print(b) })
}

func TestAppInfo(t *testing.T) {
	tests := []struct {
		name string
		app  *records.App
	}{
		{"app_info", app("myapp", "running", "RBCDEFGHIJK", "")},
		{"app_info_new", app("myapp", "running", "", "")},
		{"app_info_reason", app("myapp", "running", "RBCDEFGHIJK",
			"release RCDEFGHIJKL rolled back: web: CrashLoopBackOff\nlast log line: panic: boom")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertGolden(t, tt.name, func(b *bytes.Buffer) error { return AppInfo(tt.app).Print(b) })
		})
	}
}
