package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/sdk/client"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/activities"
	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/testsuite"
	"github.com/slipway-dev/slipway/workflows"
)

// The attack: a source folder with host -> /, a Dockerfile that copies
// passwd and hostname, and a manifest whose build path host/etc (with
// manifest ../../Dockerfile) reads as inside the source.
const (
	attackDockerfile = "FROM scratch\nCOPY passwd hostname /loot/\n"
	attackManifest   = "services:\n  web:\n    build:\n      path: host/etc\n      manifest: ../../Dockerfile\n"
)

// nothingPushed fails the test if the registry holds any tag of the app,
// or cannot say: a registry that does not answer proves nothing.
func nothingPushed(t *testing.T, s *testsuite.Stack, app string) {
	t.Helper()
	if tags := tagsOf(t, s, app); len(tags) > 0 {
		t.Fatalf("the registry holds %s/%s:%v after a refused build", s.Settings.Registry, app, tags)
	}
}

// tagsOf lists the tags of the app's repository in the stack's registry:
// none if the registry does not know the repository.
func tagsOf(t *testing.T, s *testsuite.Stack, app string) []string {
	t.Helper()
	repo, err := name.NewRepository(s.Settings.Registry + "/" + app)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := remote.List(repo)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil // nothing was ever pushed to it
	}
	if err != nil {
		t.Fatalf("list the tags of %s: %v", repo, err)
	}
	return tags
}

// With the real CLI, the build stops while packaging, with one line that
// names the link, and nothing is uploaded, recorded or pushed.
func TestBuildSymlinkAttackRefused(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "attack")
	dir := t.TempDir()
	if err := os.Symlink("/", filepath.Join(dir, "host")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "Dockerfile", attackDockerfile)
	writeFile(t, dir, "convox.yml", attackManifest)

	r := s.CLI(t, "build", dir, "-a", "attack")
	want := regexp.MustCompile(`^ERROR: package .*: symlink host points to /, outside the source: make it a relative link inside the source, or list it in \.dockerignore\n$`)
	if r.Code != 1 || !want.MatchString(r.Stderr) {
		t.Fatalf("exit %d, stderr %q, want one line matching %s\n%s", r.Code, r.Stderr, want, r.Stdout)
	}
	if out := s.MustCLI(t, "builds", "-a", "attack"); regexp.MustCompile(`(?m)^B[A-Z]{10}`).MatchString(out) {
		t.Fatalf("a refused source left builds:\n%s", out)
	}
	if rs := releases(t, s, "attack"); len(rs) != 0 {
		t.Fatalf("releases %v after a refused source", rs)
	}
	nothingPushed(t, s, "attack")
}

// A modified CLI can skip the packager's check and upload the tarball as
// it likes: the worker refuses it, whichever builder the build names, with
// the entry's name on the failed Build, and pushes nothing.
func TestBuildSymlinkAttackRefusedByTheWorker(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "attack2")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bucket, err := blobs.Open(ctx, s.Settings.BlobURL, s.Settings.InsecureRegistries)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := bucket.Close(); err != nil {
			t.Errorf("close the blob store: %v", err)
		}
	})
	for _, builder := range []string{activities.BuilderLocal, activities.BuilderKubernetes} {
		bid := model.NewBuildID()
		if err := bucket.WriteAll(ctx, blobs.SourceKey("attack2", bid), attackTarball(t), nil); err != nil {
			t.Fatal(err)
		}
		run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.BuildWorkflowID("attack2", bid), TaskQueue: config.TaskQueue},
			workflows.Build, activities.BuildInput{App: "attack2", BuildID: bid, ManifestPath: "convox.yml", Builder: builder})
		if err != nil {
			t.Fatal(err)
		}
		werr := run.Get(ctx, nil)
		const why = `source entry "host": a symlink to "/", an absolute path: links must be relative and stay inside the source`
		if werr == nil || !strings.Contains(werr.Error(), why) {
			t.Fatalf("%s builder: the build ended with %v, want %q", builder, werr, why)
		}
		rec, err := s.Store.GetBuild(ctx, "attack2", bid)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status.Status != model.BuildFailed || rec.Status.Reason != why || len(rec.Status.Images) != 0 {
			t.Fatalf("%s builder: build record %+v", builder, rec.Status)
		}
		out := s.MustCLI(t, "builds", "logs", bid, "-a", "attack2")
		if !strings.Contains(out, "ERROR: "+why+"\n") {
			t.Fatalf("%s builder: build log lacks the reason:\n%s", builder, out)
		}
	}
	jobs, err := s.Kube.BatchV1().Jobs(s.Store.Namespace("attack2")).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Fatalf("a refused source got %d build Jobs", len(jobs.Items))
	}
	nothingPushed(t, s, "attack2")
}

// attackTarball is the attack's source as a modified CLI would upload it.
func attackTarball(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []*tar.Header{
		{Name: "Dockerfile", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(attackDockerfile))},
		{Name: "convox.yml", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(attackManifest))},
		{Name: "host", Typeflag: tar.TypeSymlink, Mode: 0o777, Linkname: "/"},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		body := map[string]string{"Dockerfile": attackDockerfile, "convox.yml": attackManifest}[h.Name]
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// --build-arg values never travel through Temporal (nowhere in the Build
// workflow's history, payloads decoded) nor sit in the kubernetes
// builder's Job spec; they still reach the build, and no Secret holding
// them outlives it.
func TestBuildArgsStayOutOfHistoryAndJobSpec(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "argsafe")
	ns := s.Store.Namespace("argsafe")
	canary := "canary-" + strings.ToLower(model.NewBuildID())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The local builder: the value reaches the image.
	out := s.MustCLI(t, "build", helloSource(t, s), "-a", "argsafe", "--build-arg", "VERSION="+canary)
	local := buildOf(t, out)
	rec, err := s.Store.GetBuild(ctx, "argsafe", local)
	if err != nil {
		t.Fatal(err)
	}
	web := 0
	for _, im := range rec.Status.Images {
		if im.Service != "web" {
			continue
		}
		web++
		img, err := remote.Image(parseRef(t, im.Ref))
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if v := cf.Config.Labels["org.opencontainers.image.version"]; v != canary {
			t.Fatalf("the build arg did not reach the build: version label %q", v)
		}
	}
	if web != 1 {
		t.Fatalf("build %s recorded %d web images, want 1: %+v", local, web, rec.Status.Images)
	}
	historyLacks(ctx, t, s, workflows.BuildWorkflowID("argsafe", local), canary)

	// The kubernetes builder: its Job names the arg and takes the value
	// from a Secret.
	seen := firstJob(t, s, ns)
	r := s.CLI(t, "build", helloSource(t, s), "-a", "argsafe", "--builder", "kubernetes", "--build-arg", "VERSION="+canary)
	if r.Code != 1 || !strings.Contains(r.Stderr, "ended without pushing") {
		t.Fatalf("exit %d, stderr %q (on kwok the Job pushes nothing)", r.Code, r.Stderr)
	}
	job := await(t, seen).Obj
	spec, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(spec), canary) {
		t.Fatalf("the Job spec holds the build arg's value:\n%s", spec)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if !strings.Contains(strings.Join(c.Args, " "), "--build-arg=VERSION=$(SLIPWAY_BUILD_ARG_VERSION)") {
		t.Fatalf("the Job does not pass VERSION by reference: %v", c.Args)
	}
	found := false
	for _, e := range c.Env {
		found = found || (e.Name == "SLIPWAY_BUILD_ARG_VERSION" && e.Value == "" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Key == "VERSION")
	}
	if !found {
		t.Fatalf("VERSION is not taken from a Secret: %+v", c.Env)
	}
	kube := regexp.MustCompile(`(?m)^B[A-Z]{10}`).FindAllString(s.MustCLI(t, "builds", "-a", "argsafe"), -1)
	if len(kube) != 2 {
		t.Fatalf("builds %v, want the two of this test", kube)
	}
	for _, b := range kube {
		if b != local {
			historyLacks(ctx, t, s, workflows.BuildWorkflowID("argsafe", b), canary)
		}
	}

	// No Secret holding the value is left: the staged one and the Job's.
	secrets, err := s.Kube.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets.Items {
		for k, v := range sec.Data {
			if strings.Contains(string(v), canary) {
				t.Errorf("Secret %s still holds the build arg (%s)", sec.Name, k)
			}
		}
	}
}

// historyLacks fails the test if value appears anywhere in the workflow's
// history: in any field of any event, or in any payload once decoded with
// the stack's codec (when payloads are encrypted, the raw bytes prove
// nothing). It also checks that the decoded input is readable, so a
// history the test could not read does not pass for a clean one.
func historyLacks(ctx context.Context, t *testing.T, s *testsuite.Stack, workflowID, value string) {
	t.Helper()
	it := s.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	sawInput := false
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		// The text form of the event shows every field, bytes included.
		if strings.Contains(ev.String(), value) {
			t.Fatalf("event %d (%s) of %s holds the build arg's value", ev.GetEventId(), ev.GetEventType(), workflowID)
		}
		var payloads []*commonpb.Payload
		err = proxy.VisitPayloads(ctx, ev, proxy.VisitPayloadsOptions{Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			payloads = append(payloads, ps...)
			return ps, nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range payloads {
			data := p.GetData()
			if s.Settings.Codec != nil {
				dec, err := s.Settings.Codec.Decode([]*commonpb.Payload{p})
				if err != nil {
					t.Fatalf("decode a payload of %s: %v", workflowID, err)
				}
				data = dec[0].GetData()
			}
			if bytes.Contains(data, []byte(value)) {
				t.Fatalf("a payload of event %d (%s) of %s holds the build arg's value: %s", ev.GetEventId(), ev.GetEventType(), workflowID, data)
			}
			if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED && bytes.Contains(data, []byte(`"BuildArgsSecret":"build-args-`)) {
				sawInput = true
			}
		}
	}
	if !sawInput {
		t.Fatalf("could not read the staged Secret's name in the input of %s: the check above proves nothing", workflowID)
	}
}

// Registries: plain HTTP only for the ones named insecure (the stack names
// its own as 127.0.0.1:PORT; the same registry as localhost:PORT is not
// named), and, with SLIPWAY_REGISTRY_ALLOW set on the worker, only the
// listed hosts (and the worker's own) may be named.
func TestBuildRegistryPolicy(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "regpol")
	build := func(image string, args ...string) testsuite.Result {
		dir := t.TempDir()
		writeFile(t, dir, "convox.yml", "services:\n  web:\n    image: "+image+"\n")
		return s.CLI(t, append([]string{"build", dir, "-a", "regpol"}, args...)...)
	}
	_, port, ok := strings.Cut(s.Settings.Registry, ":")
	if !ok {
		t.Fatalf("the stack's registry %q has no port", s.Settings.Registry)
	}
	r := build("localhost:" + port + "/slipway/sample:1")
	want := "the registry localhost:" + port + " was reached over plain HTTP, which this worker allows only for registries named insecure: serve it over HTTPS, or add it to SLIPWAY_INSECURE_REGISTRIES on the worker"
	if r.Code != 1 || !strings.Contains(r.Stderr, want) || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q, want one line with %q", r.Code, r.Stderr, want)
	}

	// A worker with an allowlist; the workers the stack starts inherit
	// this process's environment.
	if err := os.Setenv("SLIPWAY_REGISTRY_ALLOW", "ghcr.io"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Unsetenv("SLIPWAY_REGISTRY_ALLOW"); err != nil {
			t.Fatal(err)
		}
		s.KillWorker(t)
		s.StartWorker(t)
	})
	s.KillWorker(t)
	s.StartWorker(t)
	r = build("evil.example:5000/loot:1")
	want = "services.web.image names the registry evil.example:5000, which this worker does not allow: use one of ghcr.io, " + s.Settings.Registry + ", or add it to SLIPWAY_REGISTRY_ALLOW on the worker"
	if r.Code != 1 || !strings.Contains(r.Stderr, want) || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("exit %d, stderr %q, want one line with %q", r.Code, r.Stderr, want)
	}
	r = build(sample(s), "--registry", "127.0.0.2:5000")
	if r.Code != 1 || !strings.Contains(r.Stderr, "--registry 127.0.0.2:5000 names the registry 127.0.0.2:5000, which this worker does not allow") {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	// The worker's own registry is always allowed.
	if out := s.MustCLI(t, "build", func() string {
		dir := t.TempDir()
		writeFile(t, dir, "convox.yml", "services:\n  web:\n    image: "+sample(s)+"\n")
		return dir
	}(), "-a", "regpol"); !strings.Contains(out, "Release: R") {
		t.Fatalf("a build from the worker's own registry:\n%s", out)
	}
	nothingPushedBut(t, s, "regpol", 1)
}

// nothingPushedBut fails the test unless the app's repository holds n tags.
func nothingPushedBut(t *testing.T, s *testsuite.Stack, app string, n int) {
	t.Helper()
	if tags := tagsOf(t, s, app); len(tags) != n {
		t.Fatalf("%s/%s holds tags %v, want %d", s.Settings.Registry, app, tags, n)
	}
}
