package transit

import (
	"encoding/hex"
	"fmt"
	"iter"
	"math"
	"math/big"
	"strings"
	"time"
)

// This file is the value model: the Go types that Clojure values read from
// Transit become, and that the writer recognises. The mapping:
//
//	nil            nil                     string   string
//	boolean        bool                    integer  int64 (any Go int/uint kind on write)
//	float          float64 (float32 kept)  bigint   *big.Int (always written ~n)
//	bigdec         BigDecimal              ratio    *big.Rat
//	keyword        Keyword                 symbol   Symbol
//	vector         []any                   list     List
//	set            Set                     map      *Map (insertion-ordered, any key type)
//	char           Char                    URI      URI
//	UUID           UUID                    instant  time.Time (milliseconds, UTC)
//	bytes          []byte                  link     Link
//	unknown tag    TaggedValue
//
// Values of these types are plain data: safe to read from several goroutines,
// not safe to mutate while another goroutine reads them.

// Keyword is a Clojure keyword without its leading colon: "name" or
// "namespace/name". Keyword("chsk/handshake") is :chsk/handshake.
type Keyword string

// Namespace returns the part before the first '/', or "" if there is none.
func (k Keyword) Namespace() string { ns, _ := splitName(string(k)); return ns }

// Name returns the part after the first '/', or the whole keyword.
func (k Keyword) Name() string { _, n := splitName(string(k)); return n }

// String returns the keyword as Clojure prints it, with its colon.
func (k Keyword) String() string { return ":" + string(k) }

// Symbol is a Clojure symbol: "name" or "namespace/name".
type Symbol string

// Namespace returns the part before the first '/', or "" if there is none.
func (s Symbol) Namespace() string { ns, _ := splitName(string(s)); return ns }

// Name returns the part after the first '/', or the whole symbol.
func (s Symbol) Name() string { _, n := splitName(string(s)); return n }

// splitName splits at the first '/', except that "/" alone is a name.
func splitName(s string) (ns, name string) {
	if i := strings.IndexByte(s, '/'); i > 0 && i < len(s)-1 {
		return s[:i], s[i+1:]
	}
	return "", s
}

// List is a Clojure list or seq, written with the "list" tag. Go slices
// ([]any and other slice types) are vectors.
type List []any

// Set is a Clojure set. It keeps the order in which elements were added,
// so that a value read from Transit is written back byte for byte. The
// reader removes duplicates; use NewSet to build one that does too.
type Set []any

// NewSet returns a set of elems in order, without duplicates.
func NewSet(elems ...any) Set {
	s := make(Set, 0, len(elems))
	seen := make(map[any]struct{}, len(elems))
	for _, e := range elems {
		k := keyOf(e)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		s = append(s, e)
	}
	return s
}

// Contains reports whether e is an element of s (equality as for map keys).
func (s Set) Contains(e any) bool {
	k := keyOf(e)
	for _, x := range s {
		if keyOf(x) == k {
			return true
		}
	}
	return false
}

// Char is a Clojure (Java) character.
type Char rune

// URI is a URI kept exactly as written; it is not parsed or normalised.
type URI string

// UUID is a 128-bit UUID.
type UUID [16]byte

// ParseUUID parses the 8-4-4-4-12 hexadecimal form, either case.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("transit: invalid UUID %s", quote(s))
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return UUID{}, fmt.Errorf("transit: invalid UUID %s", quote(s))
		}
		u[j] = hi<<4 | lo
		j++
	}
	return u, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String returns the lower-case 8-4-4-4-12 form.
func (u UUID) String() string { return string(u.appendText(nil)) }

func (u UUID) appendText(b []byte) []byte {
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return append(b, buf[:]...)
}

// uuidFromHalves builds a UUID from the signed 64-bit halves MessagePack uses.
func uuidFromHalves(hi, lo int64) UUID {
	var u UUID
	for i := 0; i < 8; i++ {
		u[i] = byte(uint64(hi) >> (56 - 8*i))
		u[8+i] = byte(uint64(lo) >> (56 - 8*i))
	}
	return u
}

// BigDecimal is an arbitrary-precision decimal, Unscaled × 10^-Scale, as
// java.math.BigDecimal keeps it, so that 1.50 and 1.5 stay distinct.
type BigDecimal struct {
	Unscaled *big.Int
	Scale    int32
}

// maxBigDigits bounds the digits of a big number read from text, so that a
// hostile input cannot make the reader spend quadratic time in big.Int.
const maxBigDigits = 10000

// ParseBigDecimal parses the text BigDecimal accepts: an optional sign,
// digits with an optional point, and an optional exponent ("1.50", "-1.1E-1").
func ParseBigDecimal(s string) (BigDecimal, error) {
	bad := func() (BigDecimal, error) {
		return BigDecimal{}, fmt.Errorf("transit: invalid big decimal %s", quote(s))
	}
	mant, exp := s, int64(0)
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e := s[i+1:]
		e = strings.TrimPrefix(e, "+")
		if len(e) == 0 || len(e) > 11 || e[0] == '-' && len(e) == 1 {
			return bad()
		}
		var n int64
		neg := e[0] == '-'
		if neg {
			e = e[1:]
		}
		for _, c := range []byte(e) {
			if c < '0' || c > '9' {
				return bad()
			}
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		exp = n
	}
	sign := ""
	if mant != "" && (mant[0] == '-' || mant[0] == '+') {
		if mant[0] == '-' {
			sign = "-"
		}
		mant = mant[1:]
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := intPart + frac
	if digits == "" || len(digits) > maxBigDigits {
		return bad()
	}
	for _, c := range []byte(digits) {
		if c < '0' || c > '9' {
			return bad()
		}
	}
	scale := int64(len(frac)) - exp
	if scale > math.MaxInt32 || scale < math.MinInt32 {
		return bad()
	}
	u, ok := new(big.Int).SetString(sign+digits, 10)
	if !ok {
		return bad()
	}
	return BigDecimal{Unscaled: u, Scale: int32(scale)}, nil
}

// String formats d as Java's BigDecimal.toString does.
func (d BigDecimal) String() string { return string(d.appendText(nil)) }

func (d BigDecimal) appendText(b []byte) []byte {
	u := d.Unscaled
	if u == nil {
		u = new(big.Int)
	}
	digits := u.Text(10)
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	if neg {
		b = append(b, '-')
	}
	k := int64(len(digits))
	s := int64(d.Scale)
	adj := -s + (k - 1)
	if s >= 0 && adj >= -6 {
		if s == 0 {
			return append(b, digits...)
		}
		if s >= k {
			b = append(b, "0."...)
			for i := int64(0); i < s-k; i++ {
				b = append(b, '0')
			}
			return append(b, digits...)
		}
		b = append(b, digits[:k-s]...)
		b = append(b, '.')
		return append(b, digits[k-s:]...)
	}
	b = append(b, digits[0])
	if k > 1 {
		b = append(b, '.')
		b = append(b, digits[1:]...)
	}
	b = append(b, 'E')
	if adj >= 0 {
		b = append(b, '+')
	}
	return fmt.Appendf(b, "%d", adj)
}

// Link is a hypermedia link, the Transit "link" extension.
type Link struct {
	Href   URI
	Rel    string
	Name   string // optional; empty means absent
	Prompt string // optional; empty means absent
	Render string // optional: "link" or "image"; empty means absent
}

// TaggedValue is a value whose tag this reader has no handler for. It is
// written back in the form it was read: a one-character tag as "~Xrep", a
// longer one as ["~#tag", rep].
type TaggedValue struct {
	Tag string
	Rep any
}

// Map is a map with keys of any Transit type that keeps insertion order,
// as the reader found it, so that writing it back reproduces the input.
// Setting an existing key replaces its value in place. The zero value is an
// empty map ready to use; a nil *Map reads as empty.
//
// Keys are compared by value: numbers by type and value, strings, keywords
// and symbols by text, composite keys (vectors, maps, sets) by content.
type Map struct {
	keys  []any
	vals  []any
	index map[any]int // built once the map outgrows linear search
}

// indexThreshold is the size above which a Map keeps a hash index; below
// it a linear scan is faster than hashing.
const indexThreshold = 16

// NewMap returns a map of the alternating keys and values in kvs. It
// panics if kvs has an odd length.
func NewMap(kvs ...any) *Map {
	if len(kvs)%2 != 0 {
		panic("transit: NewMap with an odd number of arguments")
	}
	m := &Map{keys: make([]any, 0, len(kvs)/2), vals: make([]any, 0, len(kvs)/2)}
	for i := 0; i < len(kvs); i += 2 {
		m.Set(kvs[i], kvs[i+1])
	}
	return m
}

// mapOfPairs builds a map from alternating keys and values (copied), the
// last value winning for a repeated key, with one allocation for both
// slices.
func mapOfPairs(kvs []any) *Map {
	n := len(kvs) / 2
	kv := make([]any, 2*n)
	m := &Map{keys: kv[:0:n], vals: kv[n : n : 2*n]}
	for i := 0; i < len(kvs); i += 2 {
		m.Set(kvs[i], kvs[i+1])
	}
	return m
}

// Len returns the number of entries.
func (m *Map) Len() int {
	if m == nil {
		return 0
	}
	return len(m.keys)
}

func (m *Map) find(k any) int {
	ck := keyOf(k)
	if m.index != nil {
		if i, ok := m.index[ck]; ok {
			return i
		}
		return -1
	}
	for i, x := range m.keys {
		if keyOf(x) == ck {
			return i
		}
	}
	return -1
}

// Get returns the value stored under k.
func (m *Map) Get(k any) (any, bool) {
	if m == nil {
		return nil, false
	}
	if i := m.find(k); i >= 0 {
		return m.vals[i], true
	}
	return nil, false
}

// Set stores v under k: in place if k is present, at the end otherwise.
func (m *Map) Set(k, v any) {
	if i := m.find(k); i >= 0 {
		m.vals[i] = v
		return
	}
	m.keys = append(m.keys, k)
	m.vals = append(m.vals, v)
	if m.index != nil {
		m.index[keyOf(k)] = len(m.keys) - 1
	} else if len(m.keys) > indexThreshold {
		m.index = make(map[any]int, 2*len(m.keys))
		for i, x := range m.keys {
			m.index[keyOf(x)] = i
		}
	}
}

// Delete removes k, keeping the order of the other entries.
func (m *Map) Delete(k any) {
	i := m.find(k)
	if i < 0 {
		return
	}
	m.keys = append(m.keys[:i], m.keys[i+1:]...)
	m.vals = append(m.vals[:i], m.vals[i+1:]...)
	if m.index != nil {
		delete(m.index, keyOf(k))
		for j := i; j < len(m.keys); j++ {
			m.index[keyOf(m.keys[j])] = j
		}
	}
}

// All iterates over the entries in order.
func (m *Map) All() iter.Seq2[any, any] {
	return func(yield func(any, any) bool) {
		if m == nil {
			return
		}
		for i, k := range m.keys {
			if !yield(k, m.vals[i]) {
				return
			}
		}
	}
}

// Keys returns the keys in order. The slice is the map's own: do not modify it.
func (m *Map) Keys() []any {
	if m == nil {
		return nil
	}
	return m.keys
}

// Values returns the values in key order. The slice is the map's own.
func (m *Map) Values() []any {
	if m == nil {
		return nil
	}
	return m.vals
}

// keyOf returns a comparable stand-in for v with Clojure's equality:
// comparable scalars stand for themselves, everything else (slices, maps,
// big numbers, times) for a canonical text form.
func keyOf(v any) any {
	switch x := v.(type) {
	case nil, bool, string, int64, Keyword, Symbol, Char, URI, UUID:
		return v
	case int:
		return int64(x)
	case float64:
		if x != x {
			return canonKey("NaN")
		}
		return v
	case time.Time:
		return canonKey(fmt.Sprintf("~m%d", x.UnixMilli()))
	}
	b, err := MarshalVerbose(v)
	if err != nil {
		return canonKey(fmt.Sprintf("%T:%v", v, v))
	}
	return canonKey(b)
}

// canonKey is the canonical text of a key that is not comparable in Go.
type canonKey string
