package promotions

import (
	"context"
	"io"
	"time"

	"gocloud.dev/blob"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/slipway-dev/slipway/blobs"
	"github.com/slipway-dev/slipway/cmd/cmdutil"
	"github.com/slipway-dev/slipway/model"
	"github.com/slipway-dev/slipway/records"
)

// outputInterval is how often the release commands' output is read again
// while the promotion runs; tests shorten it.
var outputInterval = 250 * time.Millisecond

// releaseOutput shows the output of a promotion's release commands as the
// worker writes it to the blob store (a bucket has no watch: reading it
// again on an interval is the watch, as for a build's log).
type releaseOutput struct {
	bucket  *blob.Bucket
	key     string
	out     io.Writer
	printed int
}

// followReleaseOutput returns the output of the release commands of the
// promotion o starts, to show, and the promotion's ID; nil and "" (the
// workflow picks the ID) when the release has none, so a promotion without
// them reads nothing, or the blob store cannot be opened (the run's result
// still says how the commands ended). A rollback runs none.
func followReleaseOutput(ctx context.Context, f *cmdutil.Factory, s *records.Store, o PromoteOptions) (*releaseOutput, string) {
	if o.RollbackTo != "" || !hasReleaseCommands(ctx, s, o.App, o.Release) {
		return nil, ""
	}
	bucket, err := f.Blobs(ctx)
	if err != nil {
		return nil, ""
	}
	promotion := model.NewPromotionID()
	return &releaseOutput{bucket: bucket, key: blobs.ReleaseOutputKey(o.App, promotion), out: f.IO.Out}, promotion
}

// hasReleaseCommands says whether a service of the release has a release
// command; a release that cannot be read has none to show.
func hasReleaseCommands(ctx context.Context, s *records.Store, app, release string) bool {
	r, err := s.GetRelease(ctx, app, release)
	if err != nil {
		return false
	}
	names, err := s.ReleaseCommands(ctx, r)
	return err == nil && len(names) > 0
}

// show prints what is new in the output. One not written yet prints
// nothing: the next read catches up.
func (t *releaseOutput) show(ctx context.Context) {
	data, err := t.bucket.ReadAll(ctx, t.key)
	if err == nil && len(data) > t.printed {
		t.out.Write(data[t.printed:])
		t.printed = len(data)
	}
}

// follow shows the output every outputInterval until ctx ends.
func (t *releaseOutput) follow(ctx context.Context) {
	_ = wait.PollUntilContextCancel(ctx, outputInterval, false, func(ctx context.Context) (bool, error) {
		t.show(ctx)
		return false, nil
	})
}
