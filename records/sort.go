package records

import (
	"cmp"
	"slices"
	"time"
)

func sortBy[T any](items []T, key func(T) string) {
	slices.SortFunc(items, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
}

// sortNewestFirst orders by creation time, then by ID so that records made
// in the same second still have one stable order.
func sortNewestFirst[T any](items []T, created func(T) time.Time, id func(T) string) {
	slices.SortFunc(items, func(a, b T) int {
		if c := created(b).Compare(created(a)); c != 0 {
			return c
		}
		return cmp.Compare(id(b), id(a))
	})
}
