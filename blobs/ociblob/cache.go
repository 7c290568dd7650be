package ociblob

import (
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// The CLI tails a build log by reading it again every 250 ms, and the
// worker rewrites it at most as often. A blob is named by its digest, so
// its bytes never change: a read whose manifest names a layer read (or
// written) before serves it from memory, and a write of bytes this bucket
// already pushed tags them without uploading them again. Only small
// objects are kept.
const (
	cacheObjectMax = 1 << 20
	cacheTotalMax  = 16 << 20
	pushedMax      = 256
)

type layerCache struct {
	mu    sync.Mutex
	data  map[v1.Hash][]byte
	order []v1.Hash // oldest first
	size  int

	pushed      map[v1.Hash]bool
	pushedOrder []v1.Hash
}

func newLayerCache() *layerCache {
	return &layerCache{data: map[v1.Hash][]byte{}, pushed: map[v1.Hash]bool{}}
}

func (c *layerCache) get(h v1.Hash) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.data[h]
	return d, ok
}

// put keeps data (which it owns from now on) as the bytes of h.
func (c *layerCache) put(h v1.Hash, data []byte) {
	if len(data) > cacheObjectMax {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.data[h]; ok {
		return
	}
	for c.size+len(data) > cacheTotalMax && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.size -= len(c.data[old])
		delete(c.data, old)
	}
	c.data[h] = data
	c.order = append(c.order, h)
	c.size += len(data)
}

// wasPushed says whether this bucket uploaded h before.
func (c *layerCache) wasPushed(h v1.Hash) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pushed[h]
}

func (c *layerCache) markPushed(h v1.Hash, pushed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !pushed {
		delete(c.pushed, h)
		return
	}
	if c.pushed[h] {
		return
	}
	if len(c.pushedOrder) == pushedMax {
		delete(c.pushed, c.pushedOrder[0])
		c.pushedOrder = c.pushedOrder[1:]
	}
	c.pushed[h] = true
	c.pushedOrder = append(c.pushedOrder, h)
}
