package transit

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"sync"
	"time"
)

// Unmarshaler is implemented by types that decode themselves from a
// generic Transit value (as Unmarshal returns it).
type Unmarshaler interface {
	UnmarshalTransit(v any) error
}

// Assign stores the generic Transit value x (as Unmarshal returns it) into
// the Go value dst points to. Maps with keyword or string keys fill
// structs by field key (see Marshal), Go maps and *Map; arrays fill slices
// and arrays; integers fill any integer or float kind they fit; keywords,
// symbols and URIs fill string kinds; nil leaves the target at its zero
// value. An interface target receives x itself.
func Assign(dst any, x any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return &InvalidUnmarshalError{Type: reflect.TypeOf(dst)}
	}
	return assign(rv.Elem(), x)
}

var (
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

func assign(v reflect.Value, x any) error {
	if v.CanAddr() && isUnmarshaler(v.Type()) {
		if err := v.Addr().Interface().(Unmarshaler).UnmarshalTransit(x); err != nil {
			return fmt.Errorf("transit: UnmarshalTransit of %s: %w", v.Type(), err)
		}
		return nil
	}
	if x == nil {
		v.SetZero()
		return nil
	}
	xv := reflect.ValueOf(x)
	// Exact and interface targets take the value as it is.
	if v.Kind() == reflect.Interface || xv.Type() == v.Type() {
		if !xv.Type().AssignableTo(v.Type()) {
			return typeErr(x, v.Type())
		}
		v.Set(xv)
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return assign(v.Elem(), x)
	case reflect.String:
		switch s := x.(type) {
		case string:
			v.SetString(s)
		case Keyword:
			v.SetString(string(s))
		case Symbol:
			v.SetString(string(s))
		case URI:
			v.SetString(string(s))
		case Char:
			v.SetString(string(rune(s)))
		default:
			return typeErr(x, v.Type())
		}
		return nil
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			return typeErr(x, v.Type())
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var n int64
		switch i := x.(type) {
		case int64:
			n = i
		case *big.Int:
			if !i.IsInt64() {
				return typeErr(x, v.Type())
			}
			n = i.Int64()
		case Char:
			n = int64(i)
		default:
			return typeErr(x, v.Type())
		}
		if v.OverflowInt(n) {
			return typeErr(x, v.Type())
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		switch i := x.(type) {
		case int64:
			if i < 0 {
				return typeErr(x, v.Type())
			}
			u = uint64(i)
		case *big.Int:
			if !i.IsUint64() {
				return typeErr(x, v.Type())
			}
			u = i.Uint64()
		default:
			return typeErr(x, v.Type())
		}
		if v.OverflowUint(u) {
			return typeErr(x, v.Type())
		}
		v.SetUint(u)
		return nil
	case reflect.Float32, reflect.Float64:
		var f float64
		switch n := x.(type) {
		case float64:
			f = n
		case int64:
			f = float64(n)
		case *big.Int:
			f, _ = new(big.Float).SetInt(n).Float64()
		case BigDecimal:
			f, _ = strconv.ParseFloat(n.String(), 64)
		case *big.Rat:
			f, _ = n.Float64()
		default:
			return typeErr(x, v.Type())
		}
		if v.Kind() == reflect.Float32 && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return typeErr(x, v.Type())
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		if b, ok := x.([]byte); ok && v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(append([]byte(nil), b...))
			return nil
		}
		elems, ok := sequence(x)
		if !ok {
			return typeErr(x, v.Type())
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, e := range elems {
			if err := assign(s.Index(i), e); err != nil {
				return withIndex(err, i)
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		elems, ok := sequence(x)
		if !ok || len(elems) != v.Len() {
			return typeErr(x, v.Type())
		}
		for i, e := range elems {
			if err := assign(v.Index(i), e); err != nil {
				return withIndex(err, i)
			}
		}
		return nil
	case reflect.Map:
		m, ok := x.(*Map)
		if !ok {
			return typeErr(x, v.Type())
		}
		out := reflect.MakeMapWithSize(v.Type(), m.Len())
		kt, vt := v.Type().Key(), v.Type().Elem()
		for k, val := range m.All() {
			kv := reflect.New(kt).Elem()
			if err := assign(kv, k); err != nil {
				return withKey(err, "{key}")
			}
			ev := reflect.New(vt).Elem()
			if err := assign(ev, val); err != nil {
				return withKey(err, fmt.Sprint(k))
			}
			out.SetMapIndex(kv, ev)
		}
		v.Set(out)
		return nil
	case reflect.Struct:
		if v.Type() == timeType {
			return typeErr(x, v.Type())
		}
		m, ok := x.(*Map)
		if !ok {
			return typeErr(x, v.Type())
		}
		info := structFields(v.Type())
		for k, val := range m.All() {
			var name string
			switch kk := k.(type) {
			case Keyword:
				name = string(kk)
			case string:
				name = kk
			default:
				continue
			}
			i, ok := info.byName[name]
			if !ok {
				continue // unknown keys are ignored, as encoding/json does
			}
			if err := assign(fieldForSet(v, info.fields[i].index), val); err != nil {
				return withKey(err, name)
			}
		}
		return nil
	}
	if xv.Type().ConvertibleTo(v.Type()) && xv.Kind() == v.Kind() {
		v.Set(xv.Convert(v.Type()))
		return nil
	}
	return typeErr(x, v.Type())
}

// sequence returns the elements of a vector, list or set.
func sequence(x any) ([]any, bool) {
	switch s := x.(type) {
	case []any:
		return s, true
	case List:
		return s, true
	case Set:
		return s, true
	}
	return nil, false
}

func typeErr(x any, t reflect.Type) error {
	return &UnmarshalTypeError{Value: describe(x), Type: t}
}

// withKey and withIndex prefix the path of an UnmarshalTypeError with a
// map key or struct field, or a sequence index, as the error travels up:
// paths cost nothing unless decoding fails.
func withKey(err error, key string) error {
	if te, ok := err.(*UnmarshalTypeError); ok {
		if te.Path == "" || te.Path[0] == '[' {
			te.Path = key + te.Path
		} else {
			te.Path = key + "." + te.Path
		}
	}
	return err
}

func withIndex(err error, i int) error {
	if te, ok := err.(*UnmarshalTypeError); ok {
		sep := ""
		if te.Path != "" && te.Path[0] != '[' {
			sep = "."
		}
		te.Path = "[" + strconv.Itoa(i) + "]" + sep + te.Path
	}
	return err
}

// unmarshalerCache memoises whether *T implements Unmarshaler.
var unmarshalerCache sync.Map // reflect.Type → bool

func isUnmarshaler(t reflect.Type) bool {
	if b, ok := unmarshalerCache.Load(t); ok {
		return b.(bool)
	}
	b := reflect.PointerTo(t).Implements(unmarshalerType)
	unmarshalerCache.Store(t, b)
	return b
}
