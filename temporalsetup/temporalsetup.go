// Package temporalsetup registers what slipway's workflows need in a
// Temporal namespace: the namespace itself and slipway's search attributes.
// The local stack's dev server gets them from its command line; a
// production server has no such flag, so `slipway system install` asks
// the operator API, and the worker checks at start-up that they are there.
package temporalsetup

import (
	"slices"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/slipway-dev/slipway/config"
)

// Attributes are the search attributes every slipway run sets, by name,
// with the type Temporal must index them as.
func Attributes() map[string]enumspb.IndexedValueType {
	out := make(map[string]enumspb.IndexedValueType, len(config.SearchAttributes))
	for _, name := range config.SearchAttributes {
		out[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	return out
}

// Names are the attributes' names in the order slipway lists them.
func Names() []string { return slices.Clone(config.SearchAttributes) }

// typeName is how Temporal's CLI spells a type: "Keyword", "Text".
func typeName(t enumspb.IndexedValueType) string { return t.String() }
