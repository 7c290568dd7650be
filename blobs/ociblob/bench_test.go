package ociblob

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"gocloud.dev/blob"
)

// counting counts the requests a bucket sends.
type counting struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *counting) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// benchBucket opens a bucket on the local stack's registry program and
// counts its requests.
func benchBucket(b *testing.B) (*blob.Bucket, *counting) {
	return countedBucket(b, distribution(b))
}

func countedBucket(b *testing.B, host string) (*blob.Bucket, *counting) {
	drv, err := openBucket(host+"/slipway/blobs", Options{Insecure: []string{host}, Keychain: authn.NewMultiKeychain()})
	if err != nil {
		b.Fatal(err)
	}
	cnt := &counting{base: drv.c.base}
	drv.c.base = cnt
	bkt := blob.NewBucket(drv)
	b.Cleanup(func() { bkt.Close() })
	return bkt, cnt
}

// A build log as the worker flushes it (every 250 ms at most): the whole
// log rewritten.
func BenchmarkFlush(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10} {
		b.Run(sizeName(size), func(b *testing.B) {
			bkt, cnt := benchBucket(b)
			ctx := context.Background()
			log := bytes.Repeat([]byte("step 3/7 : COPY . /app\n"), size/23)
			bkt.WriteAll(ctx, "apps/web/builds/B1/log", log, nil) // the ping and the config
			cnt.n.Store(0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				log[i%len(log)]++ // a flush writes a log that changed
				if err := bkt.WriteAll(ctx, "apps/web/builds/B1/log", log, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cnt.n.Load())/float64(b.N), "requests/op")
		})
	}
}

// The CLI's tail (every 250 ms): the whole log read again, changed or not
// by the worker (another bucket, as in another process).
func BenchmarkRead(b *testing.B) {
	for _, size := range []int{4 << 10, 256 << 10} {
		for _, changed := range []bool{false, true} {
			name := sizeName(size) + "/unchanged"
			if changed {
				name = sizeName(size) + "/changed"
			}
			b.Run(name, func(b *testing.B) {
				host := distribution(b)
				bkt, cnt := countedBucket(b, host)
				worker, _ := countedBucket(b, host)
				ctx := context.Background()
				log := bytes.Repeat([]byte("step 3/7 : COPY . /app\n"), size/23)
				if err := worker.WriteAll(ctx, "apps/web/builds/B1/log", log, nil); err != nil {
					b.Fatal(err)
				}
				bkt.ReadAll(ctx, "apps/web/builds/B1/log")
				cnt.n.Store(0)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if changed {
						b.StopTimer()
						log[i%len(log)]++
						worker.WriteAll(ctx, "apps/web/builds/B1/log", log, nil)
						b.StartTimer()
					}
					data, err := bkt.ReadAll(ctx, "apps/web/builds/B1/log")
					if err != nil || len(data) != len(log) {
						b.Fatalf("read %d bytes, %v", len(data), err)
					}
				}
				b.ReportMetric(float64(cnt.n.Load())/float64(b.N), "requests/op")
			})
		}
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return string(rune('0'+n>>20)) + "MiB"
	}
	return itoa(n>>10) + "KiB"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
