package activities

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"gocloud.dev/blob/memblob"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/records"
)

// attackSource is the tarball of the symlink attack, made by hand as a
// modified CLI would upload it: host -> /, and a manifest whose build path
// host/etc with manifest ../../Dockerfile looks inside the source.
func attackSource(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	files := []struct{ name, body, link string }{
		{name: "convox.yml", body: "services:\n  web:\n    build:\n      path: host/etc\n      manifest: ../../Dockerfile\n"},
		{name: "Dockerfile", body: "FROM scratch\nCOPY passwd hostname /loot/\n"},
		{name: "host", link: "/"},
	}
	for _, f := range files {
		h := &tar.Header{Name: f.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(f.body))}
		if f.link != "" {
			h = &tar.Header{Name: f.name, Mode: 0o777, Typeflag: tar.TypeSymlink, Linkname: f.link}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func prepare(t *testing.T, tarball []byte, in BuildInput) (error, string) {
	t.Helper()
	fs := newFakeStore(t, []any{
		&records.App{TypeMeta: metav1.TypeMeta{APIVersion: "slipway.dev/v1", Kind: "App"}, ObjectMeta: metav1.ObjectMeta{Name: testApp, Namespace: testNS}},
		&records.Build{
			TypeMeta:   metav1.TypeMeta{APIVersion: "slipway.dev/v1", Kind: "Build"},
			ObjectMeta: metav1.ObjectMeta{Name: strings.ToLower(in.BuildID), Namespace: testNS},
			Spec:       records.BuildSpec{ID: in.BuildID, App: testApp, Source: blobs.SourceKey(testApp, in.BuildID), ManifestPath: "convox.yml"},
		},
	})
	bucket := memblob.OpenBucket(nil)
	if err := bucket.WriteAll(context.Background(), blobs.SourceKey(testApp, in.BuildID), tarball, nil); err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	acts := &Activities{Store: fs.Store, Blobs: bucket, Registry: "127.0.0.1:1"}
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.PrepareBuild, in)
	logs, _ := bucket.ReadAll(context.Background(), blobs.LogKey(testApp, in.BuildID))
	return err, string(logs)
}

// The worker refuses the attack's source whichever builder the build
// names, before it reads anything from it, with the entry's name.
func TestPrepareBuildRefusesALinkOutOfTheSource(t *testing.T) {
	for _, b := range []string{BuilderLocal, BuilderKubernetes} {
		err, logs := prepare(t, attackSource(t), BuildInput{App: testApp, BuildID: "BATTACKATTA", ManifestPath: "convox.yml", Builder: b})
		want := `source entry "host": a symlink to "/", an absolute path: links must be relative and stay inside the source`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s builder: error %v, want %q", b, err, want)
		}
		if !strings.Contains(logs, "ERROR: "+want) {
			t.Fatalf("%s builder: build log %q", b, logs)
		}
	}
}

// Staged build args that are gone fail the build with what to do.
func TestPrepareBuildLostBuildArgs(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := "services:\n  web:\n    image: 127.0.0.1:1/x:1\n"
	tw.WriteHeader(&tar.Header{Name: "convox.yml", Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(body))})
	tw.Write([]byte(body))
	tw.Close()
	zw.Close()
	err, _ := prepare(t, buf.Bytes(), BuildInput{App: testApp, BuildID: "BLOSTLOSTLO", ManifestPath: "convox.yml", BuildArgsSecret: records.StagedBuildArgsName("BLOSTLOSTLO")})
	if err == nil || !strings.Contains(err.Error(), "the build args of build BLOSTLOSTLO were lost: run the build again") {
		t.Fatalf("error %v", err)
	}
}
