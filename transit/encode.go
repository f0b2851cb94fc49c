package transit

import (
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Marshaler is implemented by types that encode themselves as a tagged
// value. A one-character tag with a string rep is written "~" + tag + rep;
// any other result is written ["~#" + tag, rep].
type Marshaler interface {
	MarshalTransit() (tag string, rep any, err error)
}

// WriteHandler encodes values of one Go type as a tagged value, like
// Marshaler, for types whose methods you cannot add.
type WriteHandler func(v any) (tag string, rep any, err error)

// EncoderOptions configures encoding. The zero value writes Transit JSON
// (cached, compact). Options are read, never modified.
type EncoderOptions struct {
	// Verbose selects JSON-verbose: maps as objects, no cache, instants as ~t.
	Verbose bool
	// WriteHandlers maps Go types to handlers that take precedence over the
	// built-in encoding and over Marshaler.
	WriteHandlers map[reflect.Type]WriteHandler
}

// maxWriteDepth bounds nesting on write, which also stops cyclic values.
const maxWriteDepth = 10000

// Marshal returns the Transit JSON encoding of v, byte for byte as
// transit-java writes it (write cache included). See the package
// documentation for how Go values map to Transit.
func Marshal(v any) ([]byte, error) { return EncoderOptions{}.Marshal(v) }

// MarshalVerbose returns the Transit JSON-verbose encoding of v.
func MarshalVerbose(v any) ([]byte, error) { return EncoderOptions{Verbose: true}.Marshal(v) }

// AppendMarshal appends the Transit JSON encoding of v to dst. On error dst
// is returned with its length unchanged.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	return EncoderOptions{}.AppendMarshal(dst, v)
}

// Marshal returns the encoding of v with these options.
func (o EncoderOptions) Marshal(v any) ([]byte, error) {
	e := getEncodeState(&o)
	defer putEncodeState(e)
	if err := e.top(v); err != nil {
		return nil, err
	}
	return append([]byte(nil), e.buf...), nil
}

// AppendMarshal appends the encoding of v with these options to dst.
func (o EncoderOptions) AppendMarshal(dst []byte, v any) ([]byte, error) {
	e := getEncodeState(&o)
	defer putEncodeState(e)
	saved := e.buf
	e.buf = dst
	err := e.top(v)
	out := e.buf
	e.buf = saved
	if err != nil {
		return dst, err
	}
	return out, nil
}

// Encoder writes a stream of Transit values to an io.Writer, separated by
// a single space as transit-java separates them. Each Encode is one
// top-level value with its own cache. An Encoder is not safe for
// concurrent use.
type Encoder struct {
	w       io.Writer
	e       *encodeState
	started bool
}

// NewEncoder returns an Encoder writing Transit JSON to w.
func NewEncoder(w io.Writer) *Encoder { return EncoderOptions{}.NewEncoder(w) }

// NewEncoder returns an Encoder writing to w with these options.
func (o EncoderOptions) NewEncoder(w io.Writer) *Encoder {
	return &Encoder{w: w, e: newEncodeState(&o)}
}

// Encode writes v. On an encoding error nothing is written.
func (enc *Encoder) Encode(v any) error {
	e := enc.e
	e.buf = e.buf[:0]
	if enc.started {
		e.buf = append(e.buf, ' ')
	}
	if err := e.top(v); err != nil {
		return err
	}
	if _, err := enc.w.Write(e.buf); err != nil {
		return fmt.Errorf("transit: write: %w", err)
	}
	enc.started = true
	return nil
}

// encodeState writes one top-level value at a time into buf.
type encodeState struct {
	buf   []byte
	opts  EncoderOptions
	cache writeCache
	depth int
}

func newEncodeState(o *EncoderOptions) *encodeState {
	return &encodeState{opts: *o}
}

var encodeStatePool = sync.Pool{New: func() any { return newEncodeState(&EncoderOptions{}) }}

func getEncodeState(o *EncoderOptions) *encodeState {
	e := encodeStatePool.Get().(*encodeState)
	e.opts = *o
	e.buf = e.buf[:0]
	return e
}

func putEncodeState(e *encodeState) {
	if cap(e.buf) > 1<<20 {
		return // let large buffers go
	}
	e.opts = EncoderOptions{}
	encodeStatePool.Put(e)
}

// top writes v as a top-level value: scalars are quoted (docs/transit.md §7).
func (e *encodeState) top(v any) error {
	e.cache.reset()
	e.depth = 0
	scalar, err := e.isScalar(v)
	if err != nil {
		return err
	}
	if !scalar {
		return e.write(v, false)
	}
	if e.opts.Verbose {
		e.buf = append(e.buf, `{"~#'":`...)
	} else {
		e.buf = append(e.buf, `["~#'",`...)
	}
	if err := e.write(v, false); err != nil {
		return err
	}
	if e.opts.Verbose {
		e.buf = append(e.buf, '}')
	} else {
		e.buf = append(e.buf, ']')
	}
	return nil
}

// emit writes the Transit string prefix+rep, through the write cache in
// JSON mode (docs/transit.md §5.3). A cacheable string is written first and
// taken back if the cache already has it, so that it is scanned once.
func (e *encodeState) emit(prefix, rep string, asKey bool) {
	n := len(prefix) + len(rep)
	if e.opts.Verbose || n < 4 || !(asKey || isCachedPrefix(prefix)) ||
		n < 16 && utf16Len([]byte(prefix), 4)+utf16Len([]byte(rep), 4) < 4 {
		e.buf = appendJSONString(e.buf, prefix, rep)
		return
	}
	b := append(e.buf, '"')
	start := len(b)
	b = appendEscaped(appendEscaped(b, prefix), rep)
	c := &e.cache
	text := b[start:]
	h := cacheHash(text)
	if i := c.lookup(b, h, text); i >= 0 {
		e.buf = appendCacheCode(b[:start-1], i)
		return
	}
	if c.count == cacheSize {
		c.reset()
	}
	c.insert(h, start, len(text))
	e.buf = append(b, '"')
}

// emitKey writes a map key known in advance (a struct field's keyword):
// its escaped text and hash were computed once for the type.
func (e *encodeState) emitKey(k *fieldKey) {
	if e.opts.Verbose || !k.cacheable {
		e.buf = append(append(append(e.buf, '"'), k.text...), '"')
		return
	}
	c := &e.cache
	if i := c.lookup(e.buf, k.hash, []byte(k.text)); i >= 0 {
		e.buf = appendCacheCode(e.buf, i)
		return
	}
	if c.count == cacheSize {
		c.reset()
	}
	b := append(e.buf, '"')
	c.insert(k.hash, len(b), len(k.text))
	e.buf = append(append(b, k.text...), '"')
}

// isCachedPrefix reports whether a value-position string with this prefix
// is cacheable: keywords, symbols and tags.
func isCachedPrefix(prefix string) bool {
	return len(prefix) == 2 && prefix[0] == '~' && (prefix[1] == ':' || prefix[1] == '$' || prefix[1] == '#')
}

func appendCacheCode(b []byte, i int) []byte {
	if i < 44 {
		return append(b, '"', '^', byte(48+i), '"')
	}
	return append(b, '"', '^', byte(48+i/44), byte(48+i%44), '"')
}

// writeString writes a string value, escaping a leading ~ ^ or `.
func (e *encodeState) writeString(s string, asKey bool) {
	if len(s) > 0 && (s[0] == '~' || s[0] == '^' || s[0] == '`') {
		e.emit("~", s, asKey)
		return
	}
	if !asKey {
		e.buf = appendJSONString(e.buf, "", s)
		return
	}
	e.emit("", s, asKey)
}

func (e *encodeState) writeInt(n int64, asKey bool) {
	switch {
	case asKey:
		e.emit("~i", strconv.FormatInt(n, 10), asKey)
	case n > maxSafeInt || n < -maxSafeInt:
		// A "~i" value is never cached: write it without a string.
		e.buf = append(e.buf, `"~i`...)
		e.buf = strconv.AppendInt(e.buf, n, 10)
		e.buf = append(e.buf, '"')
	default:
		e.buf = strconv.AppendInt(e.buf, n, 10)
	}
}

// maxSafeInt is 2^53-1: larger integers are written as "~i" strings so that
// JavaScript readers keep every digit.
const maxSafeInt = 1<<53 - 1

func (e *encodeState) writeFloat(f float64, bits int, asKey bool) {
	switch {
	case math.IsNaN(f):
		e.emit("~z", "NaN", asKey)
	case math.IsInf(f, 1):
		e.emit("~z", "INF", asKey)
	case math.IsInf(f, -1):
		e.emit("~z", "-INF", asKey)
	case asKey:
		var tmp [32]byte
		e.emit("~d", string(AppendJavaFloat(tmp[:0], f, bits)), asKey)
	default:
		e.buf = AppendJavaFloat(e.buf, f, bits)
	}
}

func (e *encodeState) writeTime(t time.Time, asKey bool) {
	if e.opts.Verbose {
		var tmp [32]byte
		e.emit("~t", string(t.UTC().Truncate(time.Millisecond).AppendFormat(tmp[:0], "2006-01-02T15:04:05.000Z")), asKey)
		return
	}
	var tmp [24]byte
	e.emit("~m", string(strconv.AppendInt(tmp[:0], t.UnixMilli(), 10)), asKey)
}

func (e *encodeState) enter() error {
	e.depth++
	if e.depth > maxWriteDepth {
		return fmt.Errorf("transit: nesting deeper than %d (cyclic value?)", maxWriteDepth)
	}
	return nil
}

// write encodes v; asKey selects the map-key forms of scalars.
func (e *encodeState) write(v any, asKey bool) error {
	if len(e.opts.WriteHandlers) > 0 && v != nil {
		if h := e.opts.WriteHandlers[reflect.TypeOf(v)]; h != nil {
			tag, rep, err := h(v)
			if err != nil {
				return fmt.Errorf("transit: write handler for %T: %w", v, err)
			}
			return e.writeTagged(tag, rep, asKey)
		}
	}
	return e.writeModel(v, asKey)
}

// writeModel encodes v by its type: the value model's types directly,
// other Go values through their type's encoder (encode_reflect.go).
func (e *encodeState) writeModel(v any, asKey bool) error {
	switch x := v.(type) {
	case nil:
		if asKey {
			e.emit("~_", "", true)
		} else {
			e.buf = append(e.buf, "null"...)
		}
	case string:
		e.writeString(x, asKey)
	case bool:
		switch {
		case asKey && x:
			e.emit("~?t", "", true)
		case asKey:
			e.emit("~?f", "", true)
		case x:
			e.buf = append(e.buf, "true"...)
		default:
			e.buf = append(e.buf, "false"...)
		}
	case int64:
		e.writeInt(x, asKey)
	case int:
		e.writeInt(int64(x), asKey)
	case float64:
		e.writeFloat(x, 64, asKey)
	case Keyword:
		e.emit("~:", string(x), asKey)
	case Symbol:
		e.emit("~$", string(x), asKey)
	case []any:
		return e.writeArray(x)
	case *Map:
		return e.writeMap(x)
	case Set:
		return e.writeTaggedArray("set", x)
	case List:
		return e.writeTaggedArray("list", x)
	case Char:
		e.emit("~c", string(rune(x)), asKey)
	case URI:
		e.emit("~r", string(x), asKey)
	case UUID:
		var tmp [36]byte
		e.emit("~u", string(x.appendText(tmp[:0])), asKey)
	case time.Time:
		e.writeTime(x, asKey)
	case []byte:
		e.emit("~b", base64.StdEncoding.EncodeToString(x), asKey)
	case *big.Int:
		if x == nil {
			return e.write(nil, asKey)
		}
		e.emit("~n", x.String(), asKey)
	case big.Int:
		e.emit("~n", x.String(), asKey)
	case BigDecimal:
		e.emit("~f", x.String(), asKey)
	case *big.Rat:
		if x == nil {
			return e.write(nil, asKey)
		}
		return e.writeTagged("ratio", []any{new(big.Int).Set(x.Num()), new(big.Int).Set(x.Denom())}, false)
	case Link:
		m := &Map{}
		m.Set("rel", x.Rel)
		if x.Name != "" {
			m.Set("name", x.Name)
		}
		m.Set("href", x.Href)
		if x.Prompt != "" {
			m.Set("prompt", x.Prompt)
		}
		if x.Render != "" {
			m.Set("render", x.Render)
		}
		return e.writeTagged("link", m, false)
	case TaggedValue:
		return e.writeTagged(x.Tag, x.Rep, asKey)
	case Marshaler:
		tag, rep, err := x.MarshalTransit()
		if err != nil {
			return fmt.Errorf("transit: MarshalTransit of %T: %w", v, err)
		}
		return e.writeTagged(tag, rep, asKey)
	default:
		rv := reflect.ValueOf(v)
		return typeEncoder(rv.Type())(e, rv, asKey)
	}
	return nil
}

// writeTagged writes a tagged value: "~Xrep" for a one-character tag with
// a string rep, ["~#tag", rep] (verbose {"~#tag": rep}) otherwise.
func (e *encodeState) writeTagged(tag string, rep any, asKey bool) error {
	if scalarTag(tag, rep) {
		e.emit("~"+tag, rep.(string), asKey)
		return nil
	}
	if tag == "" {
		return fmt.Errorf("transit: empty tag")
	}
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.opts.Verbose {
		e.buf = append(e.buf, '{')
		e.emit("~#", tag, true)
		e.buf = append(e.buf, ':')
	} else {
		e.buf = append(e.buf, '[')
		e.emit("~#", tag, false)
		e.buf = append(e.buf, ',')
	}
	if err := e.write(rep, false); err != nil {
		return err
	}
	if e.opts.Verbose {
		e.buf = append(e.buf, '}')
	} else {
		e.buf = append(e.buf, ']')
	}
	return nil
}

func (e *encodeState) writeTaggedArray(tag string, elems []any) error {
	return e.writeTagged(tag, []any(elems), false)
}

func (e *encodeState) writeArray(elems []any) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	e.buf = append(e.buf, '[')
	for i, x := range elems {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.write(x, false); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// writeMap writes an ordered map: a map if every key is stringable, a cmap
// otherwise (docs/transit.md §4.2).
func (e *encodeState) writeMap(m *Map) error {
	keys, vals := m.Keys(), m.Values()
	for _, k := range keys {
		scalar, err := e.isScalar(k)
		if err != nil {
			return err
		}
		if !scalar {
			flat := make([]any, 0, 2*len(keys))
			for i, k := range keys {
				flat = append(flat, k, vals[i])
			}
			return e.writeTagged("cmap", flat, false)
		}
	}
	return e.writeEntries(len(keys), func(i int) error { return e.write(keys[i], true) },
		func(i int) error { return e.write(vals[i], false) })
}

// writeEntries writes n map entries whose keys are all stringable, as
// ["^ ", k, v, …] or, verbose, {k: v, …}.
func (e *encodeState) writeEntries(n int, key, val func(i int) error) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	if e.opts.Verbose {
		e.buf = append(e.buf, '{')
	} else {
		e.buf = append(e.buf, `["^ "`...)
	}
	for i := 0; i < n; i++ {
		if i > 0 || !e.opts.Verbose {
			e.buf = append(e.buf, ',')
		}
		if err := key(i); err != nil {
			return err
		}
		if e.opts.Verbose {
			e.buf = append(e.buf, ':')
		} else {
			e.buf = append(e.buf, ',')
		}
		if err := val(i); err != nil {
			return err
		}
	}
	if e.opts.Verbose {
		e.buf = append(e.buf, '}')
	} else {
		e.buf = append(e.buf, ']')
	}
	return nil
}

// isScalar reports whether v's tag has one character: such values are
// quoted at top level and may be written as plain map keys.
func (e *encodeState) isScalar(v any) (bool, error) {
	if len(e.opts.WriteHandlers) > 0 && v != nil {
		if h := e.opts.WriteHandlers[reflect.TypeOf(v)]; h != nil {
			tag, rep, err := h(v)
			if err != nil {
				return false, fmt.Errorf("transit: write handler for %T: %w", v, err)
			}
			return scalarTag(tag, rep), nil
		}
	}
	switch x := v.(type) {
	case nil, string, bool, int64, int, float64, Keyword, Symbol, Char, URI, UUID,
		time.Time, []byte, *big.Int, big.Int, BigDecimal:
		return true, nil
	case []any, *Map, Set, List, *big.Rat, Link:
		return false, nil
	case TaggedValue:
		return scalarTag(x.Tag, x.Rep), nil
	case Marshaler:
		tag, rep, err := x.MarshalTransit()
		if err != nil {
			return false, fmt.Errorf("transit: MarshalTransit of %T: %w", v, err)
		}
		return scalarTag(tag, rep), nil
	}
	return e.isScalarValue(reflect.ValueOf(v))
}

// isScalarValue is isScalar for a reflected value, without copying it
// into an interface unless its type is one of the model's.
func (e *encodeState) isScalarValue(rv reflect.Value) (bool, error) {
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return true, nil
		}
		rv = rv.Elem()
		if boxed(rv.Type()) || len(e.opts.WriteHandlers) > 0 {
			if !rv.CanInterface() {
				return false, &UnsupportedTypeError{Type: rv.Type()}
			}
			return e.isScalar(rv.Interface())
		}
	}
	switch rv.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true, nil
	case reflect.Slice:
		return rv.IsNil() || rv.Type().Elem().Kind() == reflect.Uint8, nil
	case reflect.Map:
		return rv.IsNil(), nil
	}
	return false, nil
}

// appendJSONString appends prefix+s as one JSON string, escaped as
// Jackson escapes it (docs/transit.md §8): ", \ and control characters escaped
// (upper-case hex), characters outside the BMP as escaped surrogate
// pairs, everything else raw. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, prefix, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, prefix)
	b = appendEscaped(b, s)
	return append(b, '"')
}

func appendEscaped(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		// Skip 8 bytes at a time while none needs attention.
		for i+8 <= len(s) && !needsEscape8(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < 0x80 {
			i++
			continue
		}
		b = append(b, s[start:i]...)
		if c < 0x80 {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\t':
				b = append(b, '\\', 't')
			case '\n':
				b = append(b, '\\', 'n')
			case '\f':
				b = append(b, '\\', 'f')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, "\uFFFD"...)
		case r >= 0x10000:
			r1, r2 := surrogates(r)
			b = appendU(appendU(b, r1), r2)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// needsEscape8 reports whether any of the 8 bytes of s is a control
// character, '"', '\\' or non-ASCII (a SWAR test on one 64-bit word).
func needsEscape8(s string) bool {
	w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := w ^ ('"' * ones)   // zero bytes where w has '"'
	bs := w ^ ('\\' * ones) // zero bytes where w has '\\'
	return (w|((w-0x20*ones)&^w)|((q-ones)&^q)|((bs-ones)&^bs))&highs != 0
}

const hexUpper = "0123456789ABCDEF"

func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xD800 + (r>>10)&0x3FF, 0xDC00 + r&0x3FF
}

func appendU(b []byte, r rune) []byte {
	return append(b, '\\', 'u', hexUpper[r>>12&0xF], hexUpper[r>>8&0xF], hexUpper[r>>4&0xF], hexUpper[r&0xF])
}

// AppendJavaFloat appends f as Java's Double.toString prints it (or
// Float.toString, for bitSize 32): the shortest digits that read back (of
// one or two digits, the closest to f), plain notation for
// 10^-3 ≤ |f| < 10^7 ("2.0", "0.001"), computerised scientific notation
// otherwise ("1.0E7", "4.9E-324"). Transit writes floats this way, and
// Clojure prints doubles this way in EDN. f must be finite.
func AppendJavaFloat(b []byte, f float64, bits int) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits) // -d.ddde±xx
	if len(s) < 2 || (s[1] != '.' && (s[0] != '-' || s[2] != '.')) {
		// One significant digit: Java picks, among the decimals of one or
		// two digits that round to f, the closest to f (4.9E-324, not
		// 5.0E-324, for the smallest double).
		two := strconv.AppendFloat(tmp[16:16], f, 'e', 1, bits) // [-]d.de±xx
		dot := 1
		if two[0] == '-' {
			dot = 2
		}
		if two[dot] == '.' && two[dot+1] != '0' {
			if back, err := strconv.ParseFloat(string(two), bits); err == nil && back == f {
				s = two
			}
		}
	}
	if s[0] == '-' {
		b = append(b, '-')
		s = s[1:]
	}
	epos := 0
	for s[epos] != 'e' {
		epos++
	}
	exp, _ := strconv.Atoi(string(s[epos+1:]))
	var digits [24]byte
	nd := 0
	for _, c := range s[:epos] {
		if c != '.' {
			digits[nd] = c
			nd++
		}
	}
	d := digits[:nd]
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			if nd <= exp+1 {
				b = append(b, d...)
				for i := nd; i <= exp; i++ {
					b = append(b, '0')
				}
				return append(b, '.', '0')
			}
			b = append(b, d[:exp+1]...)
			b = append(b, '.')
			return append(b, d[exp+1:]...)
		}
		b = append(b, '0', '.')
		for i := 0; i < -exp-1; i++ {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	b = append(b, d[0], '.')
	if nd > 1 {
		b = append(b, d[1:]...)
	} else {
		b = append(b, '0')
	}
	b = append(b, 'E')
	return strconv.AppendInt(b, int64(exp), 10)
}

// scalarTag reports whether a tagged value is written as the string
// "~" + tag + rep: a one-character tag other than the characters that
// "~" escapes or marks (# ~ ^ `), with a string rep.
func scalarTag(tag string, rep any) bool {
	if _, ok := rep.(string); !ok || utf8.RuneCountInString(tag) != 1 {
		return false
	}
	switch tag {
	case "#", "~", "^", "`":
		return false
	}
	return true
}
