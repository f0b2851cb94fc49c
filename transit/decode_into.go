package transit

import (
	"bytes"
	"math/big"
	"reflect"
	"strconv"
	"time"
)

// into decodes the next value into v, filling structs, slices, strings,
// numbers and booleans directly from the input; anything else is decoded
// generically and stored with assign. The read cache sees every string in
// document order either way.
func (d *decodeState) into(v reflect.Value) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return d.syntaxErr("unexpected end of input")
	}
	c := d.data[d.pos]
	t := v.Type()
	if directTarget(t) {
		switch v.Kind() {
		case reflect.Pointer:
			if c == 'n' {
				if err := d.literal("null"); err != nil {
					return err
				}
				v.SetZero()
				return nil
			}
			if v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			return d.into(v.Elem())
		case reflect.String:
			if c == '"' {
				return d.stringInto(v)
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if c == '-' || '0' <= c && c <= '9' {
				return d.intInto(v)
			}
			if c == '"' && bytes.HasPrefix(d.data[d.pos:], []byte(`"~i`)) {
				return d.taggedIntInto(v)
			}
		case reflect.Bool:
			if c == 't' || c == 'f' {
				b := c == 't'
				lit := "false"
				if b {
					lit = "true"
				}
				if err := d.literal(lit); err != nil {
					return err
				}
				v.SetBool(b)
				return nil
			}
		case reflect.Struct:
			if c == '[' && bytes.HasPrefix(d.data[d.pos+1:], mapMarker) {
				return d.structInto(v)
			}
		case reflect.Slice:
			if c == '[' && t.Elem().Kind() != reflect.Uint8 && !bytes.HasPrefix(d.data[d.pos+1:], mapMarker) {
				return d.sliceInto(v)
			}
		}
	}
	return d.genericInto(v)
}

// genericInto decodes the next value generically and assigns it to v.
func (d *decodeState) genericInto(v reflect.Value) error {
	x, err := d.value(false)
	if err != nil {
		return err
	}
	if tm, ok := x.(tagMarker); ok {
		return d.errAt(d.pos, "tag marker %s outside a tagged value", quote("~#"+string(tm)))
	}
	return assign(v, x)
}

// directTarget reports whether into may fill values of t itself: not the
// value model's types, interfaces or Unmarshalers, which assign handles.
func directTarget(t reflect.Type) bool {
	switch t {
	case keywordType, symbolType, uriType, reflect.TypeFor[time.Time](), reflect.TypeFor[big.Int](),
		reflect.TypeFor[*big.Int](), reflect.TypeFor[*big.Rat](), reflect.TypeFor[*Map](), reflect.TypeFor[Set](),
		reflect.TypeFor[List](), reflect.TypeFor[Char](), reflect.TypeFor[UUID](), reflect.TypeFor[BigDecimal](),
		reflect.TypeFor[Link](), reflect.TypeFor[TaggedValue](), reflect.TypeFor[[]any]():
		return false
	}
	return t.Kind() != reflect.Interface && !isUnmarshaler(t)
}

// stringInto fills a string-kind v from a JSON string.
func (d *decodeState) stringInto(v reflect.Value) error {
	start := d.pos
	s, err := d.rawString()
	if err != nil {
		return err
	}
	if len(s) > 0 && (s[0] == '~' || s[0] == '^') {
		x, err := d.decodeRaw(s, false, start)
		if err != nil {
			return err
		}
		if _, ok := x.(tagMarker); ok {
			return d.errAt(start, "tag marker outside a tagged value")
		}
		return assign(v, x)
	}
	v.SetString(string(s))
	return nil
}

// intInto fills an integer-kind v from a JSON number.
func (d *decodeState) intInto(v reflect.Value) error {
	start := d.pos
	i := d.pos
	if d.data[i] == '-' {
		i++
	}
	digits := i
	for i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9' {
		i++
	}
	if n := i - digits; n == 0 || n > 18 || n > 1 && d.data[digits] == '0' ||
		i < len(d.data) && (d.data[i] == '.' || d.data[i] == 'e' || d.data[i] == 'E') {
		return d.genericInto(v) // a float, a big or malformed number
	}
	var n int64
	for _, c := range d.data[digits:i] {
		n = n*10 + int64(c-'0')
	}
	if digits > start {
		n = -n
	}
	if v.OverflowInt(n) {
		return &UnmarshalTypeError{Value: "integer " + strconv.FormatInt(n, 10), Type: v.Type()}
	}
	d.pos = i
	v.SetInt(n)
	return nil
}

// taggedIntInto fills an integer-kind v from a "~i…" string (an integer
// beyond 2^53), which is never cached.
func (d *decodeState) taggedIntInto(v reflect.Value) error {
	start := d.pos
	i := d.pos + 3
	neg := i < len(d.data) && d.data[i] == '-'
	if neg {
		i++
	}
	digits := i
	var n int64
	for i < len(d.data) && '0' <= d.data[i] && d.data[i] <= '9' && i-digits < 18 {
		n = n*10 + int64(d.data[i]-'0')
		i++
	}
	if i == digits || i >= len(d.data) || d.data[i] != '"' {
		return d.genericInto(v) // long, escaped or malformed: the general path
	}
	if neg {
		n = -n
	}
	if v.OverflowInt(n) {
		d.pos = start
		return &UnmarshalTypeError{Value: "integer " + strconv.FormatInt(n, 10), Type: v.Type()}
	}
	d.pos = i + 1
	v.SetInt(n)
	return nil
}

// structInto fills struct v from a ["^ ", k, v, …] map, by field key.
func (d *decodeState) structInto(v reflect.Value) error {
	start := d.pos
	if err := d.enter(); err != nil {
		return err
	}
	defer func() { d.depth-- }()
	d.pos += 1 + len(mapMarker)
	info := structFields(v.Type())
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.syntaxErr("unexpected end of input in map")
		}
		switch d.data[d.pos] {
		case ']':
			d.pos++
			return nil
		case ',':
			d.pos++
		default:
			return d.errAt(d.pos, "invalid character %q in map", d.data[d.pos])
		}
		k, err := d.value(true)
		if err != nil {
			return err
		}
		if err := d.expect(','); err != nil {
			if d.pos < len(d.data) && d.data[d.pos] == ']' {
				return d.errAt(start, "map with an odd number of elements")
			}
			return err
		}
		var name string
		switch kk := k.(type) {
		case Keyword:
			name = string(kk)
		case string:
			name = kk
		case tagMarker:
			return d.errAt(d.pos, "tag marker as a map key")
		}
		if i, ok := info.byName[name]; ok && name != "" {
			if err := d.into(fieldForSet(v, info.fields[i].index)); err != nil {
				return withKey(err, name)
			}
			continue
		}
		x, err := d.value(false) // unknown key: read (for the cache) and drop
		if err != nil {
			return err
		}
		if _, ok := x.(tagMarker); ok {
			return d.errAt(d.pos, "tag marker as a map value")
		}
	}
}

// sliceInto fills slice v from a JSON array, unless the array turns out to
// be a tagged value (a list or a set), which is decoded and assigned.
func (d *decodeState) sliceInto(v reflect.Value) error {
	start := d.pos
	if err := d.enter(); err != nil {
		return err
	}
	defer func() { d.depth-- }()
	d.pos++ // '['
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == ']' {
		d.pos++
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		return nil
	}
	v.SetLen(0)
	for n := 0; ; n++ {
		if n > 0 {
			d.skipSpace()
			if d.pos >= len(d.data) {
				return d.syntaxErr("unexpected end of input in array")
			}
			switch d.data[d.pos] {
			case ']':
				d.pos++
				return nil
			case ',':
				d.pos++
			default:
				return d.errAt(d.pos, "invalid character %q after array element", d.data[d.pos])
			}
		}
		if v.Len() == v.Cap() {
			v.Grow(max(4, v.Cap())) // double, from 4: one allocation for short arrays
		}
		v.SetLen(n + 1)
		elem := v.Index(n)
		d.skipSpace()
		if n == 0 && d.pos < len(d.data) && d.data[d.pos] == '"' {
			// The first string may be a tag marker: ["~#list", […]].
			x, err := d.stringValue(false)
			if err != nil {
				return err
			}
			if tm, ok := x.(tagMarker); ok {
				if err := d.expect(','); err != nil {
					return err
				}
				rep, err := d.value(false)
				if err != nil {
					return err
				}
				if err := d.expect(']'); err != nil {
					return err
				}
				tv, err := d.tagged(string(tm), rep, start)
				if err != nil {
					return err
				}
				return assign(v, tv)
			}
			if err := assign(elem, x); err != nil {
				return withIndex(err, n)
			}
			continue
		}
		if err := d.into(elem); err != nil {
			return withIndex(err, n)
		}
	}
}
