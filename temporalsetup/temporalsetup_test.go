package temporalsetup

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang/mock/gomock"
	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/operatorservicemock/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/api/workflowservicemock/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	keyword = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	text    = enumspb.INDEXED_VALUE_TYPE_TEXT
)

// operator is a mock operator service whose ListSearchAttributes answers
// with custom, every time it is asked; any call not expected fails the test.
func operator(t *testing.T, custom map[string]enumspb.IndexedValueType) *operatorservicemock.MockOperatorServiceClient {
	ops := operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
	ops.EXPECT().ListSearchAttributes(gomock.Any(), &listRequest{"default"}).Return(&operatorservice.ListSearchAttributesResponse{
		CustomAttributes: custom,
		SystemAttributes: map[string]enumspb.IndexedValueType{"WorkflowId": keyword},
	}, nil).AnyTimes()
	return ops
}

// listRequest matches a ListSearchAttributesRequest for one namespace.
type listRequest struct{ ns string }

func (m *listRequest) Matches(x any) bool {
	r, ok := x.(*operatorservice.ListSearchAttributesRequest)
	return ok && r.GetNamespace() == m.ns
}
func (m *listRequest) String() string { return "ListSearchAttributes in " + m.ns }

// Only the missing attributes are added, as Keyword, in the namespace asked.
func TestEnsureSearchAttributesAddsMissing(t *testing.T) {
	ops := operator(t, map[string]enumspb.IndexedValueType{"SlipwayApp": keyword, "CustomerId": text})
	var got *operatorservice.AddSearchAttributesRequest
	ops.EXPECT().AddSearchAttributes(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r *operatorservice.AddSearchAttributesRequest, _ ...any) (*operatorservice.AddSearchAttributesResponse, error) {
			got = r
			return &operatorservice.AddSearchAttributesResponse{}, nil
		}).Times(1)
	added, err := EnsureSearchAttributes(context.Background(), ops, "default")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"SlipwayRelease", "SlipwayBuild"}; !slices.Equal(added, want) {
		t.Errorf("added %q, want %q", added, want)
	}
	want := map[string]enumspb.IndexedValueType{"SlipwayRelease": keyword, "SlipwayBuild": keyword}
	if got.GetNamespace() != "default" || len(got.GetSearchAttributes()) != len(want) {
		t.Fatalf("AddSearchAttributes(%v), want %v in default", got, want)
	}
	for k, v := range want {
		if got.GetSearchAttributes()[k] != v {
			t.Errorf("AddSearchAttributes: %s is %v, want %v", k, got.GetSearchAttributes()[k], v)
		}
	}
}

// With every attribute there, nothing is added (the mock fails on any
// AddSearchAttributes) and the worker's check passes.
func TestEnsureSearchAttributesIdempotent(t *testing.T) {
	ops := operator(t, Attributes())
	added, err := EnsureSearchAttributes(context.Background(), ops, "default")
	if err != nil || len(added) != 0 {
		t.Fatalf("all present: added %q, %v; want nothing", added, err)
	}
	if err := Check(context.Background(), ops, "default"); err != nil {
		t.Errorf("check with all present: %v", err)
	}
}

// An attribute of another type is an error naming it, its type and the
// fix; nothing is added.
func TestEnsureSearchAttributesConflict(t *testing.T) {
	ops := operator(t, map[string]enumspb.IndexedValueType{"SlipwayApp": keyword, "SlipwayBuild": text})
	_, err := EnsureSearchAttributes(context.Background(), ops, "default")
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Name != "SlipwayBuild" || conflict.Has != "Text" || conflict.Want != "Keyword" {
		t.Fatalf("a Text SlipwayBuild: %v, want a conflict naming it", err)
	}
	msg := err.Error()
	for _, s := range []string{"SlipwayBuild exists in Temporal namespace default as Text, slipway needs Keyword", "temporal operator search-attribute remove --namespace default --name SlipwayBuild"} {
		if !strings.Contains(msg, s) {
			t.Errorf("conflict %q does not say %q", msg, s)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("conflict %q is more than one line", msg)
	}
	if err := Check(context.Background(), ops, "default"); !errors.As(err, &conflict) {
		t.Errorf("check with a conflict: %v", err)
	}
}

// A refused call is one line naming it, and what to run instead.
func TestEnsureSearchAttributesRefused(t *testing.T) {
	for _, refusal := range []error{serviceerror.NewPermissionDenied("no", ""), status.Error(codes.Unauthenticated, "who")} {
		ops := operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
		ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(nil, refusal)
		_, err := EnsureSearchAttributes(context.Background(), ops, "prod")
		var r *RefusedError
		if !errors.As(err, &r) || r.Call != "ListSearchAttributes" || !errors.Is(err, refusal) {
			t.Fatalf("refused list: %v", err)
		}
		if !strings.Contains(err.Error(), "temporal operator search-attribute create --namespace prod --name SlipwayApp --type Keyword --name SlipwayRelease --type Keyword --name SlipwayBuild --type Keyword") {
			t.Errorf("refused list %q does not give the command to run", err)
		}

		ops = operator(t, map[string]enumspb.IndexedValueType{"SlipwayApp": keyword, "SlipwayRelease": keyword})
		ops.EXPECT().AddSearchAttributes(gomock.Any(), gomock.Any()).Return(nil, refusal)
		_, err = EnsureSearchAttributes(context.Background(), ops, "default")
		want := "Temporal refused AddSearchAttributes in namespace default (permission denied): ask a Temporal admin to run `temporal operator search-attribute create --namespace default --name SlipwayBuild --type Keyword`"
		if status.Code(refusal) == codes.Unauthenticated {
			want = strings.Replace(want, "permission denied", "not authenticated", 1)
		}
		if err == nil || err.Error() != want {
			t.Errorf("refused add:\n%v\nwant\n%s", err, want)
		}
	}
}

// Another error names the call and keeps Temporal's.
func TestEnsureSearchAttributesUnavailable(t *testing.T) {
	ops := operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
	down := serviceerror.NewUnavailable("connection refused")
	ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(nil, down)
	_, err := EnsureSearchAttributes(context.Background(), ops, "default")
	if !errors.Is(err, down) || !strings.HasPrefix(err.Error(), "ListSearchAttributes in Temporal namespace default: ") {
		t.Errorf("unavailable: %v", err)
	}
	var r *RefusedError
	if errors.As(err, &r) {
		t.Errorf("unavailable reported as refused: %v", err)
	}
}

// Added meanwhile by another install: fine when they are then there.
func TestEnsureSearchAttributesRace(t *testing.T) {
	ops := operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
	gomock.InOrder(
		ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(&operatorservice.ListSearchAttributesResponse{}, nil),
		ops.EXPECT().AddSearchAttributes(gomock.Any(), gomock.Any()).Return(nil, serviceerror.NewAlreadyExists("Search attribute SlipwayApp already exists.")),
		ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(&operatorservice.ListSearchAttributesResponse{CustomAttributes: Attributes()}, nil),
	)
	if added, err := EnsureSearchAttributes(context.Background(), ops, "default"); err != nil || len(added) != 0 {
		t.Errorf("raced add: %q, %v", added, err)
	}
}

// The worker's check names what is missing and says to run install.
func TestCheckMissing(t *testing.T) {
	ops := operator(t, map[string]enumspb.IndexedValueType{"SlipwayRelease": keyword})
	err := Check(context.Background(), ops, "default")
	if err == nil || !strings.HasPrefix(err.Error(), "Temporal namespace default lacks slipway's search attributes SlipwayApp, SlipwayBuild: run `slipway system install`") {
		t.Errorf("check with two missing: %v", err)
	}
}

// A namespace that does not exist is named, with what to do.
func TestCheckNoNamespace(t *testing.T) {
	ops := operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
	ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(nil, serviceerror.NewNamespaceNotFound("prod"))
	err := Check(context.Background(), ops, "prod")
	if err == nil || !strings.HasPrefix(err.Error(), "Temporal namespace prod does not exist: run `slipway system install`") {
		t.Errorf("check in a missing namespace: %v", err)
	}
}

// A namespace just registered may be unknown to Temporal for a moment:
// install waits for it (up to Settle) instead of failing.
func TestEnsureSearchAttributesNewNamespace(t *testing.T) {
	defer func(d time.Duration) { settleInterval = d }(settleInterval)
	settleInterval = time.Millisecond
	ops := operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
	gomock.InOrder(
		ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(nil, serviceerror.NewNamespaceNotFound("new")).Times(2),
		ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(&operatorservice.ListSearchAttributesResponse{}, nil),
		ops.EXPECT().AddSearchAttributes(gomock.Any(), gomock.Any()).Return(&operatorservice.AddSearchAttributesResponse{}, nil),
	)
	if added, err := EnsureSearchAttributes(context.Background(), ops, "new"); err != nil || len(added) != 3 {
		t.Errorf("new namespace: added %q, %v", added, err)
	}

	defer func(d time.Duration) { Settle = d }(Settle)
	Settle = 20 * time.Millisecond
	ops = operatorservicemock.NewMockOperatorServiceClient(gomock.NewController(t))
	ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).Return(nil, serviceerror.NewNamespaceNotFound("gone")).MinTimes(2)
	_, err := EnsureSearchAttributes(context.Background(), ops, "gone")
	var none *NoNamespaceError
	if !errors.As(err, &none) || none.Namespace != "gone" {
		t.Errorf("a namespace that never comes: %v", err)
	}
}

// workflows is a mock workflow service holding one namespace, "default",
// retained for a day.
func workflows(t *testing.T) *workflowservicemock.MockWorkflowServiceClient {
	ws := workflowservicemock.NewMockWorkflowServiceClient(gomock.NewController(t))
	ws.EXPECT().DescribeNamespace(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r *workflowservice.DescribeNamespaceRequest, _ ...any) (*workflowservice.DescribeNamespaceResponse, error) {
			if r.GetNamespace() != "default" {
				return nil, serviceerror.NewNamespaceNotFound(r.GetNamespace())
			}
			return &workflowservice.DescribeNamespaceResponse{Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(24 * time.Hour)}}, nil
		}).AnyTimes()
	return ws
}

// A missing namespace is registered with the retention asked; an existing
// one is left alone (the mock fails on any RegisterNamespace).
func TestEnsureNamespace(t *testing.T) {
	ws := workflows(t)
	got, err := EnsureNamespace(context.Background(), ws, "default", DefaultRetention)
	if err != nil || got.Created || got.String() != "exists, retention 1 day" {
		t.Fatalf("existing namespace: %+v (%s), %v", got, got, err)
	}

	var req *workflowservice.RegisterNamespaceRequest
	ws.EXPECT().RegisterNamespace(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r *workflowservice.RegisterNamespaceRequest, _ ...any) (*workflowservice.RegisterNamespaceResponse, error) {
			req = r
			return &workflowservice.RegisterNamespaceResponse{}, nil
		}).Times(1)
	got, err = EnsureNamespace(context.Background(), ws, "slipway", DefaultRetention)
	if err != nil || !got.Created || got.String() != "registered, retention 30 days" {
		t.Fatalf("missing namespace: %+v (%s), %v", got, got, err)
	}
	if req.GetNamespace() != "slipway" || req.GetWorkflowExecutionRetentionPeriod().AsDuration() != 30*24*time.Hour {
		t.Errorf("RegisterNamespace(%v), want slipway for 30 days", req)
	}
}

// A refused register says which call and what to run; a short retention
// is refused before any call (the mock expects none).
func TestEnsureNamespaceRefused(t *testing.T) {
	ws := workflows(t)
	ws.EXPECT().RegisterNamespace(gomock.Any(), gomock.Any()).Return(nil, serviceerror.NewPermissionDenied("not an admin", ""))
	_, err := EnsureNamespace(context.Background(), ws, "slipway", 48*time.Hour)
	want := "Temporal refused RegisterNamespace in namespace slipway (permission denied): ask a Temporal admin to run `temporal operator namespace create --namespace slipway --retention 48h0m0s`, then `slipway system install` again"
	if err == nil || err.Error() != want {
		t.Errorf("refused register:\n%v\nwant\n%s", err, want)
	}

	never := workflowservicemock.NewMockWorkflowServiceClient(gomock.NewController(t))
	if _, err := EnsureNamespace(context.Background(), never, "slipway", 30*time.Minute); err == nil || !strings.Contains(err.Error(), "--retention 30m0s is too short") {
		t.Errorf("30m retention: %v", err)
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[enumspb.IndexedValueType]string{keyword: "Keyword", text: "Text", enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST: "KeywordList", enumspb.INDEXED_VALUE_TYPE_DATETIME: "Datetime"} {
		if got := typeName(in); got != want {
			t.Errorf("typeName(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[time.Duration]string{24 * time.Hour: "1 day", 720 * time.Hour: "30 days", 36 * time.Hour: "36h0m0s"} {
		if got := Days(in); got != want {
			t.Errorf("Days(%v) = %q, want %q", in, got, want)
		}
	}
}
