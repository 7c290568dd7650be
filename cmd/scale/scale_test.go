package scale

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/api/serviceerror"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/records/recordstest"
	"github.com/slipway-dev/slipway/workflows"
)

// Flags land in Options, unset ones as nil; a bad command line fails
// before anything runs.
func TestFlags(t *testing.T) {
	e := cmdutiltest.New(t)
	var got *ScaleOptions
	capture := func(_ context.Context, o *ScaleOptions) error { got = o; return nil }
	if err := e.Run(NewCmdScale(e.Factory, capture), "-a", "myapp"); err != nil || got.Setting() || got.Service != "" {
		t.Errorf("show: %+v, %v", got, err)
	}
	if err := e.Run(NewCmdScale(e.Factory, capture), "web", "--count", "0", "--memory", "256", "-w"); err != nil {
		t.Fatal(err)
	}
	if got.Service != "web" || got.Count == nil || *got.Count != 0 || got.CPU != nil || got.Memory == nil || *got.Memory != 256 {
		t.Errorf("set: %+v, want web count 0, memory 256, cpu unset", got)
	}
	if err := e.Run(NewCmdScale(e.Factory, capture), "web", "-o", "json"); err != nil || got.Output != "json" {
		t.Errorf("show json: %+v, %v", got, err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--count", "2"}, "which service? name it: `slipway scale SERVICE --count N`"},
		{[]string{"web", "--count", "-1"}, "--count -1: must be a whole number of processes between 0 and 1000"},
		{[]string{"web", "--cpu", "0"}, "--cpu 0: must be a number of millicores between 1 and 1000000 (1000 is one core)"},
		{[]string{"web", "--count", "2", "-o", "json"}, "--output is for showing the scale: leave it out when setting one"},
		{[]string{"web", "-o", "yaml"}, `--output "yaml": the only format is json (leave it out for a table)`},
		{[]string{"web", "--count", "many"}, "invalid argument"},
		{[]string{"web", "api"}, "accepts at most 1 arg"},
	} {
		err := e.Run(NewCmdScale(e.Factory, func(context.Context, *ScaleOptions) error { t.Errorf("%q ran", tt.args); return nil }), tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("scale %q: %v, want %q", tt.args, err, tt.want)
		}
	}
}

func deployment(service string, replicas, ready int32, cpu, memory string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: service, Namespace: recordstest.Namespace("myapp"),
			Labels: map[string]string{model.LabelApp: "myapp", model.LabelService: service}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "main",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(memory),
				}},
			}}}},
		},
		Status: appsv1.DeploymentStatus{ReadyReplicas: ready},
	}
}

// beside is a Deployment that runs beside web for a while (a canary, a
// kept release): not a service, so no row of the table.
func beside(name, track string) *appsv1.Deployment {
	d := deployment(name, 1, 1, "500m", "1Gi")
	delete(d.Labels, model.LabelService)
	d.Labels[model.LabelTrack] = track
	return d
}

func myapp(status, release string) *records.App {
	a := recordstest.App("myapp")
	a.Status.Status, a.Status.Release, a.Status.Latest = status, release, release
	return a
}

func seeds() []any {
	return []any{
		myapp(model.AppRunning, "RBCDEFGHIJK"),
		deployment("worker", 1, 1, "250m", "512Mi"),
		deployment("web", 3, 2, "500m", "1Gi"),
		beside("web-canary", "canary"),
		beside("web-previous", "previous"),
	}
}

func TestShowRun(t *testing.T) {
	ctx := context.Background()
	e := cmdutiltest.New(t, seeds()...)
	if err := scaleRun(ctx, &ScaleOptions{Factory: e.Factory, App: "myapp"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "show_run")
	e.Out.Reset()
	if err := scaleRun(ctx, &ScaleOptions{Factory: e.Factory, App: "myapp", Service: "web", Output: "json"}); err != nil {
		t.Fatal(err)
	}
	e.Golden(t, "show_run_web_json")
	err := scaleRun(ctx, &ScaleOptions{Factory: e.Factory, App: "myapp", Service: "db"})
	if want := "no service db runs in myapp: `slipway scale -a myapp` lists them"; err == nil || err.Error() != want {
		t.Errorf("scale of a missing service: %v, want %q", err, want)
	}
}

func TestSetRun(t *testing.T) {
	e := cmdutiltest.New(t, seeds()...)
	started := e.ExpectWorkflow("promote/myapp", workflows.ScaleResult{Release: "RBCDEFGHIJK"}, nil)
	opts := &ScaleOptions{Factory: e.Factory, App: "myapp", Service: "web", Count: ptr.To[int32](5), CPU: ptr.To[int32](750)}
	if err := scaleRun(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if got := e.Out.String(); got != "Scaling web... OK\n" {
		t.Errorf("output %q", got)
	}
	want := workflows.ScaleInput{App: "myapp", Service: "web", Count: ptr.To[int32](5), CPU: ptr.To[int32](750)}
	in, ok := started.Input.(workflows.ScaleInput)
	if started.Workflow != "Scale" || !ok || in.App != want.App || in.Service != want.Service || *in.Count != 5 || *in.CPU != 750 || in.Memory != nil {
		t.Errorf("started %s(%+v), want Scale(%+v)", started.Workflow, started.Input, want)
	}
	if s := started.Options.StaticSummary; s != "scale web of myapp: count=5 cpu=750" {
		t.Errorf("summary %q", s)
	}
	e.Temporal.AssertExpectations(t)
}

// Each refusal says what to do and starts nothing (the mock fails on any
// start it does not expect) and writes nothing.
func TestSetRunRefuses(t *testing.T) {
	for _, tt := range []struct {
		name string
		app  *records.App
		want string
	}{
		{"updating", myapp(model.AppUpdating, "RBCDEFGHIJK"), "app myapp is currently updating: wait for it to end (`slipway promotions info -a myapp`), then scale"},
		{"no release", myapp(model.AppRunning, ""), "app myapp has no active release to scale: promote one first (`slipway releases promote -a myapp`)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := cmdutiltest.New(t, tt.app)
			err := scaleRun(context.Background(), &ScaleOptions{Factory: e.Factory, App: "myapp", Service: "web", Count: ptr.To[int32](2)})
			if err == nil || err.Error() != tt.want {
				t.Errorf("%v, want %q", err, tt.want)
			}
			if w := e.Store.Writes(); len(w) != 0 {
				t.Errorf("writes %q", w)
			}
		})
	}
	// A promotion started since the record was read: Temporal refuses the
	// second run of the deploy lock's ID.
	e := cmdutiltest.New(t, seeds()...)
	e.Temporal.On("ExecuteWorkflow", mock.Anything, mock.Anything, mock.Anything, mock.Anything).
		Return(nil, serviceerror.NewWorkflowExecutionAlreadyStarted("running", "", "")).Once()
	err := scaleRun(context.Background(), &ScaleOptions{Factory: e.Factory, App: "myapp", Service: "web", Count: ptr.To[int32](2)})
	if want := "app myapp is currently updating"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("scale while a promotion starts: %v, want %q", err, want)
	}
	if err := scaleRun(context.Background(), &ScaleOptions{Factory: e.Factory, App: "nope", Service: "web", Count: ptr.To[int32](2)}); err == nil || !strings.HasPrefix(err.Error(), "no such app: nope") {
		t.Errorf("scale of a missing app: %v", err)
	}
}
