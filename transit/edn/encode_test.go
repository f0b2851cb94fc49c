package edn

import (
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sente-go/sente/transit"
)

// point is a Go type with its own Transit form.
type point struct{ X, Y int }

func (p point) MarshalTransit() (string, any, error) { return "point", []any{p.X, p.Y}, nil }

type label string

// point1 and point2 are variables, so that their sum is computed in
// float64 (constants would fold to exactly 0.3).
var point1, point2 = 0.1, 0.2

// writeCases are values built in Go, with the exact text Clojure's pr-str
// prints for the same value.
var writeCases = []struct {
	name string
	v    any
	want string
}{
	{"nil", nil, "nil"},
	{"map separators", transit.NewMap(kw("v"), []any{1, 2, 3}, kw("n"), 2, kw("s"), "héllo ✓", kw("kw"), kw("a/b")), `{:v [1 2 3], :n 2, :s "héllo ✓", :kw :a/b}`},
	{"handshake", []any{kw("chsk/handshake"), []any{"uid", "tok"}}, `[:chsk/handshake ["uid" "tok"]]`},
	{"v2 handshake", []any{[]any{kw("chsk/handshake"), []any{"uid", nil, nil}}, nil}, `[[:chsk/handshake ["uid" nil nil]] nil]`},
	{"list set", transit.List{transit.Set{}, transit.List{}, []any{}}, `(#{} () [])`},
	{"nil slice and map", []any{[]any(nil), (*transit.Map)(nil), transit.NewMap()}, `[[] {} {}]`},
	{"string escapes", "\"\\\n\t\r\f\b", `"\"\\\n\t\r\f\b"`},
	{"string raw controls", "\x00\x01\x1f\x7f\u2028é😀", "\"\x00\x01\x1f\x7f\u2028é😀\""},
	{"string invalid utf-8", "a\xffb", "\"a\uFFFDb\""},
	{"go ints", []any{int8(-8), int16(16), int32(-32), 64, uint8(8), uint16(16), uint32(32), uint(1), uint64(math.MaxInt64)}, `[-8 16 -32 64 8 16 32 1 9223372036854775807]`},
	{"uint64 beyond int64", uint64(math.MaxUint64), `18446744073709551615N`},
	{"big int", big.NewInt(5), `5N`},
	{"big int value", *big.NewInt(-5), `-5N`},
	{"nil big int", (*big.Int)(nil), `nil`},
	{"doubles", []any{0.0, 1.0, math.Copysign(0, -1), 100.0, 1e7, 9999999.0, 1e21, 0.001, 9.999999e-4, 1e-7, 3.14159, 2.998e8, 6.626e-34, point1 + point2}, `[0.0 1.0 -0.0 100.0 1.0E7 9999999.0 1.0E21 0.001 9.999999E-4 1.0E-7 3.14159 2.998E8 6.626E-34 0.30000000000000004]`},
	{"double extremes", []any{math.MaxFloat64, math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64 * 3, 2e23}, `[1.7976931348623157E308 4.9E-324 -1.5E-323 2.0E23]`},
	{"special doubles", []any{math.NaN(), math.Inf(1), math.Inf(-1)}, `[##NaN ##Inf ##-Inf]`},
	{"float32", []any{float32(0.1), float32(1e10), float32(-2.5)}, `[0.1 1.0E10 -2.5]`},
	// Java's Float.toString(Float.MIN_VALUE) is 1.4E-45, not the shortest 1.0E-45.
	{"float32 min", float32(math.SmallestNonzeroFloat32), `1.4E-45`},
	{"big decimals", []any{bigDec(150, 2), bigDec(123, 9), bigDec(1, -3), bigDec(-1, 1), transit.BigDecimal{Scale: 2}}, `[1.50M 1.23E-7M 1E+3M -0.1M 0.00M]`},
	{"ratios", []any{big.NewRat(1, 3), big.NewRat(-2, 4), (*big.Rat)(nil)}, `[1/3 -1/2 nil]`},
	// Clojure has no ratio n/1: it is written, and read back, as a big
	// integer; Transit keeps the ratio.
	{"integer ratio", big.NewRat(4, 2), `2N`},
	{"chars", []any{transit.Char('a'), transit.Char('\n'), transit.Char(' '), transit.Char('\t'), transit.Char('\r'), transit.Char('\f'), transit.Char('\b')}, `[\a \newline \space \tab \return \formfeed \backspace]`},
	{"chars raw", []any{transit.Char('é'), transit.Char('😀'), transit.Char('\\'), transit.Char('"'), transit.Char('('), transit.Char(','), transit.Char('@')}, `[\é \😀 \\ \" \( \, \@]`},
	{"chars escaped", []any{transit.Char(0), transit.Char(0x1b), transit.Char(0x7f), transit.Char(0x85), transit.Char(0xa0), transit.Char(0x2007), transit.Char(0x2028), transit.Char(0x200b), transit.Char(0xfeff), transit.Char(0xe000), transit.Char(0x1c)}, `[\u0000 \u001b \u007f \u0085 \u00a0 \u2007 \u2028 \u200b \ufeff \ue000 \u001c]`},
	{"instant", time.Date(2000, 1, 1, 12, 0, 0, 123456789, time.UTC), `#inst "2000-01-01T12:00:00.123-00:00"`},
	{"instant zone", time.Date(2000, 1, 1, 13, 0, 0, 0, time.FixedZone("", 3600)), `#inst "2000-01-01T12:00:00.000-00:00"`},
	{"instant before 1970", time.UnixMilli(-6106017600000), `#inst "1776-07-04T12:00:00.000-00:00"`},
	{"instant floored", time.Unix(-1, 999999999), `#inst "1969-12-31T23:59:59.999-00:00"`},
	{"instant year 0 and 9999", []any{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC)}, `[#inst "0000-01-01T00:00:00.000-00:00" #inst "9999-12-31T23:59:59.999-00:00"]`},
	{"uuid", mustUUID("5A2CBEA3-E8C6-428B-B525-21239370DD55"), `#uuid "5a2cbea3-e8c6-428b-b525-21239370dd55"`},
	{"tagged", transit.TaggedValue{Tag: "my.ns/point", Rep: []any{1, 2}}, `#my.ns/point [1 2]`},
	// A TaggedValue tagged inst is written as is; the EDN reader makes it
	// an instant.
	{"tagged inst", transit.TaggedValue{Tag: "inst", Rep: "2000"}, `#inst "2000"`},
	{"keywords", []any{kw("a"), kw("a/b"), kw("1"), kw("/"), kw("a//"), kw("nil"), kw("#a")}, `[:a :a/b :1 :/ :a// :nil :#a]`},
	{"symbols", []any{sym("a"), sym("a/b"), sym("/"), sym("+"), sym("-a"), sym(".5"), sym("'a"), sym("a#")}, `[a a/b / + -a .5 'a a#]`},
	{"struct", struct {
		ScreenName string `transit:"screen_name"`
		Followers  int    `transit:"followers_count"`
		Skip       string `transit:"-"`
		Empty      string `transit:",omitempty"`
	}{"janedoe", 1532, "x", ""}, `{:screen_name "janedoe", :followers_count 1532}`},
	{"go map", map[string]int{"b": 2, "a": 1}, `{"a" 1, "b" 2}`},
	{"go map keyword keys", map[transit.Keyword]any{"b": []string{"x"}, "a": nil}, `{:a nil, :b ["x"]}`},
	{"typed slice", []string{"a", "b"}, `["a" "b"]`},
	{"pointer", new(42), `42`},
	{"named string", label("x"), `"x"`},
	{"marshaler", point{1, 2}, `#point [1 2]`},
	{"marshaler in a map", transit.NewMap(kw("p"), point{3, 4}), `{:p #point [3 4]}`},
}

// differsFromTransit names the write cases whose value reads back from EDN
// other than from Transit, on purpose (their comments say why).
var differsFromTransit = map[string]bool{"integer ratio": true, "tagged inst": true}

// TestWriteCases checks the writer's exact text, and that the text reads
// back as the value transit makes of the Go value.
func TestWriteCases(t *testing.T) {
	for _, tt := range writeCases {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.v)
			if err != nil || string(got) != tt.want {
				t.Fatalf("Marshal(%#v) = %q, %v; want %q", tt.v, got, err, tt.want)
			}
			back, err := Unmarshal(got)
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", got, err)
			}
			tb, err := transit.Marshal(tt.v)
			if err != nil {
				t.Fatalf("transit.Marshal: %v", err)
			}
			tv, err := transit.Unmarshal(tb)
			if differs := differsFromTransit[tt.name]; err != nil || transit.Equal(back, tv) == differs {
				t.Errorf("EDN reads back %#v, Transit %#v (%v); expected to differ: %v", back, tv, err, differs)
			}
		})
	}
}

// TestWriteErrors checks the values EDN cannot express.
func TestWriteErrors(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	tests := []struct {
		name string
		v    any
		msg  string
	}{
		{"uri", transit.URI("http://example.com/"), "EDN has no URI literal"},
		{"bytes", []byte{1, 2}, "EDN has no bytes literal"},
		{"link", transit.Link{Href: "x", Rel: "y"}, "EDN has no link literal"},
		{"nested uri", transit.NewMap(kw("u"), transit.URI("x")), "EDN has no URI literal"},
		{"empty keyword", kw(""), "not a readable keyword"},
		{"keyword with space", kw("a b"), "not a readable keyword"},
		{"keyword colon", kw(":a"), "not a readable keyword"},
		{"keyword ends with slash", kw("a/"), "not a readable keyword"},
		{"keyword two slashes", kw("a/b/c"), "not a readable keyword"},
		{"keyword digit name", kw("a/1"), "not a readable keyword"},
		{"keyword bracket", kw("a]"), "not a readable keyword"},
		{"keyword at", kw("a@b"), "not a readable keyword"},
		{"keyword invalid utf-8", kw("a\xff"), "not a readable keyword"},
		{"symbol nil", sym("nil"), "not a readable symbol"},
		{"symbol true", sym("true"), "not a readable symbol"},
		{"symbol digit", sym("1a"), "not a readable symbol"},
		{"symbol signed digit", sym("-1"), "not a readable symbol"},
		{"symbol colon", sym(":a"), "not a readable symbol"},
		{"symbol hash", sym("#a"), "not a readable symbol"},
		{"symbol empty", sym(""), "not a readable symbol"},
		{"symbol comma", sym("a,b"), "not a readable symbol"},
		{"tag discard", transit.TaggedValue{Tag: "_x", Rep: 1}, "the tag is not a symbol"},
		{"tag quote marker", transit.TaggedValue{Tag: "'", Rep: 1}, ""},
		{"tag empty", transit.TaggedValue{Tag: "", Rep: 1}, "the tag is not a symbol"},
		{"tag space", transit.TaggedValue{Tag: "a b", Rep: 1}, "the tag is not a symbol"},
		{"tag bad rep", transit.TaggedValue{Tag: "a", Rep: []byte{}}, "EDN has no bytes literal"},
		{"surrogate char", transit.Char(0xD800), "not a Unicode scalar value"},
		{"negative char", transit.Char(-1), "not a Unicode scalar value"},
		{"huge char", transit.Char(0x110000), "not a Unicode scalar value"},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "an #inst year must be 0000-9999"},
		{"year -1", time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), "an #inst year must be 0000-9999"},
		{"cyclic", cyclic, "nesting deeper than 10000"},
		{"channel", make(chan int), "unsupported type"},
		{"func in struct", struct{ F func() }{}, "unsupported type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendMarshal([]byte("x"), tt.v)
			if tt.msg == "" { // writable after all
				if err != nil {
					t.Fatalf("Marshal: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), "edn: ") {
				t.Fatalf("Marshal(%#v) = %q, %v; want an error containing %q", tt.v, b, err, tt.msg)
			}
			if string(b) != "x" {
				t.Errorf("AppendMarshal returned %q on error, want dst unchanged", b)
			}
		})
	}
	var uve *UnsupportedValueError
	if _, err := Marshal(transit.URI("x")); !errors.As(err, &uve) || uve.Value != transit.URI("x") {
		t.Errorf("URI error %#v", err)
	}
}

// TestNameRules checks the writer's rules for keywords, symbols and tags
// against the reader, exhaustively over short names from an alphabet of
// the characters that matter: a name is written exactly when the text
// reads back as that name.
func TestNameRules(t *testing.T) {
	alphabet := []string{"a", "1", "/", ":", "#", "'", "+", "-", ".", "_", "@", "~", "é", "٣", ",", " ", "(", "\u2028", "\u00a0", "\xff"}
	var names []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		names = append(names, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("", 3)
	for _, s := range names {
		v, err := Unmarshal([]byte(":" + s))
		reads := err == nil && v == kw(s)
		if w := validKeyword(s); w != reads {
			t.Errorf("keyword %q: writer accepts %v, reader gives %#v, %v", s, w, v, err)
		}
		v, err = Unmarshal([]byte(s))
		reads = err == nil && v == sym(s)
		if w := validSymbol(s); w != reads {
			t.Errorf("symbol %q: writer accepts %v, reader gives %#v, %v", s, w, v, err)
		}
		if s == "inst" || s == "uuid" {
			continue
		}
		v, err = Unmarshal([]byte("#" + s + " 1"))
		reads = err == nil && transit.Equal(v, transit.TaggedValue{Tag: s, Rep: int64(1)})
		if w := validTag(s); w != reads {
			t.Errorf("tag %q: writer accepts %v, reader gives %#v, %v", s, w, v, err)
		}
	}
}

// TestEncoder checks the stream writer.
func TestEncoder(t *testing.T) {
	var sb strings.Builder
	enc := NewEncoder(&sb)
	for _, v := range []any{kw("a"), transit.URI("x"), []any{1}, nil} {
		err := enc.Encode(v)
		if _, isURI := v.(transit.URI); isURI != (err != nil) {
			t.Errorf("Encode(%#v): %v", v, err)
		}
	}
	if sb.String() != ":a\n[1]\nnil" {
		t.Errorf("stream %q", sb.String())
	}
	if err := NewEncoder(failWriter{}).Encode(1); err == nil || !strings.Contains(err.Error(), "edn: write") {
		t.Errorf("write error %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("boom") }
