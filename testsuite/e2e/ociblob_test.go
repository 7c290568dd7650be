package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/blobs/ociblob"
	"github.com/slipway-dev/slipway/config"
	"github.com/slipway-dev/slipway/temporalsetup"
	"github.com/slipway-dev/slipway/testsuite"
)

// A rack needs no shared filesystem: with SLIPWAY_BLOB_URL naming a
// repository of the stack's registry, a CLI and a worker that share no
// folder (each its own SLIPWAY_HOME and kubeconfig copy, no stack file)
// build from source, the CLI shows the build's log live and `builds logs`
// shows it after, and the source and log are artifacts in the registry,
// never files. The worker is a second one, on its own Temporal namespace
// and rack, so the shared stack's worker (which keeps blobs in files)
// never takes one of its activities.
func TestBuildWithRegistryBlobStore(t *testing.T) {
	s := testsuite.Get(t)
	ctx := context.Background()
	const ns, rack, app = "ociblob", "ociblob", "hello"
	registerNamespace(t, s, ns)

	repo := s.Settings.Registry + "/ociblob-e2e/blobs"
	blobURL := "oci://" + repo
	codecKey := codecKeyEnv(t, s)
	env := func(home string) []string {
		kubeconfig := filepath.Join(home, "kubeconfig")
		b, err := os.ReadFile(s.Settings.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kubeconfig, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return append(cleanEnv(),
			"SLIPWAY_HOME="+home, "KUBECONFIG="+kubeconfig,
			"TEMPORAL_ADDRESS="+s.Settings.Temporal.HostPort, "TEMPORAL_NAMESPACE="+ns,
			"SLIPWAY_RACK="+rack, "SLIPWAY_REGISTRY="+s.Settings.Registry,
			"SLIPWAY_INSECURE_REGISTRIES="+s.Settings.Registry,
			"SLIPWAY_BLOB_URL="+blobURL, codecKey)
	}
	workerHome, cliHome := t.TempDir(), t.TempDir()
	startWorker(t, s, ns, workerHome, env(workerHome))
	cliEnv := env(cliHome)
	cli := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, testsuite.CLITimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, s.Slipway, args...)
		cmd.Dir, cmd.Env = cliHome, cliEnv
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("slipway %s: %v\nstdout:\n%s\nstderr:\n%s\nworker log:\n%s", strings.Join(args, " "), err, out.String(), errOut.String(), tail(filepath.Join(workerHome, "worker.log")))
		}
		return out.String()
	}

	if out := cli("apps", "create", app); out != "Creating hello... OK\n" {
		t.Fatalf("apps create printed %q", out)
	}
	dir := helloSource(t, s)
	stackBlobs := fileBlobDir(t, s)
	before := files(t, stackBlobs, workerHome, cliHome)

	out := cli("build", dir, "-a", app)
	for _, want := range []string{"Step 1/", "Pushed " + s.Settings.Registry + "/hello:web.B"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q (the log, read live from the registry):\n%s", want, out)
		}
	}
	build := buildOf(t, out)
	logs := cli("builds", "logs", build, "-a", app)
	if !strings.Contains(logs, "Step 1/") || !strings.Contains(logs, "Pushed ") {
		t.Errorf("builds logs %s:\n%s", build, logs)
	}

	// The log and the source are artifacts in the registry, tagged by key.
	tags, err := remote.List(mustRepo(t, repo))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{blobs.LogKey(app, build), blobs.SourceKey(app, build)} {
		if !slices.Contains(tags, ociblob.Tag(key)) {
			t.Errorf("the registry has no tag %s for %s: %v", ociblob.Tag(key), key, tags)
		}
	}
	bucket, err := ociblob.OpenBucket(repo, ociblob.Options{Insecure: []string{s.Settings.Registry}})
	if err != nil {
		t.Fatal(err)
	}
	defer bucket.Close()
	stored, err := bucket.ReadAll(ctx, blobs.LogKey(app, build))
	if err != nil || string(stored) != logs {
		t.Errorf("the registry's log (%v) is not what builds logs showed:\n%s", err, stored)
	}

	// No file was written for the build: not in the stack's blob folder,
	// not in the worker's or the CLI's home.
	after := files(t, stackBlobs, workerHome, cliHome)
	for f := range after {
		if !before[f] && (strings.Contains(f, build) || strings.HasPrefix(f, stackBlobs)) {
			t.Errorf("a file appeared for the build: %s", f)
		}
	}
}

// registerNamespace makes a Temporal namespace with slipway's search
// attributes, as `slipway system install` does.
func registerNamespace(t *testing.T, s *testsuite.Stack, ns string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := temporalsetup.EnsureNamespace(ctx, s.Temporal.WorkflowService(), ns, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := temporalsetup.EnsureSearchAttributes(ctx, s.Temporal.OperatorService(), ns); err != nil {
		t.Fatal(err)
	}
}

// startWorker runs `slipway worker` with env until the test ends, and
// waits until it polls the namespace's task queue.
func startWorker(t *testing.T, s *testsuite.Stack, ns, home string, env []string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(home, "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(s.Slipway, "worker")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = home, env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the test binary
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	eventually(t, "the worker polls namespace "+ns, time.Minute, 250*time.Millisecond, func(ctx context.Context) (bool, string) {
		resp, err := s.Temporal.WorkflowService().DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{Namespace: ns, TaskQueue: &taskqueuepb.TaskQueue{Name: config.TaskQueue}})
		if err != nil {
			return false, err.Error()
		}
		for _, p := range resp.GetPollers() {
			if strings.HasPrefix(p.GetIdentity(), fmt.Sprintf("%d@", cmd.Process.Pid)) {
				return true, ""
			}
		}
		return false, "no poller yet; worker log:\n" + tail(logf.Name())
	})
}

// cleanEnv is this process's environment without what points a slipway
// command at a stack.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "SLIPWAY_") || strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "KUBECONFIG=")
	})
}

// codecKeyEnv passes the stack's codec keys by value, not by their file.
func codecKeyEnv(t *testing.T, s *testsuite.Stack) string {
	t.Helper()
	f, err := os.Open(s.Settings.Stack.CodecKeysFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var keys []string
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			keys = append(keys, l)
		}
	}
	return "SLIPWAY_CODEC_KEY=" + strings.Join(keys, ",")
}

// fileBlobDir is the folder of the stack's own file:// blob store.
func fileBlobDir(t *testing.T, s *testsuite.Stack) string {
	t.Helper()
	u, err := url.Parse(s.Settings.BlobURL)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("the stack's blob store is %q, not a file:// bucket", s.Settings.BlobURL)
	}
	return u.Path
}

// files lists every file under the folders.
func files(t *testing.T, dirs ...string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() {
				out[p] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func mustRepo(t *testing.T, repo string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tail is the end of a log file, for a failure's message.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
