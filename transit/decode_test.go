package transit

import (
	"errors"
	"io"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestUnmarshalMalformed(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     string // substring of the error
		sentinel error
	}{
		{"empty", ``, "unexpected end of input", nil},
		{"whitespace", "  \n", "unexpected end of input", nil},
		{"bad literal", `tru`, "invalid literal", nil},
		{"bad char", `@`, "invalid character '@'", nil},
		{"trailing data", `[1] [2]`, "data after the top-level value", nil},
		{"unterminated array", `[1,2`, "unexpected end of input", nil},
		{"unterminated string", `["abc`, "unterminated string", nil},
		{"bad escape", `["\x"]`, `invalid escape \x`, nil},
		{"bad unicode escape", `["\u12G4"]`, `invalid \u escape`, nil},
		{"control char", "[\"a\x01\"]", "control character", nil},
		{"bad number", `[-]`, "invalid number", nil},
		{"leading dot", `[.5]`, "invalid character '.'", nil},
		{"bad fraction", `[1.]`, "invalid number", nil},
		{"odd map", `["^ ","~:a"]`, "odd number of elements", nil},
		{"unknown cache code", `["^0"]`, "refers to no entry", nil},
		{"bad cache code", `["^~~~"]`, "invalid cache code", nil},
		{"stray tag marker", `["~:abcd","~#set"]`, "tag marker inside a vector", nil},
		{"lone tag marker", `"~#set"`, "outside a tagged value", nil},
		{"tagged with two reps", `["~#set",[1],[2]]`, "want ']'", nil},
		{"set rep not array", `["~#set",1]`, "set rep is integer", nil},
		{"cmap odd", `["~#cmap",[1]]`, "cmap rep", nil},
		{"ratio zero denominator", `["~#ratio",["~n1","~n0"]]`, "invalid ratio", nil},
		{"bad uuid", `["~uxyz"]`, "invalid UUID", nil},
		{"bad base64", `["~b!!"]`, "invalid base64", nil},
		{"bad instant", `["~mabc"]`, "invalid instant", nil},
		{"bad special", `["~zFOO"]`, "invalid special number", nil},
		{"two-rune char", `["~cab"]`, "invalid char", nil},
		{"bad bigdec", `["~f1.2.3"]`, "invalid big decimal", nil},
		{"object key not string", `{1:2}`, "object key is not a string", nil},
		{"verbose tagged two fields", `{"~#set":[1],"a":2}`, "more than one field", nil},
		{"huge integer", "[" + strings.Repeat("9", maxBigDigits+2) + "]", "exceeds the limit", ErrTooLarge},
		{"huge ~n", `["~n` + strings.Repeat("9", maxBigDigits+2) + `"]`, "too large", ErrTooLarge},
		{"deep nesting", strings.Repeat("[", DefaultMaxDepth+1) + strings.Repeat("]", DefaultMaxDepth+1), "nesting deeper than 1000", ErrTooDeep},
		{"deep objects", strings.Repeat(`{"a":`, DefaultMaxDepth+1) + "1" + strings.Repeat("}", DefaultMaxDepth+1), "nesting deeper", ErrTooDeep},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := Unmarshal([]byte(c.in))
			if err == nil {
				t.Fatalf("Unmarshal(%q) = %#v, want an error containing %q", c.in, v, c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "transit: ") {
				t.Errorf("Unmarshal(%q) error = %q, want it to contain %q", c.in, err, c.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SyntaxError", err)
			}
			if c.sentinel != nil && !errors.Is(err, c.sentinel) {
				t.Errorf("error %v does not wrap %v", err, c.sentinel)
			}
		})
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	_, err := Unmarshal([]byte(`[1, 2, @]`))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 7 {
		t.Fatalf("err = %v, want a SyntaxError at offset 7", err)
	}
}

func TestUnmarshalLenient(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{
		{` [ 1 , "~:a" ] `, []any{int64(1), Keyword("a")}},
		{`["~#'",["~#'",1]]`, int64(1)},
		{`1`, int64(1)},
		{`"~:a"`, Keyword("a")},
		{`{"~#'":"x"}`, "x"},
		{`["~i99999999999999999999"]`, []any{bigInt("99999999999999999999")}},
		{`[99999999999999999999]`, []any{bigInt("99999999999999999999")}},
		{`["~t1985-04-12T23:20:50.52Z"]`, nil}, // checked below
		{`["~uCF7F1F94-3D8B-4A3F-8A0E-000000000000"]`, []any{mustUUID("cf7f1f94-3d8b-4a3f-8a0e-000000000000")}},
		{`["~#u",[-3472006373014128065,-8785301306364739584]]`, nil},
		{`["~#m",946728000000]`, nil},
		{`["\ud83d\ude00","\ud83d","\u00e9"]`, []any{"😀", "\uFFFD", "é"}},
		{"[\"\xff\"]", []any{"\uFFFD"}},
		{`["~#set",[1,1,2]]`, Set{int64(1), int64(2)}},
		{`["^ ","a",1,"a",2]`, NewMap("a", int64(2))},
		{`["~#ratio",[2,4]]`, big.NewRat(1, 2)},
		{`["~Xfoo"]`, []any{TaggedValue{"X", "foo"}}},
		{`["~#x",5]`, TaggedValue{"x", int64(5)}},
	} {
		got, err := Unmarshal([]byte(c.in))
		if err != nil {
			t.Errorf("Unmarshal(%s): %v", c.in, err)
			continue
		}
		if c.want != nil && !Equal(got, c.want) {
			t.Errorf("Unmarshal(%s) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestDecoderStream(t *testing.T) {
	// transit-java separates top-level values with one space; each value
	// has its own cache.
	in := `["~:abcd","^0"] ["~:abcd","^0"]` + "\n" + `["~#'","x"]{"~:a":1}  7 "~:kw" null`
	want := []any{
		[]any{Keyword("abcd"), Keyword("abcd")},
		[]any{Keyword("abcd"), Keyword("abcd")},
		"x",
		NewMap(Keyword("a"), int64(1)),
		int64(7),
		Keyword("kw"),
		nil,
	}
	for name, r := range map[string]io.Reader{
		"whole":     strings.NewReader(in),
		"one byte":  iotest.OneByteReader(strings.NewReader(in)),
		"half":      iotest.HalfReader(strings.NewReader(in)),
		"data+eof":  iotest.DataErrReader(strings.NewReader(in)),
		"timeout-y": iotest.TimeoutReader(strings.NewReader(strings.Repeat(" ", 0) + in)),
	} {
		t.Run(name, func(t *testing.T) {
			dec := NewDecoder(r)
			for i, w := range want {
				got, err := dec.Decode()
				if name == "timeout-y" && err != nil {
					if !errors.Is(err, iotest.ErrTimeout) {
						t.Fatalf("value %d: %v, want the reader's timeout", i, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("value %d: %v", i, err)
				}
				if !Equal(got, w) {
					t.Fatalf("value %d = %#v, want %#v", i, got, w)
				}
			}
			if _, err := dec.Decode(); err != io.EOF {
				t.Fatalf("after the last value: %v, want io.EOF", err)
			}
		})
	}
}

func TestDecoderErrors(t *testing.T) {
	dec := NewDecoder(strings.NewReader(`[1] [2`))
	if _, err := dec.Decode(); err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(); err == nil || !strings.Contains(err.Error(), "unexpected end of input") {
		t.Fatalf("truncated second value: %v", err)
	}
	dec = DecoderOptions{MaxValueBytes: 16}.NewDecoder(strings.NewReader(`["0123456789","0123456789"]`))
	if _, err := dec.Decode(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized value: %v, want ErrTooLarge", err)
	}
	dec = DecoderOptions{MaxDepth: -1}.NewDecoder(strings.NewReader(`1`))
	if _, err := dec.Decode(); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("bad options: %v", err)
	}
	if _, err := (DecoderOptions{MaxDepth: 2}).Unmarshal([]byte(`[[[1]]]`)); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("MaxDepth 2: %v", err)
	}
	if _, err := (DecoderOptions{ReadHandlers: map[string]ReadHandler{"map": nil}}).Unmarshal([]byte(`1`)); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("ground-tag handler: %v", err)
	}
}

func TestReadHandlers(t *testing.T) {
	type point struct{ X, Y int64 }
	opts := DecoderOptions{ReadHandlers: map[string]ReadHandler{
		"point": func(rep any) (any, error) {
			xs, ok := rep.([]any)
			if !ok || len(xs) != 2 {
				return nil, errors.New("want [x y]")
			}
			return point{xs[0].(int64), xs[1].(int64)}, nil
		},
		"Y": func(rep any) (any, error) { return strings.ToUpper(rep.(string)), nil },
	}}
	got, err := opts.Unmarshal([]byte(`[["~#point",[1,2]],["^0",[3,4]],"~Yabc"]`))
	if err != nil {
		t.Fatal(err)
	}
	xs := got.([]any)
	if xs[0] != (point{1, 2}) || xs[1] != (point{3, 4}) || xs[2] != "ABC" {
		t.Fatalf("got %#v", got)
	}
	if _, err := opts.Unmarshal([]byte(`["~#point",[1]]`)); err == nil || !strings.Contains(err.Error(), "want [x y]") {
		t.Fatalf("handler error not reported: %v", err)
	}
}

// TestTransitJSQuirks reads forms only transit-js writes (docs/transit.md §15).
func TestTransitJSQuirks(t *testing.T) {
	got, err := Unmarshal([]byte(`[["^ ","~i2.5","a","~i2","b"],"~t500-01-01T00:00:00.000Z","~t1-01-01T00:00:00.000Z"]`))
	if err != nil {
		t.Fatal(err)
	}
	xs := got.([]any)
	m := xs[0].(*Map)
	if v, _ := m.Get(2.5); v != "a" {
		t.Errorf("float key ~i2.5 not read as 2.5: %#v", m)
	}
	if v, _ := m.Get(int64(2)); v != "b" {
		t.Errorf("~i2 not read as 2: %#v", m)
	}
	if y := xs[1].(time.Time).Year(); y != 500 {
		t.Errorf("unpadded year read as %d", y)
	}
	if y := xs[2].(time.Time).Year(); y != 1 {
		t.Errorf("unpadded year read as %d", y)
	}
}

// intoTarget exercises every direct path of UnmarshalInto.
type intoTarget struct {
	S     string         `transit:"s"`
	K     Keyword        `transit:"k"`
	N     int64          `transit:"n"`
	I8    int8           `transit:"i8"`
	F     float64        `transit:"f"`
	B     bool           `transit:"b"`
	P     *intoTarget    `transit:"p"`
	L     []int          `transit:"l"`
	Strs  []string       `transit:"strs"`
	Any   any            `transit:"any"`
	M     map[string]int `transit:"m"`
	Inner struct {
		X int `transit:"x"`
	} `transit:"inner"`
}

func TestUnmarshalIntoPaths(t *testing.T) {
	for _, c := range []struct {
		name, in string
		check    func(v intoTarget) bool
	}{
		{"scalars", `["^ ","~:s","~~x","~:k","~:a/b","~:n","~i9007199254740993","~:i8",-5,"~:f",1,"~:b",true]`,
			func(v intoTarget) bool {
				return v.S == "~x" && v.K == "a/b" && v.N == 9007199254740993 && v.I8 == -5 && v.F == 1 && v.B
			}},
		{"nested pointer and cache codes", `["^ ","~:p",["^ ","~:s","in","~:unknown",["~:kw1"]],"^1","~:kw1","~:s","^2"]`,
			func(v intoTarget) bool { return v.P != nil && v.P.S == "in" && v.S == "kw1" }},
		{"list and set into slices", `["^ ","~:l",["~#list",[1,2]],"~:strs",["~#set",["a"]]]`,
			func(v intoTarget) bool { return len(v.L) == 2 && v.L[1] == 2 && len(v.Strs) == 1 && v.Strs[0] == "a" }},
		{"cached tag in slice", `["^ ","~:l",["~#list",[1]],"~:strs",["^0",["b","c"]]]`,
			func(v intoTarget) bool { return len(v.Strs) == 2 && v.Strs[1] == "c" }},
		{"empty and null", `["^ ","~:l",[],"~:p",null,"~:strs",null]`,
			func(v intoTarget) bool { return v.L != nil && len(v.L) == 0 && v.P == nil && v.Strs == nil }},
		{"generic fields", `["^ ","~:any",["^ ","~:a",1],"~:m",["^ ","x",1],"~:inner",["^ ","~:x",3]]`,
			func(v intoTarget) bool {
				m, ok := v.Any.(*Map)
				return ok && m.Len() == 1 && v.M["x"] == 1 && v.Inner.X == 3
			}},
		{"verbose map", `{"~:s":"v","~:l":[1]}`, func(v intoTarget) bool { return v.S == "v" && len(v.L) == 1 }},
		{"string keys", `["^ ","s","plain","n",7]`, func(v intoTarget) bool { return v.S == "plain" && v.N == 7 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var v intoTarget
			if err := UnmarshalInto([]byte(c.in), &v); err != nil {
				t.Fatal(err)
			}
			if !c.check(v) {
				t.Fatalf("UnmarshalInto(%s) = %+v", c.in, v)
			}
			var w intoTarget
			x, err := Unmarshal([]byte(c.in))
			if err != nil {
				t.Fatal(err)
			}
			if err := Assign(&w, x); err != nil || !reflect.DeepEqual(v, w) {
				t.Fatalf("Unmarshal+Assign differs: %+v vs %+v (%v)", w, v, err)
			}
		})
	}
	var s string
	if err := UnmarshalInto([]byte(`["~#'","hello"]`), &s); err != nil || s != "hello" {
		t.Fatalf("top-level quoted string: %q %v", s, err)
	}
	var v intoTarget
	for in, path := range map[string]string{
		`["^ ","~:i8",300]`:              "i8",
		`["^ ","~:l",[1,"x"]]`:           "l[1]",
		`["^ ","~:p",["^ ","~:n",true]]`: "p.n",
		`["^ ","~:strs",["~#set",[1]]]`:  "strs[0]",
	} {
		err := UnmarshalInto([]byte(in), &v)
		var te *UnmarshalTypeError
		if !errors.As(err, &te) || te.Path != path {
			t.Errorf("UnmarshalInto(%s) = %v, want a type error at %s", in, err, path)
		}
	}
	for _, in := range []string{`["^ ","~:l",[1,`, `["^ ","~:s"]`, `["^ ","~:p",["~#set"]]`, `["^ ","~:l",["~#list",[1]] ]x`} {
		if err := UnmarshalInto([]byte(in), &v); err == nil {
			t.Errorf("UnmarshalInto(%s) succeeded", in)
		}
	}
}
