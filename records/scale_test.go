package records

import (
	"context"
	"testing"

	"k8s.io/utils/ptr"
)

// A scale set by hand merges field by field and keeps services sorted, so
// setting the CPU later does not forget the count.
func TestSetScale(t *testing.T) {
	var a App
	a.SetScale(ServiceScale{Service: "web", Count: ptr.To[int32](3)})
	a.SetScale(ServiceScale{Service: "api", Memory: ptr.To[int32](256)})
	a.SetScale(ServiceScale{Service: "web", CPU: ptr.To[int32](500)})
	if len(a.Spec.Scale) != 2 || a.Spec.Scale[0].Service != "api" || a.Spec.Scale[1].Service != "web" {
		t.Fatalf("scale %+v, want api then web", a.Spec.Scale)
	}
	web := a.ScaleOf("web")
	if web == nil || ptr.Deref(web.Count, 0) != 3 || ptr.Deref(web.CPU, 0) != 500 || web.Memory != nil {
		t.Errorf("web %+v, want count 3, cpu 500, memory unset", web)
	}
	if a.ScaleOf("worker") != nil {
		t.Error("a service never scaled has a scale")
	}
}

// The scale is spec: MutateApp writes it through the main endpoint (the
// status is left alone), and it reads back as written.
func TestMutateAppScale(t *testing.T) {
	fs := newFakeStore(t, []any{testApp("myapp", "R1", 1)})
	ctx := context.Background()
	if _, err := fs.MutateApp(ctx, "myapp", func(a *App) {
		a.SetScale(ServiceScale{Service: "web", Count: ptr.To[int32](2)})
	}); err != nil {
		t.Fatal(err)
	}
	if w := fs.writes(); len(w) != 1 || w[0] != "update apps myapp" {
		t.Errorf("writes %q, want one update of the app's spec", w)
	}
	a := mustApp(t, fs.Store, "myapp")
	if sc := a.ScaleOf("web"); sc == nil || ptr.Deref(sc.Count, 0) != 2 || a.Status.Latest != "R1" {
		t.Errorf("app %+v: want web's count 2 and the status kept", a)
	}
}

func TestValidateScale(t *testing.T) {
	for _, sc := range []ServiceScale{
		{Service: "web", Count: ptr.To[int32](0)},
		{Service: "web", CPU: ptr.To[int32](1000), Memory: ptr.To[int32](64)},
	} {
		if err := sc.Validate(); err != nil {
			t.Errorf("%+v: %v", sc, err)
		}
	}
	for _, tt := range []struct {
		sc   ServiceScale
		want string
	}{
		{ServiceScale{Service: "web"}, "nothing to scale: pass --count, --cpu or --memory"},
		{ServiceScale{Service: "web", Count: ptr.To[int32](-1)}, "--count -1: must be a whole number of processes between 0 and 1000"},
		{ServiceScale{Service: "web", CPU: ptr.To[int32](0)}, "--cpu 0: must be a number of millicores between 1 and 1000000 (1000 is one core)"},
		{ServiceScale{Service: "web", Memory: ptr.To[int32](0)}, "--memory 0: must be a number of megabytes between 1 and 4194304"},
	} {
		if err := tt.sc.Validate(); err == nil || err.Error() != tt.want {
			t.Errorf("%+v: %v, want %q", tt.sc, err, tt.want)
		}
	}
}
