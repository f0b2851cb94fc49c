package protocol

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sente-go/sente/transit"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/protocol")

// goldenRoot holds one directory of golden frames per generation, with
// the EDN frames of the generation in its subdirectory edn/.
const goldenRoot = "../testdata/protocol"

// goldenGlobs match every golden file: Transit, then EDN.
var goldenGlobs = []string{
	filepath.Join(goldenRoot, "*", "*.golden"),
	filepath.Join(goldenRoot, "*", "edn", "*.golden"),
}

// goldenDirs names the directory of each generation.
var goldenDirs = map[Generation]string{
	GenFlexi:   "flexi",
	GenV1:      "v1",
	GenV2Mixed: "v2mixed",
	GenV2:      "v2",
}

// Values of the examples of docs/protocol.md.
const (
	exUID  = "7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f"
	exCSRF = "tok123"
	exCB   = "a1b2c3"
	exPing = "k9m2p1"
)

type kw = transit.Keyword

func tweetEvent(id int, text string) Event {
	return Event{ID: "tweet/new", Data: transit.NewMap(kw("id"), id, kw("text"), text)}
}

func queryEvent(limit bool) Event {
	if limit {
		return Event{ID: "cmd/query", Data: transit.NewMap(kw("q"), "clojure", kw("limit"), 10)}
	}
	return Event{ID: "cmd/query", Data: transit.NewMap(kw("q"), "clojure")}
}

func okReply(results bool) any {
	if results {
		return transit.NewMap(kw("ok"), true, kw("results"), []any{1, 2, 3})
	}
	return transit.NewMap(kw("ok"), true)
}

// frameKind says how a golden frame is parsed back and written again.
type frameKind int

const (
	kindHandshake frameKind = iota
	kindBatch
	kindCallbackReply
	kindPong
	kindAjaxReply
	kindAjaxDummy
	kindAjaxTimeout
	kindPollTimeout
	kindServerPing
	kindClient
)

// goldenCase is one golden frame: how to build it from Go values, and how
// to read it back.
type goldenCase struct {
	d     Dialect
	name  string // file name without .golden
	kind  frameKind
	build func(d Dialect) ([]byte, error)
	// detected is the generation ParseClientFrame must report for a client
	// frame (kindClient); GenUnknown means d.Generation.
	detected Generation
}

func (c goldenCase) path() string {
	dir := filepath.Join(goldenRoot, goldenDirs[c.d.Generation])
	if c.d.Format == FormatEDN {
		dir = filepath.Join(dir, "edn")
	}
	return filepath.Join(dir, c.name+".golden")
}

// label names the case in test output: "v1/handshake", "v1/edn/handshake".
func (c goldenCase) label() string {
	if c.d.Format == FormatEDN {
		return goldenDirs[c.d.Generation] + "/edn/" + c.name
	}
	return goldenDirs[c.d.Generation] + "/" + c.name
}

func clientCase(name string, ev Event, cb Callback) goldenCase {
	return goldenCase{name: name, kind: kindClient, build: func(d Dialect) ([]byte, error) { return d.ClientFrame(ev, cb) }}
}

// goldenCases lists every golden frame: the frame kinds of every
// generation in both formats, with the data of the examples in
// docs/protocol.md, and the EDN examples of docs/protocol.md §3.6 and §13.
func goldenCases() []goldenCase {
	common := []goldenCase{
		{name: "handshake", kind: kindHandshake, build: func(d Dialect) ([]byte, error) {
			return d.Handshake(Handshake{UID: exUID, CSRFToken: exCSRF})
		}},
		{name: "handshake-data", kind: kindHandshake, build: func(d Dialect) ([]byte, error) {
			return d.Handshake(Handshake{UID: exUID, CSRFToken: exCSRF, Data: transit.NewMap(kw("user"), "jane")})
		}},
		{name: "handshake-nil-uid", kind: kindHandshake, build: func(d Dialect) ([]byte, error) {
			return d.Handshake(Handshake{})
		}},
		{name: "push", kind: kindBatch, build: func(d Dialect) ([]byte, error) {
			return d.Batch(tweetEvent(42, "hello"))
		}},
		{name: "push-2", kind: kindBatch, build: func(d Dialect) ([]byte, error) {
			return d.Batch(tweetEvent(42, "hello"), tweetEvent(43, "again"))
		}},
		{name: "ws-reply", kind: kindCallbackReply, build: func(d Dialect) ([]byte, error) {
			return d.CallbackReply(okReply(true), exCB)
		}},
		{name: "ws-reply-ok", kind: kindCallbackReply, build: func(d Dialect) ([]byte, error) {
			return d.CallbackReply(okReply(false), exCB)
		}},
		{name: "pong", kind: kindPong, build: func(d Dialect) ([]byte, error) {
			return d.Pong(exPing)
		}},
		{name: "ajax-reply", kind: kindAjaxReply, build: func(d Dialect) ([]byte, error) {
			return d.AjaxReply(okReply(true))
		}},
		{name: "ajax-dummy", kind: kindAjaxDummy, build: Dialect.AjaxDummyReply},
		{name: "ajax-timeout", kind: kindAjaxTimeout, build: Dialect.AjaxTimeoutReply},
		{name: "poll-timeout", kind: kindPollTimeout, build: Dialect.PollTimeout},
		clientCase("client-send", queryEvent(true), Callback{}),
		clientCase("client-send-cb", queryEvent(true), Callback{ID: exCB}),
		clientCase("client-send-cb-q", queryEvent(false), Callback{ID: exCB}),
		clientCase("client-ajax-cb", queryEvent(true), Callback{Ajax: true}),
		clientCase("client-ajax-cb-q", queryEvent(false), Callback{Ajax: true}),
	}
	var cases []goldenCase
	for f := FormatTransit; f <= FormatEDN; f++ {
		for g := GenFlexi; g <= GenV2; g++ {
			d := Dialect{g, f}
			for _, c := range common {
				c.d = d
				if c.kind == kindClient && g == GenV2Mixed && strings.HasPrefix(c.name, "client-send-cb") {
					c.detected = GenV2 // [ev "cb"]: 1.18–1.20 and 1.21+ both write it
				}
				cases = append(cases, c)
			}
			if g != GenFlexi {
				cases = append(cases, goldenCase{d: d, name: "server-ping", kind: kindServerPing, build: Dialect.ServerPing})
			}
			switch g {
			case GenFlexi, GenV1:
				// 1.3–1.17 clients ping without a callback.
				c := clientCase("client-ping", Event{ID: IDWSPing}, Callback{})
				c.d = d
				cases = append(cases, c)
			case GenV2Mixed, GenV2:
				// 1.18+ ping with a callback; 1.19+ answer a server ping.
				c := clientCase("client-ping", Event{ID: IDWSPing}, Callback{ID: exPing})
				c.d, c.detected = d, GenV2
				cases = append(cases, c)
				c = clientCase("client-pong", Event{ID: IDWSPong}, Callback{})
				c.d = d
				cases = append(cases, c)
			}
		}
	}
	return append(cases, ednDocCases()...)
}

// TestGolden builds every frame from Go values and compares it with its
// golden file, then parses the golden file and checks that writing the
// parsed value again gives the same bytes. With -update it rewrites the
// files instead of comparing.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.label(), func(t *testing.T) {
			got, err := c.build(c.d)
			if err != nil {
				t.Fatalf("build: %v", err)
			}
			if *update {
				if err := os.MkdirAll(filepath.Dir(c.path()), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(c.path(), got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(c.path())
			if err != nil {
				t.Fatalf("%v (run go test ./protocol/ -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame differs from %s\n got: %s\nwant: %s", c.path(), got, want)
			}
			again, err := rewrite(c, want)
			if err != nil {
				t.Fatalf("parse and rewrite %s: %v", want, err)
			}
			if !bytes.Equal(again, want) {
				t.Fatalf("parsed and rewritten frame differs\n got: %s\nwant: %s", again, want)
			}
		})
	}
}

// rewrite parses a golden frame the way its reader would and writes the
// parsed content again with the writer of the frame's kind.
func rewrite(c goldenCase, frame []byte) ([]byte, error) {
	g := c.d
	if c.kind == kindClient {
		cf, err := ParseClientFrame(frame)
		if err != nil {
			return nil, err
		}
		want := c.detected
		if want == GenUnknown {
			want = g.Generation
		}
		// A 1.3–1.8 EDN client's frames are those of 1.9–1.17; what its
		// requests tell (DetectAjax: "_") makes them GenFlexi.
		cf.Generation = cf.GenerationIn(SetOf(want))
		if cf.Generation != want || cf.Format != g.Format {
			return nil, fmt.Errorf("detected %v, want %v", cf.Dialect(), Dialect{want, g.Format})
		}
		viaDetected, err := cf.Dialect().ClientFrame(cf.Event, cf.Callback)
		if err != nil {
			return nil, err
		}
		out, err := g.ClientFrame(cf.Event, cf.Callback)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(viaDetected, out) {
			return nil, fmt.Errorf("rewritten as %v: %s", cf.Generation, viaDetected)
		}
		return out, nil
	}
	sf, err := g.ParseServerFrame(frame)
	if err != nil {
		return nil, err
	}
	wantCB := c.kind == kindCallbackReply || c.kind == kindPong
	if (sf.CallbackID != "") != wantCB {
		return nil, fmt.Errorf("callback id %q in a frame of kind %d", sf.CallbackID, c.kind)
	}
	switch c.kind {
	case kindHandshake:
		h, err := HandshakeFromValue(sf.Value)
		if err != nil {
			return nil, err
		}
		return g.Handshake(h)
	case kindBatch:
		vec, ok := sf.Value.([]any)
		if !ok {
			return nil, fmt.Errorf("batch is %T, not a vector", sf.Value)
		}
		evs := make([]Event, len(vec))
		for i, v := range vec {
			if evs[i], err = EventFromValue(v); err != nil {
				return nil, err
			}
		}
		return g.Batch(evs...)
	case kindCallbackReply:
		return g.CallbackReply(sf.Value, sf.CallbackID)
	case kindPong:
		if sf.Value != "pong" {
			return nil, fmt.Errorf("pong value %#v", sf.Value)
		}
		return g.Pong(sf.CallbackID)
	case kindAjaxReply:
		return g.AjaxReply(sf.Value)
	case kindAjaxDummy:
		if sf.Value != IDDummyReply {
			return nil, fmt.Errorf("dummy reply value %#v", sf.Value)
		}
		return g.AjaxDummyReply()
	case kindAjaxTimeout:
		if sf.Value != IDTimeout {
			return nil, fmt.Errorf("timeout reply value %#v", sf.Value)
		}
		return g.AjaxTimeoutReply()
	case kindPollTimeout:
		if g.Generation == GenFlexi {
			if v, ok := sf.Value.([]any); !ok || len(v) != 0 {
				return nil, fmt.Errorf("flexi idle poll value %#v, want an empty batch", sf.Value)
			}
		} else if sf.Value != IDTimeout {
			return nil, fmt.Errorf("idle poll value %#v", sf.Value)
		}
		return g.PollTimeout()
	case kindServerPing:
		if sf.Value != IDWSPing {
			return nil, fmt.Errorf("server ping value %#v", sf.Value)
		}
		return g.ServerPing()
	}
	return nil, fmt.Errorf("unknown kind %d", c.kind)
}

// TestGoldenFilesCovered fails on a golden file that no case produces, so
// that stale files do not linger after a rename.
func TestGoldenFilesCovered(t *testing.T) {
	known := map[string]bool{}
	for _, c := range goldenCases() {
		known[c.path()] = true
	}
	for _, glob := range goldenGlobs {
		files, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no golden files match %s", glob)
		}
		for _, f := range files {
			if !known[f] {
				t.Errorf("golden file %s is produced by no test case", f)
			}
		}
	}
}

// docExamples are the example frames of docs/protocol.md, verbatim, with
// the golden file that must hold each.
var docExamples = []struct {
	section, file, frame string
}{
	// docs/protocol.md §1: the 1.3.0-RC1 flexi :json combination.
	{"§1", "flexi/handshake", `-j["~:chsk/handshake",["7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f","tok123"]]`},
	{"§1", "flexi/push", `-j[["~:tweet/new",["^ ","~:id",42,"~:text","hello"]]]`},
	{"§1", "flexi/client-send", `+j[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]]]`},
	{"§1", "flexi/client-send-cb", `+j[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]],"a1b2c3"]`},
	{"§1", "flexi/ws-reply", `+j[["^ ","~:ok",true,"~:results",[1,2,3]],"a1b2c3"]`},
	{"§1", "flexi/client-ping", `+j[["~:chsk/ws-ping"]]`},
	{"§1", "flexi/client-ajax-cb-q", `+j[["~:cmd/query",["^ ","~:q","clojure"]],0]`},
	{"§1", "flexi/ajax-reply", `-j["^ ","~:ok",true,"~:results",[1,2,3]]`},
	{"§1", "flexi/ajax-dummy", `-j["~#'","~:chsk/dummy-cb-200"]`},
	// docs/protocol.md §3.6: 1.9–1.16, the frames of the flexi table without the j.
	{"§3.6", "v1/handshake", `-["~:chsk/handshake",["7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f","tok123"]]`},
	{"§3.6", "v1/push", `-[["~:tweet/new",["^ ","~:id",42,"~:text","hello"]]]`},
	{"§3.6", "v1/client-send", `+[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]]]`},
	{"§3.6", "v1/client-send-cb", `+[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]],"a1b2c3"]`},
	{"§3.6", "v1/ws-reply", `+[["^ ","~:ok",true,"~:results",[1,2,3]],"a1b2c3"]`},
	{"§3.6", "v1/client-ping", `+[["~:chsk/ws-ping"]]`},
	{"§3.6", "v1/client-ajax-cb-q", `+[["~:cmd/query",["^ ","~:q","clojure"]],0]`},
	{"§3.6", "v1/ajax-reply", `-["^ ","~:ok",true,"~:results",[1,2,3]]`},
	{"§3.6", "v1/ajax-dummy", `-["~#'","~:chsk/dummy-cb-200"]`},
	// docs/protocol.md §3.6: 1.18–1.20.
	{"§3.6", "v2mixed/handshake", `[["~:chsk/handshake",["7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f",null]]]`},
	{"§3.6", "v2mixed/push", `[[["~:tweet/new",["^ ","~:id",42,"~:text","hello"]]]]`},
	{"§3.6", "v2mixed/client-send", `[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]]]`},
	{"§3.6", "v2mixed/client-ajax-cb", `[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]],0]`},
	{"§3.6", "v2mixed/server-ping", `["~:chsk/ws-ping"]`},
	// docs/protocol.md §3.6: 1.21+.
	{"§3.6", "v2/handshake", `[["~:chsk/handshake",["7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f",null,null]],null]`},
	{"§3.6", "v2/push", `[[["~:tweet/new",["^ ","~:id",42,"~:text","hello"]]],null]`},
	{"§3.6", "v2/client-send", `[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]],null]`},
	{"§3.6", "v2/client-send-cb", `[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]],"a1b2c3"]`},
	{"§3.6", "v2/ws-reply", `[["^ ","~:ok",true,"~:results",[1,2,3]],"a1b2c3"]`},
	{"§3.6", "v2/client-ajax-cb", `[["~:cmd/query",["^ ","~:q","clojure","~:limit",10]],"~:ajax"]`},
	{"§3.6", "v2/ajax-reply", `[["^ ","~:ok",true,"~:results",[1,2,3]],null]`},
	{"§3.6", "v2/ajax-dummy", `["~:chsk/dummy-cb-200",null]`},
	{"§3.6", "v2/poll-timeout", `["~:chsk/timeout",null]`},
	{"§3.6", "v2/client-ping", `[["~:chsk/ws-ping"],"k9m2p1"]`},
	{"§3.6", "v2/pong", `["pong","k9m2p1"]`},
	{"§3.6", "v2/server-ping", `["~:chsk/ws-ping",null]`},
	{"§3.6", "v2/client-pong", `[["~:chsk/ws-pong"],null]`},
	// docs/protocol.md §5.1: the 1.3.0-RC1 WebSocket exchange.
	{"§5.1", "flexi/handshake", `-j["~:chsk/handshake",["7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f","tok123"]]`},
	{"§5.1", "flexi/client-send-cb-q", `+j[["~:cmd/query",["^ ","~:q","clojure"]],"a1b2c3"]`},
	{"§5.1", "flexi/ws-reply-ok", `+j[["^ ","~:ok",true],"a1b2c3"]`},
	{"§5.1", "flexi/push-2", `-j[["~:tweet/new",["^ ","~:id",42,"~:text","hello"]],["^0",["^ ","^1",43,"^2","again"]]]`},
	{"§5.1", "flexi/client-ping", `+j[["~:chsk/ws-ping"]]`},
	// docs/protocol.md §5.2, §6.2, §13: the other frames quoted in the text.
	{"§5.2", "v1/server-ping", `-["~#'","~:chsk/ws-ping"]`},
	{"§6.1", "flexi/poll-timeout", `-j[]`},
	{"§6.2", "v1/poll-timeout", `-["~#'","~:chsk/timeout"]`},
	{"§13", "v2mixed/pong", `["pong","k9m2p1"]`},
}

// TestDocExamples checks that every example frame of docs/protocol.md §1,
// §3.6 and §5.1 is a golden file, byte for byte (TestGolden then parses and
// rewrites each).
func TestDocExamples(t *testing.T) {
	for _, ex := range docExamples {
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

// TestBatchSplice checks that the spliced batch frames of PackBatch equal
// packing the whole envelope value, Transit cache included, in both
// formats.
func TestBatchSplice(t *testing.T) {
	evs := tweetBatch(10)
	batch := make([]any, len(evs))
	for i, ev := range evs {
		batch[i] = ev.Value()
	}
	for f := FormatTransit; f <= FormatEDN; f++ {
		pb, err := f.PackBatch(evs, AllGenerations)
		if err != nil {
			t.Fatal(err)
		}
		if pb.Format() != f {
			t.Errorf("PackedBatch.Format() = %v, want %v", pb.Format(), f)
		}
		p := f.packer()
		want := map[Generation]func() ([]byte, error){
			GenFlexi:   func() ([]byte, error) { return appendV1Unwrapped(nil, Dialect{GenFlexi, f}.Packer(), batch) },
			GenV1:      func() ([]byte, error) { return appendV1Unwrapped(nil, p, batch) },
			GenV2Mixed: func() ([]byte, error) { return appendV2(nil, p, batch, nil, false) },
			GenV2:      func() ([]byte, error) { return appendV2(nil, p, batch, nil, true) },
		}
		for g, build := range want {
			w, err := build()
			if err != nil {
				t.Fatal(err)
			}
			if got := pb.Frame(g); !bytes.Equal(got, w) {
				t.Errorf("%v: spliced frame differs\n got: %s\nwant: %s", Dialect{g, f}, got, w)
			}
			one, err := Dialect{g, f}.Batch(evs...)
			if err != nil || !bytes.Equal(one, w) {
				t.Errorf("%v: Batch = %s, %v", Dialect{g, f}, one, err)
			}
			if f == FormatTransit {
				if one, err := g.Batch(evs...); err != nil || !bytes.Equal(one, w) {
					t.Errorf("%v: Generation.Batch = %s, %v", g, one, err)
				}
			}
		}
		if pb.Frame(GenUnknown) != nil {
			t.Error("Frame(GenUnknown) is not nil")
		}
		pb, err = f.PackBatch(evs, SetOf(GenV2))
		if err != nil || pb.Frame(GenFlexi) != nil || pb.Frame(GenV2) == nil {
			t.Errorf("PackBatch for {GenV2}: flexi frame %q, v2 frame %q, error %v", pb.Frame(GenFlexi), pb.Frame(GenV2), err)
		}
	}
	if pb, err := PackBatch(evs, AllGenerations); err != nil || pb.Format() != FormatTransit {
		t.Errorf("PackBatch: format %v, error %v", pb.Format(), err)
	}
}
