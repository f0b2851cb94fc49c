package protocol

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/transit/edn"
)

// errEDNSyntax stands for any *edn.SyntaxError in the tables below.
var errEDNSyntax = errors.New("edn syntax error")

// ednDocCases are the golden frames of the EDN examples of
// docs/protocol.md §3.6 and §13 that the common cases do not produce: the
// first uses the placeholders "uid" and "tok", the second a real client's
// echo event.
func ednDocCases() []goldenCase {
	docHandshake := func(d Dialect) ([]byte, error) { return d.Handshake(Handshake{UID: "uid", CSRFToken: "tok"}) }
	echo := Event{ID: "my/echo", Data: transit.NewMap(
		kw("v"), []any{1, 2, 3}, kw("n"), 2, kw("s"), "héllo ✓", kw("kw"), kw("a/b"))}
	c := clientCase("client-echo-cb", echo, Callback{ID: "155316"})
	c.d = Dialect{GenV1, FormatEDN}
	return []goldenCase{
		{d: Dialect{GenV1, FormatEDN}, name: "handshake-doc", kind: kindHandshake, build: docHandshake},
		{d: Dialect{GenV2, FormatEDN}, name: "handshake-doc", kind: kindHandshake, build: docHandshake},
		c,
	}
}

// ednDocExamples are the EDN frames quoted in docs/protocol.md, verbatim,
// with the golden file that must hold each.
var ednDocExamples = []struct {
	section, file, frame string
}{
	{"§3.6", "v1/edn/handshake-doc", `-[:chsk/handshake ["uid" "tok"]]`},
	{"§3.6", "v2/edn/handshake-doc", `[[:chsk/handshake ["uid" nil nil]] nil]`},
	{"§13", "v1/edn/client-echo-cb", `+[[:my/echo {:v [1 2 3], :n 2, :s "héllo ✓", :kw :a/b}] "155316"]`},
	{"§13", "v2mixed/edn/client-pong", `[[:chsk/ws-pong]]`},
	// The EDN twins of the Transit examples of docs/protocol.md §1 and §3.6.
	// A 1.3–1.8 client with Sente's default EDN packer: plain EDN, no
	// flexi marker.
	{"§1", "flexi/edn/handshake", `-[:chsk/handshake ["7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f" "tok123"]]`},
	{"§1", "flexi/edn/push", `-[[:tweet/new {:id 42, :text "hello"}]]`},
	{"§1", "flexi/edn/client-send-cb", `+[[:cmd/query {:q "clojure", :limit 10}] "a1b2c3"]`},
	{"§1", "flexi/edn/client-ajax-cb-q", `+[[:cmd/query {:q "clojure"}] 0]`},
	{"§1", "flexi/edn/ajax-dummy", `-:chsk/dummy-cb-200`},
	{"§1", "flexi/edn/poll-timeout", `-[]`},
	{"§3.6", "v1/edn/push-2", `-[[:tweet/new {:id 42, :text "hello"}] [:tweet/new {:id 43, :text "again"}]]`},
	{"§3.6", "v1/edn/ws-reply", `+[{:ok true, :results [1 2 3]} "a1b2c3"]`},
	{"§3.6", "v1/edn/poll-timeout", `-:chsk/timeout`},
	{"§3.6", "v1/edn/server-ping", `-:chsk/ws-ping`},
	{"§3.6", "v2mixed/edn/handshake", `[[:chsk/handshake ["7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f" nil]]]`},
	{"§3.6", "v2mixed/edn/client-ajax-cb", `[[:cmd/query {:q "clojure", :limit 10}] 0]`},
	{"§3.6", "v2mixed/edn/server-ping", `[:chsk/ws-ping]`},
	{"§3.6", "v2/edn/push", `[[[:tweet/new {:id 42, :text "hello"}]] nil]`},
	{"§3.6", "v2/edn/client-ajax-cb", `[[:cmd/query {:q "clojure", :limit 10}] :ajax]`},
	{"§3.6", "v2/edn/poll-timeout", `[:chsk/timeout nil]`},
	{"§3.6", "v2/edn/pong", `["pong" "k9m2p1"]`},
	{"§3.6", "v2/edn/client-ping", `[[:chsk/ws-ping] "k9m2p1"]`},
}

// TestEDNDocExamples checks that every EDN example frame is a golden
// file, byte for byte (TestGolden then parses and rewrites each).
func TestEDNDocExamples(t *testing.T) {
	for _, ex := range ednDocExamples {
		path := filepath.Join(goldenRoot, ex.file+".golden")
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s example %s: %v", ex.section, ex.frame, err)
			continue
		}
		if string(got) != ex.frame {
			t.Errorf("%s example differs from %s\n file: %s\n  doc: %s", ex.section, path, got, ex.frame)
		}
	}
}

// TestDetectFormat checks the rule that tells Transit from EDN bodies.
func TestDetectFormat(t *testing.T) {
	tests := []struct {
		body string
		want Format
	}{
		{`[["~:cmd/query",["^ ","~:q","clojure"]],null]`, FormatTransit},
		{`[[:cmd/query {:q "clojure"}] nil]`, FormatEDN},
		{`[["~:chsk/ws-ping"],"k9m2p1"]`, FormatTransit},
		{`[[:chsk/ws-ping] "k9m2p1"]`, FormatEDN},
		{`{"~:cmd/query":1}`, FormatTransit},
		{`{:cmd/query 1}`, FormatEDN},
		{`[ [ "~:a/b"]]`, FormatTransit},
		{"[\n[:a/b]]", FormatEDN},
		{`[]`, FormatTransit},
		{`[`, FormatTransit},
		{`[[null,1],null]`, FormatTransit},
		{`[[nil 1] nil]`, FormatEDN},
		{`[[1,2]]`, FormatTransit},
		{`[[-1]]`, FormatTransit},
		{`[true]`, FormatTransit},
		{`[#{:a}]`, FormatEDN},
		{`[(:a/b)]`, FormatEDN},
		{`[\a]`, FormatEDN},
		{`[foo/bar]`, FormatEDN},
		{`[falsey]`, FormatTransit}, // "false…"
		{`[nilly]`, FormatEDN},
		{"[\x00\xff]", FormatTransit},
		{"[\xc3\xa9]", FormatTransit},
	}
	for _, tt := range tests {
		if got := detectFormat([]byte(tt.body)); got != tt.want {
			t.Errorf("detectFormat(%q) = %v, want %v", tt.body, got, tt.want)
		}
	}
}

// TestParseClientFrameEDN checks EDN client frames of every generation,
// as real clients write them (docs/protocol.md §13) and in unusual but valid forms.
func TestParseClientFrameEDN(t *testing.T) {
	echo := transit.NewMap(kw("v"), []any{int64(1), int64(2), int64(3)}, kw("n"), int64(2), kw("s"), "héllo ✓", kw("kw"), kw("a/b"))
	tests := []struct {
		name  string
		frame string
		id    transit.Keyword
		data  any // nil: no data
		cb    Callback
		gen   Generation
	}{
		{"§13 echo", `+[[:my/echo {:v [1 2 3], :n 2, :s "héllo ✓", :kw :a/b}] "155316"]`, "my/echo", echo, Callback{ID: "155316"}, GenV1},
		{"§13 ping 1.18+", `[[:chsk/ws-ping] "afbefe"]`, "chsk/ws-ping", nil, Callback{ID: "afbefe"}, GenV2},
		{"§13 pong 1.19+", `[[:chsk/ws-pong]]`, "chsk/ws-pong", nil, Callback{}, GenV2Mixed},
		{"v1 ajax 0", `+[[:cmd/query "x"] 0]`, "cmd/query", "x", Callback{Ajax: true}, GenV1},
		{"v1 nil callback", `+[[:cmd/query] nil]`, "cmd/query", nil, Callback{}, GenV1},
		{"v2 nil", `[[:cmd/query 1] nil]`, "cmd/query", int64(1), Callback{}, GenV2},
		{"v2 ajax keyword", `[[:cmd/query] :ajax]`, "cmd/query", nil, Callback{Ajax: true}, GenV2},
		{"v2 ajax 0", `[[:cmd/query] 0]`, "cmd/query", nil, Callback{Ajax: true}, GenV2Mixed},
		{"v2 false", `[[:cmd/query] false]`, "cmd/query", nil, Callback{}, GenV2},
		{"commas and comments", "[[:cmd/query, #{1}] ; cb\n \"a1b2c3\"]", "cmd/query", transit.Set{int64(1)}, Callback{ID: "a1b2c3"}, GenV2},
		{"metadata and discard", `[^:m [:cmd/query #_ skipped {:a 1}] nil]`, "cmd/query", transit.NewMap(kw("a"), int64(1)), Callback{}, GenV2},
		{"namespaced map", `[[:cmd/query #:q{:text "x"}] nil]`, "cmd/query", transit.NewMap(kw("q/text"), "x"), Callback{}, GenV2},
		{"tagged data", `[[:cmd/query #inst "2014-12-22T23:45:01.000-00:00"] nil]`, "cmd/query", transit.Equal, Callback{}, GenV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf, err := ParseClientFrame([]byte(tt.frame))
			if err != nil {
				t.Fatalf("ParseClientFrame(%q): %v", tt.frame, err)
			}
			if cf.Format != FormatEDN || cf.Generation != tt.gen || cf.Event.ID != tt.id || cf.Callback != tt.cb {
				t.Fatalf("ParseClientFrame(%q) = %+v, want %v/edn, id %v, callback %+v", tt.frame, cf, tt.gen, tt.id, tt.cb)
			}
			if _, isFunc := tt.data.(func(any, any) bool); !isFunc && !transit.Equal(cf.Event.Data, tt.data) {
				t.Errorf("data %#v, want %#v", cf.Event.Data, tt.data)
			}
			// The same event and callback, written back in the dialect
			// detected, parse to the same frame.
			again, err := cf.Dialect().ClientFrame(cf.Event, cf.Callback)
			if err != nil {
				t.Fatal(err)
			}
			cf2, err := ParseClientFrame(again)
			if err != nil || cf2.Dialect() != cf.Dialect() || cf2.Callback != cf.Callback || !transit.Equal(cf2.Event.Value(), cf.Event.Value()) {
				t.Errorf("rewritten %s parses to %+v, %v", again, cf2, err)
			}
		})
	}
}

// TestFlexiEDNFrames checks the two kinds of 1.3–1.8 EDN client: a flexi
// packer configured for EDN ("+e[…]"), answered in Transit ('j', which it
// reads too), and Sente's default EDN packer ("+[…]", the frames of a
// 1.9–1.17 client), which is GenFlexi when the requests rule out 1.9+.
func TestFlexiEDNFrames(t *testing.T) {
	tests := []struct {
		frame string
		known GenerationSet
		want  Dialect
		cb    Callback
	}{
		{`+e[[:cmd/query {:q "clojure"}]]`, AllGenerations, Dialect{GenFlexi, FormatTransit}, Callback{}},
		{`-e[:chsk/ws-ping]`, AllGenerations, Dialect{GenFlexi, FormatTransit}, Callback{}},
		{`+e[[:cmd/query] 0]`, SetOf(GenFlexi), Dialect{GenFlexi, FormatTransit}, Callback{Ajax: true}},
		{`+[[:cmd/query] 0]`, SetOf(GenFlexi), Dialect{GenFlexi, FormatEDN}, Callback{Ajax: true}},
		{`+[[:cmd/query] 0]`, AllGenerations, Dialect{GenV1, FormatEDN}, Callback{Ajax: true}},
		{`+[[:cmd/query] 0]`, SetOf(GenV1, GenV2Mixed, GenV2), Dialect{GenV1, FormatEDN}, Callback{Ajax: true}},
		{`+[["~:cmd/query"],0]`, SetOf(GenFlexi), Dialect{GenV1, FormatTransit}, Callback{Ajax: true}}, // no plain Transit packer before 1.9
		{`[[:cmd/query] nil]`, SetOf(GenFlexi), Dialect{GenV2, FormatEDN}, Callback{}},
	}
	for _, tt := range tests {
		cf, err := ParseClientFrame([]byte(tt.frame))
		if err != nil {
			t.Fatalf("ParseClientFrame(%q): %v", tt.frame, err)
		}
		got := Dialect{cf.GenerationIn(tt.known), cf.Format}
		if got != tt.want || cf.Callback != tt.cb {
			t.Errorf("ParseClientFrame(%q) in %v: %v %+v, want %v %+v", tt.frame, tt.known, got, cf.Callback, tt.want, tt.cb)
		}
	}
}

// TestParseClientFrameEDNMalformed checks the errors of EDN frames: their
// type, cause, and the generation and format reported alongside.
func TestParseClientFrameEDNMalformed(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		badEvent bool
		cause    error
		gen      Generation
	}{
		{"truncated", `+[[:cmd/query {:q "clojure"`, false, errEDNSyntax, GenV1},
		{"trailing garbage", `[[:cmd/query] nil] x`, false, errEDNSyntax, GenV2},
		{"odd map", `[[:cmd/query {:q}] nil]`, false, errEDNSyntax, GenV2},
		{"duplicate key", `[[:cmd/query {:q 1 :q 2}] nil]`, false, errEDNSyntax, GenV2},
		{"auto-resolved keyword", `[[::query] nil]`, false, errEDNSyntax, GenV2},
		{"unknown escape", `[[:cmd/query "\q"] nil]`, false, errEDNSyntax, GenV2},
		{"wrapper is a map", `+{:q 1}`, false, ErrBadEnvelope, GenV1},
		{"wrapper three elements", `[[:cmd/query] nil nil]`, false, ErrBadEnvelope, GenV2},
		{"callback number", `[[:cmd/query] 1]`, false, ErrBadCallback, GenV2},
		{"callback other keyword", `[[:cmd/query] :http]`, false, ErrBadCallback, GenV2},
		{"callback symbol", `[[:cmd/query] ajax]`, false, ErrBadCallback, GenV2},
		{"not a vector: list", `[(:cmd/query) nil]`, true, ErrNotVector, GenV2},
		{"id is a symbol", `[[cmd/query] nil]`, true, ErrEventID, GenV2},
		{"id not namespaced", `+[[:query]]`, true, ErrEventID, GenV1},
		{"three elements", `[[:cmd/query 1 2] "a1b2c3"]`, true, ErrEventLength, GenV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf, err := ParseClientFrame([]byte(tt.frame))
			if err == nil {
				t.Fatalf("ParseClientFrame(%q) = %+v, want an error", tt.frame, cf)
			}
			var bp *BadPackageError
			var be *BadEventError
			switch {
			case tt.badEvent && !errors.As(err, &be):
				t.Fatalf("error %v (%T), want *BadEventError", err, err)
			case !tt.badEvent && !errors.As(err, &bp):
				t.Fatalf("error %v (%T), want *BadPackageError", err, err)
			case bp != nil && (bp.Generation != tt.gen || bp.Format != FormatEDN):
				t.Errorf("BadPackageError %v/%v, want %v/edn", bp.Generation, bp.Format, tt.gen)
			}
			if tt.cause == errEDNSyntax {
				var se *edn.SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("error %v, want an *edn.SyntaxError cause", err)
				}
			} else if !errors.Is(err, tt.cause) {
				t.Errorf("error %v, want cause %v", err, tt.cause)
			}
			if cf.Generation != tt.gen || cf.Format != FormatEDN {
				t.Errorf("ClientFrame dialect %v, want %v/edn", cf.Dialect(), tt.gen)
			}
		})
	}
}

// TestParseServerFrameEDN checks how each generation's EDN client reads
// frames.
func TestParseServerFrameEDN(t *testing.T) {
	tests := []struct {
		gen   Generation
		frame string
		value any
		cb    string
		cause error // nil: success
	}{
		// Sente's EDN packer in 1.3–1.8: plain EDN. The flexi packer's
		// "-e[…]" reads as the symbol e followed by garbage, which is what
		// killed the poll loop of these clients.
		{GenFlexi, `-:chsk/timeout`, IDTimeout, "", nil},
		{GenFlexi, `-[:chsk/handshake ["u" "t"]]`, []any{IDHandshake, []any{"u", "t"}}, "", nil},
		{GenFlexi, `-e[]`, nil, "", errEDNSyntax},
		{GenV1, `-:chsk/ws-ping`, IDWSPing, "", nil},
		{GenV1, `+["pong" "k9m2p1"]`, "pong", "k9m2p1", nil},
		{GenV1, `+[1 2]`, nil, "", ErrBadCallback},
		{GenV1, `-:chsk/ws-ping x`, nil, "", errEDNSyntax},
		{GenV2Mixed, `[:chsk/ws-ping]`, IDWSPing, "", nil},
		{GenV2Mixed, `-:chsk/ws-ping`, IDWSPing, "", nil},
		{GenV2, `[:chsk/ws-ping nil]`, IDWSPing, "", nil},
		{GenV2, `-:chsk/ws-ping`, nil, "", ErrUnknownPrefix},
		{GenV2, `[1 2 3]`, nil, "", ErrBadEnvelope},
	}
	for _, tt := range tests {
		d := Dialect{tt.gen, FormatEDN}
		sf, err := d.ParseServerFrame([]byte(tt.frame))
		if tt.cause != nil {
			var bp *BadPackageError
			var se *edn.SyntaxError
			if !errors.As(err, &bp) || bp.Generation != tt.gen || bp.Format != FormatEDN ||
				(tt.cause == errEDNSyntax && !errors.As(err, &se)) || (tt.cause != errEDNSyntax && !errors.Is(err, tt.cause)) {
				t.Errorf("%v.ParseServerFrame(%q) = %+v, %v; want a *BadPackageError with cause %v", d, tt.frame, sf, err, tt.cause)
			}
			continue
		}
		if err != nil || !transit.Equal(sf.Value, tt.value) || sf.CallbackID != tt.cb {
			t.Errorf("%v.ParseServerFrame(%q) = %+v, %v; want value %#v, callback %q", d, tt.frame, sf, err, tt.value, tt.cb)
		}
	}
}

// TestDialect checks the Dialect and Format values and the writers'
// rejections.
func TestDialect(t *testing.T) {
	if (Dialect{}).Valid() || (Dialect{GenV1, Format(9)}).Valid() || !(Dialect{GenV1, FormatEDN}).Valid() {
		t.Error("Dialect.Valid")
	}
	if got := (Dialect{GenV1, FormatEDN}).String(); got != "v1 (1.9-1.17), edn" {
		t.Errorf("String = %q", got)
	}
	if FormatTransit.String() != "transit" || FormatEDN.String() != "edn" || Format(9).String() != "unknown format" || Format(9).Valid() {
		t.Error("Format.String/Valid")
	}
	packers := map[Dialect]Packer{
		{GenFlexi, FormatTransit}: FlexiPacker{}, {GenFlexi, FormatEDN}: EDNPacker{},
		{GenV1, FormatTransit}: TransitPacker{}, {GenV2, FormatEDN}: EDNPacker{}, {GenV1, Format(9)}: nil, {}: nil,
	}
	for d, want := range packers {
		if got := d.Packer(); got != want {
			t.Errorf("%v.Packer() = %#v, want %#v", d, got, want)
		}
	}
	for g := GenUnknown; g <= GenV2; g++ {
		if g.Packer() != (Dialect{Generation: g}).Packer() {
			t.Errorf("%v.Packer() differs from its Transit dialect's", g)
		}
	}
	bad := Dialect{GenV2, Format(9)}
	if _, err := bad.Handshake(Handshake{}); !errors.Is(err, ErrUnknownGeneration) {
		t.Errorf("Handshake in an unknown format: %v", err)
	}
	if _, err := bad.Batch(); !errors.Is(err, ErrUnknownGeneration) {
		t.Errorf("Batch in an unknown format: %v", err)
	}
	if _, err := Format(9).PackBatch(nil, AllGenerations); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("PackBatch in an unknown format: %v", err)
	}
	if _, err := bad.ParseServerFrame([]byte(`[1 nil]`)); !errors.Is(err, ErrUnknownGeneration) {
		t.Errorf("ParseServerFrame in an unknown format: %v", err)
	}
	if _, err := bad.ClientFrame(Event{ID: "a/b"}, Callback{}); !errors.Is(err, ErrUnknownGeneration) {
		t.Errorf("ClientFrame in an unknown format: %v", err)
	}
	d := Dialect{GenV2, FormatEDN}
	if _, err := d.CallbackReply(1, ""); !errors.Is(err, ErrBadCallback) {
		t.Errorf("empty callback id: %v", err)
	}
	if _, err := (Dialect{GenFlexi, FormatEDN}).ServerPing(); !errors.Is(err, ErrNoServerPing) {
		t.Errorf("flexi EDN server ping: %v", err)
	}
	// A value EDN cannot express is an error of package edn, not a frame
	// no client reads.
	var uve *edn.UnsupportedValueError
	if _, err := d.AjaxReply(transit.URI("http://example.com/")); !errors.As(err, &uve) {
		t.Errorf("AjaxReply(URI) error %v, want *edn.UnsupportedValueError", err)
	}
	if _, err := d.Batch(Event{ID: "a/b", Data: []byte{1}}); !errors.As(err, &uve) {
		t.Errorf("Batch with bytes: error %v, want *edn.UnsupportedValueError", err)
	}
}

// TestEDNStructEvent checks that a Go struct in an event is written in EDN
// as in Transit: a map with keyword keys, in field order.
func TestEDNStructEvent(t *testing.T) {
	type user struct {
		ScreenName string `transit:"screen_name"`
		Followers  int    `transit:"followers_count"`
		Bio        string `transit:"bio,omitempty"`
	}
	ev := Event{ID: "user/info", Data: user{"janedoe", 1532, ""}}
	got, err := Dialect{GenV2, FormatEDN}.Batch(ev)
	if want := `[[[:user/info {:screen_name "janedoe", :followers_count 1532}]] nil]`; err != nil || string(got) != want {
		t.Errorf("Batch = %s, %v; want %s", got, err, want)
	}
	tr, err := GenV2.Batch(ev)
	if err != nil {
		t.Fatal(err)
	}
	sf1, err1 := GenV2.ParseServerFrame(tr)
	sf2, err2 := Dialect{GenV2, FormatEDN}.ParseServerFrame(got)
	if err1 != nil || err2 != nil || !transit.Equal(sf1.Value, sf2.Value) {
		t.Errorf("Transit %s and EDN %s read differently: %#v (%v), %#v (%v)", tr, got, sf1.Value, err1, sf2.Value, err2)
	}
}

// TestEDNPacker checks the packer on its own.
func TestEDNPacker(t *testing.T) {
	b, err := EDNPacker{}.AppendPack([]byte("-"), IDTimeout)
	if err != nil || !bytes.Equal(b, []byte("-:chsk/timeout")) {
		t.Errorf("AppendPack = %s, %v", b, err)
	}
	v, err := EDNPacker{}.Unpack([]byte(`{:a [1 2]}`))
	if err != nil || !transit.Equal(v, transit.NewMap(kw("a"), []any{int64(1), int64(2)})) {
		t.Errorf("Unpack = %#v, %v", v, err)
	}
	var se *edn.SyntaxError
	if _, err := (EDNPacker{}).Unpack([]byte(`{:a`)); !errors.As(err, &se) {
		t.Errorf("Unpack of truncated EDN: %v", err)
	}
}
