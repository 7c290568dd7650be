package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/testsuite"
)

// convoxKinds uses what real manifests add to a service: a domain, an
// autoscaled count, an extra port, a timer, an agent, a resource and a
// balancer.
const convoxKinds = `resources:
  database:
    type: postgres
    options:
      storage: 5
services:
  web:
    image: %[1]s
    port: 3000
    domain: shop.example.org
    scale:
      count: 1-3
      targets:
        cpu: 60
    resources:
      - database
  agent:
    image: %[1]s
    agent: true
timers:
  cleanup:
    schedule: "0 3 * * *"
    command: bin/cleanup
    service: web
balancers:
  tcp:
    service: web
    ports:
      5432: 3000
`

// A release is applied whole, every kind, and a later release that drops a
// domain, a timer and an agent removes them, while the resource stays with
// the app.
func TestConvoxKindsPromoteAndPrune(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	app := "kinds"
	newApp(t, s, app)
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", fmt.Sprintf(convoxKinds, sample(s)))
	first := releaseOf(t, s.MustCLI(t, "build", dir, "-a", app))
	s.MustCLI(t, "releases", "promote", first, "-a", app)
	settled(t, s, app, first)

	ns := s.Store.Namespace(app)
	c := s.Kube
	exists := func(what string, get func() error) {
		t.Helper()
		if err := get(); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	exists("Ingress web", func() error {
		_, err := c.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
		return err
	})
	exists("autoscaler web", func() error {
		h, err := c.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "web", metav1.GetOptions{})
		if err == nil && (h.Spec.MaxReplicas != 3 || *h.Spec.MinReplicas != 1) {
			err = fmt.Errorf("bounds %d-%d, want 1-3", *h.Spec.MinReplicas, h.Spec.MaxReplicas)
		}
		return err
	})
	exists("CronJob timer-cleanup", func() error {
		_, err := c.BatchV1().CronJobs(ns).Get(ctx, "timer-cleanup", metav1.GetOptions{})
		return err
	})
	exists("LoadBalancer balancer-tcp", func() error {
		_, err := c.CoreV1().Services(ns).Get(ctx, "balancer-tcp", metav1.GetOptions{})
		return err
	})
	exists("resource database", func() error {
		if _, err := c.AppsV1().StatefulSets(ns).Get(ctx, "resource-database", metav1.GetOptions{}); err != nil {
			return err
		}
		_, err := c.CoreV1().Secrets(ns).Get(ctx, "resource-database", metav1.GetOptions{})
		return err
	})
	// The agent rolled out on every node: the promotion waited for it.
	ds, err := c.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ds.Status.DesiredNumberScheduled == 0 || ds.Status.NumberAvailable != ds.Status.DesiredNumberScheduled {
		t.Errorf("agent: %d of %d available after the promotion", ds.Status.NumberAvailable, ds.Status.DesiredNumberScheduled)
	}
	sec, err := c.CoreV1().Secrets(ns).Get(ctx, "resource-database", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := string(sec.Data["URL"])
	if !strings.HasPrefix(url, "postgres://app:") || !strings.HasSuffix(url, "@resource-database."+ns+".svc.cluster.local:5432/app") {
		t.Errorf("DATABASE_URL is %q", url)
	}

	// The next release keeps web, without its domain and timer, and
	// drops the agent.
	slim := strings.Replace(fmt.Sprintf(convoxKinds, sample(s)), "    domain: shop.example.org\n", "", 1)
	slim = slim[:strings.Index(slim, "  agent:\n")] + slim[strings.Index(slim, "timers:"):]
	slim = slim[:strings.Index(slim, "timers:")] + slim[strings.Index(slim, "balancers:"):]
	writeFile(t, dir, "convox.yml", slim)
	second := releaseOf(t, s.MustCLI(t, "build", dir, "-a", app))
	s.MustCLI(t, "releases", "promote", second, "-a", app)
	settled(t, s, app, second)
	gone := func(what string, get func() error) {
		t.Helper()
		eventually(t, what+" pruned", 10*time.Second, 100*time.Millisecond, func(context.Context) (bool, string) {
			err := get()
			return apierrors.IsNotFound(err), fmt.Sprintf("%v", err)
		})
	}
	gone("Ingress web", func() error {
		_, err := c.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
		return err
	})
	gone("CronJob timer-cleanup", func() error {
		_, err := c.BatchV1().CronJobs(ns).Get(ctx, "timer-cleanup", metav1.GetOptions{})
		return err
	})
	gone("DaemonSet agent", func() error { _, err := c.AppsV1().DaemonSets(ns).Get(ctx, "agent", metav1.GetOptions{}); return err })
	after, err := c.CoreV1().Secrets(ns).Get(ctx, "resource-database", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the resource's credentials went with a release: %v", err)
	}
	if string(after.Data["URL"]) != url {
		t.Error("the resource's credentials changed between releases")
	}
	exists("resource database", func() error {
		_, err := c.AppsV1().StatefulSets(ns).Get(ctx, "resource-database", metav1.GetOptions{})
		return err
	})

	// A release that brings the domain and the timer back but crash loops
	// is rolled back whole: its Ingress and CronJob go with it.
	crashing := strings.Replace(fmt.Sprintf(convoxKinds, sample(s)), "    domain: shop.example.org\n",
		"    domain: shop.example.org\n    annotations:\n      - slipway.dev/simulate=crashloop\n", 1)
	crashing = crashing[:strings.Index(crashing, "  agent:\n")] + crashing[strings.Index(crashing, "timers:"):]
	writeFile(t, dir, "convox.yml", crashing)
	third := releaseOf(t, s.MustCLI(t, "build", dir, "-a", app))
	if r := s.CLI(t, "releases", "promote", third, "-a", app); r.Code == 0 {
		t.Fatalf("a crash-looping release promoted:\n%s", r.Stdout)
	}
	settled(t, s, app, second)
	gone("Ingress web of the rolled-back release", func() error {
		_, err := c.NetworkingV1().Ingresses(ns).Get(ctx, "web", metav1.GetOptions{})
		return err
	})
	gone("CronJob timer-cleanup of the rolled-back release", func() error {
		_, err := c.BatchV1().CronJobs(ns).Get(ctx, "timer-cleanup", metav1.GetOptions{})
		return err
	})
}
