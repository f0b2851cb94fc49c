package edn

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sente-go/sente/transit"
)

// maxWriteDepth bounds nesting on write, which also stops cyclic values.
const maxWriteDepth = 10000

// Marshal returns the EDN text of v as Clojure's pr-str prints the same
// value: "{:a 1, :b [2 3]}", "#{1 2}", "(1 2)", "\"s\"", "\\a", "1N",
// "1.5M", "1/3", "##NaN", "#inst \"…\"", "#uuid \"…\"", "#tag rep". See
// the package documentation for the values it accepts.
func Marshal(v any) ([]byte, error) {
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf {
			bufPool.Put(bp)
		}
	}()
	b, err := AppendMarshal((*bp)[:0], v)
	*bp = b
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// bufPool holds Marshal's scratch buffers, so that a value is copied out
// once instead of growing a new slice step by step; buffers beyond
// maxPooledBuf are dropped.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledBuf = 64 << 10

// AppendMarshal appends the EDN text of v to dst. On error dst is returned
// with its length unchanged.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	e := encodeState{buf: dst}
	if err := e.write(v); err != nil {
		return dst, err
	}
	return e.buf, nil
}

// encodeState writes one value into buf.
type encodeState struct {
	buf   []byte
	depth int
}

func (e *encodeState) enter(v any) error {
	e.depth++
	if e.depth > maxWriteDepth {
		return &UnsupportedValueError{Value: v, Reason: fmt.Sprintf("nesting deeper than %d (cyclic value?)", maxWriteDepth)}
	}
	return nil
}

// write appends v: the value model's types directly, Go's basic kinds by
// kind, anything else (structs, Go maps, typed slices, pointers,
// transit.Marshaler) as package transit maps it to the value model.
func (e *encodeState) write(v any) error {
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "nil"...)
	case string:
		e.buf = appendString(e.buf, x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case float64:
		e.writeFloat(x, 64)
	case transit.Keyword:
		if !validKeyword(string(x)) {
			return &UnsupportedValueError{Value: v, Reason: "not a readable keyword"}
		}
		e.buf = append(append(e.buf, ':'), x...)
	case transit.Symbol:
		if !validSymbol(string(x)) {
			return &UnsupportedValueError{Value: v, Reason: "not a readable symbol"}
		}
		e.buf = append(e.buf, x...)
	case []any:
		return e.writeSeq(v, "[", ']', x)
	case transit.List:
		return e.writeSeq(v, "(", ')', x)
	case transit.Set:
		return e.writeSeq(v, "#{", '}', x)
	case *transit.Map:
		return e.writeMap(x)
	case transit.Char:
		return e.writeChar(x)
	case transit.UUID:
		e.buf = append(e.buf, `#uuid "`...)
		e.buf = append(e.buf, x.String()...)
		e.buf = append(e.buf, '"')
	case time.Time:
		b, ok := appendInst(e.buf, x)
		if !ok {
			return &UnsupportedValueError{Value: v, Reason: "an #inst year must be 0000-9999"}
		}
		e.buf = b
	case *big.Int:
		if x == nil {
			e.buf = append(e.buf, "nil"...)
			return nil
		}
		e.buf = append(x.Append(e.buf, 10), 'N')
	case big.Int:
		e.buf = append(x.Append(e.buf, 10), 'N')
	case transit.BigDecimal:
		e.buf = append(append(e.buf, x.String()...), 'M')
	case *big.Rat:
		if x == nil {
			e.buf = append(e.buf, "nil"...)
			return nil
		}
		e.buf = x.Num().Append(e.buf, 10)
		if x.IsInt() { // Clojure has no ratio n/1: it is the integer nN
			e.buf = append(e.buf, 'N')
			return nil
		}
		e.buf = x.Denom().Append(append(e.buf, '/'), 10)
	case transit.TaggedValue:
		return e.writeTagged(x)
	case transit.URI:
		return &UnsupportedValueError{Value: v, Reason: "EDN has no URI literal (Clojure prints #object[java.net.URI …], which no reader reads)"}
	case []byte:
		return &UnsupportedValueError{Value: v, Reason: "EDN has no bytes literal"}
	case transit.Link:
		return &UnsupportedValueError{Value: v, Reason: "EDN has no link literal"}
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(x), 10)
	case uint:
		e.writeUint(uint64(x))
	case uint64:
		e.writeUint(x)
	case float32:
		e.writeFloat(float64(x), 32)
	default:
		return e.writeReflect(v)
	}
	return nil
}

// writeUint writes n, as a big integer (with N) beyond int64 as transit
// does.
func (e *encodeState) writeUint(n uint64) {
	e.buf = strconv.AppendUint(e.buf, n, 10)
	if n > math.MaxInt64 {
		e.buf = append(e.buf, 'N')
	}
}

// writeFloat writes a double as Clojure prints it; bits 32 gives a Go
// float32 its own shortest digits, as transit does.
func (e *encodeState) writeFloat(f float64, bits int) {
	switch {
	case math.IsNaN(f):
		e.buf = append(e.buf, "##NaN"...)
	case math.IsInf(f, 1):
		e.buf = append(e.buf, "##Inf"...)
	case math.IsInf(f, -1):
		e.buf = append(e.buf, "##-Inf"...)
	default:
		e.buf = transit.AppendJavaFloat(e.buf, f, bits) // as Clojure prints a double
	}
}

var marshalerType = reflect.TypeFor[transit.Marshaler]()

// writeReflect writes a value of a type outside the value model. Basic
// kinds (a named string or int type) are written by kind; anything else
// is converted to the value model by package transit (Marshal, then
// Unmarshal), so that a struct, a Go map or a Marshaler has the same value
// in EDN as in Transit, field names and omitempty included.
func (e *encodeState) writeReflect(v any) error {
	rv := reflect.ValueOf(v)
	if !rv.Type().Implements(marshalerType) {
		switch rv.Kind() {
		case reflect.String:
			e.buf = appendString(e.buf, rv.String())
			return nil
		case reflect.Bool:
			e.buf = strconv.AppendBool(e.buf, rv.Bool())
			return nil
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			e.buf = strconv.AppendInt(e.buf, rv.Int(), 10)
			return nil
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
			e.writeUint(rv.Uint())
			return nil
		case reflect.Float32:
			e.writeFloat(rv.Float(), 32)
			return nil
		case reflect.Float64:
			e.writeFloat(rv.Float(), 64)
			return nil
		}
	}
	if err := e.enter(v); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	b, err := transit.Marshal(v)
	if err != nil {
		return fmt.Errorf("edn: %T to the value model: %w", v, err)
	}
	m, err := transit.Unmarshal(b)
	if err != nil {
		return fmt.Errorf("edn: %T to the value model: %w", v, err)
	}
	return e.write(m)
}

// writeSeq writes a vector, list or set: elements separated by a space.
func (e *encodeState) writeSeq(v any, open string, close byte, elems []any) error {
	if err := e.enter(v); err != nil {
		return err
	}
	e.buf = append(e.buf, open...)
	for i, x := range elems {
		if i > 0 {
			e.buf = append(e.buf, ' ')
		}
		if err := e.write(x); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, close)
	e.depth--
	return nil
}

// writeMap writes {k v, k v} in the map's order.
func (e *encodeState) writeMap(m *transit.Map) error {
	if err := e.enter(m); err != nil {
		return err
	}
	e.buf = append(e.buf, '{')
	vals := m.Values()
	for i, k := range m.Keys() {
		if i > 0 {
			e.buf = append(e.buf, ',', ' ')
		}
		if err := e.write(k); err != nil {
			return err
		}
		e.buf = append(e.buf, ' ')
		if err := e.write(vals[i]); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	e.depth--
	return nil
}

// writeTagged writes #tag rep, as Clojure prints a tagged literal.
func (e *encodeState) writeTagged(t transit.TaggedValue) error {
	if !validTag(t.Tag) {
		return &UnsupportedValueError{Value: t, Reason: "the tag is not a symbol that can follow #"}
	}
	if err := e.enter(t); err != nil {
		return err
	}
	e.buf = append(append(append(e.buf, '#'), t.Tag...), ' ')
	if err := e.write(t.Rep); err != nil {
		return err
	}
	e.depth--
	return nil
}

// charNames are the characters Clojure prints by name.
var charNames = map[transit.Char]string{
	'\n': `\newline`, ' ': `\space`, '\t': `\tab`, '\b': `\backspace`, '\f': `\formfeed`, '\r': `\return`,
}

// writeChar writes a character as Clojure prints it (\a, \é, \newline),
// except that a control, space, format or unassigned character of the
// Basic Multilingual Plane, which Clojure prints raw after the backslash,
// is written \uXXXX (\u0000, \u00a0, \u2028): every reader reads both
// forms as the same character, and only the second survives being shown.
func (e *encodeState) writeChar(c transit.Char) error {
	r := rune(c)
	if name, ok := charNames[c]; ok {
		e.buf = append(e.buf, name...)
		return nil
	}
	if r < 0 || r > unicode.MaxRune || 0xD800 <= r && r <= 0xDFFF {
		return &UnsupportedValueError{Value: c, Reason: "not a Unicode scalar value"}
	}
	if r <= 0xFFFF && (!unicode.IsGraphic(r) || unicode.Is(unicode.Zs, r) || isSpace(r) && r != ',') {
		const hex = "0123456789abcdef"
		e.buf = append(e.buf, '\\', 'u', hex[r>>12], hex[r>>8&0xF], hex[r>>4&0xF], hex[r&0xF])
		return nil
	}
	e.buf = utf8.AppendRune(append(e.buf, '\\'), r)
	return nil
}

// appendString appends s as Clojure prints a string: in quotes, with \"
// \\ \n \t \r \f \b escaped and everything else raw. Invalid UTF-8 is
// written as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, s[start:i]...)
				b = append(b, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		var esc byte
		switch c {
		case '"':
			esc = '"'
		case '\\':
			esc = '\\'
		case '\n':
			esc = 'n'
		case '\t':
			esc = 't'
		case '\r':
			esc = 'r'
		case '\f':
			esc = 'f'
		case '\b':
			esc = 'b'
		default:
			i++
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
