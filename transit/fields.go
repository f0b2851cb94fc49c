package transit

import (
	"reflect"
	"strings"
	"sync"
)

// field describes one encoded struct field.
type field struct {
	name      string   // keyword name, e.g. "id_str"
	key       fieldKey // its Transit form, "~:id_str", ready to write
	index     []int    // reflect field index path (embedded structs)
	omitEmpty bool
}

// fieldKey is a keyword map key prepared for the writer.
type fieldKey struct {
	text      string // JSON-escaped "~:name", without quotes
	hash      uint64 // cacheHash(text)
	cacheable bool
}

func newFieldKey(name string) fieldKey {
	text := appendEscaped(appendEscaped(nil, "~:"), name)
	return fieldKey{
		text:      string(text),
		hash:      cacheHash(text),
		cacheable: cacheableParts("~:", name, true),
	}
}

// cacheableParts is the rule of docs/transit.md §5.1 for the string prefix+rep.
func cacheableParts(prefix, rep string, asKey bool) bool {
	if len(prefix)+len(rep) < 4 || !(asKey || isCachedPrefix(prefix)) {
		return false
	}
	return utf16Len([]byte(prefix), 4)+utf16Len([]byte(rep), 4) >= 4
}

// structInfo lists the encoded fields of a struct type, in declaration
// order, and finds them by name.
type structInfo struct {
	fields []field
	byName map[string]int
}

// fieldCache memoises structInfo per type. It is a cache of pure
// functions of the type, safe for concurrent use, like encoding/json's.
var fieldCache sync.Map // reflect.Type → *structInfo

// structFields returns the encoded fields of struct type t. A field's key
// is its `transit:"name"` tag, or its Go name; `transit:"-"` skips it and
// `transit:",omitempty"` omits zero values. Fields of embedded structs
// without a tag are promoted, as encoding/json does; shallower fields win.
func structFields(t reflect.Type) *structInfo {
	if si, ok := fieldCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}}
	collectFields(t, nil, si, map[reflect.Type]bool{})
	v, _ := fieldCache.LoadOrStore(t, si)
	return v.(*structInfo)
}

func collectFields(t reflect.Type, index []int, si *structInfo, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	var embedded []reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, hasTag := sf.Tag.Lookup("transit")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, sf)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		_ = hasTag
		if _, dup := si.byName[name]; dup {
			continue
		}
		si.byName[name] = len(si.fields)
		si.fields = append(si.fields, field{
			name:      name,
			key:       newFieldKey(name),
			index:     append(append([]int(nil), index...), i),
			omitEmpty: strings.Contains(","+opts+",", ",omitempty,"),
		})
	}
	for _, sf := range embedded {
		ft := sf.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		collectFields(ft, append(append([]int(nil), index...), sf.Index[0]), si, seen)
	}
}

// fieldByIndex follows index through embedded structs; ok is false when a
// nil embedded pointer is in the way.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	if len(index) == 1 {
		return v.Field(index[0]), true
	}
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// fieldForSet follows index, allocating nil embedded pointers.
func fieldForSet(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}
