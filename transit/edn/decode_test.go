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

type kw = transit.Keyword
type sym = transit.Symbol

func bigInt(s string) *big.Int {
	z, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return z
}

func bigDec(unscaled int64, scale int32) transit.BigDecimal {
	return transit.BigDecimal{Unscaled: big.NewInt(unscaled), Scale: scale}
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// readCases is the project's table of EDN corner cases: the text, the
// value it reads as, and the exact text the writer gives for that value
// (the input itself when empty), which must read back as the same value.
var readCases = []struct {
	name, in string
	want     any
	out      string
}{
	// Literals and whitespace.
	{"nil", "nil", nil, ""},
	{"true", "true", true, ""},
	{"false", "false", false, ""},
	{"surrounded", " \t\n,, nil ,\r\n", nil, "nil"},
	{"java whitespace", "\v\f\x1c\x1d\x1e\x1f\u2028\u2029\u3000\u1680\u2000\u200a\u205f1", int64(1), "1"},
	{"nbsp is no space", "\u00a0", sym("\u00a0"), ""},

	// Strings.
	{"string", `"hello"`, "hello", ""},
	{"empty string", `""`, "", ""},
	{"escapes", `"\t\r\n\\\"\b\f"`, "\t\r\n\\\"\b\f", ""},
	{"unicode escape", `"\u00e9\u00E9"`, "éé", `"éé"`},
	{"surrogate pair", `"\ud83d\ude00"`, "😀", `"😀"`},
	{"lone surrogate", `"\ud800x"`, "\uFFFDx", "\"\uFFFDx\""},
	{"octal escapes", `"\101\0\377\12"`, "A\x00ÿ\n", "\"A\x00ÿ\\n\""},
	{"octal ended by a quote", `"\7"`, "\a", "\"\a\""},
	{"octal ended by a space", `"\1 "`, "\x01 ", "\"\x01 \""},
	{"raw newline and controls", "\"a\nb\x01\x7f\u2028\"", "a\nb\x01\x7f\u2028", "\"a\\nb\x01\x7f\u2028\""},
	{"raw unicode", `"héllo ✓ 😀"`, "héllo ✓ 😀", ""},
	{"invalid utf-8", "\"a\xffb\xc3\"", "a\uFFFDb\uFFFD", "\"a\uFFFDb\uFFFD\""},

	// Characters.
	{"char", `\a`, transit.Char('a'), ""},
	{"char names", `[\newline \space \tab \return \formfeed \backspace]`, []any{transit.Char('\n'), transit.Char(' '), transit.Char('\t'), transit.Char('\r'), transit.Char('\f'), transit.Char('\b')}, ""},
	{"char unicode", `\u00e9`, transit.Char('é'), `\é`},
	{"char unicode upper", `\u00C9`, transit.Char('É'), `\É`},
	{"char octal", `\o101`, transit.Char('A'), `\A`},
	{"char octal max", `\o377`, transit.Char('ÿ'), `\ÿ`},
	{"char u alone", `\u`, transit.Char('u'), ""},
	{"char o alone", `\o`, transit.Char('o'), ""},
	{"char raw unicode", `\é`, transit.Char('é'), ""},
	{"char astral", `\😀`, transit.Char('😀'), ""},
	{"char delimiters", `[\( \) \[ \] \{ \} \" \\ \; \^]`, []any{transit.Char('('), transit.Char(')'), transit.Char('['), transit.Char(']'), transit.Char('{'), transit.Char('}'), transit.Char('"'), transit.Char('\\'), transit.Char(';'), transit.Char('^')}, ""},
	{"char not constituent", `[\@ \~ \` + "`" + `]`, []any{transit.Char('@'), transit.Char('~'), transit.Char('`')}, ""},
	{"char comma and hash", `[\, \# \:]`, []any{transit.Char(','), transit.Char('#'), transit.Char(':')}, ""},
	{"char raw space", `[\ ]`, []any{transit.Char(' ')}, `[\space]`},
	{"char control", `\u0000`, transit.Char(0), ""},
	{"char nbsp", `\u00a0`, transit.Char(0xA0), ""},
	{"char line separator", `\u2028`, transit.Char(0x2028), ""},
	{"char del", `\u007F`, transit.Char(0x7F), `\u007f`},
	{"chars adjacent", `[\a\b]`, []any{transit.Char('a'), transit.Char('b')}, `[\a \b]`},

	// Integers.
	{"zero", "0", int64(0), ""},
	{"minus zero", "-0", int64(0), "0"},
	{"plus", "+5", int64(5), "5"},
	{"negative", "-42", int64(-42), ""},
	{"max int64", "9223372036854775807", int64(math.MaxInt64), ""},
	{"min int64", "-9223372036854775808", int64(math.MinInt64), ""},
	{"beyond int64", "9223372036854775808", bigInt("9223372036854775808"), "9223372036854775808N"},
	{"below int64", "-9223372036854775809", bigInt("-9223372036854775809"), "-9223372036854775809N"},
	{"big suffix", "42N", big.NewInt(42), ""},
	{"big zero", "0N", big.NewInt(0), ""},
	{"big negative", "-1N", big.NewInt(-1), ""},
	{"hex", "0x1F", int64(31), "31"},
	{"hex upper", "-0X1f", int64(-31), "-31"},
	{"hex big", "0xFFN", big.NewInt(255), "255N"},
	{"octal", "017", int64(15), "15"},
	{"octal zeros", "00", int64(0), "0"},
	{"radix", "2r1010", int64(10), "10"},
	{"radix 36", "-36rZZ", int64(-1295), "-1295"},
	{"radix N digit", "36rAN", int64(10*36 + 23), "383"},
	{"integer then macro", "[1#{}]", []any{int64(1), transit.Set{}}, "[1 #{}]"},
	{"integer then keyword", "[1:a]", []any{int64(1), kw("a")}, "[1 :a]"},

	// Floats.
	{"float", "1.5", 1.5, ""},
	{"float point only", "1.", 1.0, "1.0"},
	{"float exponent", "1e3", 1000.0, "1000.0"},
	{"float small", "1E-7", 1e-7, "1.0E-7"},
	{"float large", "1.0E7", 1e7, ""},
	{"float plain max", "9999999.0", 9999999.0, ""},
	{"float min plain", "0.001", 0.001, ""},
	{"float below plain", "9.999999E-4", 9.999999e-4, ""},
	{"float negative zero", "-0.0", math.Copysign(0, -1), ""},
	{"float leading zeros", "01.5", 1.5, "1.5"},
	{"float overflow", "1e400", math.Inf(1), "##Inf"},
	{"float underflow", "-1e-400", math.Copysign(0, -1), "-0.0"},
	{"float max", "1.7976931348623157E308", math.MaxFloat64, ""},
	{"float min subnormal", "4.9E-324", 5e-324, ""},       // Java: the closest decimal of 1 or 2 digits
	{"float subnormal 2", "1.0E-323", 1e-323, "9.9E-324"}, // 9.88e-324: Java 19+ prints 9.9E-324 (closer), Java 17 1.0E-323
	{"float subnormal 3", "1.5E-323", 1.5e-323, ""},       // 1.48e-323: 1.5 is closer than 1
	{"float one digit", "[2.0 1.0E23 3.0E-5]", []any{2.0, 1e23, 3e-5}, ""},
	{"float exemplars", "[-3.14159 3.14159 4.0E11 2.998E8 6.626E-34]", []any{-3.14159, 3.14159, 4e11, 2.998e8, 6.626e-34}, ""},
	{"nan", "##NaN", math.NaN(), ""},
	{"inf", "##Inf", math.Inf(1), ""},
	{"minus inf", "##-Inf", math.Inf(-1), ""},
	{"symbolic with space", "## Inf", math.Inf(1), "##Inf"},

	// Big decimals.
	{"bigdec", "1.50M", bigDec(150, 2), ""},
	{"bigdec integer", "1M", bigDec(1, 0), ""},
	{"bigdec exponent", "1e3M", bigDec(1, -3), "1E+3M"},
	{"bigdec small", "-0.000000123M", bigDec(-123, 9), "-1.23E-7M"},
	{"bigdec plus", "+0.1M", bigDec(1, 1), "0.1M"},

	// Ratios.
	{"ratio", "1/3", big.NewRat(1, 3), ""},
	{"ratio negative", "-2/6", big.NewRat(-1, 3), "-1/3"},
	{"ratio plus", "+1/3", big.NewRat(1, 3), "1/3"},
	{"ratio to long", "4/2", int64(2), "2"},
	{"ratio zero", "0/5", int64(0), "0"},
	{"ratio to bigint", "20000000000000000000/10000000000000000000", big.NewInt(2), "2N"},
	{"ratio big", "1/20000000000000000000", new(big.Rat).SetFrac(big.NewInt(1), bigInt("20000000000000000000")), ""},

	// Keywords and symbols.
	{"keyword", ":a", kw("a"), ""},
	{"keyword ns", ":chsk/handshake", kw("chsk/handshake"), ""},
	{"keyword dots", ":taoensso.sente/nil-uid", kw("taoensso.sente/nil-uid"), ""},
	{"keyword digit", ":1", kw("1"), ""},
	{"keyword digit ns", ":1/a", kw("1/a"), ""},
	{"keyword slash name", ":a//", kw("a//"), ""},
	{"keyword slash", ":/", kw("/"), ""},
	{"keyword odd chars", ":a#b'c*+!-_?<>=$%&|.", kw("a#b'c*+!-_?<>=$%&|."), ""},
	{"keyword unicode", ":héllo/wörld", kw("héllo/wörld"), ""},
	{"keyword nil", ":nil", kw("nil"), ""},
	{"symbol", "a", sym("a"), ""},
	{"symbol ns", "clojure.core/map", sym("clojure.core/map"), ""},
	{"symbol slash", "/", sym("/"), ""},
	{"symbol slash name", "clojure.core//", sym("clojure.core//"), ""},
	{"symbol signs", "[+ - -a +a +. .5 ...]", []any{sym("+"), sym("-"), sym("-a"), sym("+a"), sym("+."), sym(".5"), sym("...")}, ""},
	{"symbol quote", "'a", sym("'a"), ""},
	{"symbol hash inside", "a#", sym("a#"), ""},
	{"symbol colon inside", "a:b", sym("a:b"), ""},
	{"symbol ends at delimiter", `[a"s"b]`, []any{sym("a"), "s", sym("b")}, `[a "s" b]`},
	{"symbols NaN", "[NaN Infinity]", []any{sym("NaN"), sym("Infinity")}, ""},

	// Collections.
	{"vector", "[1 2 3]", []any{int64(1), int64(2), int64(3)}, ""},
	{"commas", "[1,2,,3,]", []any{int64(1), int64(2), int64(3)}, "[1 2 3]"},
	{"empty vector", "[]", []any{}, ""},
	{"list", "(1 (2) ())", transit.List{int64(1), transit.List{int64(2)}, transit.List{}}, ""},
	{"set", "#{1 3 2}", transit.Set{int64(1), int64(3), int64(2)}, ""},
	{"empty set", "#{}", transit.Set{}, ""},
	{"map", "{:a 1 :b [2]}", transit.NewMap(kw("a"), int64(1), kw("b"), []any{int64(2)}), "{:a 1, :b [2]}"},
	{"empty map", "{}", transit.NewMap(), ""},
	{"map composite keys", `{[1 1] "one", nil "n", {:a 1} #{2}}`, transit.NewMap([]any{int64(1), int64(1)}, "one", nil, "n", transit.NewMap(kw("a"), int64(1)), transit.Set{int64(2)}), ""},
	{"map numeric keys", `{1 "one", 2 "two"}`, transit.NewMap(int64(1), "one", int64(2), "two"), ""},
	{"nested", `[{:a #{(1 [2])}}]`, []any{transit.NewMap(kw("a"), transit.Set{transit.List{int64(1), []any{int64(2)}}})}, ""},
	{"no space needed", `[:a"b"[c](d){:e 1}#{f}\g]`, []any{kw("a"), "b", []any{sym("c")}, transit.List{sym("d")}, transit.NewMap(kw("e"), int64(1)), transit.Set{sym("f")}, transit.Char('g')}, `[:a "b" [c] (d) {:e 1} #{f} \g]`},

	// Namespaced maps.
	{"namespaced map", `#:a{:b 1, :_/c 2, d 3, :x/e 4, "f" 5}`, transit.NewMap(kw("a/b"), int64(1), kw("c"), int64(2), sym("a/d"), int64(3), kw("x/e"), int64(4), "f", int64(5)), `{:a/b 1, :c 2, a/d 3, :x/e 4, "f" 5}`},
	{"namespaced map space", `#:a.b {:c 1}`, transit.NewMap(kw("a.b/c"), int64(1)), `{:a.b/c 1}`},

	// Tagged literals.
	{"inst", `#inst "2000-01-01T12:00:00.000-00:00"`, date("2000-01-01T12:00:00Z"), ""},
	{"inst year only", `#inst "2000"`, date("2000-01-01T00:00:00Z"), `#inst "2000-01-01T00:00:00.000-00:00"`},
	{"inst Z", `#inst "1985-04-12T23:20:50.52Z"`, date("1985-04-12T23:20:50.52Z"), `#inst "1985-04-12T23:20:50.520-00:00"`},
	{"inst offset", `#inst "2000-01-01T13:00:00+01:00"`, date("2000-01-01T12:00:00Z"), `#inst "2000-01-01T12:00:00.000-00:00"`},
	{"inst nanos dropped", `#inst "2000-01-01T12:00:00.123456789Z"`, date("2000-01-01T12:00:00.123Z"), `#inst "2000-01-01T12:00:00.123-00:00"`},
	{"inst offset after year", `#inst "1985-05:00"`, date("1985-01-01T05:00:00Z"), `#inst "1985-01-01T05:00:00.000-00:00"`},
	{"inst leap second", `#inst "2016-12-31T23:59:60Z"`, date("2017-01-01T00:00:00Z"), `#inst "2017-01-01T00:00:00.000-00:00"`},
	{"inst 1776", `#inst "1776-07-04T12:00:00.000-00:00"`, date("1776-07-04T12:00:00Z"), ""},
	{"inst leap day", `#inst "2000-02-29"`, date("2000-02-29T00:00:00Z"), `#inst "2000-02-29T00:00:00.000-00:00"`},
	{"uuid", `#uuid "5a2cbea3-e8c6-428b-b525-21239370dd55"`, mustUUID("5a2cbea3-e8c6-428b-b525-21239370dd55"), ""},
	{"uuid upper", `#uuid "5A2CBEA3-E8C6-428B-B525-21239370DD55"`, mustUUID("5a2cbea3-e8c6-428b-b525-21239370dd55"), `#uuid "5a2cbea3-e8c6-428b-b525-21239370dd55"`},
	{"tagged", `#my/point [1 2]`, transit.TaggedValue{Tag: "my/point", Rep: []any{int64(1), int64(2)}}, ""},
	{"tagged scalar", `#x "foo"`, transit.TaggedValue{Tag: "x", Rep: "foo"}, ""},
	{"tagged space", `# x "foo"`, transit.TaggedValue{Tag: "x", Rep: "foo"}, `#x "foo"`},
	{"tagged quote", `#'x 1`, transit.TaggedValue{Tag: "'x", Rep: int64(1)}, ""},
	{"tagged nested", `#a #b 1`, transit.TaggedValue{Tag: "a", Rep: transit.TaggedValue{Tag: "b", Rep: int64(1)}}, ""},
	{"object printout", `#object[java.net.URI 0x15e0fe05 "http://example.com"]`, transit.TaggedValue{Tag: "object", Rep: []any{sym("java.net.URI"), int64(0x15e0fe05), "http://example.com"}}, `#object [java.net.URI 367066629 "http://example.com"]`},

	// Comments, discards, metadata.
	{"comment", "; c\n1 ; d", int64(1), "1"},
	{"comment in vector", "[1 ; 2\n 3]", []any{int64(1), int64(3)}, "[1 3]"},
	{"shebang", "#!/usr/bin/env\n1", int64(1), "1"},
	{"discard", "#_ 1 2", int64(2), "2"},
	{"discard twice", "#_#_ 1 2 3", int64(3), "3"},
	{"discard last", "[1 #_ 2]", []any{int64(1)}, "[1]"},
	{"discard in map", "{:a #_ :x 1}", transit.NewMap(kw("a"), int64(1)), "{:a 1}"},
	{"discard after", "1 #_ 2", int64(1), "1"},
	{"meta keyword", "^:a [1]", []any{int64(1)}, "[1]"},
	{"meta map", "^{:a 1} x", sym("x"), "x"},
	{"meta symbol and string", `[^String a ^"T" b]`, []any{sym("a"), sym("b")}, "[a b]"},
	{"meta vector", `^[long] (f)`, transit.List{sym("f")}, "(f)"},
	{"meta old", "#^:a {}", transit.NewMap(), "{}"},
	{"meta stacked", "^:a ^:b #{1}", transit.Set{int64(1)}, "#{1}"},
}

func mustUUID(s string) transit.UUID {
	u, err := transit.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestReadCases reads each corner case, checks the value, writes it and
// checks the text, and reads the text back.
func TestReadCases(t *testing.T) {
	for _, tt := range readCases {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Unmarshal([]byte(tt.in))
			if err != nil {
				t.Fatalf("Unmarshal(%q): %v", tt.in, err)
			}
			if !transit.Equal(v, tt.want) {
				t.Fatalf("Unmarshal(%q) = %#v, want %#v", tt.in, v, tt.want)
			}
			want := tt.out
			if want == "" {
				want = tt.in
			}
			out, err := Marshal(v)
			if err != nil || string(out) != want {
				t.Fatalf("Marshal(%#v) = %q, %v; want %q", v, out, err, want)
			}
			back, err := Unmarshal(out)
			if err != nil || !transit.Equal(back, v) {
				t.Fatalf("Unmarshal(%q) = %#v, %v; want %#v", out, back, err, v)
			}
		})
	}
}

// TestSameValuesAsTransit checks that EDN and Transit give the same Go
// values: a keyword, symbol, vector, set, map… read from either is Equal,
// and the scalars are ==.
func TestSameValuesAsTransit(t *testing.T) {
	e, err := Unmarshal([]byte(`[:chsk/handshake sym "s" \c 1 1N 1.5 1.50M 1/3 #{:a} (1) {:k [nil true]} #inst "2014-04-07T22:17:17.000-00:00" #uuid "5a2cbea3-e8c6-428b-b525-21239370dd55" #point [1 2]]`))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transit.Unmarshal([]byte(`["~:chsk/handshake","~$sym","s","~cc",1,"~n1",1.5,"~f1.50",["~#ratio",["~n1","~n3"]],["~#set",["~:a"]],["~#list",[1]],["^ ","~:k",[null,true]],"~m1396909037000","~u5a2cbea3-e8c6-428b-b525-21239370dd55",["~#point",[1,2]]]`))
	if err != nil {
		t.Fatal(err)
	}
	if !transit.Equal(e, tr) {
		t.Fatalf("EDN %#v\nTransit %#v", e, tr)
	}
	ev, tv := e.([]any), tr.([]any)
	for _, i := range []int{0, 1, 2, 3, 4, 6, 13} {
		if ev[i] != tv[i] {
			t.Errorf("element %d: EDN %#v != Transit %#v", i, ev[i], tv[i])
		}
	}
}

// errorCases is the table of malformed input: the error must be a
// *SyntaxError whose message contains msg, at offset.
var errorCases = []struct {
	name, in string
	msg      string
	offset   int64
}{
	{"empty", "", "no value", 0},
	{"only a comment", "; nothing\n", "no value", 10},
	{"only a discard", "#_ 1", "no value", 4},
	{"trailing data", "1 2", "data after the top-level value", 2},
	{"unterminated vector", "[1 2", "unexpected end of input in vector starting at offset 0", 4},
	{"unterminated map", "{:a [1]", "unexpected end of input in map starting at offset 0", 7},
	{"unterminated set", " #{1", "unexpected end of input in set starting at offset 2", 4},
	{"unmatched", "[1)", "unmatched delimiter ')'", 2},
	{"unmatched top", "}", "unmatched delimiter '}'", 0},
	{"odd map", "{:a}", "odd number of forms", 0},
	{"duplicate key", "{:a 1 :b 2 :a 3}", "duplicate key :a in map", 0},
	{"duplicate composite key", "{[1] 1 [1] 2}", "duplicate key [1]", 0},
	{"duplicate element", "[#{1 2 1}]", "duplicate element 1 in set", 1},
	{"duplicate namespaced key", "#:a{:b 1 :a/b 2}", "duplicate key :a/b in namespaced map", 0},
	{"auto-resolved keyword", "[::a]", "auto-resolved keyword ::a is not EDN", 1},
	{"auto-resolved map", "#::{:a 1}", "auto-resolved namespaced map #:: is not EDN", 0},
	{"auto-resolved alias map", "#::str{:a 1}", "auto-resolved namespaced map #:: is not EDN", 0},
	{"namespaced map ns with slash", "#:a/b{:c 1}", `invalid namespace "a/b"`, 0},
	{"namespaced map no map", "#:a [1]", "namespaced map #:a must be followed by a map", 4},
	{"namespaced map bad key", "#:a{:1 2}", "makes an unreadable name", 0},
	{"colon at end", ":", "unexpected end of input after ':'", 0},
	{"single colon", ": a", "a single colon is not a keyword", 0},
	{"keyword empty", ":)", "invalid keyword :", 0},
	{"keyword ends with slash", ":a/", "invalid keyword :a/", 0},
	{"keyword ends with colon", ":a:", "invalid keyword :a:", 0},
	{"keyword digit name", ":a/1", "invalid keyword :a/1", 0},
	{"keyword double colon", ":a::b", "invalid keyword :a::b", 0},
	{"keyword two slashes", ":a/b/c", "invalid keyword :a/b/c", 0},
	{"symbol ends with slash", "a/", `invalid symbol "a/"`, 0},
	{"symbol starts with slash", "/a", `invalid symbol "/a"`, 0},
	{"symbol digit name", "a/1", `invalid symbol "a/1"`, 0},
	{"at sign", "@a", "invalid character '@'", 0},
	{"tilde in symbol", "a~b", "invalid character '~' in symbol", 1},
	{"backquote in keyword", ":a`", "invalid character '`' in keyword", 2},
	{"invalid utf-8 symbol", "a\xffb", "invalid UTF-8 in symbol", 1},
	{"leading zero", "08", `invalid number: leading zero "08"`, 0},
	{"leading zero big", "09N", "leading zero", 0},
	{"two points", "1.2.3", `invalid number "1.2.3"`, 0},
	{"radix too big", "37r1", "radix 37 out of range", 0},
	{"radix one", "1r1", "radix 1 out of range", 0},
	{"radix digit", "8r8", "digits not in radix 8", 0},
	{"radix with N", "8r17N", "digits not in radix 8", 0},
	{"hex without digits", "0x", `invalid number "0x"`, 0},
	{"zero denominator", "1/0", "zero denominator", 0},
	{"float with N", "1.5N", "invalid number", 0},
	{"unicode digit", "٣", "invalid number", 0},
	{"sign unicode digit", "+٣", "invalid number", 0},
	{"unterminated string", `"abc`, "unexpected end of input in string", 0},
	{"unknown escape", `"a\qb"`, `unsupported escape character \q`, 2},
	{"short unicode escape", `"\u12"`, "invalid unicode escape", 1},
	{"bad unicode escape", `"\u12g4"`, "invalid unicode escape", 1},
	{"octal too big", `"\400"`, `octal escape beyond \377`, 1},
	{"octal bad digit", `"\8"`, "invalid digit '8' in octal escape", 2},
	{"octal then letter", `"\1a"`, "invalid digit 'a' in octal escape", 3},
	{"escape at end", `"\`, "unexpected end of input in string escape", 1},
	{"char at end", `\`, "unexpected end of input in character", 0},
	{"char surrogate", `\uD800`, `invalid character \uD800: a surrogate`, 0},
	{"char short unicode", `\u12`, `invalid unicode character \u12`, 0},
	{"char octal too big", `\o400`, `octal character \o400 beyond \o377`, 0},
	{"char octal too long", `\o1234`, `invalid octal character \o1234`, 0},
	{"char unknown name", `\abc`, `unsupported character \abc`, 0},
	{"char then at", `\a@`, "invalid character '@' in character", 2},
	{"inst not a string", "#inst 1", "#inst takes a string, not 1", 6},
	{"inst month", `#inst "2000-13-01"`, `invalid #inst timestamp "2000-13-01"`, 6},
	{"inst day", `#inst "2001-02-29"`, "invalid #inst timestamp", 6},
	{"inst second", `#inst "2000-01-01T00:00:60Z"`, "invalid #inst timestamp", 6},
	{"inst year digits", `#inst "20000-01-01"`, "invalid #inst timestamp", 6},
	{"inst fraction", `#inst "2000-01-01T00:00:00.Z"`, "invalid #inst timestamp", 6},
	{"inst offset", `#inst "2000-01-01T00:00:00+24:00"`, "invalid #inst timestamp", 6},
	{"inst before year 0 in UTC", `#inst "0000+00:01"`, "invalid #inst timestamp", 6},
	{"inst after year 9999 in UTC", `#inst "9999-12-31T23:59-00:01"`, "invalid #inst timestamp", 6},
	{"uuid", `#uuid "5a2cbea3"`, `invalid #uuid "5a2cbea3"`, 6},
	{"uuid not a string", `#uuid 1`, "#uuid takes a string", 6},
	{"tag not a symbol", "#1 2", "reader tag must be a symbol, not 1", 0},
	{"tag string", `#"a" 1`, `reader tag must be a symbol, not "a"`, 0},
	{"tag unreadable", "# _x 1", "invalid reader tag _x", 0},
	{"tag at end", "#foo", "unexpected end of input", 4},
	{"hash at end", "#", "unexpected end of input after '#'", 0},
	{"unreadable", "#<foo>", "unreadable form #<", 0},
	{"symbolic unknown", "##Foo", "invalid symbolic value ##Foo", 0},
	{"symbolic not a symbol", "##1", "invalid symbolic value ##1", 0},
	{"meta number", "^1 [x]", "metadata must be a map, keyword, symbol, string or vector, not 1", 0},
	{"meta target", "^:a 1", "metadata cannot be attached to 1", 4},
	{"meta at end", "^:a", "unexpected end of input", 3},
	{"discard at end", "[#_]", "unmatched delimiter ']'", 3},
}

// TestErrorCases checks what every malformed input reports and where.
func TestErrorCases(t *testing.T) {
	for _, tt := range errorCases {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Unmarshal([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Unmarshal(%q) = %#v, %v; want a *SyntaxError", tt.in, v, err)
			}
			if !strings.Contains(se.Msg, tt.msg) || se.Offset != tt.offset {
				t.Errorf("Unmarshal(%q) error %q at %d, want %q at %d", tt.in, se.Msg, se.Offset, tt.msg, tt.offset)
			}
			if !strings.HasPrefix(err.Error(), "edn: ") {
				t.Errorf("error %q lacks the edn: prefix", err)
			}
		})
	}
}

// TestLimits checks the depth, size and digit limits.
func TestLimits(t *testing.T) {
	deep := func(open, close string, n int) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	for _, in := range [][]byte{
		deep("[", "]", DefaultMaxDepth+1), deep("(", ")", DefaultMaxDepth+1), deep("#{", "}", DefaultMaxDepth+1),
		deep("#a ", "", DefaultMaxDepth+1), deep("^:m ", "", DefaultMaxDepth+1), deep("#_", "", DefaultMaxDepth+1),
		deep("## ", "", DefaultMaxDepth+1), deep("{:a ", "}", DefaultMaxDepth+1),
	} {
		if _, err := Unmarshal(in); !errors.Is(err, ErrTooDeep) {
			t.Errorf("Unmarshal(%.20q…): %v, want ErrTooDeep", in, err)
		}
	}
	if _, err := Unmarshal(deep("[", "]", DefaultMaxDepth)); err != nil {
		t.Errorf("nesting at the limit: %v", err)
	}
	if _, err := (DecoderOptions{MaxDepth: 2}).Unmarshal([]byte("[[[]]]")); !errors.Is(err, ErrTooDeep) {
		t.Errorf("MaxDepth 2: %v", err)
	}
	if _, err := (DecoderOptions{MaxValueBytes: 3}).Unmarshal([]byte("[1 2]")); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxValueBytes: %v", err)
	}
	if _, err := (DecoderOptions{MaxDepth: -1}).Unmarshal([]byte("1")); !errors.Is(err, ErrBadOptions) {
		t.Errorf("negative MaxDepth: %v", err)
	}
	digits := strings.Repeat("7", maxDigits+1)
	for _, in := range []string{digits, digits + "N", "1." + digits + "M", "1/" + digits, "36r" + digits, strings.Repeat("1", maxNumberLen+1) + ".0"} {
		var se *SyntaxError
		if _, err := Unmarshal([]byte(in)); !errors.Is(err, ErrTooLarge) || !errors.As(err, &se) || se.Offset != 0 {
			t.Errorf("Unmarshal(%.12q… %d bytes): %v, want ErrTooLarge at 0", in, len(in), err)
		}
	}
	if v, err := Unmarshal([]byte(strings.Repeat("7", maxDigits))); err != nil {
		t.Errorf("%d digits: %v", maxDigits, err)
	} else if _, ok := v.(*big.Int); !ok {
		t.Errorf("%d digits: %T", maxDigits, v)
	}
	// A huge exponent is a double, not a big allocation.
	if v, err := Unmarshal([]byte("1e999999999999")); err != nil || v != math.Inf(1) {
		t.Errorf("huge exponent: %v, %v", v, err)
	}
	if _, err := Unmarshal([]byte("1e999999999999M")); err == nil {
		t.Error("huge BigDecimal exponent accepted")
	}
}

// TestUnmarshalInto checks decoding into Go values through transit.Assign.
func TestUnmarshalInto(t *testing.T) {
	type user struct {
		ScreenName string `transit:"screen_name"`
		Followers  int    `transit:"followers_count"`
		Tags       []string
	}
	var u user
	if err := UnmarshalInto([]byte(`{:screen_name "jane", :followers_count 1532, :Tags ["a" "b"]}`), &u); err != nil {
		t.Fatal(err)
	}
	if u.ScreenName != "jane" || u.Followers != 1532 || len(u.Tags) != 2 {
		t.Errorf("UnmarshalInto = %+v", u)
	}
	if err := UnmarshalInto([]byte(`{:a`), &u); err == nil {
		t.Error("UnmarshalInto of malformed input succeeded")
	}
}
