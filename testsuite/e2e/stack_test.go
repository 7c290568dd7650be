package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/testsuite"
)

// A Deployment made through the harness's client becomes available on the
// kwok nodes: the control plane schedules, kwok runs the pods.
func TestDeploymentBecomesAvailable(t *testing.T) {
	s := testsuite.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "stack-test"}}
	if _, err := s.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "hello"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "hello"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](3),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "main", Image: "hello:1"}}},
			},
		},
	}
	deployments := s.Kube.AppsV1().Deployments("stack-test")
	available := watchFor(t, "deployment hello with 3 replicas available", time.Minute, listWatch("", deployments.List, deployments.Watch), &appsv1.Deployment{},
		func(_ watch.EventType, got *appsv1.Deployment) (bool, string) {
			return got.Name == "hello" && got.Status.AvailableReplicas == 3 && got.Status.UpdatedReplicas == 3,
				fmt.Sprintf("deployment %s: %d updated, %d available", got.Name, got.Status.UpdatedReplicas, got.Status.AvailableReplicas)
		})
	if _, err := deployments.Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	await(t, available)
	pods, err := s.Kube.CoreV1().Pods("stack-test").List(ctx, metav1.ListOptions{LabelSelector: "app=hello"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := map[string]bool{}
	for _, p := range pods.Items {
		nodes[p.Spec.NodeName] = true
	}
	if len(nodes) < 2 {
		t.Errorf("3 pods landed on %d node(s), want them spread over the kwok nodes", len(nodes))
	}
}

func greet(ctx workflow.Context, name string) (string, error) {
	return "hello " + name, nil
}

// The harness's Temporal runs workflows: start one on a worker of this test
// and see it complete.
func TestTrivialWorkflowCompletes(t *testing.T) {
	s := testsuite.Get(t)
	queue := fmt.Sprintf("trivial-%d", time.Now().UnixNano())
	w := worker.New(s.Temporal, queue, worker.Options{})
	w.RegisterWorkflow(greet)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, greet, "slipway")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := run.Get(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if got != "hello slipway" {
		t.Fatalf("workflow returned %q", got)
	}
}
