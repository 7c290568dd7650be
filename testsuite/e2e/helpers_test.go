package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipway-dev/slipway/devstack"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
)

// newApp creates an app for one test.
func newApp(t *testing.T, s *testsuite.Stack, name string) {
	t.Helper()
	if out := s.MustCLI(t, "apps", "create", name); out != fmt.Sprintf("Creating %s... OK\n", name) {
		t.Fatalf("apps create printed %q", out)
	}
}

// example copies examples/myapp for a test, pointing its images at the
// harness's registry (the example names the local stack's, port 5000).
func example(t *testing.T, s *testsuite.Stack) string {
	t.Helper()
	return copyExample(t, s, "myapp", "convox.yml")
}

func copyExample(t *testing.T, s *testsuite.Stack, name string, files ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(s.Root, "examples", name, f))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, dir, f, strings.ReplaceAll(string(b), "127.0.0.1:5000/", s.Settings.Registry+"/"))
	}
	return dir
}

// sample is the harness registry's sample image (see devstack.SampleImage).
func sample(s *testsuite.Stack) string { return s.Settings.Registry + "/" + devstack.SampleImage }

var releaseLine = regexp.MustCompile(`(?m)^Release: (R[A-Z]{10})$`)

// releaseOf returns the ID a command printed on its `Release:` line.
func releaseOf(t *testing.T, out string) string {
	t.Helper()
	m := releaseLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Release: line in\n%s", out)
	}
	return m[1]
}

// snapshot lists every record and secret of an app, with versions, so a
// test can check that a command changed nothing.
func snapshot(t *testing.T, s *testsuite.Stack, app string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := s.Store.Namespace(app)
	var lines []string
	for _, gvr := range []schema.GroupVersionResource{records.AppResource, records.BuildResource, records.ReleaseResource} {
		l, err := s.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			lines = append(lines, fmt.Sprintf("%s/%s@%s", gvr.Resource, o.GetName(), o.GetResourceVersion()))
		}
	}
	secrets, err := s.Kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range secrets.Items {
		lines = append(lines, fmt.Sprintf("secrets/%s@%s", o.Name, o.ResourceVersion))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
