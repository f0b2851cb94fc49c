package transit

import (
	"bytes"
	"math"
	"math/big"
	"time"
)

// Equal reports whether a and b are the same Transit value: maps compare
// by entries and sets by elements whatever their order, vectors and lists
// element by element (a vector never equals a list), numbers by type and
// value (int64 1 is not float64 1.0, as in Clojure), big decimals by
// unscaled value and scale, instants to the millisecond. Unlike Clojure,
// NaN equals NaN, so that every value equals its own round trip.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case float64:
		y, ok := b.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(x) {
			return math.IsNaN(y)
		}
		return x == y && math.Signbit(x) == math.Signbit(y)
	case []any:
		y, ok := b.([]any)
		return ok && equalSeq(x, y)
	case List:
		y, ok := b.(List)
		return ok && equalSeq(x, y)
	case Set:
		y, ok := b.(Set)
		if !ok || len(x) != len(y) {
			return false
		}
		if equalSeq(x, y) { // same order: the common case, and linear
			return true
		}
		for _, e := range x {
			if !containsEqual(y, e) {
				return false
			}
		}
		return true
	case *Map:
		y, ok := b.(*Map)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for k, v := range x.All() {
			w, found := y.Get(k)
			if !found {
				// Composite keys compare by content: search linearly.
				found = false
				for k2, v2 := range y.All() {
					if Equal(k, k2) {
						w, found = v2, true
						break
					}
				}
			}
			if !found || !Equal(v, w) {
				return false
			}
		}
		return true
	case *big.Int:
		y, ok := b.(*big.Int)
		return ok && x.Cmp(y) == 0
	case *big.Rat:
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	case BigDecimal:
		y, ok := b.(BigDecimal)
		return ok && x.Scale == y.Scale && x.Unscaled.Cmp(y.Unscaled) == 0
	case time.Time:
		y, ok := b.(time.Time)
		return ok && x.UnixMilli() == y.UnixMilli()
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case TaggedValue:
		y, ok := b.(TaggedValue)
		return ok && x.Tag == y.Tag && Equal(x.Rep, y.Rep)
	}
	switch b.(type) {
	case []any, List, Set, *Map, *big.Int, *big.Rat, BigDecimal, time.Time, []byte, TaggedValue:
		return false
	}
	return a == b
}

func equalSeq(x, y []any) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if !Equal(x[i], y[i]) {
			return false
		}
	}
	return true
}

func containsEqual(s []any, e any) bool {
	for _, x := range s {
		if Equal(x, e) {
			return true
		}
	}
	return false
}
