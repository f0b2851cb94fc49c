package edn

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sente-go/sente/transit"
)

// Defaults for DecoderOptions fields left at zero (those of transit).
const (
	// DefaultMaxDepth is the default nesting limit: collections, tagged
	// literals, metadata and discards each count one level.
	DefaultMaxDepth = transit.DefaultMaxDepth
	// DefaultMaxValueBytes is the default size limit of one top-level value.
	DefaultMaxValueBytes = transit.DefaultMaxValueBytes
)

// DecoderOptions configures decoding. The zero value is ready to use and
// applies the defaults documented on each field. Options are read, never
// modified, so one value may be shared by several goroutines.
type DecoderOptions struct {
	// MaxDepth is the deepest nesting accepted. Zero means
	// DefaultMaxDepth; negative is invalid.
	MaxDepth int
	// MaxValueBytes is the largest top-level value, in bytes of input, that
	// a Decoder buffers or Unmarshal accepts. Zero means
	// DefaultMaxValueBytes; negative is invalid.
	MaxValueBytes int
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
	return o, nil
}

// Unmarshal reads exactly one EDN value, with optional whitespace,
// comments and discarded forms around it, into the value model of package
// transit. Empty input is an error (unlike clojure.edn, which reads nil).
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
	if err == errNoValue {
		return nil, d.errAt(d.pos, "no value in the input")
	}
	if err != nil {
		return nil, err
	}
	if err := d.skip(); err != nil {
		return nil, err
	}
	if d.pos < len(d.data) {
		return nil, d.errAt(d.pos, "data after the top-level value")
	}
	return v, nil
}

// UnmarshalInto reads one EDN value into the Go value v points to, with
// the conversions of transit.Assign (structs from keyword-keyed maps,
// slices from vectors, …).
func UnmarshalInto(data []byte, v any) error { return DecoderOptions{}.UnmarshalInto(data, v) }

// UnmarshalInto is UnmarshalInto with these options.
func (o DecoderOptions) UnmarshalInto(data []byte, v any) error {
	x, err := o.Unmarshal(data)
	if err != nil {
		return err
	}
	return transit.Assign(v, x)
}

// errNoValue is returned by top when the input holds only whitespace,
// comments and discarded forms.
var errNoValue = errors.New("edn: no value")

// decodeState parses values held in memory.
type decodeState struct {
	data  []byte
	pos   int
	base  int64 // stream offset of data[0]
	depth int
	opts  *DecoderOptions
	stack []any          // elements of the collections being read
	kw    map[string]any // interned keywords, boxed once
	buf   []byte         // scratch for strings with escapes
}

// maxInterned and maxInternedLen bound the keyword intern table of one
// decodeState (entries, bytes per keyword).
const (
	maxInterned    = 4096
	maxInternedLen = 64
)

var decodeStatePool = sync.Pool{New: func() any { return new(decodeState) }}

func getDecodeState(o *DecoderOptions) *decodeState {
	d := decodeStatePool.Get().(*decodeState)
	d.opts = o
	return d
}

// putDecodeState drops references to the input and the values read, so
// that the pool pins neither, and returns d to the pool.
func putDecodeState(d *decodeState) {
	clear(d.stack[:cap(d.stack)])
	d.stack = d.stack[:0]
	d.data, d.opts = nil, nil
	if cap(d.buf) > 64<<10 {
		d.buf = nil
	}
	decodeStatePool.Put(d)
}

func (d *decodeState) reset(data []byte, base int64) {
	d.data, d.pos, d.base, d.depth = data, 0, base, 0
}

// errAt makes a SyntaxError at pos. Arguments taken from the input go
// through clip, and the message is clipped (clipMsg) in case one did not.
func (d *decodeState) errAt(pos int, format string, args ...any) error {
	return &SyntaxError{Msg: clipMsg(fmt.Sprintf(format, args...)), Offset: d.base + int64(pos)}
}

// wrapAt makes a SyntaxError at pos of an error from a value builder,
// keeping the ErrTooLarge sentinel.
func (d *decodeState) wrapAt(pos int, err error) error {
	se := &SyntaxError{Msg: clipMsg(strings.TrimPrefix(err.Error(), "edn: ")), Offset: d.base + int64(pos)}
	if errors.Is(err, ErrTooLarge) {
		se.Err = ErrTooLarge
	}
	return se
}

func (d *decodeState) enter() error {
	d.depth++
	if d.depth > d.opts.MaxDepth {
		return &SyntaxError{Msg: fmt.Sprintf("nesting deeper than %d", d.opts.MaxDepth), Offset: d.base + int64(d.pos), Err: ErrTooDeep}
	}
	return nil
}

// keyword returns the keyword named b as an interface value, boxing each
// distinct name once per decodeState.
func (d *decodeState) keyword(b []byte) any {
	if v, ok := d.kw[string(b)]; ok {
		return v
	}
	k := transit.Keyword(b)
	v := any(k)
	if len(d.kw) < maxInterned && len(b) <= maxInternedLen {
		if d.kw == nil {
			d.kw = make(map[string]any)
		}
		d.kw[string(k)] = v
	}
	return v
}

// top reads the first value, skipping what precedes it; errNoValue if
// there is none.
func (d *decodeState) top() (any, error) {
	if err := d.skip(); err != nil {
		return nil, err
	}
	if d.pos >= len(d.data) {
		return nil, errNoValue
	}
	return d.value()
}

// skip skips whitespace (commas included), comments (";" and "#!" to the
// end of the line) and discarded forms ("#_ form").
func (d *decodeState) skip() error {
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c < utf8.RuneSelf && asciiSpace[c]:
			d.pos++
		case c == ';':
			d.skipLine()
		case c == '#' && d.pos+1 < len(d.data) && d.data[d.pos+1] == '!':
			d.skipLine()
		case c == '#' && d.pos+1 < len(d.data) && d.data[d.pos+1] == '_':
			start := d.pos
			d.pos += 2
			if err := d.enter(); err != nil {
				return err
			}
			if err := d.skip(); err != nil {
				return err
			}
			if d.pos >= len(d.data) {
				return d.errAt(d.pos, "unexpected end of input in #_ discard at offset %d", d.base+int64(start))
			}
			if _, err := d.value(); err != nil {
				return err
			}
			d.depth--
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			if !isSpace(r) {
				return nil
			}
			d.pos += size
		default:
			return nil
		}
	}
	return nil
}

// skipLine skips to the end of the line (a '\n'), or of the input.
func (d *decodeState) skipLine() {
	if i := bytes.IndexByte(d.data[d.pos:], '\n'); i >= 0 {
		d.pos += i + 1
	} else {
		d.pos = len(d.data)
	}
}

// value reads the value at d.pos, after skipping what precedes it.
func (d *decodeState) value() (any, error) {
	if err := d.skip(); err != nil {
		return nil, err
	}
	if d.pos >= len(d.data) {
		return nil, d.errAt(d.pos, "unexpected end of input")
	}
	switch c := d.data[d.pos]; c {
	case '"':
		return d.str()
	case ':':
		return d.keywordToken()
	case '\\':
		return d.char()
	case '[':
		elems, err := d.seqSlice("vector", ']')
		if err != nil {
			return nil, err
		}
		return elems, nil
	case '(':
		elems, err := d.seqSlice("list", ')')
		if err != nil {
			return nil, err
		}
		return transit.List(elems), nil
	case '{':
		return d.mapLiteral()
	case '#':
		return d.dispatch()
	case '^':
		d.pos++
		return d.meta()
	case ')', ']', '}':
		return nil, d.errAt(d.pos, "unmatched delimiter %q", c)
	case '@', '`', '~':
		return nil, d.errAt(d.pos, "invalid character %q", c)
	}
	// A digit of any script, or a sign and a digit, starts a number (one
	// in a script other than ASCII fails as tools.reader's does).
	if startsNumber(d.data[d.pos:]) {
		return d.number()
	}
	return d.symbol()
}

// token reads the token at d.pos: runes up to whitespace, a terminating
// macro character (or, for a number, any macro character) or the end of
// input. @ ` ~ and invalid UTF-8 are errors.
func (d *decodeState) token(kind string, number bool) ([]byte, error) {
	start, i := d.pos, d.pos
	for i < len(d.data) {
		c := d.data[i]
		if c < utf8.RuneSelf {
			if asciiSpace[c] || isTerminating(rune(c)) || number && (c == '#' || c == ':') {
				break
			}
			if notConstituent(rune(c)) && !number {
				return nil, d.errAt(i, "invalid character %q in %s", c, kind)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(d.data[i:])
		if r == utf8.RuneError && size == 1 {
			return nil, d.errAt(i, "invalid UTF-8 in %s", kind)
		}
		if isSpace(r) {
			break
		}
		i += size
	}
	d.pos = i
	return d.data[start:i], nil
}

func (d *decodeState) symbol() (any, error) {
	start := d.pos
	tok, err := d.token("symbol", false)
	if err != nil {
		return nil, err
	}
	switch string(tok) {
	case "nil":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if !parseSymbol(string(tok)) {
		return nil, d.errAt(start, "invalid symbol %q", clip(string(tok)))
	}
	return transit.Symbol(tok), nil
}

func (d *decodeState) keywordToken() (any, error) {
	start := d.pos
	d.pos++ // ':'
	if d.pos >= len(d.data) {
		return nil, d.errAt(start, "unexpected end of input after ':'")
	}
	if r, _ := utf8.DecodeRune(d.data[d.pos:]); isSpace(r) {
		return nil, d.errAt(start, "a single colon is not a keyword")
	}
	tok, err := d.token("keyword", false)
	if err != nil {
		return nil, err
	}
	if v, ok := d.kw[string(tok)]; ok { // seen, so valid: no conversion, no check
		return v, nil
	}
	s := string(tok)
	switch {
	case strings.HasPrefix(s, ":"):
		return nil, d.errAt(start, "auto-resolved keyword :%s is not EDN", clip(s))
	case !parseSymbol(s) || strings.Contains(s, "::"):
		return nil, d.errAt(start, "invalid keyword :%s", clip(s))
	}
	return d.keyword(tok), nil
}

func (d *decodeState) number() (any, error) {
	start := d.pos
	tok, err := d.token("number", true)
	if err != nil {
		return nil, err
	}
	if n, ok := smallInt(tok); ok {
		return n, nil
	}
	v, err := parseNumber(string(tok))
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return nil, d.wrapAt(start, err)
		}
		return nil, d.errAt(start, "%s %q", err, clip(string(tok)))
	}
	return v, nil
}

// smallInt reads the common integer token: an optional '-', then "0" or
// up to 18 digits not starting with 0.
func smallInt(tok []byte) (int64, bool) {
	digits := tok
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 18 || digits[0] == '0' && len(digits) > 1 {
		return 0, false
	}
	var n int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(digits) < len(tok) {
		n = -n
	}
	return n, true
}

// char reads a character literal: \c for any single character, \newline
// \space \tab \backspace \formfeed \return, \uXXXX (not a surrogate) and
// \o followed by one to three octal digits (at most \o377).
func (d *decodeState) char() (any, error) {
	start := d.pos
	d.pos++ // '\\'
	if d.pos >= len(d.data) {
		return nil, d.errAt(start, "unexpected end of input in character")
	}
	r, size := utf8.DecodeRune(d.data[d.pos:])
	if r == utf8.RuneError && size == 1 {
		return nil, d.errAt(d.pos, "invalid UTF-8 in character")
	}
	if isTerminating(r) || notConstituent(r) || isSpace(r) {
		d.pos += size
		return transit.Char(r), nil
	}
	tok, err := d.token("character", false)
	if err != nil {
		return nil, err
	}
	if len(tok) == size {
		return transit.Char(r), nil
	}
	s := string(tok)
	switch s {
	case "newline":
		return transit.Char('\n'), nil
	case "space":
		return transit.Char(' '), nil
	case "tab":
		return transit.Char('\t'), nil
	case "backspace":
		return transit.Char('\b'), nil
	case "formfeed":
		return transit.Char('\f'), nil
	case "return":
		return transit.Char('\r'), nil
	}
	switch s[0] {
	case 'u':
		if len(s) != 5 || !allDigits(s[1:], 16) {
			return nil, d.errAt(start, "invalid unicode character \\%s", clip(s))
		}
		n := hexValue(s[1:])
		if utf16.IsSurrogate(rune(n)) {
			return nil, d.errAt(start, "invalid character \\%s: a surrogate", s)
		}
		return transit.Char(rune(n)), nil
	case 'o':
		if len(s) > 4 || !allDigits(s[1:], 8) {
			return nil, d.errAt(start, "invalid octal character \\%s", clip(s))
		}
		n := 0
		for _, c := range []byte(s[1:]) {
			n = n*8 + int(c-'0')
		}
		if n > 0o377 {
			return nil, d.errAt(start, "octal character \\%s beyond \\o377", s)
		}
		return transit.Char(rune(n)), nil
	}
	return nil, d.errAt(start, "unsupported character \\%s", clip(s))
}

// hexValue returns the value of hex digits s (already checked).
func hexValue(s string) int {
	n := 0
	for _, c := range []byte(s) {
		switch {
		case c <= '9':
			n = n*16 + int(c-'0')
		case c >= 'a':
			n = n*16 + int(c-'a') + 10
		default:
			n = n*16 + int(c-'A') + 10
		}
	}
	return n
}

// str reads a string literal. Escapes: \t \r \n \\ \" \b \f, \uXXXX
// (exactly four hex digits; a surrogate pair makes one character, a lone
// surrogate U+FFFD) and octal \0 to \377 (one to three digits, ended by
// whitespace, a macro character or a fourth character). Other characters,
// raw newlines and controls included, stand for themselves; invalid UTF-8
// becomes U+FFFD, byte by byte.
func (d *decodeState) str() (any, error) {
	start := d.pos
	d.pos++
	b := d.data
	i := d.pos
	for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] < utf8.RuneSelf {
		i++
	}
	if i < len(b) && b[i] == '"' { // plain ASCII
		d.pos = i + 1
		return string(b[start+1 : i]), nil
	}
	out := append(d.buf[:0], b[start+1:i]...)
	for {
		if i >= len(b) {
			d.buf = out
			return nil, d.errAt(start, "unexpected end of input in string")
		}
		c := b[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.buf = out
			return string(out), nil
		case c == '\\':
			var err error
			if out, i, err = d.escape(out, i); err != nil {
				d.buf = out
				return nil, err
			}
		case c < utf8.RuneSelf:
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

// escape appends the character of the escape at b[i] ('\\') to out and
// returns the index after the escape.
func (d *decodeState) escape(out []byte, i int) ([]byte, int, error) {
	b := d.data
	if i+1 >= len(b) {
		return out, i, d.errAt(i, "unexpected end of input in string escape")
	}
	switch c := b[i+1]; c {
	case 't':
		return append(out, '\t'), i + 2, nil
	case 'r':
		return append(out, '\r'), i + 2, nil
	case 'n':
		return append(out, '\n'), i + 2, nil
	case '\\':
		return append(out, '\\'), i + 2, nil
	case '"':
		return append(out, '"'), i + 2, nil
	case 'b':
		return append(out, '\b'), i + 2, nil
	case 'f':
		return append(out, '\f'), i + 2, nil
	case 'u':
		r, ok := hex4(b, i+2)
		if !ok {
			return out, i, d.errAt(i, "invalid unicode escape in string: want \\u and four hex digits")
		}
		i += 6
		if utf16.IsSurrogate(r) {
			if r2, ok := hex4(b, i+2); ok && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					return utf8.AppendRune(out, dec), i + 6, nil
				}
			}
			r = utf8.RuneError // a lone surrogate has no UTF-8 form
		}
		return utf8.AppendRune(out, r), i, nil
	default:
		if c < '0' || c > '9' {
			if c >= utf8.RuneSelf {
				r, _ := utf8.DecodeRune(b[i+1:])
				return out, i, d.errAt(i, "unsupported escape character \\%c in string", r)
			}
			return out, i, d.errAt(i, "unsupported escape character \\%c in string", c)
		}
		n, j := 0, i+1
		for ; j < len(b) && j < i+4; j++ {
			c := b[j]
			if c < utf8.RuneSelf && (asciiSpace[c] || isMacro(rune(c))) {
				break
			}
			if c >= utf8.RuneSelf {
				if r, _ := utf8.DecodeRune(b[j:]); isSpace(r) {
					break
				}
			}
			if c < '0' || c > '7' {
				return out, i, d.errAt(j, "invalid digit %q in octal escape", rune(c))
			}
			n = n*8 + int(c-'0')
		}
		if n > 0o377 {
			return out, i, d.errAt(i, "octal escape beyond \\377 in string")
		}
		return utf8.AppendRune(out, rune(n)), j, nil
	}
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r*16 + rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r*16 + rune(c-'a') + 10
		case 'A' <= c && c <= 'F':
			r = r*16 + rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

// seq reads the elements of a collection from its opening delimiter at
// d.pos to close and leaves them on d.stack from the returned base; the
// caller builds its value from them and drops them (dropStack).
func (d *decodeState) seq(kind string, close byte) (base int, err error) {
	start := d.pos
	if err := d.enter(); err != nil {
		return 0, err
	}
	d.pos++
	base = len(d.stack)
	for {
		if err := d.skip(); err != nil {
			d.dropStack(base)
			return 0, err
		}
		if d.pos >= len(d.data) {
			d.dropStack(base)
			return 0, d.errAt(d.pos, "unexpected end of input in %s starting at offset %d", kind, d.base+int64(start))
		}
		if d.data[d.pos] == close {
			d.pos++
			break
		}
		v, err := d.value()
		if err != nil {
			d.dropStack(base)
			return 0, err
		}
		d.stack = append(d.stack, v)
	}
	d.depth--
	return base, nil
}

// seqSlice reads a collection with seq and returns its elements as a new
// slice.
func (d *decodeState) seqSlice(kind string, close byte) ([]any, error) {
	base, err := d.seq(kind, close)
	if err != nil {
		return nil, err
	}
	elems := make([]any, len(d.stack)-base)
	copy(elems, d.stack[base:])
	d.dropStack(base)
	return elems, nil
}

// dropStack truncates the element stack to n, dropping references.
func (d *decodeState) dropStack(n int) {
	clear(d.stack[n:])
	d.stack = d.stack[:n]
}

func (d *decodeState) mapLiteral() (any, error) {
	start := d.pos
	base, err := d.seq("map", '}')
	if err != nil {
		return nil, err
	}
	m, err := d.buildMap(start, "map", d.stack[base:])
	d.dropStack(base)
	return m, err
}

// buildMap makes a map of alternating keys and values (copied); an odd
// count or a repeated key is an error, as in Clojure.
func (d *decodeState) buildMap(start int, kind string, elems []any) (any, error) {
	if len(elems)%2 != 0 {
		return nil, d.errAt(start, "%s literal with an odd number of forms (%d)", kind, len(elems))
	}
	m := transit.NewMap(elems...)
	if m.Len() != len(elems)/2 {
		seen := &transit.Map{}
		for i := 0; i < len(elems); i += 2 {
			if _, dup := seen.Get(elems[i]); dup {
				return nil, d.errAt(start, "duplicate key %s in %s", describeValue(elems[i]), kind)
			}
			seen.Set(elems[i], nil)
		}
	}
	return m, nil
}

// describeValue shows v in an error message, as EDN when it can.
func describeValue(v any) string {
	if b, err := Marshal(v); err == nil {
		return clip(string(b))
	}
	return describeType(v)
}

// dispatch reads a form starting with '#' (but not #_ or #!, which skip
// handles): a set, a symbolic value, a namespaced map, metadata or a
// tagged literal.
func (d *decodeState) dispatch() (any, error) {
	start := d.pos
	if d.pos+1 >= len(d.data) {
		return nil, d.errAt(start, "unexpected end of input after '#'")
	}
	switch d.data[d.pos+1] {
	case '{':
		d.pos++
		elems, err := d.seqSlice("set", '}')
		if err != nil {
			return nil, err
		}
		s := transit.NewSet(elems...)
		if len(s) != len(elems) {
			seen := transit.Set{}
			for _, e := range elems {
				if seen.Contains(e) {
					return nil, d.errAt(start, "duplicate element %s in set", describeValue(e))
				}
				seen = append(seen, e)
			}
		}
		return s, nil
	case '#':
		return d.symbolic()
	case ':':
		return d.namespacedMap()
	case '^':
		d.pos += 2
		return d.meta()
	case '<':
		return nil, d.errAt(start, "unreadable form #<")
	case '_', '!': // reached only through skip's callers; read them the same way
		if err := d.skip(); err != nil {
			return nil, err
		}
		return d.value()
	}
	return d.tagged()
}

// symbolic reads ##Inf, ##-Inf or ##NaN.
func (d *decodeState) symbolic() (any, error) {
	start := d.pos
	d.pos += 2
	if err := d.enter(); err != nil {
		return nil, err
	}
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.depth--
	if sym, ok := v.(transit.Symbol); ok {
		switch sym {
		case "Inf":
			return posInf, nil
		case "-Inf":
			return negInf, nil
		case "NaN":
			return nan, nil
		}
	}
	return nil, d.errAt(start, "invalid symbolic value ##%s", describeValue(v))
}

// namespacedMap reads #:ns{…}: keys that are keywords or symbols without
// a namespace get ns, those with the namespace _ lose it.
func (d *decodeState) namespacedMap() (any, error) {
	start := d.pos
	d.pos += 2
	if d.pos < len(d.data) && d.data[d.pos] == ':' {
		return nil, d.errAt(start, "auto-resolved namespaced map #:: is not EDN")
	}
	tok, err := d.token("namespaced map", false)
	if err != nil {
		return nil, err
	}
	ns := string(tok)
	if !parseSymbol(ns) || strings.IndexByte(ns, '/') >= 0 {
		return nil, d.errAt(start, "invalid namespace %q in namespaced map", clip(ns))
	}
	for d.pos < len(d.data) {
		r, size := utf8.DecodeRune(d.data[d.pos:])
		if !isSpace(r) {
			break
		}
		d.pos += size
	}
	if d.pos >= len(d.data) || d.data[d.pos] != '{' {
		return nil, d.errAt(d.pos, "namespaced map #:%s must be followed by a map", clip(ns))
	}
	elems, err := d.seqSlice("namespaced map", '}')
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(elems); i += 2 {
		k, ok := namespaced(ns, elems[i])
		if !ok {
			return nil, d.errAt(start, "key %s of namespaced map #:%s makes an unreadable name", describeValue(elems[i]), ns)
		}
		elems[i] = k
	}
	return d.buildMap(start, "namespaced map", elems)
}

// namespaced qualifies key k of a #:ns map; ok is false if the result is
// not a readable keyword or symbol.
func namespaced(ns string, k any) (any, bool) {
	switch x := k.(type) {
	case transit.Keyword:
		switch x.Namespace() {
		case "":
			x = transit.Keyword(ns + "/" + string(x))
		case "_":
			x = transit.Keyword(x.Name())
		}
		return x, validKeyword(string(x))
	case transit.Symbol:
		switch x.Namespace() {
		case "":
			x = transit.Symbol(ns + "/" + string(x))
		case "_":
			x = transit.Symbol(x.Name())
		}
		return x, validSymbol(string(x))
	}
	return k, true
}

// meta reads metadata and the form it applies to, after '^' or "#^", and
// returns the form: metadata is dropped, as the value model has none. The
// metadata must be a map, keyword, symbol, string or vector, and the form
// a symbol or a collection, as in Clojure.
func (d *decodeState) meta() (any, error) {
	start := d.pos - 1
	if err := d.enter(); err != nil {
		return nil, err
	}
	m, err := d.value()
	if err != nil {
		return nil, err
	}
	switch m.(type) {
	case *transit.Map, transit.Keyword, transit.Symbol, string, []any:
	default:
		return nil, d.errAt(start, "metadata must be a map, keyword, symbol, string or vector, not %s", describeValue(m))
	}
	if err := d.skip(); err != nil {
		return nil, err
	}
	at := d.pos
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	switch v.(type) {
	case transit.Symbol, transit.List, []any, *transit.Map, transit.Set:
	default:
		return nil, d.errAt(at, "metadata cannot be attached to %s", describeValue(v))
	}
	d.depth--
	return v, nil
}

// tagged reads #tag form: #inst and #uuid become time.Time and
// transit.UUID, any other tag a transit.TaggedValue.
func (d *decodeState) tagged() (any, error) {
	start := d.pos
	d.pos++ // '#'
	if err := d.enter(); err != nil {
		return nil, err
	}
	t, err := d.value()
	if err != nil {
		return nil, err
	}
	tag, ok := t.(transit.Symbol)
	if !ok {
		return nil, d.errAt(start, "reader tag must be a symbol, not %s", describeValue(t))
	}
	if !validTag(string(tag)) {
		return nil, d.errAt(start, "invalid reader tag %s", clip(string(tag)))
	}
	if err := d.skip(); err != nil {
		return nil, err
	}
	at := d.pos
	v, err := d.value()
	if err != nil {
		return nil, err
	}
	d.depth--
	switch tag {
	case "inst":
		s, ok := v.(string)
		if !ok {
			return nil, d.errAt(at, "#inst takes a string, not %s", describeValue(v))
		}
		t, err := parseInst(s)
		if err != nil {
			return nil, d.errAt(at, "invalid #inst timestamp %q", clip(s))
		}
		return t, nil
	case "uuid":
		s, ok := v.(string)
		if !ok {
			return nil, d.errAt(at, "#uuid takes a string, not %s", describeValue(v))
		}
		u, err := transit.ParseUUID(s)
		if err != nil {
			return nil, d.errAt(at, "invalid #uuid %q", clip(s))
		}
		return u, nil
	}
	return transit.TaggedValue{Tag: string(tag), Rep: v}, nil
}
