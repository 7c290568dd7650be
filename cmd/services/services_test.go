package services

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
)

// manifest has a public service on ${HOST}, an internal one with an extra
// UDP port, and a worker.
const manifest = `services:
  web:
    build: .
    port: 3000
    domain: ${HOST}
  dns:
    image: coredns:1.11
    port: 8080
    internal: true
    ports:
      - 53/udp
  worker:
    build: .
`

func seeded(t *testing.T, active string) *cmdutiltest.Env {
	a := recordstest.App("myapp")
	a.Status.Release = active
	r := &records.Release{
		TypeMeta:   recordstest.TypeMeta("Release"),
		ObjectMeta: metav1.ObjectMeta{Name: "rbcdefghijk", Namespace: recordstest.Namespace("myapp")},
		Spec:       records.ReleaseSpec{ID: "RBCDEFGHIJK", App: "myapp", Manifest: manifest, Env: records.EnvSecretName("RBCDEFGHIJK")},
	}
	env := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: r.Spec.Env, Namespace: r.Namespace},
		Data:       map[string][]byte{"HOST": []byte("shop.example.org")},
	}
	return cmdutiltest.New(t, a, r, env)
}

func TestListRun(t *testing.T) {
	e := seeded(t, "RBCDEFGHIJK")
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "services_table")
	e.Out.Reset()
	if err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "services_json")
	if w := e.Store.Writes(); len(w) != 0 {
		t.Errorf("services wrote %v", w)
	}
}

func TestListRunNoRelease(t *testing.T) {
	e := seeded(t, "")
	err := listRun(context.Background(), &ListOptions{Factory: e.Factory, App: "myapp"})
	if err == nil || !strings.Contains(err.Error(), "has no active release: promote one") {
		t.Errorf("an app with no active release: %v", err)
	}
}

func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *ListOptions
	capture := func(_ context.Context, o *ListOptions) error { got = o; return nil }
	if err := e.Run(NewCmdServices(e.Factory, capture), "-a", "myapp"); err != nil || got == nil || got.App != "myapp" {
		t.Fatalf("-a myapp: %v, %+v", err, got)
	}
	got = nil
	if err := e.Run(NewCmdServices(e.Factory, capture), "web"); err == nil || got != nil {
		t.Errorf("an argument was accepted: %v", err)
	}
	if err := e.Run(NewCmdServices(e.Factory, capture), "-o", "yaml"); err == nil || got != nil {
		t.Errorf("-o yaml was accepted: %v", err)
	}
}
