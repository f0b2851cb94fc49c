package transit_test

// The cross-check against transit-js, the reference Transit implementation
// (npm transit-js, pinned in testdata/js/package.json and installed by
// `make jsdeps`): transit-js reads what the Go writer wrote, and the Go
// reader reads what transit-js wrote.
//
// One node process (testdata/js/crosscheck.js) serves the whole corpus:
//
//   - go-to-js: every case in crosscheckCases is written with Marshal and
//     MarshalVerbose; transit-js reads each file and writes it back (JSON
//     input → JSON; verbose input → verbose and JSON); the Go reader must
//     read the result as the case's value, and the bytes must equal Go's
//     own output unless a documented transit-js difference applies.
//   - js-to-go: transit-js writes values it builds itself (the table
//     `natives` in crosscheck.js); the Go reader must read each as the value
//     in xcNatives, and where no documented difference applies, Marshal
//     must reproduce transit-js's bytes.
//
// docs/transit.md §15 lists how transit-js's output differs from
// transit-java's (which Marshal follows byte for byte). A difference that
// changes only bytes is named (jsDiff…) by the cases it applies to, which
// are then compared by value only; one that changes the value read back
// (a float that comes back an integer, a char that comes back a string)
// is an allowance of the comparison after a transit-js trip (xcLossy),
// documented where it is applied. A Go-only round trip of every case is
// checked strictly first, so that a codec bug is not mistaken for one of
// these differences.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sente-go/sente/transit"
)

// xcJSDir holds crosscheck.js, package.json and (after `make jsdeps`)
// node_modules/transit-js.
const xcJSDir = "testdata/js"

// xcNodeTimeout bounds the node run. The corpus takes well under a second;
// the margin is for loaded CI machines.
const xcNodeTimeout = 60 * time.Second

// Why transit-js's bytes may differ from Go's (transit-java's) for a case.
// An empty reason means the bytes must be identical.
const (
	jsDiffFloats = "§15 floats: JavaScript has one number type; transit-js writes 2.0 as 2, " +
		"4.0E11 as 400000000000, 6.626E-34 as 6.626e-34, 1.0E21 as 1e+21 and -0.0 as 0"
	jsDiffFloatKeys = "§15 floats: transit-js writes float map keys with the integer tag " +
		"(2.5 → \"~i2.5\", 2.0 → \"~i2\")"
	jsDiffCache1936 = "§15 cache boundary: transit-js resets its write cache as soon as it holds " +
		"1936 entries and any cacheable string arrives, transit-java only on the next miss"
	jsDiffSetOrder = "§15 set order: transit-js writes sets in its own hash order"
	jsDiffEscapes  = "§15: transit-js writes control characters as lower-case \\u001f and characters " +
		"outside the BMP raw; Jackson writes upper-case hex and escaped surrogate pairs"
	jsDiffYears = "§15: transit-js does not pad years below 1000 in ~t (\"~t500-01-01…\")"
	// Not in docs/transit.md §15: JavaScript objects (JSON.parse, JSON.stringify) order
	// integer-like keys first, ascending, whatever the insertion order.
	jsDiffObjectKeys = "JavaScript objects put integer-like keys first in numeric order, so transit-js " +
		"reorders verbose maps with keys such as \"10\", \"2\"; this difference is not listed in §15"
	// Not in docs/transit.md §15; found in transit-js 0.8.874 (types.charValue is the
	// identity function, and there is no Char type to write back).
	jsDiffChars = "transit-js reads ~c as a plain one-character string and writes it back as a " +
		"string (\"~ca\" → \"a\"); this difference is not listed in §15"
)

// xcase is one value of the go-to-js corpus.
type xcase struct {
	name string
	v    any // given to Marshal and MarshalVerbose
	want any // what reading the output back must give (set by xc to v)

	// jsonDiff and verboseDiff say why transit-js's output in that mode
	// may differ byte-wise from Go's; "" means it must be identical.
	jsonDiff, verboseDiff string

	// into, when set, returns a pointer to a fresh Go value of v's type;
	// UnmarshalInto of every output must then fill it to equal v.
	into func() any
}

func xc(name string, v any) xcase { return xcase{name: name, v: v, want: v} }

// expect sets the value the reader must produce when it differs from v
// (Go integer kinds read as int64, Go maps and structs as *Map, …).
func (c xcase) expect(want any) xcase { c.want = want; return c }

// differs records why transit-js's bytes may differ in both modes.
func (c xcase) differs(reason string) xcase { c.jsonDiff, c.verboseDiff = reason, reason; return c }

// differsJSON records why transit-js's bytes may differ in JSON mode only.
func (c xcase) differsJSON(reason string) xcase { c.jsonDiff = reason; return c }

// Shorthands for the corpus.
type (
	xK = transit.Keyword
	xS = transit.Symbol
)

func xm(kvs ...any) *transit.Map { return transit.NewMap(kvs...) }

func xcBigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic("bad big.Int " + s)
	}
	return n
}

func xcBigDec(s string) transit.BigDecimal {
	d, err := transit.ParseBigDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func xcUUID(s string) transit.UUID {
	u, err := transit.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return u
}

func xcMs(n int64) time.Time { return time.UnixMilli(n).UTC() }

// xcKeywords returns n distinct 9-character keywords :key0000, :key0001, …,
// the same names crosscheck.js uses.
func xcKeywords(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = xK(fmt.Sprintf("key%04d", i))
	}
	return out
}

// xcTwice returns s followed by s again.
func xcTwice(s []any) []any { return append(slices.Clip(s), s...) }

// xcKeywordMap returns a map of n keyword keys :k0000… with values 0….
func xcKeywordMap(n int) *transit.Map {
	m := xm()
	for i := range n {
		m.Set(xK(fmt.Sprintf("k%04d", i)), int64(i))
	}
	return m
}

func crosscheckCases() []xcase {
	negZero := math.Copysign(0, -1)
	inst := time.Date(2014, 4, 7, 22, 17, 17, 123_456_789, time.FixedZone("CEST", 2*3600))
	return []xcase{
		// Scalars at top level (quoted, docs/transit.md §7).
		xc("nil", nil),
		xc("true", true),
		xc("false", false),
		xc("int_zero", int64(0)),
		xc("int_top", int64(42)),
		xc("int_top_neg", int64(-42)),
		xc("string_top", "hello"),
		xc("keyword_top", xK("hello")),
		xc("symbol_top", xS("hello")),
		xc("float_top", 2.5),
		xc("float_top_integral", 2.0).differs(jsDiffFloats),
		xc("bigint_top", xcBigInt("1")),
		xc("char_top", transit.Char('x')).differs(jsDiffChars),
		xc("uuid_top", xcUUID("5a2cbea3-e8c6-428b-b525-21239370dd55")),
		xc("uri_top", transit.URI("http://example.com/")),
		xc("time_top", xcMs(946728000000)),
		xc("bytes_top", []byte{1, 2, 3}),
		xc("tagged_scalar_top", transit.TaggedValue{Tag: "x", Rep: "foo"}),

		// Integers (docs/transit.md §3.2).
		xc("ints_go_kinds", []any{1, int8(-2), int16(3), int32(-4), uint(5), uint8(6), uint16(7), uint32(8), uint64(9)}).
			expect([]any{int64(1), int64(-2), int64(3), int64(-4), int64(5), int64(6), int64(7), int64(8), int64(9)}),
		xc("ints_2p53_boundaries", []any{
			int64(1<<53 - 1), int64(1 << 53), int64(1<<53 + 1),
			int64(-(1<<53 - 1)), int64(-(1 << 53)), int64(-(1<<53 + 1)),
			int64(math.MaxInt64), int64(math.MinInt64),
		}),
		xc("uint64_max", []any{uint64(math.MaxUint64)}).expect([]any{xcBigInt("18446744073709551615")}),
		xc("bigints", []any{
			xcBigInt("1180591620717411303424"), xcBigInt("-9223372036854775809"),
			xcBigInt("9223372036854775808"), xcBigInt("5"), xcBigInt("0"),
		}),

		// Floats (docs/transit.md §3.3). transit-js writes its own number format (docs/transit.md §15).
		xc("floats_java_format", []any{
			2.0, 4.0e11, 6.626e-34, 2.998e8, -3.14159, 1e21, 1e7, 9999999.0,
			0.001, 9.999999e-4, 1e-7, 0.1, math.MaxFloat64, math.SmallestNonzeroFloat64,
		}).differs(jsDiffFloats),
		xc("floats_fractional", []any{2.5, -3.14159, 0.1, 123.456}),
		xc("float_neg_zero", []any{negZero, 0.0}).differs(jsDiffFloats),
		xc("floats_special", []any{math.NaN(), math.Inf(1), math.Inf(-1)}),
		xc("float32", []any{float32(0.1), float32(2.5), float32(-1.25)}),

		// Other scalars (docs/transit.md §3.1, §3.4, §3.5, §4.4).
		xc("bigdecimals", []any{
			xcBigDec("1.50"), xcBigDec("-0.1"), xcBigDec("1.23E-7"), xcBigDec("1E+3"),
			xcBigDec("123.456"), xcBigDec("0"), xcBigDec("-1.1E-1"), xcBigDec("12345678901234567890.123456789"),
		}),
		xc("ratios", []any{big.NewRat(1, 3), big.NewRat(-22, 7), big.NewRat(5, 1), new(big.Rat).SetFrac(xcBigInt("1180591620717411303425"), xcBigInt("3"))}),
		xc("ratio_top", big.NewRat(1, 3)),
		xc("chars", []any{transit.Char('a'), transit.Char('~'), transit.Char('"'), transit.Char('é'), transit.Char('^')}).
			differs(jsDiffChars),
		xc("uris", []any{transit.URI("http://example.com/"), transit.URI("http://www.詹姆斯.com/?q=a b#frag"), transit.URI("urn:isbn:0451450523")}),
		xc("uuids", []any{
			xcUUID("5a2cbea3-e8c6-428b-b525-21239370dd55"), xcUUID("d1dc64fa-da79-444b-9fa4-d4412f427289"),
			xcUUID("00000000-0000-0000-0000-000000000000"), xcUUID("ffffffff-ffff-ffff-ffff-ffffffffffff"),
		}),
		xc("times", []any{xcMs(946728000000), xcMs(-6106017600000), xcMs(0), inst, xcMs(253402300799999)}).
			expect([]any{xcMs(946728000000), xcMs(-6106017600000), xcMs(0), xcMs(1396901837123), xcMs(253402300799999)}),
		xcYear500(),
		xc("bytes", []any{[]byte{1, 2, 3}, []byte{}, []byte{255, 0, 1}, bytes.Repeat([]byte{0xfb, 0xff, 0x00, 0x7f}, 25)}),

		// Strings (docs/transit.md §2, §8).
		xc("strings_escaped", []any{"", "a", "~", "~abc", "^", "^ ", "`tick", "#abc", "~#foo", "~:notkw", "^0", "^[[", "~~"}),
		xc("strings_unicode", []any{"a\x01\x1fb\t\n\r\b\f\"\\/<>&\u2028\u2029é😀\x7f", "😀😀", "日本語"}).differs(jsDiffEscapes),
		xc("strings_bmp", []any{"é", "日本語", "line\u2028sep", "tab\there", "slash/</script>"}),
		xc("cache_utf16_units", []any{xm("éé", int64(1), "😀😀", int64(2)), xm("éé", int64(3), "😀😀", int64(4))}).differs(jsDiffEscapes),

		// Keywords and symbols.
		xc("keywords_symbols", []any{xK("a"), xK("aa"), xK("abcd"), xK("ns/name"), xK("chsk/handshake"), xS("sym"), xS("ns/sym"), xS("/")}),

		// Composites (docs/transit.md §4).
		xc("vectors", []any{[]any{}, []any{[]any{}}, []any{int64(1), []any{int64(2), []any{int64(3)}}}}),
		xc("list", transit.List{int64(1), "two", xK("three")}),
		xc("list_empty", transit.List{}),
		xc("lists_nested", []any{transit.List{transit.List{int64(1)}}, transit.List{}}),
		xc("set_single", transit.Set{xK("only")}),
		xc("set_empty", transit.Set{}),
		xc("set_mixed", transit.Set{int64(1), int64(2), int64(3), "three", xK("four"), nil, true}).differs(jsDiffSetOrder),
		xc("sets_nested", transit.Set{transit.Set{int64(1)}, transit.Set{int64(2)}}).differs(jsDiffSetOrder),
		xc("empties", []any{[]any{}, xm(), transit.Set{}, xm("a", xm())}),

		// Maps (docs/transit.md §4.2).
		xc("map_empty", xm()),
		xc("map_keyword_keys", xm(xK("name"), "x", xK("age"), int64(42), xK("ns/key"), nil)),
		xc("map_string_keys", xm("first", int64(1), "second", int64(2), "a", int64(3), "~tilde", int64(4), "^caret", int64(5))),
		// Read from verbose, transit-js sees {"1":…,"2":…,"10":…} (jsDiffObjectKeys).
		xc("map_numeric_string_keys", xm("10", int64(1), "2", int64(2), "1", int64(3))).differs(jsDiffObjectKeys),
		xc("map_int_keys", xm(int64(12345), int64(1), int64(7), int64(2), int64(-3), int64(3), int64(1<<60), int64(4))),
		xc("map_stringable_keys", xm(
			nil, int64(0), true, int64(1), false, int64(2), int64(42), int64(3),
			xK("kw"), int64(4), xS("sym"), int64(5), xcMs(946728000000), int64(6),
			xcUUID("5a2cbea3-e8c6-428b-b525-21239370dd55"), int64(7), transit.URI("http://example.com/"), int64(8),
			xcBigInt("1180591620717411303424"), int64(9), xcBigDec("1.50"), int64(10), "str", int64(11),
			transit.TaggedValue{Tag: "x", Rep: "foo"}, int64(12),
		)),
		xc("map_special_float_keys", xm(math.NaN(), int64(1), math.Inf(1), int64(2), math.Inf(-1), int64(3))),
		// transit-js writes float keys as "~i2.5"; the Go reader must
		// still read them as floats.
		xc("map_float_keys", xm(2.5, "a", 2.0, "b")).differs(jsDiffFloatKeys),
		xc("map_char_key", xm(transit.Char('c'), int64(1))).differs(jsDiffChars),
		xc("map_bytes_key", xm([]byte{1, 2, 3}, int64(1))),
		xc("map_nested", xm(xK("a"), xm(xK("b"), xm(xK("c"), []any{int64(1), xm()})))),
		xc("cmap", xm([]any{int64(1), int64(2)}, "v", xm(xK("a"), int64(1)), "m", nil, "nil key", transit.Set{int64(1)}, "set")),
		xc("cmap_tagged_key", xm(transit.TaggedValue{Tag: "point", Rep: []any{int64(1), int64(2)}}, int64(1), xK("abcd"), xK("abcd"))),
		xc("cmap_pathological", []any{
			xm(xK("any-value"), xm([]any{"this vector makes this a cmap"}, "any value", "any string", xK("victim"))),
			xm(xK("victim"), xK("any-other-value")),
		}),
		xc("go_map_string", map[string]any{"zeta": int64(1), "alpha": []any{"x"}, "mid": nil}).
			expect(xm("alpha", []any{"x"}, "mid", nil, "zeta", int64(1))),
		xc("go_map_keyword", map[transit.Keyword]any{"b": true, "a": false, "ns/c": "x"}).
			expect(xm(xK("a"), false, xK("b"), true, xK("ns/c"), "x")),

		// Tagged values and links (docs/transit.md §4.4, §6).
		xc("tagged_composite_top", transit.TaggedValue{Tag: "point", Rep: []any{int64(1), int64(2)}}),
		xc("tagged_mixed", []any{
			transit.TaggedValue{Tag: "x", Rep: "foo"},
			transit.TaggedValue{Tag: "point", Rep: []any{int64(1), int64(2)}},
			transit.TaggedValue{Tag: "point", Rep: []any{int64(3), int64(4)}},
			transit.TaggedValue{Tag: "Q", Rep: "one-char tag"},
			transit.TaggedValue{Tag: "my-app/thing", Rep: xm(xK("id"), int64(1))},
		}),
		xc("link", transit.Link{Href: "http://example.com/x", Rel: "self"}),
		xc("link_full", []any{transit.Link{Href: "http://example.com/y", Rel: "r", Name: "n", Prompt: "p", Render: "image"}}),

		// Caching (docs/transit.md §5).
		xc("cache_worked_example_1", []any{xm(xK("abcd"), xK("efgh")), xm(xK("efgh"), xK("abcd")), xK("abcd"), xS("efgh"), "~:abcd"}),
		xc("cache_worked_example_2", []any{"abcd", xm("abcd", "abcd"), "abcd", xm("abcd", int64(1)), xm("abc", int64(1)), xm("abc", int64(1))}),
		xc("cache_46_keywords_twice", xcTwice(xcKeywords(46))),
		xc("cache_50_keywords_twice", xcTwice(xcKeywords(50))),
		xc("cache_tags", []any{
			transit.List{int64(1)}, transit.List{int64(2)}, transit.Set{int64(3)},
			transit.TaggedValue{Tag: "point", Rep: []any{int64(1)}}, transit.TaggedValue{Tag: "point", Rep: []any{int64(2)}},
		}),
		xc("cache_map_keys", []any{xm("first", int64(0), xK("second"), int64(0)), xm("first", int64(1), xK("second"), int64(1))}),
		xc("cache_1935_keywords_twice", xcTwice(xcKeywords(1935))),
		xc("cache_1936_keywords_twice", xcTwice(xcKeywords(1936))).differsJSON(jsDiffCache1936),
		xc("cache_1937_keywords_twice", xcTwice(xcKeywords(1937))),
		// 2000 distinct keywords, then the last 64 again: the repeats are
		// codes of the cache's second generation.
		xc("cache_2000_then_tail", append(xcKeywords(2000), xcKeywords(2000)[1936:]...)),
		xc("cache_3000_keywords_twice", xcTwice(xcKeywords(3000))),
		xc("cache_map_1935_nested", []any{xcKeywordMap(1935), xcKeywordMap(1935)}),
		xc("cache_map_1936_nested", []any{xcKeywordMap(1936), xcKeywordMap(1936)}).differsJSON(jsDiffCache1936),
		xc("cache_map_1937_nested", []any{xcKeywordMap(1937), xcKeywordMap(1937)}),

		// BirdWatch-shaped Sente frames (docs/birdwatch.md §2.2, §3).
		xc("bw_handshake", []any{xK("chsk/handshake"), []any{xcUID, "Zm9vYmFy"}}),
		xc("bw_handshake_nil_csrf", []any{xK("chsk/handshake"), []any{xcUID, nil}}),
		xc("bw_tweet_new", []any{[]any{xK("tweet/new"), xcRawTweet(0)}}),
		xc("bw_tweet_new_emoji", []any{[]any{xK("tweet/new"), xcRawTweetText(11, "emoji 😀🐦 and a control \x01 char")}}).differs(jsDiffEscapes),
		xc("bw_batch_10", xcBatch(10)),
		xc("bw_prev_chunk_100", []any{[]any{xK("tweet/prev-chunk"), xcStrippedTweets(100)}}),
		xc("bw_missing_skeleton", []any{[]any{xK("tweet/missing-tweet"), xcMissingSkeleton()}}),
		xc("bw_stats", []any{
			[]any{xK("stats/users-count"), int64(3)},
			[]any{xK("stats/total-tweet-count"), "        123,456"},
		}),
		xc("bw_client_query", []any{[]any{xK("cmd/query"), xm(
			xK("query"), xm(xK("query_string"), xm(xK("default_field"), "text", xK("default_operator"), "AND", xK("query"), "(clojure) AND lang:en")),
			xK("n"), int64(500), xK("uid"), xcUID, xK("from"), int64(1000),
		)}}),
		xc("bw_ws_ping", []any{[]any{xK("chsk/ws-ping")}}),
		xcStructTweetCase(),
	}
}

// xcYear500 is an instant before year 1000: Go writes "~t0500-…" in verbose
// mode, transit-js "~t500-…" (not RFC 3339), which the Go reader must
// still read.
func xcYear500() xcase {
	c := xc("time_year_500", []any{time.Date(500, 1, 1, 0, 0, 0, 0, time.UTC)})
	c.verboseDiff = jsDiffYears
	return c
}

// xcUID is a user id as MainApp hands them out (a random UUID string).
const xcUID = "7f3c2a9e-51d4-4c1b-9a0e-2b6f1e0c9d77"

var xcTweetTexts = []string{
	"Clojure + Go = ♥ #clojure http://t.co/abc123",
	"^ starts with a caret; ^0 is not a cache code",
	"~ starts with a tilde ~:not-a-keyword",
	"` starts with a backquote",
	"multi\nline\ttext with \"quotes\" and \\backslash",
	"日本語のツイート #日本",
	"U+2028 here:\u2028and U+2029:\u2029end",
	"RT @janedoe: transit caching ^[[ test",
	"&lt;html&gt; entities & <raw> / slashes",
	"#hash first, then @mention",
}

func xcRawTweet(i int) *transit.Map { return xcRawTweetText(i, xcTweetTexts[i%len(xcTweetTexts)]) }

// xcRawTweetText returns a full tweet as the Twitter streaming API delivered
// it in 2014 and BirdWatch forwards it in :tweet/new (keyword keys, nested
// user with 38 fields, entities, optional coordinates and retweet).
func xcRawTweetText(i int, text string) *transit.Map {
	id := int64(546814306545344512) + int64(i)*1000
	var coords any
	if i%3 == 0 {
		coords = xm(xK("type"), "Point", xK("coordinates"), []any{-122.41942, 37.77493 + float64(i)/1000})
	}
	m := xm(
		xK("created_at"), "Mon Dec 22 23:45:01 +0000 2014",
		xK("id"), id,
		xK("id_str"), strconv.FormatInt(id, 10),
		xK("text"), text,
		xK("source"), `<a href="http://twitter.com/download/android" rel="nofollow">Twitter for Android</a>`,
		xK("truncated"), false,
		xK("in_reply_to_status_id"), nil,
		xK("in_reply_to_status_id_str"), nil,
		xK("in_reply_to_user_id"), nil,
		xK("in_reply_to_user_id_str"), nil,
		xK("in_reply_to_screen_name"), nil,
		xK("user"), xcRawUser(i),
		xK("geo"), nil,
		xK("coordinates"), coords,
		xK("place"), nil,
		xK("contributors"), nil,
		xK("retweet_count"), int64(i*3),
		xK("favorite_count"), int64(i),
		xK("entities"), xcEntities(i),
		xK("favorited"), false,
		xK("retweeted"), false,
		xK("possibly_sensitive"), false,
		xK("filter_level"), "low",
		xK("lang"), "en",
		xK("timestamp_ms"), strconv.FormatInt(1419291901000+int64(i), 10),
	)
	if i%4 == 1 {
		m.Set(xK("retweeted_status"), xcStrippedTweet(i+100))
	}
	return m
}

func xcRawUser(i int) *transit.Map {
	var utcOffset any = int64(-28800)
	if i%2 == 1 {
		utcOffset = nil
	}
	return xm(
		xK("id"), int64(2244994945+i),
		xK("id_str"), strconv.Itoa(2244994945+i),
		xK("name"), fmt.Sprintf("Jane Doe %d", i),
		xK("screen_name"), fmt.Sprintf("janedoe%d", i),
		xK("location"), "San Francisco, CA",
		xK("url"), "http://example.com/~jane",
		xK("description"), "Clojure, Go and ^caret people; ~tilde fans.",
		xK("protected"), false,
		xK("verified"), i%5 == 0,
		xK("followers_count"), int64(1532+i),
		xK("friends_count"), int64(321),
		xK("listed_count"), int64(12),
		xK("favourites_count"), int64(4242),
		xK("statuses_count"), int64(98765),
		xK("created_at"), "Wed Mar 12 21:51:21 +0000 2008",
		xK("utc_offset"), utcOffset,
		xK("time_zone"), "Pacific Time (US & Canada)",
		xK("geo_enabled"), true,
		xK("lang"), "en",
		xK("contributors_enabled"), false,
		xK("is_translator"), false,
		xK("profile_background_color"), "C0DEED",
		xK("profile_background_image_url"), "http://abs.twimg.com/images/themes/theme1/bg.png",
		xK("profile_background_image_url_https"), "https://abs.twimg.com/images/themes/theme1/bg.png",
		xK("profile_background_tile"), false,
		xK("profile_link_color"), "0084B4",
		xK("profile_sidebar_border_color"), "C0DEED",
		xK("profile_sidebar_fill_color"), "DDEEF6",
		xK("profile_text_color"), "333333",
		xK("profile_use_background_image"), true,
		xK("profile_image_url"), fmt.Sprintf("http://pbs.twimg.com/profile_images/%d/x_normal.png", 1000+i),
		xK("profile_image_url_https"), fmt.Sprintf("https://pbs.twimg.com/profile_images/%d/x_normal.png", 1000+i),
		xK("profile_banner_url"), "https://pbs.twimg.com/profile_banners/2244994945/1396995246",
		xK("default_profile"), true,
		xK("default_profile_image"), false,
		xK("following"), nil,
		xK("follow_request_sent"), nil,
		xK("notifications"), nil,
	)
}

func xcEntities(i int) *transit.Map {
	return xm(
		xK("hashtags"), []any{xm(xK("text"), "clojure", xK("indices"), []any{int64(17), int64(25)})},
		xK("trends"), []any{},
		xK("urls"), []any{xm(
			xK("url"), "http://t.co/abc123",
			xK("expanded_url"), fmt.Sprintf("http://example.com/post/%d", i),
			xK("display_url"), fmt.Sprintf("example.com/post/%d", i),
			xK("indices"), []any{int64(26), int64(48)},
		)},
		xK("user_mentions"), []any{xm(
			xK("screen_name"), "janedoe",
			xK("name"), "Jane Doe",
			xK("id"), int64(2244994945),
			xK("id_str"), "2244994945",
			xK("indices"), []any{int64(3), int64(11)},
		)},
		xK("symbols"), []any{},
	)
}

// xcStrippedTweet is the reduced tweet of :tweet/prev-chunk and
// :tweet/missing-tweet (docs/birdwatch.md §5.2).
func xcStrippedTweet(i int) *transit.Map {
	id := int64(546814306545344512) - int64(i)*7919
	m := xm(
		xK("id_str"), strconv.FormatInt(id, 10),
		xK("id"), id,
		xK("text"), xcTweetTexts[i%len(xcTweetTexts)],
		xK("created_at"), "Mon Dec 22 23:45:01 +0000 2014",
		xK("retweet_count"), int64(i%17),
		xK("favorite_count"), int64(i%5),
		xK("entities"), xcEntities(i),
		xK("user"), xm(
			xK("followers_count"), int64(1000+i),
			xK("name"), fmt.Sprintf("User %d", i),
			xK("profile_image_url"), fmt.Sprintf("http://pbs.twimg.com/profile_images/%d/y_normal.jpeg", i),
			xK("screen_name"), fmt.Sprintf("user%d", i),
		),
	)
	if i%10 == 3 && i < 1000 { // the retweet itself has no retweet
		m.Set(xK("retweeted_status"), xcStrippedTweet(i+1000))
	}
	return m
}

func xcStrippedTweets(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = xcStrippedTweet(i)
	}
	return out
}

// xcMissingSkeleton is the :tweet/missing-tweet answer for an unknown id.
func xcMissingSkeleton() *transit.Map {
	return xm(
		xK("id_str"), nil, xK("id"), nil, xK("text"), nil, xK("created_at"), nil,
		xK("retweet_count"), nil, xK("favorite_count"), nil, xK("entities"), nil,
		xK("user"), xm(xK("followers_count"), nil, xK("name"), nil, xK("profile_image_url"), nil, xK("screen_name"), nil),
	)
}

// xcBatch is a server push of n :tweet/new events in one frame.
func xcBatch(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = []any{xK("tweet/new"), xcRawTweet(i)}
	}
	return out
}

// xcTweet is a stripped tweet as a Go server would declare it.
type xcTweet struct {
	IDStr        string    `transit:"id_str"`
	ID           int64     `transit:"id"`
	Text         string    `transit:"text"`
	RetweetCount int       `transit:"retweet_count"`
	Hashtags     []string  `transit:"hashtags"`
	Coordinates  []float64 `transit:"coordinates,omitempty"`
	User         xcUser    `transit:"user"`
	Retweeted    *xcTweet  `transit:"retweeted_status,omitempty"`
	Lang         string    `transit:"lang,omitempty"`
	Skipped      string    `transit:"-"`
}

type xcUser struct {
	FollowersCount int64  `transit:"followers_count"`
	Name           string `transit:"name"`
	ScreenName     string `transit:"screen_name"`
}

func xcStructTweetCase() xcase {
	v := xcTweet{
		IDStr: "546814306545344512", ID: 546814306545344512, Text: "^struct tweet ~ é",
		RetweetCount: 7, Hashtags: []string{"clojure", "golang"},
		Coordinates: []float64{-122.41942, 37.77493},
		User:        xcUser{FollowersCount: 1532, Name: "Jane Doe", ScreenName: "janedoe"},
		Retweeted: &xcTweet{
			IDStr: "546814306545344000", ID: 546814306545344000, Text: "original",
			Hashtags: []string{},
			User:     xcUser{FollowersCount: 1, Name: "Orig", ScreenName: "orig"},
		},
	}
	user := func(u xcUser) *transit.Map {
		return xm(xK("followers_count"), u.FollowersCount, xK("name"), u.Name, xK("screen_name"), u.ScreenName)
	}
	want := xm(
		xK("id_str"), v.IDStr, xK("id"), v.ID, xK("text"), v.Text, xK("retweet_count"), int64(7),
		xK("hashtags"), []any{"clojure", "golang"},
		xK("coordinates"), []any{-122.41942, 37.77493},
		xK("user"), user(v.User),
		xK("retweeted_status"), xm(
			xK("id_str"), v.Retweeted.IDStr, xK("id"), v.Retweeted.ID, xK("text"), "original",
			xK("retweet_count"), int64(0), xK("hashtags"), []any{}, xK("user"), user(v.Retweeted.User),
		),
	)
	c := xc("bw_struct_tweet", v).expect(want)
	c.into = func() any { return new(xcTweet) }
	return c
}

// xcNative is what the Go reader must make of one value transit-js built
// (the table `natives` in crosscheck.js).
type xcNative struct {
	want any
	// jsonDiff and verboseDiff say why Marshal(want) may differ from
	// transit-js's bytes in that mode; "" means it must be identical.
	jsonDiff, verboseDiff string
}

func xcNatives() map[string]xcNative {
	same := func(v any) xcNative { return xcNative{want: v} }
	differs := func(v any, reason string) xcNative { return xcNative{want: v, jsonDiff: reason, verboseDiff: reason} }
	query := xm(xK("query_string"), xm(xK("default_field"), "text", xK("default_operator"), "AND", xK("query"), "(clojure) AND lang:en"))
	kv40 := xm()
	for i := range 40 {
		kv40.Set(xK(fmt.Sprintf("k%02d", i)), int64(i))
	}
	return map[string]xcNative{
		"nil":             same(nil),
		"true":            same(true),
		"false":           same(false),
		"int_small":       same(int64(42)),
		"int_neg":         same(int64(-7)),
		"int_safe_bounds": same([]any{int64(1<<53 - 1), int64(-(1<<53 - 1)), int64(42)}),
		"long_beyond_2p53": same([]any{
			int64(1 << 53), int64(1<<53 + 1), int64(-(1<<53 + 1)), int64(math.MaxInt64), int64(math.MinInt64),
		}),
		// JSON numbers in JavaScript's format: 6.626e-34, 1e+21, 5e-324;
		// 2.998e8 has no fraction, so JavaScript prints it as an integer.
		"floats": differs([]any{
			3.14159, -0.5, 6.626e-34, 1e21, int64(299800000), math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1,
		}, jsDiffFloats),
		// 2.0, -0.0 and 4e11 are integers once in JavaScript.
		"floats_integral": same([]any{int64(2), int64(0), int64(400000000000)}),
		"floats_special":  same([]any{math.NaN(), math.Inf(1), math.Inf(-1)}),
		"float_top":       same(2.5),
		"bigints":         same([]any{xcBigInt("123456789012345678901234567890"), xcBigInt("-9223372036854775809"), xcBigInt("1")}),
		"bigdecs":         same([]any{xcBigDec("1.50"), xcBigDec("-0.1"), xcBigDec("1.23E-7"), xcBigDec("1E+3"), xcBigDec("123.456")}),
		// BigDecimal.toString of -0.11 is "-0.11", not transit-js's "-1.1E-1".
		"bigdec_exp_form": differs(xcBigDec("-1.1E-1"), "transit-js writes a big decimal's text as given (\"-1.1E-1\"), Java as BigDecimal.toString (\"-0.11\")"),
		"uuid":            same(xcUUID("5a2cbea3-e8c6-428b-b525-21239370dd55")),
		"uri":             same([]any{transit.URI("http://example.com/"), transit.URI("http://www.詹姆斯.com/?q=a b#frag")}),
		"binary":          same([]any{[]byte{1, 2, 3}, []byte{}, []byte{255, 0, 1}}),
		"dates":           same([]any{xcMs(946728000000), xcMs(-6106017600000), xcMs(0), xcMs(1396909037123)}),
		"date_year_500": {
			want:        time.Date(500, 1, 1, 0, 0, 0, 0, time.UTC),
			verboseDiff: jsDiffYears,
		},
		"keywords_symbols": same([]any{xK("a"), xK("abcd"), xK("chsk/handshake"), xS("sym"), xS("ns/sym"), xS("/")}),
		"strings":          same([]any{"", "a", "~", "~tilde", "^", "^caret", "`tick", "^ ", "#hash", "~#foo", "^0", "plain"}),
		"strings_unicode":  differs([]any{"a\x01\x1fb\t\n\r\b\f\"\\/<>&\u2028\u2029é😀\x7f"}, jsDiffEscapes),
		"quoted_string":    same("hello"),
		"quoted_keyword":   same(xK("hello")),
		"js_object":        same(xm("a", int64(1), "b", []any{int64(1), int64(2)}, "~c", "x")),
		"vectors":          same([]any{[]any{}, []any{[]any{}}, []any{int64(1), []any{int64(2), []any{int64(3)}}}}),
		"map_empty":        same(xm()),
		"map_keyword_keys": same(xm(xK("name"), "x", xK("age"), int64(42), xK("ns/key"), nil)),
		"map_stringable_keys": same(xm(
			nil, int64(0), true, int64(1), false, int64(2), int64(42), int64(3), "str", int64(4),
			xK("kw"), int64(5), xS("sym"), int64(6), xcMs(946728000000), int64(7),
			xcUUID("5a2cbea3-e8c6-428b-b525-21239370dd55"), int64(8), transit.URI("http://example.com/"), int64(9),
			xcBigInt("5"), int64(10), xcBigDec("1.5"), int64(11),
		)),
		// transit-js writes float keys as "~i2.5"; Go must read a float.
		"map_float_key": differs(xm(2.5, "x"), jsDiffFloatKeys),
		"map_long_key":  same(xm(int64(1<<53+1), "big", int64(7), "small")),
		// JSON.stringify puts integer-like object keys first, in numeric order.
		"map_numeric_string_keys": {want: xm("10", int64(1), "2", int64(2)), verboseDiff: jsDiffObjectKeys},
		"map_40_keys":             same(kv40),
		"cmap":                    same(xm([]any{int64(1), int64(2)}, "v", xm(xK("a"), int64(1)), "m", nil, "nil")),
		"set_ints":                differs(transit.Set{int64(1), int64(2), int64(3)}, jsDiffSetOrder),
		"set_empty":               same(transit.Set{}),
		"list":                    same(transit.List{int64(1), xK("two"), "three"}),
		"list_empty":              same(transit.List{}),
		"tagged_composite":        same(transit.TaggedValue{Tag: "point", Rep: []any{int64(1), int64(2)}}),
		"tagged_scalar":           same(transit.TaggedValue{Tag: "x", Rep: "foo"}),
		"ratio":                   same(big.NewRat(1, 3)),
		"chars":                   same([]any{transit.Char('a'), transit.Char('~')}),
		"link":                    same(transit.Link{Href: "http://example.com/x", Rel: "self"}),
		"link_full":               same(transit.Link{Href: "http://example.com/y", Rel: "r", Name: "n", Prompt: "p", Render: "image"}),
		"cache_50_keywords_twice": same(xcTwice(xcKeywords(50))),
		"cache_map_keys": same([]any{
			xm("first", int64(0), "second", xK("val"), "abc", int64(0)),
			xm("first", int64(1), "second", xK("val"), "abc", int64(1)),
			xm("first", int64(2), "second", xK("val"), "abc", int64(2)),
		}),
		"cache_tags": same([]any{
			transit.List{int64(1)}, transit.List{int64(2)}, transit.Set{int64(3)},
			transit.TaggedValue{Tag: "point", Rep: []any{int64(1)}}, transit.TaggedValue{Tag: "point", Rep: []any{int64(2)}},
		}),
		"cache_1935_keywords_twice": same(xcTwice(xcKeywords(1935))),
		"cache_1936_keywords_twice": {want: xcTwice(xcKeywords(1936)), jsonDiff: jsDiffCache1936},
		"cache_1937_keywords_twice": same(xcTwice(xcKeywords(1937))),
		"cache_2000_then_tail":      same(append(xcKeywords(2000), xcKeywords(2000)[1936:]...)),
		"bw_cmd_query": same([]any{[]any{xK("cmd/query"), xm(
			xK("query"), query, xK("n"), int64(500), xK("uid"), xcUID, xK("from"), int64(1000),
		)}}),
		"bw_cmd_percolate": same([]any{[]any{xK("cmd/percolate"), xm(xK("query"), query, xK("uid"), xcUID)}}),
		"bw_cmd_missing":   same([]any{[]any{xK("cmd/missing"), xm(xK("id_str"), "546814306545344512", xK("uid"), xcUID)}}),
		"bw_ws_ping":       same([]any{[]any{xK("chsk/ws-ping")}}),
		"bw_stats_push": same([]any{
			[]any{xK("stats/users-count"), int64(3)},
			[]any{xK("stats/total-tweet-count"), "        123,456"},
		}),
		"bw_handshake": same([]any{xK("chsk/handshake"), []any{xcUID, "Zm9vYmFy"}}),
	}
}

// TestCrosscheck is the cross-check against transit-js described at the
// top of this file.
func TestCrosscheck(t *testing.T) {
	node := xcRequireTransitJS(t)
	cases := crosscheckCases()
	natives := xcNatives()

	dir := t.TempDir()
	goDir := filepath.Join(dir, "go")
	if err := os.Mkdir(goDir, 0o755); err != nil {
		t.Fatal(err)
	}
	type goOutput struct {
		json, verbose []byte
		err           error
	}
	outputs := make(map[string]goOutput, len(cases))
	for _, c := range cases {
		if _, dup := outputs[c.name]; dup {
			t.Fatalf("duplicate case name %q", c.name)
		}
		var o goOutput
		o.json, o.err = transit.Marshal(c.v)
		if o.err == nil {
			o.verbose, o.err = transit.MarshalVerbose(c.v)
		}
		outputs[c.name] = o
		if o.err != nil {
			continue // reported by the case's subtest
		}
		xcWriteFile(t, filepath.Join(goDir, c.name+".json"), o.json)
		xcWriteFile(t, filepath.Join(goDir, c.name+".verbose.json"), o.verbose)
	}

	version, nativeNames := xcRunNode(t, node, dir)
	t.Logf("transit-js %s: %d Go values round-tripped, %d transit-js values read", version, len(cases), len(nativeNames))

	t.Run("go-to-js", func(t *testing.T) {
		jsOut := filepath.Join(dir, "js")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				o := outputs[c.name]
				if o.err != nil {
					t.Fatalf("Marshal(%s): %v", xcShow(c.v), o.err)
				}
				t.Run("go", func(t *testing.T) {
					// Go's own round trip, strict: a failure here is the
					// codec's, whatever transit-js does.
					xcCheckRead(t, "Go JSON output", o.json, c.want, xcStrict)
					xcCheckRead(t, "Go verbose output", o.verbose, c.want, xcStrict)
					xcCheckInto(t, o.json, c)
				})
				t.Run("json", func(t *testing.T) {
					js := xcReadJSOutput(t, filepath.Join(jsOut, c.name+".json"), o.json)
					xcCheckJSRoundTrip(t, c, o.json, js, c.jsonDiff)
				})
				t.Run("verbose", func(t *testing.T) {
					js := xcReadJSOutput(t, filepath.Join(jsOut, c.name+".verbose.json"), o.verbose)
					xcCheckJSRoundTrip(t, c, o.verbose, js, c.verboseDiff)
				})
				t.Run("verbose-to-json", func(t *testing.T) {
					js := xcReadJSOutput(t, filepath.Join(jsOut, c.name+".verbose.to-json.json"), o.verbose)
					xcCheckJSRoundTrip(t, c, o.json, js, c.jsonDiff)
				})
			})
		}
	})

	t.Run("js-to-go", func(t *testing.T) {
		var missing, extra []string
		for _, name := range nativeNames {
			if _, ok := natives[name]; !ok {
				extra = append(extra, name)
			}
		}
		for name := range natives {
			if !slices.Contains(nativeNames, name) {
				missing = append(missing, name)
			}
		}
		if len(missing)+len(extra) > 0 {
			slices.Sort(missing)
			t.Errorf("crosscheck.js and xcNatives disagree: no transit-js value for %v; no Go expectation for %v", missing, extra)
		}
		natDir := filepath.Join(dir, "native")
		for _, name := range nativeNames {
			n, ok := natives[name]
			if !ok {
				continue
			}
			t.Run(name, func(t *testing.T) {
				t.Run("json", func(t *testing.T) {
					js := xcReadJSOutput(t, filepath.Join(natDir, name+".json"), nil)
					xcCheckNative(t, js, n.want, n.jsonDiff, transit.Marshal)
				})
				t.Run("verbose", func(t *testing.T) {
					js := xcReadJSOutput(t, filepath.Join(natDir, name+".verbose.json"), nil)
					xcCheckNative(t, js, n.want, n.verboseDiff, transit.MarshalVerbose)
				})
			})
		}
	})
}

// xcRequireTransitJS returns the path of node, or skips the test (fails it
// when the environment variable CI is set) when node or the pinned
// transit-js is not installed.
func xcRequireTransitJS(t *testing.T) string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("CI") != "" {
			t.Fatalf("transit-js cross-check cannot run: %s (CI is set, so this fails; `make test` installs it with `make jsdeps`)", msg)
		}
		t.Skipf("\n\n"+
			"*******************************************************************\n"+
			"*** SKIPPED: the cross-check against transit-js did not run:\n"+
			"***   %s\n"+
			"*** Run `make jsdeps` (needs Node.js and npm), or `make test`.\n"+
			"*******************************************************************\n", msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable("node is not installed (%v)", err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := xcReadJSON(filepath.Join(xcJSDir, "package.json"), &pkg); err != nil {
		t.Fatalf("reading the transit-js pin: %v", err)
	}
	pin := pkg.Dependencies["transit-js"]
	var installed struct {
		Version string `json:"version"`
	}
	if err := xcReadJSON(filepath.Join(xcJSDir, "node_modules", "transit-js", "package.json"), &installed); err != nil {
		unavailable("transit-js is not installed in %s/node_modules (%v)", xcJSDir, err)
	}
	if installed.Version != pin {
		unavailable("%s/node_modules has transit-js %s, package.json pins %s", xcJSDir, installed.Version, pin)
	}
	return node
}

// xcRunNode runs crosscheck.js over dir and returns the transit-js
// version and the names of the values it built itself.
func xcRunNode(t *testing.T, node, dir string) (version string, natives []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), xcNodeTimeout)
	defer cancel()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	// --no-deprecation: transit-js calls the deprecated Buffer constructor.
	cmd := exec.CommandContext(ctx, node, "--no-deprecation", "crosscheck.js", abs)
	cmd.Dir = xcJSDir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("node crosscheck.js did not finish within %v:\n%s", xcNodeTimeout, out)
	}
	if err != nil {
		t.Fatalf("node crosscheck.js: %v\n%s", err, out)
	}
	if len(out) > 0 {
		t.Logf("node crosscheck.js said:\n%s", out)
	}
	var m struct {
		Version string   `json:"version"`
		Natives []string `json:"natives"`
	}
	if err := xcReadJSON(filepath.Join(dir, "manifest.json"), &m); err != nil {
		t.Fatalf("crosscheck.js wrote no usable manifest: %v", err)
	}
	return m.Version, m.Natives
}

// xcReadJSOutput returns what transit-js wrote to path, failing the test with
// transit-js's error when it raised one instead.
func xcReadJSOutput(t *testing.T, path string, input []byte) []byte {
	t.Helper()
	if e, err := os.ReadFile(path + ".err"); err == nil {
		if input != nil {
			t.Fatalf("transit-js failed on Go's output\n  input: %s\n  error: %s", xcClip(input), e)
		}
		t.Fatalf("transit-js failed: %s", e)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("transit-js wrote no output: %v", err)
	}
	return b
}

// xcCheckJSRoundTrip checks what transit-js wrote (js) after reading Go's
// output (goOut) for case c.
func xcCheckJSRoundTrip(t *testing.T, c xcase, goOut, js []byte, diffReason string) {
	t.Helper()
	got, err := transit.Unmarshal(js)
	if err != nil {
		t.Fatalf("Unmarshal(transit-js output): %v\n   go: %s\n   js: %s", err, xcClip(goOut), xcClip(js))
	}
	if d := xcCompare(c.want, got, xcLossy); d != "" {
		t.Errorf("Go → transit-js → Go changed the value:\n%s   go: %s\n   js: %s", d, xcClip(goOut), xcClip(js))
	}
	if diffReason == "" && !bytes.Equal(goOut, js) {
		t.Errorf("transit-js's bytes differ from Go's and no documented difference applies:\n%s", xcByteDiff(goOut, js))
	}
	if c.into != nil {
		p := c.into()
		if err := transit.UnmarshalInto(js, p); err != nil {
			t.Errorf("UnmarshalInto(transit-js output, %T): %v", p, err)
		} else if got := reflect.ValueOf(p).Elem().Interface(); !reflect.DeepEqual(got, c.v) {
			t.Errorf("UnmarshalInto(transit-js output) =\n %#v\nwant\n %#v", got, c.v)
		}
	}
}

// xcCheckInto checks UnmarshalInto on Go's own output for cases that have a
// Go target type.
func xcCheckInto(t *testing.T, data []byte, c xcase) {
	t.Helper()
	if c.into == nil {
		return
	}
	p := c.into()
	if err := transit.UnmarshalInto(data, p); err != nil {
		t.Errorf("UnmarshalInto(Go output, %T): %v", p, err)
	} else if got := reflect.ValueOf(p).Elem().Interface(); !reflect.DeepEqual(got, c.v) {
		t.Errorf("UnmarshalInto(Go output) =\n %#v\nwant\n %#v", got, c.v)
	}
}

// xcCheckRead checks that data reads as want.
func xcCheckRead(t *testing.T, what string, data []byte, want any, mode xcMode) {
	t.Helper()
	got, err := transit.Unmarshal(data)
	if err != nil {
		t.Errorf("Unmarshal(%s): %v\n  %s", what, err, xcClip(data))
		return
	}
	if d := xcCompare(want, got, mode); d != "" {
		t.Errorf("Unmarshal(%s) is not the value written:\n%s  data: %s", what, d, xcClip(data))
	}
}

// xcCheckNative checks what the Go reader makes of a value transit-js built
// and wrote (js), and that marshal reproduces transit-js's bytes unless a
// documented difference applies.
func xcCheckNative(t *testing.T, js []byte, want any, diffReason string, marshal func(any) ([]byte, error)) {
	t.Helper()
	got, err := transit.Unmarshal(js)
	if err != nil {
		t.Fatalf("Unmarshal(transit-js output): %v\n   js: %s", err, xcClip(js))
	}
	// Strict: the expected values are written as the Go reader must see
	// transit-js's output (a JavaScript 2.0 is the integer 2 on the wire).
	if d := xcCompare(want, got, xcStrict); d != "" {
		t.Errorf("Go read transit-js's value wrongly:\n%s   js: %s", d, xcClip(js))
	}
	if diffReason != "" {
		return
	}
	for _, v := range []struct {
		what string
		v    any
	}{{"the expected value", want}, {"the value read", got}} {
		b, err := marshal(v.v)
		if err != nil {
			t.Errorf("marshalling %s: %v", v.what, err)
			continue
		}
		if !bytes.Equal(b, js) {
			t.Errorf("Go's encoding of %s differs from transit-js's and no documented difference applies:\n%s",
				v.what, xcByteDiff(b, js))
		}
	}
}

// xcMode selects how xcCompare treats the differences transit-js introduces.
type xcMode int

const (
	// xcStrict: types and values must match exactly; only the order of map
	// entries and set elements is free (it has no meaning).
	xcStrict xcMode = iota
	// xcLossy: after a trip through transit-js, strict plus the allowances
	// for what transit-js cannot represent (see value and float).
	xcLossy
)

// xcMaxDiffs caps the differences one comparison reports.
const xcMaxDiffs = 15

// xcDiffer compares an expected value with a decoded one. In quiet mode
// (trial comparisons while matching set elements and map keys) it only
// notes that a difference exists and stops early.
type xcDiffer struct {
	mode  xcMode
	quiet bool
	diffs []string
	n     int // all differences found, reported or not
}

// xcPath locates a value inside the compared tree; it is rendered only
// when a difference is reported.
type xcPath struct {
	parent *xcPath
	index  int    // element index, when key is nil and tag is ""
	key    any    // map key
	tag    string // tagged value's tag
	isKey  bool
}

func (p *xcPath) elem(i int) *xcPath      { return &xcPath{parent: p, index: i} }
func (p *xcPath) mapKey(k any) *xcPath    { return &xcPath{parent: p, key: k, isKey: true} }
func (p *xcPath) tagged(t string) *xcPath { return &xcPath{parent: p, tag: t} }

func (p *xcPath) String() string {
	if p == nil {
		return "$"
	}
	switch {
	case p.isKey:
		return p.parent.String() + "{" + xcShow(p.key) + "}"
	case p.tag != "":
		return p.parent.String() + "#" + p.tag
	default:
		return p.parent.String() + "[" + strconv.Itoa(p.index) + "]"
	}
}

// xcCompare returns a description of how got differs from want, "" if it
// does not.
func xcCompare(want, got any, mode xcMode) string {
	d := &xcDiffer{mode: mode}
	d.value(nil, want, got)
	if d.n == 0 {
		return ""
	}
	var sb strings.Builder
	for _, s := range d.diffs {
		sb.WriteString("   ")
		sb.WriteString(s)
		sb.WriteByte('\n')
	}
	if d.n > len(d.diffs) {
		fmt.Fprintf(&sb, "   … and %d more differences\n", d.n-len(d.diffs))
	}
	return sb.String()
}

// equal reports whether got matches want, without recording anything.
func (d *xcDiffer) equal(want, got any) bool {
	sub := &xcDiffer{mode: d.mode, quiet: true}
	sub.value(nil, want, got)
	return sub.n == 0
}

// done reports whether a quiet comparison can stop.
func (d *xcDiffer) done() bool { return d.quiet && d.n > 0 }

func (d *xcDiffer) addf(path *xcPath, format string, args ...func() any) {
	d.n++
	if d.quiet || len(d.diffs) >= xcMaxDiffs {
		return
	}
	vals := make([]any, len(args))
	for i, f := range args {
		vals[i] = f()
	}
	d.diffs = append(d.diffs, path.String()+": "+fmt.Sprintf(format, vals...))
}

// lazy defers rendering a failure message argument until it is needed.
func lazy(v any) func() any { return func() any { return v } }

// shown defers xcShow(v).
func shown(v any) func() any { return func() any { return xcShow(v) } }

func (d *xcDiffer) mismatch(path *xcPath, want, got any) {
	d.addf(path, "want %s (%T), got %s (%T)", shown(want), lazy(want), shown(got), lazy(got))
}

func (d *xcDiffer) value(path *xcPath, want, got any) {
	switch w := want.(type) {
	case nil:
		if got != nil {
			d.mismatch(path, want, got)
		}
	case bool, string, transit.Keyword, transit.Symbol, transit.URI, transit.UUID, transit.Link:
		if got != want {
			d.mismatch(path, want, got)
		}
	case transit.Char:
		if got == want {
			return
		}
		// Allowance (lossy, jsDiffChars): transit-js has no character
		// type; it reads "~ca" as the string "a" and writes that back.
		if g, ok := got.(string); ok && d.mode == xcLossy && g == string(rune(w)) {
			return
		}
		d.mismatch(path, want, got)
	case int, int8, int16, int32, int64:
		g, ok := got.(int64)
		if !ok || g != reflect.ValueOf(w).Int() {
			d.mismatch(path, want, got)
		}
	case uint, uint8, uint16, uint32, uint64:
		u := reflect.ValueOf(w).Uint()
		if u <= math.MaxInt64 {
			if g, ok := got.(int64); ok && g == int64(u) {
				return
			}
		} else if g, ok := got.(*big.Int); ok && g.Cmp(new(big.Int).SetUint64(u)) == 0 {
			// A uint64 above MaxInt64 is an arbitrary-precision integer (~n).
			return
		}
		d.mismatch(path, want, got)
	case float64:
		d.float(path, w, got, func(g float64) bool { return g == w })
	case float32:
		// The reader yields float64; the writer printed the float32's own
		// shortest digits, so compare at float32 precision.
		d.float(path, float64(w), got, func(g float64) bool { return float32(g) == w })
	case *big.Int:
		if g, ok := got.(*big.Int); !ok || g == nil || g.Cmp(w) != 0 {
			d.mismatch(path, want, got)
		}
	case transit.BigDecimal:
		g, ok := got.(transit.BigDecimal)
		if !ok || g.Scale != w.Scale || g.Unscaled == nil || g.Unscaled.Cmp(w.Unscaled) != 0 {
			d.mismatch(path, want, got)
		}
	case *big.Rat:
		if g, ok := got.(*big.Rat); !ok || g == nil || g.Cmp(w) != 0 {
			d.mismatch(path, want, got)
		}
	case time.Time:
		// Instants are milliseconds (docs/transit.md §3.5), read back in UTC.
		g, ok := got.(time.Time)
		if !ok || g.UnixMilli() != w.UnixMilli() || g.Nanosecond()%int(time.Millisecond) != 0 || g.Location() != time.UTC {
			d.mismatch(path, want, got)
		}
	case []byte:
		if g, ok := got.([]byte); !ok || !bytes.Equal(g, w) {
			d.mismatch(path, want, got)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			d.mismatch(path, want, got)
			return
		}
		d.seq(path, w, g)
	case transit.List:
		g, ok := got.(transit.List)
		if !ok {
			d.mismatch(path, want, got)
			return
		}
		d.seq(path, w, g)
	case transit.Set:
		g, ok := got.(transit.Set)
		if !ok {
			d.mismatch(path, want, got)
			return
		}
		d.set(path, w, g)
	case *transit.Map:
		d.mapEntries(path, w.Keys(), w.Values(), got)
	case transit.TaggedValue:
		g, ok := got.(transit.TaggedValue)
		if !ok || g.Tag != w.Tag {
			d.mismatch(path, want, got)
			return
		}
		d.value(path.tagged(w.Tag), w.Rep, g.Rep)
	default:
		rv := reflect.ValueOf(want)
		switch rv.Kind() {
		case reflect.Map: // a Go map given to Marshal
			keys := rv.MapKeys()
			ks, vs := make([]any, len(keys)), make([]any, len(keys))
			for i, k := range keys {
				ks[i], vs[i] = k.Interface(), rv.MapIndex(k).Interface()
			}
			d.mapEntries(path, ks, vs, got)
		case reflect.Slice, reflect.Array: // a typed Go slice given to Marshal
			ws := make([]any, rv.Len())
			for i := range ws {
				ws[i] = rv.Index(i).Interface()
			}
			g, ok := got.([]any)
			if !ok {
				d.mismatch(path, want, got)
				return
			}
			d.seq(path, ws, g)
		default:
			d.addf(path, "test bug: xcCompare does not handle want type %T", lazy(want))
		}
	}
}

// float compares a float want with got; eq decides equality of two
// non-NaN floats.
func (d *xcDiffer) float(path *xcPath, w float64, got any, eq func(float64) bool) {
	switch g := got.(type) {
	case float64:
		if math.IsNaN(w) {
			if !math.IsNaN(g) {
				d.mismatch(path, w, got)
			}
			return
		}
		if !eq(g) {
			d.mismatch(path, w, got)
			return
		}
		// Strict: -0.0 must stay -0.0. Lossy: transit-js writes -0.0 as 0.
		if d.mode == xcStrict && math.Signbit(g) != math.Signbit(w) {
			d.mismatch(path, w, got)
		}
	case int64:
		// Allowance (lossy, jsDiffFloats): JavaScript has one number type,
		// so transit-js writes a float with an integral value as an
		// integer (2.0 → 2, 4.0E11 → 400000000000, -0.0 → 0), which reads
		// back as int64. Equal if the values are numerically equal.
		if d.mode == xcLossy && !math.IsNaN(w) && !math.IsInf(w, 0) && float64(g) == w && int64(w) == g {
			return
		}
		d.mismatch(path, w, got)
	default:
		d.mismatch(path, w, got)
	}
}

func (d *xcDiffer) seq(path *xcPath, want, got []any) {
	if len(want) != len(got) {
		d.addf(path, "want %d elements, got %d: want %s, got %s", lazy(len(want)), lazy(len(got)), shown(want), shown(got))
		return
	}
	for i := range want {
		d.value(path.elem(i), want[i], got[i])
		if d.done() {
			return
		}
	}
}

// set compares sets irrespective of order.
func (d *xcDiffer) set(path *xcPath, want, got transit.Set) {
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for j, g := range got {
			if !used[j] && d.equal(w, g) {
				used[j], found = true, true
				break
			}
		}
		if !found {
			d.addf(path, "set element %s missing from %s", shown(w), shown(got))
		}
		if d.done() {
			return
		}
	}
	for j, g := range got {
		if !used[j] {
			d.addf(path, "unexpected set element %s", shown(g))
		}
	}
}

// xcHashable reports whether a map key can be looked up by Go equality:
// a scalar that reads back as a value of the same type.
func xcHashable(k any) bool {
	switch k := k.(type) {
	case nil, bool, string, int64, transit.Keyword, transit.Symbol, transit.URI, transit.UUID, transit.Char:
		return true
	case float64:
		return !math.IsNaN(k)
	}
	return false
}

// mapEntries compares the entries of a map irrespective of order.
func (d *xcDiffer) mapEntries(path *xcPath, keys, vals []any, got any) {
	g, ok := got.(*transit.Map)
	if !ok {
		d.addf(path, "want a map of %d entries, got %s (%T)", lazy(len(keys)), shown(got), lazy(got))
		return
	}
	gk, gv := g.Keys(), g.Values()
	index := make(map[any]int, len(gk))
	for j, x := range gk {
		if xcHashable(x) {
			index[x] = j
		}
	}
	used := make([]bool, len(gk))
	for i, k := range keys {
		switch x := k.(type) { // Go integer kinds read back as int64
		case int:
			k = int64(x)
		case int8:
			k = int64(x)
		case int16:
			k = int64(x)
		case int32:
			k = int64(x)
		}
		// Usually the key reads back as itself; with an allowance (a float
		// key that came back an integer, a char that came back a string)
		// or a composite key it must be searched for.
		j, ok := -1, false
		if xcHashable(k) {
			j, ok = index[k]
		}
		if !ok || used[j] {
			j = slices.IndexFunc(gk, func(x any) bool { return d.equal(k, x) })
			for j >= 0 && used[j] {
				next := slices.IndexFunc(gk[j+1:], func(x any) bool { return d.equal(k, x) })
				if next < 0 {
					j = -1
				} else {
					j += 1 + next
				}
			}
		}
		if j < 0 {
			d.addf(path, "key %s missing; got keys %s", shown(k), shown(gk))
		} else {
			used[j] = true
			d.value(path.mapKey(k), vals[i], gv[j])
		}
		if d.done() {
			return
		}
	}
	for j, x := range gk {
		if !used[j] {
			d.addf(path, "unexpected key %s (value %s)", shown(x), shown(gv[j]))
		}
	}
}

// xcShow renders a value briefly, EDN-like, with Go's types where they matter.
func xcShow(v any) string {
	var sb strings.Builder
	xcRender(&sb, v, 0)
	s := sb.String()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func xcRender(sb *strings.Builder, v any, depth int) {
	if sb.Len() > 400 {
		return
	}
	if depth > 8 {
		sb.WriteString("…")
		return
	}
	list := func(open, close string, xs []any) {
		sb.WriteString(open)
		for i, x := range xs {
			if i > 0 {
				sb.WriteByte(' ')
			}
			if sb.Len() > 400 {
				sb.WriteString("…")
				break
			}
			xcRender(sb, x, depth+1)
		}
		sb.WriteString(close)
	}
	switch x := v.(type) {
	case nil:
		sb.WriteString("nil")
	case string:
		sb.WriteString(strconv.Quote(x))
	case transit.Keyword:
		sb.WriteString(":" + string(x))
	case transit.Symbol:
		sb.WriteString(string(x))
	case int64:
		sb.WriteString(strconv.FormatInt(x, 10))
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEIN") {
			s += ".0"
		}
		sb.WriteString(s)
	case *big.Int:
		sb.WriteString(x.String() + "N")
	case transit.BigDecimal:
		sb.WriteString(x.String() + "M")
	case *big.Rat:
		sb.WriteString(x.String())
	case transit.Char:
		sb.WriteString(`\` + string(rune(x)))
	case transit.URI:
		sb.WriteString(`#uri "` + string(x) + `"`)
	case transit.UUID:
		sb.WriteString(`#uuid "` + x.String() + `"`)
	case time.Time:
		sb.WriteString(`#inst "` + x.Format("2006-01-02T15:04:05.000000000Z07:00") + `"`)
	case []byte:
		fmt.Fprintf(sb, "#bytes %x", x)
	case []any:
		list("[", "]", x)
	case transit.List:
		list("(", ")", x)
	case transit.Set:
		list("#{", "}", x)
	case *transit.Map:
		kv := make([]any, 0, 2*x.Len())
		for k, v := range x.All() {
			kv = append(kv, k, v)
		}
		list("{", "}", kv)
	case transit.TaggedValue:
		sb.WriteString("#" + x.Tag + " ")
		xcRender(sb, x.Rep, depth+1)
	default:
		fmt.Fprintf(sb, "%#v", v)
	}
}

// xcClip shortens a Transit text for a failure message.
func xcClip(b []byte) string {
	const max = 400
	if len(b) > max {
		return fmt.Sprintf("%s… (%d bytes)", b[:max], len(b))
	}
	return string(b)
}

// xcByteDiff describes where a (Go's bytes) and b (transit-js's) first differ.
func xcByteDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-60)
	window := func(s []byte) string {
		return string(s[from:min(len(s), i+60)])
	}
	return fmt.Sprintf("   first difference at byte %d (lengths %d and %d):\n   go: …%s…\n   js: …%s…",
		i, len(a), len(b), window(a), window(b))
}

func xcWriteFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func xcReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New(path + ": " + err.Error())
	}
	return nil
}
