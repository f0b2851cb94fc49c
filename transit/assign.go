package transit

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
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
	return assign(rv.Elem(), x, "")
}

var (
	unmarshalerType = reflect.TypeFor[Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
	mapPtrType      = reflect.TypeFor[*Map]()
)

func assign(v reflect.Value, x any, path string) error {
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(Unmarshaler).UnmarshalTransit(x); err != nil {
			return fmt.Errorf("transit: %s: %w", pathOr(path, v.Type()), err)
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
			return typeErr(x, v.Type(), path)
		}
		v.Set(xv)
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return assign(v.Elem(), x, path)
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
			return typeErr(x, v.Type(), path)
		}
		return nil
	case reflect.Bool:
		b, ok := x.(bool)
		if !ok {
			return typeErr(x, v.Type(), path)
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
				return typeErr(x, v.Type(), path)
			}
			n = i.Int64()
		case Char:
			n = int64(i)
		default:
			return typeErr(x, v.Type(), path)
		}
		if v.OverflowInt(n) {
			return typeErr(x, v.Type(), path)
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		switch i := x.(type) {
		case int64:
			if i < 0 {
				return typeErr(x, v.Type(), path)
			}
			u = uint64(i)
		case *big.Int:
			if !i.IsUint64() {
				return typeErr(x, v.Type(), path)
			}
			u = i.Uint64()
		default:
			return typeErr(x, v.Type(), path)
		}
		if v.OverflowUint(u) {
			return typeErr(x, v.Type(), path)
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
			return typeErr(x, v.Type(), path)
		}
		if v.Kind() == reflect.Float32 && !math.IsInf(f, 0) && !math.IsNaN(f) && math.Abs(f) > math.MaxFloat32 {
			return typeErr(x, v.Type(), path)
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
			return typeErr(x, v.Type(), path)
		}
		s := reflect.MakeSlice(v.Type(), len(elems), len(elems))
		for i, e := range elems {
			if err := assign(s.Index(i), e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Array:
		elems, ok := sequence(x)
		if !ok || len(elems) != v.Len() {
			return typeErr(x, v.Type(), path)
		}
		for i, e := range elems {
			if err := assign(v.Index(i), e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		m, ok := x.(*Map)
		if !ok {
			return typeErr(x, v.Type(), path)
		}
		out := reflect.MakeMapWithSize(v.Type(), m.Len())
		kt, vt := v.Type().Key(), v.Type().Elem()
		for k, val := range m.All() {
			kv := reflect.New(kt).Elem()
			if err := assign(kv, k, path+"{key}"); err != nil {
				return err
			}
			ev := reflect.New(vt).Elem()
			if err := assign(ev, val, path+"."+fmt.Sprint(k)); err != nil {
				return err
			}
			out.SetMapIndex(kv, ev)
		}
		v.Set(out)
		return nil
	case reflect.Struct:
		if v.Type() == timeType {
			return typeErr(x, v.Type(), path)
		}
		m, ok := x.(*Map)
		if !ok {
			return typeErr(x, v.Type(), path)
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
			f := &info.fields[i]
			p := name
			if path != "" {
				p = path + "." + name
			}
			if err := assign(fieldForSet(v, f.index), val, p); err != nil {
				return err
			}
		}
		return nil
	}
	if xv.Type().ConvertibleTo(v.Type()) && xv.Kind() == v.Kind() {
		v.Set(xv.Convert(v.Type()))
		return nil
	}
	return typeErr(x, v.Type(), path)
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

func typeErr(x any, t reflect.Type, path string) error {
	return &UnmarshalTypeError{Value: describe(x), Type: t, Path: path}
}

func pathOr(path string, t reflect.Type) string {
	if path == "" {
		return t.String()
	}
	return path
}
