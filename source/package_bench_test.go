package source

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob/fileblob"
)

// BenchmarkPackageAndUpload packages and uploads a 200 MB source tree (to a
// file bucket, as the local stack's blob store is) and, in the same run on
// the same tree, times `tar czf`. Each iteration runs both, so the machine's
// noise falls on both alike; it reports the medians and their ratio.
func BenchmarkPackageAndUpload(b *testing.B) {
	dir := b.TempDir()
	makeTree(b, dir, 200<<20)
	bucket, err := fileblob.OpenBucket(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	out := filepath.Join(b.TempDir(), "out.tgz")
	ctx := context.Background()
	var ours, tars []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		f, err := os.CreateTemp("", "bench-*.tgz")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Package(dir, f); err != nil {
			b.Fatal(err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		w, err := bucket.NewWriter(ctx, "source.tgz", nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(w, f); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		os.Remove(f.Name())
		ours = append(ours, time.Since(start))

		start = time.Now()
		if out, err := exec.Command("tar", "czf", out, "-C", dir, ".").CombinedOutput(); err != nil {
			b.Fatalf("tar czf: %v\n%s", err, out)
		}
		tars = append(tars, time.Since(start))
	}
	b.StopTimer()
	m1, m2 := median(ours), median(tars)
	b.ReportMetric(float64(m1.Milliseconds()), "slipway-ms")
	b.ReportMetric(float64(m2.Milliseconds()), "tar-czf-ms")
	b.ReportMetric(float64(m1)/float64(m2), "slipway/tar")
	b.Logf("median of %d: package+upload %s, tar czf %s, ratio %.2f", b.N, m1, m2, float64(m1)/float64(m2))
}

// makeTree writes size bytes of source-like files: half text that
// compresses, half random bytes that do not (assets, binaries).
func makeTree(b *testing.B, dir string, size int) {
	const fileSize = 256 << 10
	text := []byte(strings.Repeat("func handler(w http.ResponseWriter, r *http.Request) { log.Println(r.URL) }\n", fileSize/78+1))[:fileSize]
	noise := make([]byte, fileSize)
	for i := 0; i*fileSize < size; i++ {
		body := text
		if i%2 == 1 {
			rand.Read(noise)
			body = noise
		}
		p := filepath.Join(dir, fmt.Sprintf("pkg%02d", i%40), fmt.Sprintf("file%04d.dat", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
