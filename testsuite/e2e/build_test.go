package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/slipway-dev/slipway/testsuite"
)

// helloSource copies examples/hello and puts its compiled binary into
// bin/, as `make demo` does. The binary is compiled once per test run: a
// link takes seconds, and the same source gives the same bytes.
func helloSource(t *testing.T, s *testsuite.Stack) string {
	t.Helper()
	dir := copyExample(t, s, "hello", "Dockerfile", "convox.yml", ".dockerignore", "main.go")
	bin, err := helloBinary(s.Root)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "hello"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

var hello struct {
	once sync.Once
	bin  []byte
	err  error
}

// helloBinary compiles examples/hello, the first time it is asked.
func helloBinary(root string) ([]byte, error) {
	hello.once.Do(func() {
		dir, err := os.MkdirTemp("", "slipway-hello-")
		if err != nil {
			hello.err = err
			return
		}
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "hello"), filepath.Join(root, "examples", "hello", "main.go"))
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			hello.err = fmt.Errorf("go build hello: %v\n%s", err, out)
			return
		}
		hello.bin, hello.err = os.ReadFile(filepath.Join(dir, "hello"))
	})
	return hello.bin, hello.err
}

// A Dockerfile service builds with the local builder: the image is in the
// registry with the recorded digest, its config is the Dockerfile's, a
// second build of the same source gives the same digest, and a promotion
// runs it pinned by digest.
func TestBuildFromDockerfile(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "hello")
	dir := helloSource(t, s)
	out := s.MustCLI(t, "build", dir, "-a", "hello", "-d", "hello")
	for _, want := range []string{"Step 1/", "COPY --chmod=0755 bin/hello /app/hello", "Pushed " + s.Settings.Registry + "/hello:web.B"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	build := buildOf(t, out)
	rec, err := s.Store.GetBuild(context.Background(), "hello", build)
	if err != nil {
		t.Fatal(err)
	}
	var digest, ref string
	for _, im := range rec.Status.Images {
		if im.Service == "web" {
			digest, ref = im.Digest, im.Ref
		}
	}
	if ref != s.Settings.Registry+"/hello:web."+build || !strings.HasPrefix(digest, "sha256:") {
		t.Fatalf("build recorded web image %q @ %q", ref, digest)
	}
	// The image: service is resolved to its digest and copied in as the
	// build's tag.
	sampleRef := parseRef(t, sample(s))
	sampleDesc, err := remote.Head(sampleRef)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range rec.Status.Images {
		if im.Service == "worker" && (im.Ref != s.Settings.Registry+"/hello:worker."+build || im.Digest != sampleDesc.Digest.String()) {
			t.Fatalf("worker image recorded as %s@%s, want %s/hello:worker.%s@%s", im.Ref, im.Digest, s.Settings.Registry, build, sampleDesc.Digest)
		}
	}
	if d, err := remote.Head(parseRef(t, s.Settings.Registry+"/hello:worker."+build)); err != nil || d.Digest != sampleDesc.Digest {
		t.Fatalf("the worker image is not in the registry under the build's tag: %v", err)
	}
	img, err := remote.Image(parseRef(t, ref))
	if err != nil {
		t.Fatal(err)
	}
	if d, err := img.Digest(); err != nil || d.String() != digest {
		t.Fatalf("registry has %s (%v), the build recorded %s", d, err, digest)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if strings.Join(c.Entrypoint, " ") != "/app/hello" || c.WorkingDir != "/app" || c.User != "1000:1000" ||
		c.Labels["org.opencontainers.image.version"] != "1.0" || !strings.Contains(strings.Join(c.Env, " "), "GREETING=hello") {
		t.Fatalf("image config does not match the Dockerfile: %+v", c)
	}
	if _, ok := c.ExposedPorts["5000/tcp"]; !ok {
		t.Fatalf("port 5000 not exposed: %v", c.ExposedPorts)
	}

	again := s.MustCLI(t, "build", dir, "-a", "hello", "-d", "again")
	second := buildOf(t, again)
	if want := "Pushed " + s.Settings.Registry + "/hello:web." + second + "@" + digest + "\n"; !strings.Contains(again, want) {
		t.Fatalf("the second build of the same source did not log %q:\n%s", want, again)
	}
	rec2, err := s.Store.GetBuild(context.Background(), "hello", second)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range rec2.Status.Images {
		if im.Service == "web" && im.Digest != digest {
			t.Fatalf("second build's digest %s, first %s", im.Digest, digest)
		}
	}

	s.MustCLI(t, "releases", "promote", "-a", "hello")
	d, err := s.Kube.AppsV1().Deployments(s.Store.Namespace("hello")).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Spec.Template.Spec.Containers[0].Image, s.Settings.Registry+"/hello@"+digest; got != want {
		t.Fatalf("web runs %s, want the digest-pinned %s", got, want)
	}
}

// A Dockerfile the local builder cannot build fails the build with the
// line, records the Build as failed, and makes no release.
func TestBuildFailsOnRun(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "runny")
	dir := helloSource(t, s)
	writeFile(t, dir, "Dockerfile", "FROM scratch\nCOPY bin/hello /hello\nRUN make\n")
	r := s.CLI(t, "build", dir, "-a", "runny")
	if r.Code != 1 || !strings.Contains(r.Stderr, "ERROR: build failed: services.web: Dockerfile:3: RUN needs to run a container") {
		t.Fatalf("exit %d, stderr %q", r.Code, r.Stderr)
	}
	out := s.MustCLI(t, "builds", "-a", "runny")
	if !regexp.MustCompile(`(?m)^B[A-Z]{10}  failed  `).MatchString(out) {
		t.Fatalf("builds:\n%s", out)
	}
	if rs := releases(t, s, "runny"); len(rs) != 0 {
		t.Fatalf("a failed build made releases %v", rs)
	}
}

// deploy builds from source and promotes: the new release is active and
// its Deployment runs the built image by digest.
func TestDeploy(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "deployer")
	mirror := s.Settings.Registry + "/mirror"
	out := s.MustCLI(t, "deploy", helloSource(t, s), "-a", "deployer", "--build-arg", "VERSION=2.0", "--registry", mirror)
	rel := releaseOf(t, out)
	if !strings.Contains(out, "Promoting "+rel+"...\n") || !strings.HasSuffix(out, "OK\n") {
		t.Fatalf("deploy printed:\n%s", out)
	}
	if got := activeRelease(t, s, "deployer"); got != rel {
		t.Fatalf("active %s, want %s", got, rel)
	}
	d, err := s.Kube.AppsV1().Deployments(s.Store.Namespace("deployer")).Get(context.Background(), "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	image := d.Spec.Template.Spec.Containers[0].Image
	r, err := name.ParseReference(image)
	if err != nil || !strings.HasPrefix(image, mirror+"/deployer@sha256:") {
		t.Fatalf("web runs %q, want a digest-pinned image in %s (--registry)", image, mirror)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if v := cf.Config.Labels["org.opencontainers.image.version"]; v != "2.0" {
		t.Fatalf("--build-arg VERSION=2.0 gave version label %q", v)
	}
}

// Bad build input: one clear error, no release.
func TestBuildBadInput(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "badbuild")
	for _, c := range []struct {
		name, err string
		change    func(t *testing.T, dir string) // on the subtest's own t
		args      []string
	}{
		{"missing Dockerfile", "no Dockerfile", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "Dockerfile")); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"syntax error", "Dockerfile: dockerfile parse error on line 2: COPY requires at least two arguments", func(t *testing.T, dir string) { writeFile(t, dir, "Dockerfile", "FROM scratch\nCOPY\n") }, nil},
		{"FROM not found", "FROM " + s.Settings.Registry + "/nothing:here: cannot fetch the image", func(t *testing.T, dir string) {
			writeFile(t, dir, "Dockerfile", "FROM "+s.Settings.Registry+"/nothing:here\n")
		}, nil},
		{"dockerignore excludes the Dockerfile", "no Dockerfile", func(t *testing.T, dir string) { writeFile(t, dir, ".dockerignore", "Dockerfile\n") }, nil},
		{"build arg without value", `--build-arg "VERSION" has no value`, func(*testing.T, string) {}, []string{"--build-arg", "VERSION"}},
		{"source over the limit", "over the 0 MB limit", func(*testing.T, string) {}, []string{"--max-context", "1000"}},
		{"build path leaves the source", "services.web.build", func(t *testing.T, dir string) {
			writeFile(t, dir, "convox.yml", "services:\n  web:\n    build: ../elsewhere\n")
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := helloSource(t, s)
			c.change(t, dir)
			r := s.CLIIn(t, "", "", append([]string{"build", dir, "-a", "badbuild"}, c.args...)...)
			if r.Code != 1 || !strings.Contains(r.Stderr, c.err) || strings.Count(r.Stderr, "\n") != 1 {
				t.Fatalf("exit %d, stderr %q, want one line containing %q", r.Code, r.Stderr, c.err)
			}
			if rs := releases(t, s, "badbuild"); len(rs) != 0 {
				t.Fatalf("releases %v after a failed build", rs)
			}
		})
	}
}

// The kubernetes builder runs a Job per service: on kwok the Job's pod
// "succeeds" without building anything, so the build must fail saying the
// Job pushed no image, and the Job must be gone afterwards.
func TestKubernetesBuilderJob(t *testing.T) {
	s := testsuite.Get(t)
	newApp(t, s, "jobby")
	ns := s.Store.Namespace("jobby")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	seen := firstJob(t, s, ns)
	r := s.CLI(t, "build", helloSource(t, s), "-a", "jobby", "--builder", "kubernetes")
	if r.Code != 1 || !regexp.MustCompile(`^ERROR: build failed: services\.web: build Job build-b[a-z]{10}-web ended without pushing `+regexp.QuoteMeta(s.Settings.Registry)+`/jobby:web\.B[A-Z]{10}: check the builder image and its registry credentials\n$`).MatchString(r.Stderr) {
		t.Fatalf("exit %d, stderr %q\n%s", r.Code, r.Stderr, r.Stdout)
	}
	j := await(t, seen).Obj
	args := strings.Join(j.Spec.Template.Spec.Containers[0].Args, " ")
	if !strings.Contains(args, "--destination="+s.Settings.Registry+"/jobby:web.B") || j.Spec.Template.Spec.InitContainers[0].Env[0].Value == "" {
		t.Fatalf("the Job does not build the service: %s", args)
	}
	jobs, err := s.Kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Fatalf("%d build Jobs left behind", len(jobs.Items))
	}
	out := s.MustCLI(t, "builds", "-a", "jobby")
	if !regexp.MustCompile(`(?m)^B[A-Z]{10}  failed  `).MatchString(out) {
		t.Fatalf("builds:\n%s", out)
	}
	if rs := releases(t, s, "jobby"); len(rs) != 0 {
		t.Fatalf("releases %v after a failed build", rs)
	}
}

// firstJob sees the first Job created in ns (within 2 minutes of now):
// a build Job lives only as long as its build, so the test watches for it.
func firstJob(t *testing.T, s *testsuite.Stack, ns string) <-chan sighting[*batchv1.Job] {
	t.Helper()
	jobs := s.Kube.BatchV1().Jobs(ns)
	return watchFor(t, "a Job in "+ns, 2*time.Minute, listWatch("", jobs.List, jobs.Watch), &batchv1.Job{},
		func(ev watch.EventType, j *batchv1.Job) (bool, string) {
			return ev == watch.Added, fmt.Sprintf("Job %s %s", j.Name, ev)
		})
}

var buildLine = regexp.MustCompile(`(?m)^Build:   (B[A-Z]{10})$`)

// buildOf returns the ID a command printed on its `Build:` line.
func buildOf(t *testing.T, out string) string {
	t.Helper()
	m := buildLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Build: line in\n%s", out)
	}
	return m[1]
}

// parseRef parses an image reference the test made.
func parseRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
