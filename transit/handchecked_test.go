package transit

import (
	"flag"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under ../testdata/transit")

func mustUUID(s string) UUID {
	u, err := ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func bigInt(s string) *big.Int {
	z, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return z
}

func bigDec(s string) BigDecimal {
	d, err := ParseBigDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func keywords(prefix string, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = Keyword(prefix + itoa(i))
	}
	return out
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

// handChecked are values with their transit-java output (docs/transit.md §14 and
// §5.5). verbose "" means the verbose form is not pinned for that case.
var handChecked = []struct {
	name          string
	v             any
	json, verbose string
}{
	{"empty map", NewMap(), `["^ "]`, `{}`},
	{"scalar keys",
		NewMap(nil, int64(0), true, int64(1), false, int64(2), int64(42), int64(3), 2.5, int64(4), 2.0, int64(5), 1e21, int64(6), math.NaN(), int64(7)),
		`["^ ","~_",0,"~?t",1,"~?f",2,"~i42",3,"~d2.5",4,"~d2.0",5,"~d1.0E21",6,"~zNaN",7]`,
		`{"~_":0,"~?t":1,"~?f":2,"~i42":3,"~d2.5":4,"~d2.0":5,"~d1.0E21":6,"~zNaN":7}`},
	{"extension keys",
		NewMap(Char('c'), int64(1), bigInt("1180591620717411303424"), int64(2), bigDec("1.50"), int64(3),
			mustUUID("5a2cbea3-e8c6-428b-b525-21239370dd55"), int64(4), URI("http://example.com/"), int64(5),
			time.UnixMilli(946728000000).UTC(), int64(6), []byte{1, 2, 3}, int64(7)),
		`["^ ","~cc",1,"~n1180591620717411303424",2,"~f1.50",3,"~u5a2cbea3-e8c6-428b-b525-21239370dd55",4,"~rhttp://example.com/",5,"~m946728000000",6,"~bAQID",7]`,
		`{"~cc":1,"~n1180591620717411303424":2,"~f1.50":3,"~u5a2cbea3-e8c6-428b-b525-21239370dd55":4,"~rhttp://example.com/":5,"~t2000-01-01T12:00:00.000Z":6,"~bAQID":7}`},
	{"floats", []any{math.Copysign(0, -1), 1e7, 9999999.0, 1e-3, 9.999999e-4, 1e-7, int64(math.MinInt64)},
		`[-0.0,1.0E7,9999999.0,0.001,9.999999E-4,1.0E-7,"~i-9223372036854775808"]`,
		`[-0.0,1.0E7,9999999.0,0.001,9.999999E-4,1.0E-7,"~i-9223372036854775808"]`},
	{"big numbers", []any{big.NewInt(5), bigDec("1.50"), bigDec("0.000000123"), bigDec("1E+3"), bigDec("-0.1")},
		`["~n5","~f1.50","~f1.23E-7","~f1E+3","~f-0.1"]`, `["~n5","~f1.50","~f1.23E-7","~f1E+3","~f-0.1"]`},
	{"chars and bytes", []any{Char('a'), Char('~'), Char('"'), []byte{}, []byte{255, 0, 1}},
		`["~ca","~c~","~c\"","~b","~b/wAB"]`, `["~ca","~c~","~c\"","~b","~b/wAB"]`},
	{"ratio", big.NewRat(1, 3), `["~#ratio",["~n1","~n3"]]`, `{"~#ratio":["~n1","~n3"]}`},
	{"nested sets", Set{Set{int64(1)}, Set{int64(2)}},
		`["~#set",[["^0",[1]],["^0",[2]]]]`, `{"~#set":[{"~#set":[1]},{"~#set":[2]}]}`},
	{"tagged values", []any{TaggedValue{"x", "foo"}, TaggedValue{"point", []any{int64(1), int64(2)}}, TaggedValue{"point", []any{int64(3), int64(4)}}},
		`["~xfoo",["~#point",[1,2]],["^0",[3,4]]]`, `["~xfoo",{"~#point":[1,2]},{"~#point":[3,4]}]`},
	{"cmap with tagged key", NewMap(TaggedValue{"point", []any{int64(1), int64(2)}}, int64(1), Keyword("abcd"), Keyword("abcd")),
		`["~#cmap",[["~#point",[1,2]],1,"~:abcd","^2"]]`, `{"~#cmap":[{"~#point":[1,2]},1,"~:abcd","~:abcd"]}`},
	{"integer keys cached", []any{NewMap(int64(12345), int64(1), int64(7), int64(2)), NewMap(int64(12345), int64(3), int64(7), int64(4))},
		`[["^ ","~i12345",1,"~i7",2],["^ ","^0",3,"~i7",4]]`, `[{"~i12345":1,"~i7":2},{"~i12345":3,"~i7":4}]`},
	{"cacheability in UTF-16 units", []any{NewMap("éé", int64(1), "😀😀", int64(2)), NewMap("éé", int64(3), "😀😀", int64(4))},
		`[["^ ","éé",1,"\uD83D\uDE00\uD83D\uDE00",2],["^ ","éé",3,"^0",4]]`, `[{"éé":1,"\uD83D\uDE00\uD83D\uDE00":2},{"éé":3,"\uD83D\uDE00\uD83D\uDE00":4}]`},
	{"46 keywords twice", append(keywords("k", 46), keywords("k", 46)...), "", ""},
	{"instants outside 1583-9999 (JSON only)", []any{time.UnixMilli(-12219292800001), time.UnixMilli(253402300800000)},
		`["~m-12219292800001","~m253402300800000"]`, ""},
	{"top-level composite tagged", TaggedValue{"point", []any{int64(1), int64(2)}}, `["~#point",[1,2]]`, `{"~#point":[1,2]}`},
	{"top-level scalar tagged", TaggedValue{"x", "foo"}, `["~#'","~xfoo"]`, `{"~#'":"~xfoo"}`},
	{"empty collections", []any{[]any{}, NewMap(), Set{}, NewMap("a", NewMap())},
		`[[],["^ "],["~#set",[]],["^ ","a",["^ "]]]`, `[[],{},{"~#set":[]},{"a":{}}]`},
	{"string escapes", "a\x01\x1Fb\t\n\r\b\f\"\\/<>&\u2028é😀\x7f",
		`["~#'","a\u0001\u001Fb\t\n\r\b\f\"\\/<>&` + "\u2028é" + `\uD83D\uDE00` + "\x7f" + `"]`,
		`{"~#'":"a\u0001\u001Fb\t\n\r\b\f\"\\/<>&` + "\u2028é" + `\uD83D\uDE00` + "\x7f" + `"}`},
	{"worked example 1", []any{NewMap(Keyword("abcd"), Keyword("efgh")), NewMap(Keyword("efgh"), Keyword("abcd")), Keyword("abcd"), Symbol("efgh"), "~:abcd"},
		`[["^ ","~:abcd","~:efgh"],["^ ","^1","^0"],"^0","~$efgh","~~:abcd"]`, ""},
	{"worked example 2", []any{"abcd", NewMap("abcd", "abcd"), "abcd", NewMap("abcd", int64(1)), NewMap("abc", int64(1)), NewMap("abc", int64(1))},
		`["abcd",["^ ","abcd","abcd"],"abcd",["^ ","^0",1],["^ ","abc",1],["^ ","abc",1]]`, ""},
	{"link", Link{Href: "http://example.com/x", Rel: "self"},
		`["~#link",["^ ","rel","self","href","~rhttp://example.com/x"]]`, `{"~#link":{"rel":"self","href":"~rhttp://example.com/x"}}`},
	{"2^53 boundary", []any{int64(1<<53 - 1), int64(1 << 53), int64(-(1<<53 - 1)), int64(-(1 << 53))},
		`[9007199254740991,"~i9007199254740992",-9007199254740991,"~i-9007199254740992"]`, ""},
	{"uint64 beyond int64", []uint64{math.MaxUint64}, `["~n18446744073709551615"]`, ""},
	{"float32 shortest digits", []float32{0.1, 3.4e38, math.SmallestNonzeroFloat32}, `[0.1,3.4E38,1.4E-45]`, ""},
	{"smallest subnormal as Java prints it", []any{math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 2.0, 1e23, 5e-300},
		`[4.9E-324,-4.9E-324,2.0,1.0E23,5.0E-300]`, ""},
}

func TestHandChecked(t *testing.T) {
	for _, c := range handChecked {
		t.Run(c.name, func(t *testing.T) {
			got, err := Marshal(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if c.json != "" && string(got) != c.json {
				t.Errorf("Marshal:\n got %s\nwant %s", got, c.json)
			}
			back, err := Unmarshal(got)
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", got, err)
			}
			if model, ok := c.v.([]any); ok && !Equal(back, model) {
				t.Errorf("round trip: got %#v, want %#v", back, c.v)
			}
			gotV, err := MarshalVerbose(c.v)
			if err != nil {
				t.Fatal(err)
			}
			if c.verbose != "" && string(gotV) != c.verbose {
				t.Errorf("MarshalVerbose:\n got %s\nwant %s", gotV, c.verbose)
			}
			backV, err := Unmarshal(gotV)
			if err != nil {
				t.Fatalf("Unmarshal(%s): %v", gotV, err)
			}
			if !Equal(back, backV) && c.verbose != "" {
				t.Errorf("JSON and verbose read back differently: %#v vs %#v", back, backV)
			}
		})
	}
}

// TestKeywordCacheCodes checks the code sequence for 46 distinct keywords
// repeated: ^0…^9, ^:…^[, ^10, ^11.
func TestKeywordCacheCodes(t *testing.T) {
	got, err := Marshal(append(keywords("k", 46), keywords("k", 46)...))
	if err != nil {
		t.Fatal(err)
	}
	back, _ := Unmarshal(got)
	want := `"^0","^1","^2","^3","^4","^5","^6","^7","^8","^9","^:","^;","^<","^=","^>","^?","^@","^A","^B","^C","^D","^E","^F","^G","^H","^I","^J","^K","^L","^M","^N","^O","^P","^Q","^R","^S","^T","^U","^V","^W","^X","^Y","^Z","^[","^10","^11"]`
	if s := string(got); len(s) < len(want) || s[len(s)-len(want):] != want {
		t.Errorf("codes: got %s", got)
	}
	if !Equal(back, append(keywords("k", 46), keywords("k", 46)...)) {
		t.Errorf("round trip differs")
	}
}

// golden lists the project's own golden files under ../testdata/transit:
// the values the rest of the project relies on, so that a clone without
// the official exemplars still tests the codec byte for byte.
var golden = []struct {
	name string
	v    any
}{
	{"handshake", []any{Keyword("chsk/handshake"), []any{"7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f", "tok123"}}},
	{"push_batch", []any{
		[]any{Keyword("tweet/new"), NewMap(Keyword("id"), int64(42), Keyword("text"), "hello")},
		[]any{Keyword("tweet/new"), NewMap(Keyword("id"), int64(43), Keyword("text"), "yo")},
	}},
	{"query", []any{Keyword("cmd/query"), NewMap(Keyword("query"), "(clojure) AND lang:en", Keyword("n"), int64(10), Keyword("uid"), "2c3ad8a0-7ea1-4d57-8a38-8f2d7c0a7f12", Keyword("from"), int64(0))}},
	{"scalars", []any{nil, true, false, int64(0), int64(-1), int64(1 << 53), 3.14159, 2.0, 4.0e11, math.Inf(1), math.Inf(-1), math.NaN(),
		"", "~tilde", "^caret", "`tick", "#hash", Keyword("a/b"), Symbol("c/d"), Char('é'), URI("http://www.詹姆斯.com/"),
		mustUUID("5a2cbea3-e8c6-428b-b525-21239370dd55"), time.UnixMilli(-6106017600000).UTC(), []byte("bytes"),
		bigInt("9223372036854775808"), bigDec("-1.1E-1"), big.NewRat(-2, 4)}},
	{"collections", NewMap(
		Keyword("vector"), []any{int64(1), []any{int64(2)}},
		Keyword("list"), List{int64(1), List{}},
		Keyword("set"), Set{Keyword("a"), Keyword("b")},
		Keyword("cmap"), NewMap([]any{int64(1), int64(1)}, "one", nil, "nil"),
		Keyword("nested"), NewMap(Keyword("nested"), NewMap(Keyword("nested"), NewMap())),
		Keyword("tagged"), TaggedValue{"point", []any{int64(1), int64(2)}},
	)},
	{"keywords_1937_twice", append(keywords("key", 1937), keywords("key", 1937)...)},
	{"keywords_1936_twice", append(keywords("key", 1936), keywords("key", 1936)...)},
}

func TestGolden(t *testing.T) {
	dir := filepath.Join("..", "testdata", "transit")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, g := range golden {
		for _, verbose := range []bool{false, true} {
			name := g.name + ".json"
			if verbose {
				name = g.name + ".verbose.json"
			}
			t.Run(name, func(t *testing.T) {
				got, err := EncoderOptions{Verbose: verbose}.Marshal(g.v)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, name)
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./transit -run TestGolden -update)", err)
				}
				if string(got) != string(want) {
					t.Errorf("Marshal differs from %s:\n got %s\nwant %s", path, clip(got), clip(want))
				}
				back, err := Unmarshal(want)
				if err != nil {
					t.Fatalf("Unmarshal(%s): %v", path, err)
				}
				if !Equal(back, g.v) {
					t.Errorf("Unmarshal(%s) = %#v, want %#v", path, back, g.v)
				}
				again, err := EncoderOptions{Verbose: verbose}.Marshal(back)
				if err != nil || string(again) != string(want) {
					t.Errorf("rewrite of the decoded value differs: %s (%v)", clip(again), err)
				}
			})
		}
	}
}
