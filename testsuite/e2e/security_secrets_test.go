package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/codec"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// rawClient reads Temporal as someone without the codec key would: the
// stack's server and namespace, Temporal's default data converter.
func rawClient(t *testing.T, s *testsuite.Stack) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort: s.Settings.Temporal.HostPort, Namespace: s.Settings.Temporal.Namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func history(t *testing.T, c client.Client, id, run string) []*historypb.HistoryEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var events []*historypb.HistoryEvent
	it := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", id, err)
		}
		events = append(events, e)
	}
	return events
}

// payloadsOf returns every payload of the events (inputs, results,
// failures' encoded attributes, memos, headers) but search attributes,
// which Temporal must read to index them.
func payloadsOf(t *testing.T, events []*historypb.HistoryEvent) []*commonpb.Payload {
	t.Helper()
	var out []*commonpb.Payload
	for _, e := range events {
		err := proxy.VisitPayloads(context.Background(), e, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				out = append(out, ps...)
				return ps, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// codecHTTP decodes payloads through the stack's codec server exactly as
// the Temporal UI does.
func codecHTTP(t *testing.T, s *testsuite.Stack, ps []*commonpb.Payload) []*commonpb.Payload {
	t.Helper()
	type wirePayload struct {
		Metadata map[string][]byte `json:"metadata"`
		Data     []byte            `json:"data"`
	}
	var req struct {
		Payloads []wirePayload `json:"payloads"`
	}
	for _, p := range ps {
		req.Payloads = append(req.Payloads, wirePayload{p.Metadata, p.Data})
	}
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Settings.Stack.CodecEndpoint+"/decode", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("X-Namespace", s.Settings.Temporal.Namespace)
	r.Header.Set("Origin", "http://127.0.0.1:8233")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("codec server: %v", err)
	}
	// Closing a body that was read to its end reports nothing of use.
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("codec server: read the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("codec server: %s %s", resp.Status, b)
	}
	var out struct {
		Payloads []wirePayload `json:"payloads"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("codec server answered %s: %v", b, err)
	}
	var decoded []*commonpb.Payload
	for _, p := range out.Payloads {
		decoded = append(decoded, &commonpb.Payload{Metadata: p.Metadata, Data: p.Data})
	}
	return decoded
}

// A real promotion's history holds ciphertext only: read without the key,
// no payload shows the release or the manifest; the codec server gives
// them back.
func TestHistoryPayloadsAreEncrypted(t *testing.T) {
	s := testsuite.Get(t)
	if s.Settings.Codec == nil || s.Settings.Stack.CodecEndpoint == "" {
		t.Fatalf("the stack configured no codec: %+v", s.Settings.Stack)
	}
	const app = "ciphery"
	newApp(t, s, app)
	rel := releaseOf(t, s.MustCLI(t, "build", example(t, s), "-a", app))
	s.MustCLI(t, "releases", "promote", rel, "-a", app)

	events := history(t, rawClient(t, s), workflows.PromoteWorkflowID(app), "")
	ps := payloadsOf(t, events)
	if len(ps) == 0 {
		t.Fatal("the promotion's history has no payloads")
	}
	for i, p := range ps {
		if enc := string(p.Metadata[converter.MetadataEncoding]); enc != codec.Encoding {
			t.Fatalf("payload %d has encoding %q, want %q: %v", i, enc, codec.Encoding, p)
		}
		if id := string(p.Metadata[codec.MetadataKeyID]); id != s.Settings.Codec.KeyID() {
			t.Fatalf("payload %d names key %q, want %q", i, id, s.Settings.Codec.KeyID())
		}
	}
	for _, e := range events {
		if a := e.GetActivityTaskFailedEventAttributes(); a != nil && a.GetFailure().GetMessage() != "Encoded failure" {
			t.Fatalf("a failure message is in the clear: %q", a.GetFailure().GetMessage())
		}
	}
	raw := rawText(t, events)
	if strings.Contains(raw, `"`+rel+`"`) || strings.Contains(raw, "bin/worker") {
		t.Fatalf("the history read without the key shows the release or the manifest:\n%s", raw)
	}

	decoded := codecHTTP(t, s, ps)
	if len(decoded) != len(ps) {
		t.Fatalf("codec server gave %d payloads for %d", len(decoded), len(ps))
	}
	var all strings.Builder
	for _, p := range decoded {
		if enc := string(p.Metadata[converter.MetadataEncoding]); enc == codec.Encoding {
			t.Fatalf("codec server left a payload encrypted")
		}
		all.Write(p.Data)
	}
	if !strings.Contains(all.String(), rel) {
		t.Fatalf("payloads decoded by the codec server do not name release %s:\n%s", rel, all.String())
	}
}

var promotionID = regexp.MustCompile(`(?m)^P[A-Z]{10}\b`)

// rawText is the events as stored, search attributes left out (Temporal
// indexes them, so they are plaintext by design: app, release, build IDs).
func rawText(t *testing.T, events []*historypb.HistoryEvent) string {
	t.Helper()
	var b strings.Builder
	for _, e := range events {
		if a := e.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			saved := a.SearchAttributes
			a.SearchAttributes = nil
			b.WriteString(e.String())
			a.SearchAttributes = saved
		} else if a := e.GetUpsertWorkflowSearchAttributesEventAttributes(); a != nil {
			continue
		} else {
			b.WriteString(e.String())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// A secret value set with `env set` is found in the app's env Secrets and
// nowhere else: not in what the CLI prints, the records, Events, Temporal's
// history (with or without the key), the stack's logs, the blob store or
// Jobs; not even when the value breaks the manifest. A --build-arg value is
// found nowhere once its build is done.
func TestSecretsStayInTheirSecret(t *testing.T) {
	s := testsuite.Get(t)
	const app = "secrety"
	rnd := make([]byte, 8)
	if _, err := rand.Read(rnd); err != nil {
		t.Fatal(err)
	}
	canary := "canary-" + hex.EncodeToString(rnd)
	argCanary := "argcanary-" + hex.EncodeToString(rnd) // a --build-arg's value
	var printed strings.Builder
	cli := func(args ...string) testsuite.Result {
		t.Helper()
		r := s.CLI(t, append(args, "-a", app)...)
		printed.WriteString(r.Stdout + r.Stderr)
		return r
	}
	must := func(args ...string) string {
		t.Helper()
		r := cli(args...)
		if r.Code != 0 {
			t.Fatalf("slipway %s: exit %d\n%s%s", strings.Join(args, " "), r.Code, r.Stdout, r.Stderr)
		}
		return r.Stdout
	}

	newApp(t, s, app)
	dir := t.TempDir()
	writeFile(t, dir, "convox.yml", fmt.Sprintf("services:\n  web:\n    image: %s\n    command: server --token '${TOKEN}'\n    port: 5000\n  bundle:\n    build: .\n", sample(s)))
	writeFile(t, dir, "Dockerfile", "FROM scratch\nARG TOKEN_ARG\nCOPY convox.yml /convox.yml\n")
	must("env", "set", "TOKEN="+canary)
	must("releases", "promote", releaseOf(t, must("build", dir, "--build-arg", "TOKEN_ARG="+argCanary)))

	// The value closes the command's quote: the promotion fails, and says
	// why by the key's name.
	r := cli("env", "set", "TOKEN="+canary+"'x", "--promote")
	if r.Code == 0 {
		t.Fatalf("a command with an unbalanced quote promoted:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "services.web.command") || !strings.Contains(r.Stderr, "${TOKEN}") {
		t.Fatalf("the error does not name the field and the key:\n%s", r.Stderr)
	}
	for _, args := range [][]string{{"apps", "info"}, {"releases"}, {"builds"}} {
		must(args...)
	}
	ids := promotionID.FindAllString(must("promotions"), -1)
	if len(ids) != 2 {
		t.Fatalf("promotions lists %v, want the good and the failed one", ids)
	}
	for _, id := range ids {
		must("promotions", "info", id)
	}

	found := func(where, text string) {
		t.Helper()
		for _, c := range []string{canary, argCanary} {
			if i := strings.Index(text, c); i >= 0 {
				t.Errorf("the secret is in %s: ...%s...", where, text[max(0, i-200):min(len(text), i+len(c)+50)])
			}
		}
	}
	found("what the CLI printed", printed.String())

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := s.Store.Namespace(app)

	// Records.
	for _, gvr := range []schema.GroupVersionResource{records.AppResource, records.BuildResource, records.ReleaseResource, records.PromotionResource} {
		l, err := s.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		found(gvr.Resource, string(b))
	}

	// Kubernetes: Events, workloads and config everywhere; Secrets only in
	// the app's namespace, where the env is.
	core := s.Kube.CoreV1()
	events, err := core.Events("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The manifest puts ${TOKEN} in web's command, so the value is in the
	// args of web's pods, as written, and in no other field of them.
	inArgs := 0
	commandless := func(specs ...*corev1.PodSpec) {
		for _, spec := range specs {
			for i := range spec.Containers {
				if strings.Contains(strings.Join(spec.Containers[i].Args, " "), canary) {
					inArgs++
				}
				spec.Containers[i].Args = nil
			}
		}
	}
	deps, err := s.Kube.AppsV1().Deployments("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range deps.Items {
		commandless(&deps.Items[i].Spec.Template.Spec)
	}
	sets, err := s.Kube.AppsV1().ReplicaSets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sets.Items {
		commandless(&sets.Items[i].Spec.Template.Spec)
	}
	pods, err := core.Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		commandless(&pods.Items[i].Spec)
	}
	if inArgs == 0 {
		t.Fatal("the value is in no pod's args, where the manifest's command puts it: the search cannot find it")
	}
	for _, list := range []func() (any, error){
		func() (any, error) { return events, nil },
		func() (any, error) { return s.Kube.BatchV1().Jobs("").List(ctx, metav1.ListOptions{}) },
		func() (any, error) { return deps, nil },
		func() (any, error) { return sets, nil },
		func() (any, error) { return pods, nil },
		func() (any, error) { return core.ConfigMaps("").List(ctx, metav1.ListOptions{}) },
	} {
		l, err := list()
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		found(fmt.Sprintf("%T", l), string(b))
	}
	secrets, err := core.Secrets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	inSecret := 0
	for _, sec := range secrets.Items {
		for _, v := range sec.Data {
			if bytes.Contains(v, []byte(argCanary)) {
				t.Errorf("the build arg is still in Secret %s/%s after its build", sec.Namespace, sec.Name)
			}
			if bytes.Contains(v, []byte(canary)) {
				if sec.Namespace != ns {
					t.Errorf("the secret is in Secret %s/%s, outside the app's namespace", sec.Namespace, sec.Name)
				}
				inSecret++
			}
		}
	}
	if inSecret == 0 {
		t.Fatal("the secret is in no Secret: the search cannot find it")
	}

	// Temporal: every run of every workflow of the app, read without the
	// key and through the codec.
	raw := rawClient(t, s)
	query := fmt.Sprintf("%s=%q", config.SearchApp, app)
	list := func() (*workflowservice.ListWorkflowExecutionsResponse, int) {
		resp, err := raw.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: 1000})
		if err != nil {
			t.Fatal(err)
		}
		promotions := 0
		for _, e := range resp.Executions {
			if e.Execution.WorkflowId == workflows.PromoteWorkflowID(app) {
				promotions++
			}
		}
		return resp, promotions
	}
	// Visibility lags a little behind the runs.
	var resp *workflowservice.ListWorkflowExecutionsResponse
	eventually(t, "both promotions of "+app+" in visibility", 30*time.Second, 500*time.Millisecond, func(context.Context) (bool, string) {
		var promotions int
		resp, promotions = list()
		return promotions >= 2, fmt.Sprintf("visibility lists %d promotions of %s, want 2", promotions, app)
	})
	checked := 0
	for _, e := range resp.Executions {
		id, run := e.Execution.WorkflowId, e.Execution.RunId
		evs := history(t, raw, id, run)
		found("the history of "+id+" read without the key", rawText(t, evs))
		decoded, err := s.Settings.Codec.Decode(payloadsOf(t, evs))
		if err != nil {
			t.Fatalf("decode the history of %s: %v", id, err)
		}
		var text strings.Builder
		for _, p := range decoded {
			text.Write(p.Data)
			text.WriteByte('\n')
		}
		found("the history of "+id+" decoded", text.String())
		checked++
	}
	t.Logf("searched %d workflow runs", checked)

	// The stack's logs: the worker's, the codec server's, Temporal's.
	for _, log := range []string{s.Settings.Stack.WorkerLog, filepath.Join(s.Settings.Stack.Dir, "codec.log"), filepath.Join(s.Settings.Stack.Dir, "temporal.log")} {
		b, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		found(log, string(b))
	}

	// The blob store: sources and build logs.
	bucket, err := blobs.Open(ctx, s.Settings.BlobURL, s.Settings.InsecureRegistries)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bucket.Close(); err != nil {
			t.Errorf("close the blob store: %v", err)
		}
	})
	it := bucket.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := bucket.ReadAll(ctx, obj.Key)
		if err != nil {
			t.Fatal(err)
		}
		found("blob "+obj.Key, string(b))
	}
}
