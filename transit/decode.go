package transit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Defaults for DecoderOptions fields left at zero.
const (
	// DefaultMaxDepth is the default nesting limit: deep enough for any real
	// message, shallow enough that hostile input cannot exhaust the stack.
	DefaultMaxDepth = 1000
	// DefaultMaxValueBytes is the default size limit of one top-level value
	// read by a Decoder (64 MiB).
	DefaultMaxValueBytes = 64 << 20
)

// ReadHandler turns the representation of a tagged value into a Go value.
// rep is already decoded (a string for a scalar tag, any value for a
// composite one).
type ReadHandler func(rep any) (any, error)

// DecoderOptions configures decoding. The zero value is ready to use and
// applies the defaults documented on each field. Options are read, never
// modified, so one value may be shared by several goroutines.
type DecoderOptions struct {
	// MaxDepth is the deepest nesting of arrays and objects accepted.
	// Zero means DefaultMaxDepth; negative is invalid.
	MaxDepth int
	// MaxValueBytes is the largest top-level value, in bytes of input, that
	// a Decoder buffers or Unmarshal accepts. Zero means
	// DefaultMaxValueBytes; negative is invalid.
	MaxValueBytes int
	// ReadHandlers maps tags to handlers that replace the built-in reading
	// of that tag (or of an unknown tag, which otherwise becomes a
	// TaggedValue). Ground tags (_ s ? i d b ' array map) cannot be handled.
	ReadHandlers map[string]ReadHandler
}

// resolve checks o and fills in the defaults.
func (o DecoderOptions) resolve() (DecoderOptions, error) {
	if o.MaxDepth < 0 || o.MaxValueBytes < 0 {
		return o, fmt.Errorf("%w: negative limit in %+v", ErrBadOptions, o)
	}
	if o.MaxDepth == 0 {
		o.MaxDepth = DefaultMaxDepth
	}
	if o.MaxValueBytes == 0 {
		o.MaxValueBytes = DefaultMaxValueBytes
	}
	for tag := range o.ReadHandlers {
		switch tag {
		case "", "_", "s", "?", "i", "d", "b", "'", "array", "map":
			return o, fmt.Errorf("%w: no read handler can be set for ground tag %q", ErrBadOptions, tag)
		}
	}
	return o, nil
}

// Unmarshal decodes one Transit JSON or JSON-verbose value (the two are
// told apart by their shape) into the generic value model (see Map, Set,
// Keyword, …). Anything but whitespace after the value is an error.
func Unmarshal(data []byte) (any, error) { return DecoderOptions{}.Unmarshal(data) }

// Unmarshal is Unmarshal with these options.
func (o DecoderOptions) Unmarshal(data []byte) (any, error) {
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	if len(data) > o.MaxValueBytes {
		return nil, &SyntaxError{Msg: fmt.Sprintf("value of %d bytes exceeds the limit of %d", len(data), o.MaxValueBytes), Err: ErrTooLarge}
	}
	d := getDecodeState(&o)
	defer putDecodeState(d)
	d.reset(data, 0)
	v, err := d.top()
	if err != nil {
		return nil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return nil, d.syntaxErr("data after the top-level value")
	}
	return v, nil
}

// UnmarshalInto decodes one value into the Go value v points to, with the
// conversions of Assign. Structs, slices, strings, numbers and booleans
// are filled as the input is read, without building the generic value.
func UnmarshalInto(data []byte, v any) error { return DecoderOptions{}.UnmarshalInto(data, v) }

// UnmarshalInto is UnmarshalInto with these options.
func (o DecoderOptions) UnmarshalInto(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(v)}
	}
	o, err := o.resolve()
	if err != nil {
		return err
	}
	if len(data) > o.MaxValueBytes {
		return &SyntaxError{Msg: fmt.Sprintf("value of %d bytes exceeds the limit of %d", len(data), o.MaxValueBytes), Err: ErrTooLarge}
	}
	d := getDecodeState(&o)
	defer putDecodeState(d)
	d.reset(data, 0)
	if err := d.into(rv.Elem()); err != nil {
		return err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return d.syntaxErr("data after the top-level value")
	}
	return nil
}

// Decoder reads a stream of Transit values, separated by optional JSON
// whitespace. A Decoder is not safe for concurrent use.
type Decoder struct {
	r    io.Reader
	opts DecoderOptions
	err  error // sticky error: bad options or a read error
	buf  []byte
	pos  int   // start of unread data in buf
	off  int64 // stream offset of buf[0]
	eof  bool
	st   *decodeState
}

// NewDecoder returns a Decoder reading from r with default options.
func NewDecoder(r io.Reader) *Decoder { return DecoderOptions{}.NewDecoder(r) }

// NewDecoder returns a Decoder reading from r with these options. Invalid
// options make every Decode fail.
func (o DecoderOptions) NewDecoder(r io.Reader) *Decoder {
	ro, err := o.resolve()
	return &Decoder{r: r, opts: ro, err: err}
}

// Decode reads the next value. It returns io.EOF when the stream ends
// cleanly between values; a syntax error leaves the Decoder unusable.
func (dec *Decoder) Decode() (any, error) {
	if dec.err != nil {
		return nil, dec.err
	}
	start, end, err := dec.nextValue()
	if err != nil {
		if err != io.EOF {
			dec.err = err
		}
		return nil, err
	}
	if dec.st == nil {
		dec.st = newDecodeState(&dec.opts)
	}
	dec.st.reset(dec.buf[start:end], dec.off+int64(start))
	v, err := dec.st.top()
	if err == nil {
		if dec.st.skipSpace(); dec.st.pos < len(dec.st.data) {
			err = dec.st.syntaxErr("malformed value")
		}
	}
	dec.pos = end
	if err != nil {
		dec.err = err
		return nil, err
	}
	return v, nil
}

// DecodeInto reads the next value into the Go value v points to.
func (dec *Decoder) DecodeInto(v any) error {
	x, err := dec.Decode()
	if err != nil {
		return err
	}
	return Assign(v, x)
}

// nextValue finds the extent of the next top-level JSON value in the
// buffer, reading more input as needed.
func (dec *Decoder) nextValue() (start, end int, err error) {
	scan := 0 // bytes of the candidate already scanned
	var sc valueScanner
	for {
		// Skip whitespace before the value.
		if scan == 0 {
			for dec.pos < len(dec.buf) && isSpace(dec.buf[dec.pos]) {
				dec.pos++
			}
		}
		if dec.pos < len(dec.buf) {
			n, done := sc.scan(dec.buf[dec.pos+scan:])
			scan += n
			if (done || (dec.eof && sc.scalarEndsAtEOF())) && scan <= dec.opts.MaxValueBytes {
				return dec.pos, dec.pos + scan, nil
			}
		}
		if scan > dec.opts.MaxValueBytes {
			return 0, 0, &SyntaxError{Msg: fmt.Sprintf("value exceeds the limit of %d bytes", dec.opts.MaxValueBytes), Offset: dec.off + int64(dec.pos), Err: ErrTooLarge}
		}
		if dec.eof {
			if dec.pos == len(dec.buf) {
				return 0, 0, io.EOF
			}
			return 0, 0, &SyntaxError{Msg: "unexpected end of input", Offset: dec.off + int64(len(dec.buf))}
		}
		if err := dec.fill(); err != nil {
			return 0, 0, err
		}
	}
}

// fill reads more input, first moving unread bytes to the front.
func (dec *Decoder) fill() error {
	if dec.pos > 0 {
		n := copy(dec.buf, dec.buf[dec.pos:])
		dec.off += int64(dec.pos)
		dec.buf = dec.buf[:n]
		dec.pos = 0
	}
	if cap(dec.buf)-len(dec.buf) < 512 {
		nb := make([]byte, len(dec.buf), 2*cap(dec.buf)+4096)
		copy(nb, dec.buf)
		dec.buf = nb
	}
	n, err := dec.r.Read(dec.buf[len(dec.buf):cap(dec.buf)])
	dec.buf = dec.buf[:len(dec.buf)+n]
	if err == io.EOF {
		dec.eof = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("transit: read: %w", err)
	}
	return nil
}

// valueScanner finds where a JSON value ends without parsing it. Its
// state carries over between calls so that input can arrive in pieces.
type valueScanner struct {
	started bool
	scalar  bool // a bare number/literal: ends at a delimiter or EOF
	depth   int
	inStr   bool
	esc     bool
}

// scan consumes b and reports how many bytes belong to the value and
// whether the value is complete.
func (s *valueScanner) scan(b []byte) (int, bool) {
	for i, c := range b {
		if !s.started {
			s.started = true
			switch c {
			case '[', '{':
				s.depth = 1
			case '"':
				s.inStr = true
			default:
				s.scalar = true
			}
			continue
		}
		switch {
		case s.scalar:
			if isSpace(c) || c == '[' || c == '{' || c == '"' || c == ']' || c == '}' || c == ',' {
				return i, true
			}
		case s.inStr:
			switch {
			case s.esc:
				s.esc = false
			case c == '\\':
				s.esc = true
			case c == '"':
				s.inStr = false
				if s.depth == 0 {
					return i + 1, true
				}
			}
		case c == '"':
			s.inStr = true
		case c == '[' || c == '{':
			s.depth++
		case c == ']' || c == '}':
			s.depth--
			if s.depth == 0 {
				return i + 1, true
			}
		}
	}
	return len(b), false
}

func (s *valueScanner) scalarEndsAtEOF() bool { return s.scalar }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// cacheSize is the number of read/write cache entries (44²).
const cacheSize = 44 * 44

// tagMarker is a decoded "~#tag" string: only valid as the first element of
// a two-element array or the single key of an object.
type tagMarker string

// decodeState parses one top-level value held in memory.
type decodeState struct {
	data    []byte
	pos     int
	base    int64 // stream offset of data[0]
	depth   int
	opts    *DecoderOptions
	cache   []any // read cache, reset per top-level value
	next    int   // next cache slot
	scratch []byte
	stack   []any          // elements of the arrays and maps being read
	kw      map[string]any // interned keywords, boxed once
}

// maxInterned and maxInternedLen bound the keyword intern table of one
// decodeState (entries, bytes per keyword).
const (
	maxInterned    = 4096
	maxInternedLen = 64
)

func newDecodeState(o *DecoderOptions) *decodeState {
	return &decodeState{opts: o}
}

var decodeStatePool = sync.Pool{New: func() any { return newDecodeState(nil) }}

func getDecodeState(o *DecoderOptions) *decodeState {
	d := decodeStatePool.Get().(*decodeState)
	d.opts = o
	return d
}

// putDecodeState drops references to the input and the values read, so
// that the pool pins neither, and returns d to the pool.
func putDecodeState(d *decodeState) {
	clear(d.cache)
	if cap(d.stack) > 1<<16 {
		d.stack = nil // a huge input's stack is not worth keeping
	} else {
		clear(d.stack[:cap(d.stack)])
		d.stack = d.stack[:0]
	}
	d.data, d.opts = nil, nil
	if cap(d.scratch) > 64<<10 {
		d.scratch = nil
	}
	decodeStatePool.Put(d)
}

// keyword returns the keyword named b as an interface value, boxing each
// distinct name once per decodeState.
func (d *decodeState) keyword(b []byte) any {
	if v, ok := d.kw[string(b)]; ok {
		return v
	}
	v := any(Keyword(b))
	if len(d.kw) < maxInterned && len(b) <= maxInternedLen {
		if d.kw == nil {
			d.kw = make(map[string]any)
		}
		d.kw[string(Keyword(v.(Keyword)))] = v
	}
	return v
}

func (d *decodeState) reset(data []byte, base int64) {
	d.data, d.pos, d.base, d.depth = data, 0, base, 0
	clear(d.cache)
	d.cache = d.cache[:0]
	d.next = 0
}

func (d *decodeState) syntaxErr(msg string) error {
	return &SyntaxError{Msg: msg, Offset: d.base + int64(d.pos)}
}

// errAt makes a SyntaxError at pos. Arguments taken from the input go
// through quote, and the message is clipped (clipMsg) in case one did not.
func (d *decodeState) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Msg: clipMsg(fmt.Sprintf(format, args...)), Offset: d.base + int64(pos)}
}

// wrapErr makes a SyntaxError at pos of an error from a value builder,
// keeping the ErrTooLarge sentinel.
func (d *decodeState) wrapErr(pos int, err error) error {
	se := &SyntaxError{Msg: clipMsg(strings.TrimPrefix(err.Error(), "transit: ")), Offset: d.base + int64(pos)}
	if errors.Is(err, ErrTooLarge) {
		se.Err = ErrTooLarge
	}
	return se
}

func (d *decodeState) skipSpace() {
	for d.pos < len(d.data) && isSpace(d.data[d.pos]) {
		d.pos++
	}
}

// top reads a top-level value and checks that no tag marker escapes.
func (d *decodeState) top() (any, error) {
	d.skipSpace()
	v, err := d.value(false)
	if err != nil {
		return nil, err
	}
	if tm, ok := v.(tagMarker); ok {
		return nil, d.errAt(0, "tag marker %s outside a tagged value", quote("~#"+string(tm)))
	}
	return v, nil
}

// value reads any JSON value at d.pos.
func (d *decodeState) value(asKey bool) (any, error) {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return nil, d.syntaxErr("unexpected end of input")
	}
	switch c := d.data[d.pos]; c {
	case '"':
		return d.stringValue(asKey)
	case '[':
		return d.array()
	case '{':
		return d.object()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		if c == '-' || ('0' <= c && c <= '9') {
			return d.number()
		}
		return nil, d.errAt(d.pos, "invalid character %q looking for a value", c)
	}
}

func (d *decodeState) literal(lit string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(lit)) {
		return d.syntaxErr("invalid literal")
	}
	d.pos += len(lit)
	return nil
}

// number reads a JSON number: an integer (int64, or *big.Int beyond it)
// unless it has a fraction or exponent.
func (d *decodeState) number() (any, error) {
	start := d.pos
	b := d.data
	i := d.pos
	if b[i] == '-' {
		i++
	}
	digits := i
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		return nil, d.errAt(i, "invalid number")
	}
	isFloat := false
	if i < len(b) && b[i] == '.' {
		isFloat = true
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, d.errAt(i, "invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isFloat = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return nil, d.errAt(i, "invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	d.pos = i
	tok := b[start:i]
	if isFloat {
		f, err := strconv.ParseFloat(string(tok), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, d.errAt(start, "invalid number %s", quote(string(tok)))
		}
		return f, nil
	}
	if i-digits <= 18 { // fits in int64 without overflow checks
		var n int64
		for _, c := range b[digits:i] {
			n = n*10 + int64(c-'0')
		}
		if digits > start {
			n = -n
		}
		return n, nil
	}
	return d.bigInteger(string(tok), start)
}

// bigInteger parses a decimal integer, as int64 when it fits.
func (d *decodeState) bigInteger(s string, pos int) (any, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	if len(s) > maxBigDigits {
		return nil, &SyntaxError{Msg: fmt.Sprintf("integer of %d digits exceeds the limit of %d", len(s), maxBigDigits), Offset: d.base + int64(pos), Err: ErrTooLarge}
	}
	z, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, d.errAt(pos, "invalid integer %s", quote(s))
	}
	return z, nil
}

// rawString reads a JSON string and returns its content, unescaped and
// valid UTF-8. The result may alias d.data or d.scratch: copy it to keep it.
func (d *decodeState) rawString() ([]byte, error) {
	start := d.pos
	d.pos++ // opening quote
	b := d.data
	i := d.pos
	simple := true
	for ; i < len(b); i++ {
		c := b[i]
		if c == '"' {
			break
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		if i >= len(b) {
			return nil, d.errAt(start, "unterminated string")
		}
		d.pos = i + 1
		return b[start+1 : i], nil
	}
	// Slow path: escapes, control characters or non-ASCII.
	out := d.scratch[:0]
	out = append(out, b[start+1:i]...)
	for {
		if i >= len(b) {
			return nil, d.errAt(start, "unterminated string")
		}
		c := b[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.scratch = out
			return out, nil
		case c < 0x20:
			return nil, d.errAt(i, "control character %#02x in string", c)
		case c == '\\':
			if i+1 >= len(b) {
				return nil, d.errAt(start, "unterminated string")
			}
			i++
			switch b[i] {
			case '"', '\\', '/':
				out = append(out, b[i])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := hex4(b, i+1)
				if !ok {
					return nil, d.errAt(i-1, "invalid \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(0), false
					if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
						r2, ok2 = hex4(b, i+3)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				return nil, d.errAt(i-1, "invalid escape \\%c", b[i])
			}
			i++
		case c < 0x80:
			out = append(out, c)
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, b[i:i+size]...)
			}
			i += size
		}
	}
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		h, ok := unhex(c)
		if !ok {
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	return r, true
}

// utf16Len counts s in UTF-16 code units, stopping early once it reaches
// limit (the caller only needs to know whether the length is ≥ limit).
func utf16Len(s []byte, limit int) int {
	n := 0
	for i := 0; i < len(s) && n < limit; {
		c := s[i]
		if c < 0x80 {
			i++
			n++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		i += size
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// cacheable is the rule shared by the read and write caches (docs/transit.md §5.1).
func cacheable(s []byte, asKey bool) bool {
	if len(s) < 4 {
		return false
	}
	if !asKey && !(s[0] == '~' && (s[1] == ':' || s[1] == '$' || s[1] == '#')) {
		return false
	}
	return utf16Len(s, 4) >= 4
}

// stringValue reads a JSON string and decodes it as Transit: a cache
// code, an escaped string, a scalar extension or a tag marker.
func (d *decodeState) stringValue(asKey bool) (any, error) {
	start := d.pos
	s, err := d.rawString()
	if err != nil {
		return nil, err
	}
	return d.decodeRaw(s, asKey, start)
}

// decodeRaw decodes the content s of a JSON string that started at start:
// a cache code, or a string to decode and perhaps record in the cache.
func (d *decodeState) decodeRaw(s []byte, asKey bool, start int) (any, error) {
	if len(s) > 1 && s[0] == '^' && !(len(s) == 2 && s[1] == ' ') {
		return d.cacheLookup(s, start)
	}
	v, err := d.decodeString(s, start)
	if err != nil {
		return nil, err
	}
	if cacheable(s, asKey) {
		if d.next == cacheSize {
			d.next = 0
		}
		if d.next < len(d.cache) {
			d.cache[d.next] = v
		} else {
			d.cache = append(d.cache, v)
		}
		d.next++
	}
	return v, nil
}

func (d *decodeState) cacheLookup(s []byte, pos int) (any, error) {
	idx := -1
	switch len(s) {
	case 2:
		if c := int(s[1]) - 48; c >= 0 && c < 44 {
			idx = c
		}
	case 3:
		c1, c2 := int(s[1])-48, int(s[2])-48
		if c1 >= 0 && c1 < 44 && c2 >= 0 && c2 < 44 {
			idx = c1*44 + c2
		}
	}
	if idx < 0 {
		return nil, d.errAt(pos, "invalid cache code %s", quote(string(s)))
	}
	if idx >= len(d.cache) {
		return nil, d.errAt(pos, "cache code %s refers to no entry", quote(string(s)))
	}
	return d.cache[idx], nil
}

// decodeString decodes the content of a non-code string (docs/transit.md §2.2).
func (d *decodeState) decodeString(s []byte, pos int) (any, error) {
	if len(s) < 2 || s[0] != '~' {
		return string(s), nil
	}
	switch s[1] {
	case '~', '^', '`':
		return string(s[1:]), nil
	case '#':
		return tagMarker(s[2:]), nil
	case ':':
		if d.opts.ReadHandlers == nil {
			return d.keyword(s[2:]), nil
		}
	}
	tag, size := utf8.DecodeRune(s[1:])
	rep := string(s[1+size:])
	if h := d.opts.ReadHandlers[string(tag)]; h != nil {
		v, err := h(rep)
		if err != nil {
			return nil, d.errAt(pos, "read handler for tag %s: %v", quote(string(tag)), err)
		}
		return v, nil
	}
	v, err := decodeScalar(tag, rep)
	if err != nil {
		return nil, d.wrapErr(pos, err)
	}
	return v, nil
}

// decodeScalar builds the value of a scalar extension "~" + tag + rep.
func decodeScalar(tag rune, rep string) (any, error) {
	switch tag {
	case '_':
		return nil, nil
	case 's':
		return rep, nil
	case '?':
		return rep == "t", nil
	case ':':
		return Keyword(rep), nil
	case '$':
		return Symbol(rep), nil
	case 'i':
		if n, err := strconv.ParseInt(rep, 10, 64); err == nil {
			return n, nil
		}
		if strings.ContainsAny(rep, ".eE") {
			// transit-js writes float map keys with the i tag ("~i2.5").
			if f, err := strconv.ParseFloat(rep, 64); err == nil {
				return f, nil
			}
		}
		return parseBigInt(rep)
	case 'n':
		return parseBigInt(rep)
	case 'd':
		f, err := strconv.ParseFloat(rep, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("invalid float %s", quote(rep))
		}
		return f, nil
	case 'f':
		v, err := ParseBigDecimal(rep)
		if err != nil {
			return nil, fmt.Errorf("invalid big decimal %s", quote(rep))
		}
		return v, nil
	case 'b':
		b, err := base64.StdEncoding.DecodeString(rep)
		if err != nil {
			return nil, fmt.Errorf("invalid base64 bytes: %v", err)
		}
		return b, nil
	case 'c':
		r, size := utf8.DecodeRuneInString(rep)
		if size == 0 || size != len(rep) {
			return nil, fmt.Errorf("invalid char %s", quote(rep))
		}
		return Char(r), nil
	case 'z':
		switch rep {
		case "NaN":
			return math.NaN(), nil
		case "INF":
			return math.Inf(1), nil
		case "-INF":
			return math.Inf(-1), nil
		}
		return nil, fmt.Errorf("invalid special number %s", quote(rep))
	case 'm':
		ms, err := strconv.ParseInt(rep, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid instant %s", quote(rep))
		}
		return time.UnixMilli(ms).UTC(), nil
	case 't':
		t, err := parseInstant(rep)
		if err != nil {
			return nil, fmt.Errorf("invalid instant %s", quote(rep))
		}
		return t, nil
	case 'u':
		u, err := ParseUUID(rep)
		if err != nil {
			return nil, fmt.Errorf("invalid UUID %s", quote(rep))
		}
		return u, nil
	case 'r':
		return URI(rep), nil
	}
	return TaggedValue{Tag: string(tag), Rep: rep}, nil
}

// parseInstant parses the RFC 3339 text of a "~t" instant, also accepting
// years of more than four digits (transit-java) or fewer (transit-js).
func parseInstant(s string) (time.Time, error) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 4 || i == 0 || i > 9 {
		t, err := time.Parse(time.RFC3339Nano, s)
		return t.UTC(), err
	}
	year, _ := strconv.Atoi(s[:i])
	// Parse the rest with a stand-in leap year, then set the real year.
	t, err := time.Parse(time.RFC3339Nano, "2000"+s[i:])
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	return time.Date(year+t.Year()-2000, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), nil
}

func parseBigInt(s string) (*big.Int, error) {
	if len(s) > maxBigDigits+1 {
		return nil, fmt.Errorf("%w: integer of %d digits", ErrTooLarge, len(s))
	}
	z, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, fmt.Errorf("invalid integer %s", quote(s))
	}
	return z, nil
}

func (d *decodeState) enter() error {
	d.depth++
	if d.depth > d.opts.MaxDepth {
		return &SyntaxError{Msg: fmt.Sprintf("nesting deeper than %d", d.opts.MaxDepth), Offset: d.base + int64(d.pos), Err: ErrTooDeep}
	}
	return nil
}

// mapMarker is the raw JSON text that starts a map-as-array.
var mapMarker = []byte(`"^ "`)

// array reads a JSON array: a map ["^ ", …], a tagged value [marker, rep]
// or a vector.
func (d *decodeState) array() (any, error) {
	start := d.pos
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	d.pos++ // '['
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		return []any{}, nil
	}
	if bytes.HasPrefix(d.data[d.pos:], mapMarker) {
		d.pos += len(mapMarker)
		return d.mapEntries(start)
	}
	first, err := d.value(false)
	if err != nil {
		return nil, err
	}
	if tm, ok := first.(tagMarker); ok {
		if err := d.expect(','); err != nil {
			return nil, err
		}
		rep, err := d.value(false)
		if err != nil {
			return nil, err
		}
		if err := d.expect(']'); err != nil {
			return nil, err
		}
		return d.tagged(string(tm), rep, start)
	}
	mark := len(d.stack)
	d.stack = append(d.stack, first)
	defer func() { d.stack = d.stack[:mark] }()
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.syntaxErr("unexpected end of input in array")
		}
		switch d.data[d.pos] {
		case ']':
			d.pos++
			return append([]any(nil), d.stack[mark:]...), nil
		case ',':
			d.pos++
		default:
			return nil, d.errAt(d.pos, "invalid character %q after array element", d.data[d.pos])
		}
		v, err := d.value(false)
		if err != nil {
			return nil, err
		}
		if _, ok := v.(tagMarker); ok {
			return nil, d.errAt(d.pos, "tag marker inside a vector")
		}
		d.stack = append(d.stack, v)
	}
}

// mapEntries reads the key/value pairs after the "^ " marker.
func (d *decodeState) mapEntries(start int) (any, error) {
	mark := len(d.stack)
	defer func() { d.stack = d.stack[:mark] }()
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.syntaxErr("unexpected end of input in map")
		}
		switch d.data[d.pos] {
		case ']':
			d.pos++
			return mapOfPairs(d.stack[mark:]), nil
		case ',':
			d.pos++
		default:
			return nil, d.errAt(d.pos, "invalid character %q in map", d.data[d.pos])
		}
		k, err := d.value(true)
		if err != nil {
			return nil, err
		}
		if err := d.expect(','); err != nil {
			if d.pos < len(d.data) && d.data[d.pos] == ']' {
				return nil, d.errAt(start, "map with an odd number of elements")
			}
			return nil, err
		}
		v, err := d.value(false)
		if err != nil {
			return nil, err
		}
		if err := checkEntry(k, v); err != nil {
			return nil, d.errAt(d.pos, "%v", err)
		}
		d.stack = append(d.stack, k, v)
	}
}

func checkEntry(k, v any) error {
	if _, ok := k.(tagMarker); ok {
		return errors.New("tag marker as a map key")
	}
	if _, ok := v.(tagMarker); ok {
		return errors.New("tag marker as a map value")
	}
	return nil
}

func (d *decodeState) expect(c byte) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return d.syntaxErr("unexpected end of input")
	}
	if d.data[d.pos] != c {
		return d.errAt(d.pos, "invalid character %q, want %q", d.data[d.pos], c)
	}
	d.pos++
	return nil
}

// object reads a JSON object: a verbose tagged value {marker: rep} or map.
func (d *decodeState) object() (any, error) {
	start := d.pos
	if err := d.enter(); err != nil {
		return nil, err
	}
	defer func() { d.depth-- }()
	d.pos++ // '{'
	mark := len(d.stack)
	defer func() { d.stack = d.stack[:mark] }()
	for first := true; ; first = false {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return nil, d.syntaxErr("unexpected end of input in object")
		}
		if d.data[d.pos] == '}' {
			d.pos++
			return mapOfPairs(d.stack[mark:]), nil
		}
		if !first {
			if err := d.expect(','); err != nil {
				return nil, err
			}
			d.skipSpace()
		}
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return nil, d.errAt(d.pos, "object key is not a string")
		}
		k, err := d.stringValue(true)
		if err != nil {
			return nil, err
		}
		if err := d.expect(':'); err != nil {
			return nil, err
		}
		v, err := d.value(false)
		if err != nil {
			return nil, err
		}
		if tm, ok := k.(tagMarker); ok && first {
			if err := d.expect('}'); err != nil {
				return nil, d.errAt(start, "tagged object with more than one field")
			}
			return d.tagged(string(tm), v, start)
		}
		if err := checkEntry(k, v); err != nil {
			return nil, d.errAt(d.pos, "%v", err)
		}
		d.stack = append(d.stack, k, v)
	}
}

// tagged applies the handler of tag to rep (docs/transit.md §6).
func (d *decodeState) tagged(tag string, rep any, pos int) (any, error) {
	if _, ok := rep.(tagMarker); ok {
		return nil, d.errAt(pos, "tag marker as the rep of a tagged value")
	}
	if tag == "" {
		return nil, d.errAt(pos, "empty tag")
	}
	if h := d.opts.ReadHandlers[tag]; h != nil {
		v, err := h(rep)
		if err != nil {
			return nil, d.errAt(pos, "read handler for tag %s: %v", quote(tag), err)
		}
		return v, nil
	}
	v, err := decodeComposite(tag, rep)
	if err != nil {
		return nil, d.wrapErr(pos, err)
	}
	return v, nil
}

// decodeComposite builds the value of a tagged ["~#tag", rep].
func decodeComposite(tag string, rep any) (any, error) {
	switch tag {
	case "'":
		return rep, nil
	case "set":
		elems, ok := rep.([]any)
		if !ok {
			return nil, fmt.Errorf("set rep is %s, not an array", describe(rep))
		}
		return NewSet(elems...), nil
	case "list":
		elems, ok := rep.([]any)
		if !ok {
			return nil, fmt.Errorf("list rep is %s, not an array", describe(rep))
		}
		return List(elems), nil
	case "cmap":
		elems, ok := rep.([]any)
		if !ok || len(elems)%2 != 0 {
			return nil, fmt.Errorf("cmap rep is %s, not an array of even length", describe(rep))
		}
		return mapOfPairs(elems), nil
	case "ratio":
		parts, ok := rep.([]any)
		if !ok || len(parts) != 2 {
			return nil, fmt.Errorf("ratio rep is %s, not a pair", describe(rep))
		}
		num, ok1 := toBigInt(parts[0])
		den, ok2 := toBigInt(parts[1])
		if !ok1 || !ok2 || den.Sign() == 0 {
			return nil, fmt.Errorf("invalid ratio %v/%v", parts[0], parts[1])
		}
		return new(big.Rat).SetFrac(num, den), nil
	case "link":
		m, ok := rep.(*Map)
		if !ok {
			return nil, fmt.Errorf("link rep is %s, not a map", describe(rep))
		}
		return linkFromMap(m)
	case "u":
		if parts, ok := rep.([]any); ok && len(parts) == 2 {
			hi, ok1 := parts[0].(int64)
			lo, ok2 := parts[1].(int64)
			if ok1 && ok2 {
				return uuidFromHalves(hi, lo), nil
			}
		}
	case "m":
		if ms, ok := rep.(int64); ok {
			return time.UnixMilli(ms).UTC(), nil
		}
	}
	if r, size := utf8.DecodeRuneInString(tag); size == len(tag) && size > 0 {
		if s, ok := rep.(string); ok {
			return decodeScalar(r, s)
		}
		switch r {
		case 'u', 'm':
			return nil, fmt.Errorf("invalid %s rep %s", quote(tag), describe(rep))
		}
	}
	return TaggedValue{Tag: tag, Rep: rep}, nil
}

func toBigInt(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case *big.Int:
		return x, true
	case int64:
		return big.NewInt(x), true
	}
	return nil, false
}

func linkFromMap(m *Map) (Link, error) {
	var l Link
	str := func(key string) (string, error) {
		v, ok := m.Get(key)
		if !ok || v == nil {
			return "", nil
		}
		switch x := v.(type) {
		case string:
			return x, nil
		case URI:
			return string(x), nil
		}
		return "", fmt.Errorf("link field %s is %s", quote(key), describe(v))
	}
	var err error
	var href string
	if href, err = str("href"); err != nil {
		return l, err
	}
	l.Href = URI(href)
	for _, f := range []struct {
		key string
		dst *string
	}{{"rel", &l.Rel}, {"name", &l.Name}, {"prompt", &l.Prompt}, {"render", &l.Render}} {
		if *f.dst, err = str(f.key); err != nil {
			return l, err
		}
	}
	return l, nil
}

// describe names the Transit kind of a decoded value, for error messages.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case int64, *big.Int:
		return "integer"
	case float64:
		return "float"
	case Keyword:
		return "keyword"
	case Symbol:
		return "symbol"
	case []any:
		return "array"
	case *Map:
		return "map"
	case Set:
		return "set"
	case List:
		return "list"
	case TaggedValue:
		return "tagged value"
	}
	return fmt.Sprintf("%T", v)
}
