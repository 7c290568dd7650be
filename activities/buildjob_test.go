package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"net/url"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"gocloud.dev/blob/fileblob"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/records"
	"github.com/slipway-dev/slipway/source"
)

// runJobBuild runs PrepareBuild with the kubernetes builder over the fake
// clientset, ends the Job it creates with the given condition, and returns
// the Job as created and the activity's error.
func runJobBuild(t *testing.T, end batchv1.JobCondition) (*batchv1.Job, error, *fakeStore) {
	job, err, fs, _ := runJobBuildWith(t, end, nil)
	return job, err, fs
}

// runJobBuildWith is runJobBuild with --build-arg values staged as the CLI
// stages them; it also returns the source tarball.
func runJobBuildWith(t *testing.T, end batchv1.JobCondition, buildArgs map[string]string) (*batchv1.Job, error, *fakeStore, []byte) {
	t.Helper()
	const bid = "BJOBJOBJOBJ"
	var staged []runtime.Object
	in := BuildInput{App: testApp, BuildID: bid, ManifestPath: "convox.yml", Builder: BuilderKubernetes}
	if buildArgs != nil {
		in.BuildArgsSecret = records.StagedBuildArgsName(bid)
		data := map[string][]byte{}
		for k, v := range buildArgs {
			data[k] = []byte(v)
		}
		staged = append(staged, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: in.BuildArgsSecret, Namespace: testNS}, Data: data})
	}
	fs := newFakeStore(t, []any{
		&records.App{TypeMeta: metav1.TypeMeta{APIVersion: "slipway.dev/v1", Kind: "App"}, ObjectMeta: metav1.ObjectMeta{Name: testApp, Namespace: testNS}},
		&records.Build{
			TypeMeta:   metav1.TypeMeta{APIVersion: "slipway.dev/v1", Kind: "Build"},
			ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(bid), Namespace: testNS},
			Spec:       records.BuildSpec{ID: bid, App: testApp, Source: blobs.SourceKey(testApp, bid), ManifestPath: "convox.yml"},
		},
	}, staged...)
	src := t.TempDir()
	for name, body := range map[string]string{
		"convox.yml": "services:\n  web:\n    build:\n      path: .\n      args: [VERSION=1]\n", "Dockerfile": "FROM scratch\nCOPY a /a\n", "a": "a",
	} {
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var tarball bytes.Buffer
	if _, err := source.Package(src, &tarball); err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse("https://blobs.example/")
	bucket, err := fileblob.OpenBucket(t.TempDir(), &fileblob.Options{URLSigner: fileblob.NewURLSignerHMAC(base, []byte("key"))})
	if err != nil {
		t.Fatal(err)
	}
	if err := bucket.WriteAll(context.Background(), blobs.SourceKey(testApp, bid), tarball.Bytes(), nil); err != nil {
		t.Fatal(err)
	}

	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	// Nothing listens on port 1: the Job "succeeds" without pushing.
	acts := &Activities{Store: fs.Store, Blobs: bucket, Registry: "127.0.0.1:1", JobImage: "kaniko:test", FetchImage: "busybox:test"}
	env.RegisterActivity(acts)
	done := make(chan error, 1)
	go func() {
		_, err := env.ExecuteActivity(acts.PrepareBuild, in)
		done <- err
	}()
	jobs := fs.core.BatchV1().Jobs(testNS)
	var created *batchv1.Job
	for deadline := time.Now().Add(30 * time.Second); ; {
		if l, _ := jobs.List(context.Background(), metav1.ListOptions{}); l != nil && len(l.Items) == 1 {
			if created == nil {
				created = l.Items[0].DeepCopy()
			}
			// Keep ending it until the activity notices: its watch may
			// start after the first update.
			j := l.Items[0]
			j.Status.Conditions = []batchv1.JobCondition{end}
			_, _ = jobs.UpdateStatus(context.Background(), &j, metav1.UpdateOptions{})
		}
		select {
		case err := <-done:
			if created == nil {
				t.Fatalf("the build ended (%v) without creating a Job", err)
			}
			return created, err, fs, tarball.Bytes()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the build did not end")
		}
	}
}

func TestKubernetesBuildJobWithoutImageFails(t *testing.T) {
	job, err, fs := runJobBuild(t, batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue})
	if err == nil || !strings.Contains(err.Error(), "services.web: build Job build-bjobjobjobj-web ended without pushing 127.0.0.1:1/myapp:web.BJOBJOBJOBJ") {
		t.Fatalf("error %v", err)
	}
	c := job.Spec.Template.Spec
	if c.Containers[0].Image != "kaniko:test" || c.InitContainers[0].Image != "busybox:test" {
		t.Fatalf("images %s, %s", c.Containers[0].Image, c.InitContainers[0].Image)
	}
	if u := c.InitContainers[0].Env[0].Value; !strings.HasPrefix(u, "https://blobs.example/") || !strings.Contains(u, "source.tgz") {
		t.Fatalf("the Job fetches its source from %q, want a signed URL of the blob", u)
	}
	if !strings.Contains(strings.Join(c.Containers[0].Args, " "), "--destination=127.0.0.1:1/myapp:web.BJOBJOBJOBJ") {
		t.Fatalf("builder args %v", c.Containers[0].Args)
	}
	deleted := false
	for _, w := range fs.coreWrites() {
		deleted = deleted || w == "delete jobs build-bjobjobjobj-web"
	}
	if !deleted {
		t.Fatalf("the Job was not deleted: %v", fs.coreWrites())
	}
}

func TestKubernetesBuildJobFailureGivesItsReason(t *testing.T) {
	_, err, _ := runJobBuild(t, batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"})
	if err == nil || !strings.Contains(err.Error(), "build Job build-bjobjobjobj-web failed: BackoffLimitExceeded: Job has reached the specified backoff limit") {
		t.Fatalf("error %v", err)
	}
}

// Build arg values reach the Job through a Secret the Job owns: none is in
// the Job's spec; the pod unpacks only the tarball the worker checked.
func TestKubernetesBuildJobKeepsArgValuesOutOfItsSpec(t *testing.T) {
	const canary = "canary-4f1d2e"
	job, _, fs, tarball := runJobBuildWith(t, batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}, map[string]string{"TOKEN": canary})
	raw, _ := json.Marshal(job)
	if strings.Contains(string(raw), canary) {
		t.Fatalf("the Job spec holds a build arg value: %s", raw)
	}
	build := job.Spec.Template.Spec.Containers[0]
	if args := strings.Join(build.Args, " "); !strings.Contains(args, "--build-arg=TOKEN=$(SLIPWAY_BUILD_ARG_TOKEN)") || !strings.Contains(args, "--build-arg=VERSION=$(SLIPWAY_BUILD_ARG_VERSION)") {
		t.Fatalf("builder args %s", args)
	}
	var refs []string
	for _, e := range build.Env {
		refs = append(refs, e.Name+"="+e.ValueFrom.SecretKeyRef.Name+"/"+e.ValueFrom.SecretKeyRef.Key)
	}
	if want := "SLIPWAY_BUILD_ARG_TOKEN=build-bjobjobjobj-web-args/TOKEN SLIPWAY_BUILD_ARG_VERSION=build-bjobjobjobj-web-args/VERSION"; strings.Join(refs, " ") != want {
		t.Fatalf("env %v, want %s", refs, want)
	}
	var secret *corev1.Secret
	for _, a := range fs.core.Actions() {
		if c, ok := a.(k8stesting.CreateAction); ok && a.GetVerb() == "create" {
			if s, ok := c.GetObject().(*corev1.Secret); ok && s.Name == "build-bjobjobjobj-web-args" {
				secret = s
			}
		}
	}
	if secret == nil || string(secret.Data["TOKEN"]) != canary || string(secret.Data["VERSION"]) != "1" {
		t.Fatalf("args Secret %+v", secret)
	}
	owned := false
	for _, a := range fs.core.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok && a.GetVerb() == "patch" && a.GetResource().Resource == "secrets" && p.GetName() == "build-bjobjobjobj-web-args" {
			var patched corev1.Secret
			if err := json.Unmarshal(p.GetPatch(), &patched); err != nil {
				t.Fatal(err)
			}
			refs := patched.OwnerReferences
			owned = owned || (len(refs) == 1 && refs[0].Kind == "Job" && refs[0].Name == job.Name && refs[0].UID == job.UID)
		}
	}
	if !owned {
		t.Fatal("the args Secret was not given the Job as owner")
	}
	writes := strings.Join(fs.coreWrites(), ",")
	if !strings.Contains(writes, "delete secrets build-bjobjobjobj-web-args") {
		t.Fatalf("the args Secret was not deleted with the Job: %s", writes)
	}
	sum := sha256.Sum256(tarball)
	if got := job.Spec.Template.Spec.InitContainers[0].Env[1].Value; got != hex.EncodeToString(sum[:]) {
		t.Fatalf("the Job pins source digest %q, want the checked tarball's %x", got, sum)
	}
}
