package system

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/slipway-dev/slipway/cmd/cmdutil/cmdutiltest"
	"github.com/slipway-dev/slipway/records"
)

// temporal is a Temporal server's namespaces and search attributes,
// behind the operator and workflow service mocks the Factory's client
// hands out. A refusal set on it answers that call instead.
type temporal struct {
	retention map[string]time.Duration
	attrs     map[string]map[string]enumspb.IndexedValueType
	// calls are the changes made: "RegisterNamespace default 720h0m0s",
	// "AddSearchAttributes default SlipwayApp,SlipwayBuild".
	calls                   []string
	listErr, addErr, regErr error
}

// fakeTemporal is an empty Temporal server (no namespace) wired into e.
func fakeTemporal(t *testing.T, e *cmdutiltest.Env) *temporal {
	f := &temporal{retention: map[string]time.Duration{}, attrs: map[string]map[string]enumspb.IndexedValueType{}}
	ctrl := gomock.NewController(t)
	ws := workflowservicemock.NewMockWorkflowServiceClient(ctrl)
	ws.EXPECT().DescribeNamespace(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r *workflowservice.DescribeNamespaceRequest, _ ...any) (*workflowservice.DescribeNamespaceResponse, error) {
			d, ok := f.retention[r.GetNamespace()]
			if !ok {
				return nil, serviceerror.NewNamespaceNotFound(r.GetNamespace())
			}
			return &workflowservice.DescribeNamespaceResponse{Config: &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(d)}}, nil
		}).AnyTimes()
	ws.EXPECT().RegisterNamespace(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r *workflowservice.RegisterNamespaceRequest, _ ...any) (*workflowservice.RegisterNamespaceResponse, error) {
			if f.regErr != nil {
				return nil, f.regErr
			}
			d := r.GetWorkflowExecutionRetentionPeriod().AsDuration()
			f.retention[r.GetNamespace()] = d
			f.calls = append(f.calls, fmt.Sprintf("RegisterNamespace %s %s", r.GetNamespace(), d))
			return &workflowservice.RegisterNamespaceResponse{}, nil
		}).AnyTimes()
	ops := operatorservicemock.NewMockOperatorServiceClient(ctrl)
	ops.EXPECT().ListSearchAttributes(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r *operatorservice.ListSearchAttributesRequest, _ ...any) (*operatorservice.ListSearchAttributesResponse, error) {
			if f.listErr != nil {
				return nil, f.listErr
			}
			if _, ok := f.retention[r.GetNamespace()]; !ok {
				return nil, serviceerror.NewNamespaceNotFound(r.GetNamespace())
			}
			return &operatorservice.ListSearchAttributesResponse{CustomAttributes: maps.Clone(f.attrs[r.GetNamespace()])}, nil
		}).AnyTimes()
	ops.EXPECT().AddSearchAttributes(gomock.Any(), gomock.Any()).DoAndReturn(
		func(_ context.Context, r *operatorservice.AddSearchAttributesRequest, _ ...any) (*operatorservice.AddSearchAttributesResponse, error) {
			if f.addErr != nil {
				return nil, f.addErr
			}
			ns := r.GetNamespace()
			if f.attrs[ns] == nil {
				f.attrs[ns] = map[string]enumspb.IndexedValueType{}
			}
			maps.Copy(f.attrs[ns], r.GetSearchAttributes())
			f.calls = append(f.calls, fmt.Sprintf("AddSearchAttributes %s %s", ns, strings.Join(slices.Sorted(maps.Keys(r.GetSearchAttributes())), ",")))
			return &operatorservice.AddSearchAttributesResponse{}, nil
		}).AnyTimes()
	e.Temporal.On("WorkflowService").Return(ws).Maybe()
	e.Temporal.On("OperatorService").Return(ops).Maybe()
	return f
}

// On an empty Temporal, install registers the namespace for --retention
// and every search attribute as Keyword; run again, it changes nothing
// and says so.
func TestInstallRunTemporal(t *testing.T) {
	e, tmp := envTemporal(t, cluster(t))
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: 7 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	want := []string{"RegisterNamespace default 168h0m0s", "AddSearchAttributes default SlipwayApp,SlipwayBuild,SlipwayRelease"}
	if !slices.Equal(tmp.calls, want) {
		t.Errorf("install made %q, want %q", tmp.calls, want)
	}
	for name, typ := range tmp.attrs["default"] {
		if typ != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("%s registered as %v, want Keyword", name, typ)
		}
	}
	if got := cmdutiltest.Lines(e.Out)[2:]; !slices.Equal(got, []string{
		"Registering Temporal namespace default... OK, registered, retention 7 days",
		"Registering search attributes SlipwayApp, SlipwayRelease, SlipwayBuild... OK, added SlipwayApp, SlipwayRelease, SlipwayBuild",
	}) {
		t.Errorf("first install said %q", got)
	}

	e.Out.Reset()
	tmp.calls = nil
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if len(tmp.calls) != 0 {
		t.Errorf("a second install changed Temporal: %q", tmp.calls)
	}
	if got := cmdutiltest.Lines(e.Out)[2:]; !slices.Equal(got, []string{
		"Registering Temporal namespace default... OK, exists, retention 7 days",
		"Registering search attributes SlipwayApp, SlipwayRelease, SlipwayBuild... OK, all present",
	}) {
		t.Errorf("second install said %q", got)
	}

	// One attribute dropped meanwhile: only it comes back.
	delete(tmp.attrs["default"], "SlipwayRelease")
	e.Out.Reset()
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"AddSearchAttributes default SlipwayRelease"}; !slices.Equal(tmp.calls, want) {
		t.Errorf("install made %q, want %q", tmp.calls, want)
	}
	if got := cmdutiltest.Lines(e.Out)[3]; got != "Registering search attributes SlipwayApp, SlipwayRelease, SlipwayBuild... OK, added SlipwayRelease" {
		t.Errorf("install said %q", got)
	}
}

// The namespace comes from the settings (--namespace, TEMPORAL_NAMESPACE).
func TestInstallRunTemporalNamespace(t *testing.T) {
	e, tmp := envTemporal(t, cluster(t))
	e.Settings.Temporal.Namespace = "prod"
	tmp.retention["prod"] = 90 * 24 * time.Hour
	if err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"AddSearchAttributes prod SlipwayApp,SlipwayBuild,SlipwayRelease"}; !slices.Equal(tmp.calls, want) {
		t.Errorf("install made %q, want %q", tmp.calls, want)
	}
	if got := cmdutiltest.Lines(e.Out)[2]; got != "Registering Temporal namespace prod... OK, exists, retention 90 days" {
		t.Errorf("install said %q", got)
	}
}

// A caller without Temporal's admin rights gets one line naming the
// refused call and the command a Temporal admin can run instead.
func TestInstallRunTemporalRefused(t *testing.T) {
	e, tmp := envTemporal(t, cluster(t))
	tmp.retention["default"] = 24 * time.Hour
	tmp.addErr = serviceerror.NewPermissionDenied("Request unauthorized.", "")
	err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: 24 * time.Hour})
	want := "Temporal refused AddSearchAttributes in namespace default (permission denied): ask a Temporal admin to run " +
		"`temporal operator search-attribute create --namespace default --name SlipwayApp --type Keyword --name SlipwayRelease --type Keyword --name SlipwayBuild --type Keyword`"
	if err == nil || err.Error() != want {
		t.Fatalf("refused install:\n%v\nwant\n%s", err, want)
	}
	if got := cmdutiltest.Lines(e.Out); got[len(got)-1] != "Registering search attributes SlipwayApp, SlipwayRelease, SlipwayBuild... " {
		t.Errorf("last line %q, want the step the ERROR completes", got[len(got)-1])
	}

	e, tmp = envTemporal(t, cluster(t))
	tmp.regErr = serviceerror.NewPermissionDenied("Request unauthorized.", "")
	err = installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: 24 * time.Hour})
	if err == nil || !strings.HasPrefix(err.Error(), "Temporal refused RegisterNamespace in namespace default (permission denied): ask a Temporal admin to run `temporal operator namespace create --namespace default --retention 24h0m0s`") {
		t.Errorf("refused register: %v", err)
	}
	if len(tmp.calls) != 0 {
		t.Errorf("a refused install changed Temporal: %q", tmp.calls)
	}
}

// An attribute of slipway's name with another type is an error naming
// it and the fix; nothing is added.
func TestInstallRunTemporalConflict(t *testing.T) {
	e, tmp := envTemporal(t, cluster(t))
	tmp.retention["default"] = 24 * time.Hour
	tmp.attrs["default"] = map[string]enumspb.IndexedValueType{"SlipwayRelease": enumspb.INDEXED_VALUE_TYPE_TEXT}
	err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: 24 * time.Hour})
	if err == nil || !strings.HasPrefix(err.Error(), "search attribute SlipwayRelease exists in Temporal namespace default as Text, slipway needs Keyword: remove it") {
		t.Errorf("conflict: %v", err)
	}
	if len(tmp.calls) != 0 {
		t.Errorf("install with a conflict changed Temporal: %q", tmp.calls)
	}
}

// A retention Temporal would refuse is refused before anything changes:
// no cluster, no Temporal.
func TestInstallRunBadRetention(t *testing.T) {
	e := cmdutiltest.New(t)
	e.Factory.Store = func() (*records.Store, error) {
		t.Error("install reached for the cluster")
		return nil, errors.New("no")
	}
	e.Factory.Temporal = func() (client.Client, error) { t.Error("install reached for Temporal"); return nil, errors.New("no") }
	err := installRun(context.Background(), &InstallOptions{Factory: e.Factory, Retention: 10 * time.Minute})
	if err == nil || !strings.HasPrefix(err.Error(), "--retention 10m0s is too short") {
		t.Errorf("10m retention: %v", err)
	}
	if e.Out.Len() != 0 {
		t.Errorf("install printed %q", e.Out)
	}
}
