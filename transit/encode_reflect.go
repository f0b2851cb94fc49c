package transit

import (
	"cmp"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"
)

// encoderFunc writes a reflected value of one Go type.
type encoderFunc func(e *encodeState, v reflect.Value, asKey bool) error

// encoderCache memoises encoderFunc per type (a pure function of the type,
// safe for concurrent use, like encoding/json's).
var encoderCache sync.Map // reflect.Type → encoderFunc

// typeEncoder returns the encoder of t, building it once. A recursive
// type gets an indirect encoder that waits for the real one.
func typeEncoder(t reflect.Type) encoderFunc {
	if f, ok := encoderCache.Load(t); ok {
		return f.(encoderFunc)
	}
	var (
		wg sync.WaitGroup
		f  encoderFunc
	)
	wg.Add(1)
	fi, loaded := encoderCache.LoadOrStore(t, encoderFunc(func(e *encodeState, v reflect.Value, asKey bool) error {
		wg.Wait()
		return f(e, v, asKey)
	}))
	if loaded {
		return fi.(encoderFunc)
	}
	f = newTypeEncoder(t)
	wg.Done()
	encoderCache.Store(t, f)
	return f
}

var (
	marshalerType = reflect.TypeFor[Marshaler]()
	keywordType   = reflect.TypeFor[Keyword]()
	symbolType    = reflect.TypeFor[Symbol]()
	uriType       = reflect.TypeFor[URI]()
)

// boxed reports whether values of t are written through the value model
// (writeModel) rather than by kind: Marshalers and the model's own types.
func boxed(t reflect.Type) bool {
	if t.Implements(marshalerType) {
		return true
	}
	switch t {
	case reflect.TypeFor[time.Time](), reflect.TypeFor[big.Int](), reflect.TypeFor[*big.Int](), reflect.TypeFor[*big.Rat](),
		reflect.TypeFor[[]any](), reflect.TypeFor[*Map](), reflect.TypeFor[Set](), reflect.TypeFor[List](),
		reflect.TypeFor[Char](), reflect.TypeFor[UUID](), reflect.TypeFor[BigDecimal](), reflect.TypeFor[Link](),
		reflect.TypeFor[TaggedValue]():
		return true
	}
	return false
}

func newTypeEncoder(t reflect.Type) encoderFunc {
	if boxed(t) {
		return boxEncoder
	}
	switch t {
	case keywordType:
		return func(e *encodeState, v reflect.Value, asKey bool) error { e.emit("~:", v.String(), asKey); return nil }
	case symbolType:
		return func(e *encodeState, v reflect.Value, asKey bool) error { e.emit("~$", v.String(), asKey); return nil }
	case uriType:
		return func(e *encodeState, v reflect.Value, asKey bool) error { e.emit("~r", v.String(), asKey); return nil }
	}
	switch t.Kind() {
	case reflect.Interface:
		return func(e *encodeState, v reflect.Value, asKey bool) error {
			if v.IsNil() {
				return e.write(nil, asKey)
			}
			return e.writeValue(v.Elem(), asKey)
		}
	case reflect.String:
		return func(e *encodeState, v reflect.Value, asKey bool) error { e.writeString(v.String(), asKey); return nil }
	case reflect.Bool:
		return func(e *encodeState, v reflect.Value, asKey bool) error { return e.write(v.Bool(), asKey) }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(e *encodeState, v reflect.Value, asKey bool) error { e.writeInt(v.Int(), asKey); return nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(e *encodeState, v reflect.Value, asKey bool) error {
			if u := v.Uint(); u > math.MaxInt64 {
				e.emit("~n", strconv.FormatUint(u, 10), asKey)
			} else {
				e.writeInt(int64(u), asKey)
			}
			return nil
		}
	case reflect.Float32:
		return func(e *encodeState, v reflect.Value, asKey bool) error {
			e.writeFloat(v.Float(), 32, asKey)
			return nil
		}
	case reflect.Float64:
		return func(e *encodeState, v reflect.Value, asKey bool) error {
			e.writeFloat(v.Float(), 64, asKey)
			return nil
		}
	case reflect.Pointer:
		elem := typeEncoder(t.Elem())
		return func(e *encodeState, v reflect.Value, asKey bool) error {
			if v.IsNil() {
				return e.write(nil, asKey)
			}
			if err := e.enter(); err != nil {
				return err
			}
			defer func() { e.depth-- }()
			return e.writeWith(elem, v.Elem(), asKey)
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(e *encodeState, v reflect.Value, asKey bool) error {
				if v.IsNil() {
					return e.write(nil, asKey)
				}
				return e.write(v.Bytes(), asKey)
			}
		}
		elem := typeEncoder(t.Elem())
		return func(e *encodeState, v reflect.Value, asKey bool) error {
			if v.IsNil() {
				return e.write(nil, asKey)
			}
			return e.writeSeq(elem, v)
		}
	case reflect.Array:
		elem := typeEncoder(t.Elem())
		return func(e *encodeState, v reflect.Value, _ bool) error { return e.writeSeq(elem, v) }
	case reflect.Map:
		return func(e *encodeState, v reflect.Value, asKey bool) error {
			if v.IsNil() {
				return e.write(nil, asKey)
			}
			return e.writeGoMap(v)
		}
	case reflect.Struct:
		return newStructEncoder(t)
	}
	return func(_ *encodeState, v reflect.Value, _ bool) error { return &UnsupportedTypeError{Type: v.Type()} }
}

// boxEncoder writes v through the value model.
func boxEncoder(e *encodeState, v reflect.Value, asKey bool) error {
	if !v.CanInterface() {
		return &UnsupportedTypeError{Type: v.Type()}
	}
	return e.writeModel(v.Interface(), asKey)
}

// writeValue writes a reflected value, honouring write handlers.
func (e *encodeState) writeValue(v reflect.Value, asKey bool) error {
	return e.writeWith(typeEncoder(v.Type()), v, asKey)
}

// writeWith writes v with its type's encoder f, unless a write handler
// claims the value first.
func (e *encodeState) writeWith(f encoderFunc, v reflect.Value, asKey bool) error {
	if len(e.opts.WriteHandlers) > 0 && v.CanInterface() {
		return e.write(v.Interface(), asKey)
	}
	return f(e, v, asKey)
}

func (e *encodeState) writeSeq(elem encoderFunc, v reflect.Value) error {
	if err := e.enter(); err != nil {
		return err
	}
	defer func() { e.depth-- }()
	e.buf = append(e.buf, '[')
	for i := 0; i < v.Len(); i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.writeWith(elem, v.Index(i), false); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// writeGoMap writes a Go map in a deterministic order: string keys in
// byte order, integer keys numerically, other keys by their encoded text.
func (e *encodeState) writeGoMap(rv reflect.Value) error {
	keys := rv.MapKeys()
	switch rv.Type().Key().Kind() {
	case reflect.String:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Int(), b.Int()) })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.Uint(), b.Uint()) })
	default:
		text := make(map[reflect.Value]string, len(keys))
		for _, k := range keys {
			b, err := MarshalVerbose(k.Interface())
			if err != nil {
				return err
			}
			text[k] = string(b)
		}
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(text[a], text[b]) })
	}
	m := &Map{keys: make([]any, len(keys)), vals: make([]any, len(keys))}
	for i, k := range keys {
		m.keys[i] = k.Interface()
		m.vals[i] = rv.MapIndex(k).Interface()
	}
	return e.writeMap(m)
}

// structField is a struct field with its encoder.
type structField struct {
	*field
	enc encoderFunc
}

// newStructEncoder writes a struct as a map with keyword keys (fields.go).
func newStructEncoder(t reflect.Type) encoderFunc {
	info := structFields(t)
	fields := make([]structField, len(info.fields))
	for i := range info.fields {
		f := &info.fields[i]
		fields[i] = structField{f, typeEncoder(t.FieldByIndex(f.index).Type)}
	}
	return func(e *encodeState, v reflect.Value, _ bool) error {
		if err := e.enter(); err != nil {
			return err
		}
		defer func() { e.depth-- }()
		verbose := e.opts.Verbose
		var ok bool
		if verbose {
			e.buf = append(e.buf, '{')
		} else {
			e.buf = append(e.buf, `["^ "`...)
		}
		n := 0
		for i := range fields {
			f := &fields[i]
			var fv reflect.Value
			if len(f.index) == 1 {
				fv = v.Field(f.index[0])
			} else if fv, ok = fieldByIndex(v, f.index); !ok {
				continue
			}
			if f.omitEmpty && isEmptyValue(fv) {
				continue
			}
			if n > 0 || !verbose {
				e.buf = append(e.buf, ',')
			}
			n++
			e.emitKey(&f.key)
			if verbose {
				e.buf = append(e.buf, ':')
			} else {
				e.buf = append(e.buf, ',')
			}
			if err := e.writeWith(f.enc, fv, false); err != nil {
				return err
			}
		}
		if verbose {
			e.buf = append(e.buf, '}')
		} else {
			e.buf = append(e.buf, ']')
		}
		return nil
	}
}

// isEmptyValue is the omitempty test: zero numbers, false, nil pointers
// and interfaces, empty strings, slices and maps, and zero structs (so a
// zero time.Time is omitted).
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer, reflect.Struct:
		return v.IsZero()
	}
	return false
}
