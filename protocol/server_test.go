package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/sente-go/sente/transit/edn"
	"testing"

	"github.com/sente-go/sente/transit"
)

// TestWriterErrors checks the rejections of the server writers.
func TestWriterErrors(t *testing.T) {
	bad := []Generation{GenUnknown, GenV2 + 1}
	for _, g := range bad {
		calls := map[string]func() ([]byte, error){
			"Handshake":        func() ([]byte, error) { return g.Handshake(Handshake{UID: "u"}) },
			"Batch":            func() ([]byte, error) { return g.Batch(Event{ID: "a/b"}) },
			"CallbackReply":    func() ([]byte, error) { return g.CallbackReply(1, "cb") },
			"Pong":             func() ([]byte, error) { return g.Pong("cb") },
			"AjaxReply":        func() ([]byte, error) { return g.AjaxReply(1) },
			"AjaxDummyReply":   g.AjaxDummyReply,
			"AjaxTimeoutReply": g.AjaxTimeoutReply,
			"PollTimeout":      g.PollTimeout,
			"ServerPing":       g.ServerPing,
			"ClientFrame":      func() ([]byte, error) { return g.ClientFrame(Event{ID: "a/b"}, Callback{}) },
		}
		for name, call := range calls {
			if b, err := call(); !errors.Is(err, ErrUnknownGeneration) || b != nil {
				t.Errorf("Generation(%d).%s = %q, %v; want ErrUnknownGeneration", g, name, b, err)
			}
		}
		if _, err := g.ParseServerFrame([]byte(`[1,null]`)); !errors.Is(err, ErrUnknownGeneration) {
			t.Errorf("Generation(%d).ParseServerFrame: %v", g, err)
		}
		if g.Packer() != nil || g.Valid() {
			t.Errorf("Generation(%d) has a packer or is valid", g)
		}
	}
	if b, err := GenFlexi.ServerPing(); !errors.Is(err, ErrNoServerPing) || b != nil {
		t.Errorf("GenFlexi.ServerPing = %q, %v; want ErrNoServerPing", b, err)
	}
	for g := GenFlexi; g <= GenV2; g++ {
		if _, err := g.CallbackReply(1, ""); !errors.Is(err, ErrBadCallback) {
			t.Errorf("%v: CallbackReply with empty id: %v", g, err)
		}
		if _, err := g.Pong(""); !errors.Is(err, ErrBadCallback) {
			t.Errorf("%v: Pong with empty id: %v", g, err)
		}
		if _, err := g.AjaxReply(make(chan int)); err == nil {
			t.Errorf("%v: AjaxReply of a channel succeeded", g)
		}
	}
}

// TestBatchErrors checks the validation of pushed events.
func TestBatchErrors(t *testing.T) {
	tests := []struct {
		name  string
		ev    Event
		cause error
	}{
		{"no namespace", Event{ID: "new"}, ErrEventID},
		{"empty id", Event{}, ErrEventID},
		{"reserved", Event{ID: "chsk/handshake"}, ErrReservedID},
		{"reserved ping", Event{ID: IDWSPing}, ErrReservedID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for g := GenFlexi; g <= GenV2; g++ {
				b, err := g.Batch(tweetEvent(1, "x"), tt.ev)
				var be *BadEventError
				if !errors.As(err, &be) || !errors.Is(err, tt.cause) || b != nil {
					t.Errorf("%v: Batch = %q, %v; want a *BadEventError with cause %v", g, b, err, tt.cause)
				}
			}
		})
	}
	if _, err := PackBatch([]Event{{ID: "a/b", Data: make(chan int)}}, AllGenerations); err == nil {
		t.Error("PackBatch of a channel succeeded")
	}
	b, err := GenV2.Batch()
	if err != nil || string(b) != "[[],null]" {
		t.Errorf("empty GenV2 batch = %s, %v", b, err)
	}
}

// TestParseServerFrame checks how each generation's client reads frames.
func TestParseServerFrame(t *testing.T) {
	tests := []struct {
		gen   Generation
		frame string
		value any
		cb    string
		cause error // nil: success
	}{
		{GenFlexi, `-j["~#'","~:chsk/timeout"]`, IDTimeout, "", nil},
		{GenFlexi, `+j["pong","k9m2p1"]`, "pong", "k9m2p1", nil},
		{GenFlexi, `-["~#'",1]`, nil, "", ErrBadMarker},
		{GenFlexi, `+e["pong" "k9m2p1"]`, "pong", "k9m2p1", nil}, // a flexi client reads 'e' too
		{GenFlexi, `-e:chsk/timeout`, IDTimeout, "", nil},
		{GenFlexi, `+e["pong"`, nil, "", errEDNSyntax},
		{GenFlexi, `[1,null]`, nil, "", ErrUnknownPrefix},
		{GenV1, `-["~#'","~:chsk/ws-ping"]`, IDWSPing, "", nil},
		{GenV1, `[1,null]`, nil, "", ErrUnknownPrefix},
		{GenV1, `+[1,2]`, nil, "", ErrBadCallback},
		{GenV1, `+[1,""]`, nil, "", ErrBadCallback},
		{GenV2Mixed, `["~:chsk/ws-ping"]`, IDWSPing, "", nil},
		{GenV2Mixed, `-["~#'","~:chsk/ws-ping"]`, IDWSPing, "", nil},
		{GenV2Mixed, `+["pong","k9m2p1"]`, "pong", "k9m2p1", nil},
		{GenV2, `["~:chsk/ws-ping",null]`, IDWSPing, "", nil},
		{GenV2, `-["~#'","~:chsk/ws-ping"]`, nil, "", ErrUnknownPrefix},
		{GenV2, `[1,2,3]`, nil, "", ErrBadEnvelope},
		{GenV2, ``, nil, "", ErrEmptyFrame},
	}
	for _, tt := range tests {
		sf, err := tt.gen.ParseServerFrame([]byte(tt.frame))
		if tt.cause != nil {
			var bp *BadPackageError
			var se *edn.SyntaxError
			if tt.cause == errEDNSyntax && errors.As(err, &se) {
				continue
			}
			if !errors.As(err, &bp) || !errors.Is(err, tt.cause) || bp.Generation != tt.gen {
				t.Errorf("%v.ParseServerFrame(%q) = %+v, %v; want a *BadPackageError with cause %v", tt.gen, tt.frame, sf, err, tt.cause)
			}
			continue
		}
		if err != nil || sf.Value != tt.value || sf.CallbackID != tt.cb {
			t.Errorf("%v.ParseServerFrame(%q) = %+v, %v; want value %#v, callback %q", tt.gen, tt.frame, sf, err, tt.value, tt.cb)
		}
	}
}

// TestHandshakeFromValue checks the handshake reader's rejections and its
// reading of the placeholder uid.
func TestHandshakeFromValue(t *testing.T) {
	hs := transit.Keyword("chsk/handshake")
	good := []struct {
		v    any
		want Handshake
	}{
		{[]any{hs, []any{"u"}}, Handshake{UID: "u"}},
		{[]any{hs, []any{"u", "tok", int64(1)}}, Handshake{UID: "u", CSRFToken: "tok", Data: int64(1)}},
		{[]any{hs, []any{nilUIDv1, nil}}, Handshake{}},
		{[]any{hs, []any{nilUIDv2, nil, nil}}, Handshake{}},
	}
	for _, tt := range good {
		h, err := HandshakeFromValue(tt.v)
		if err != nil || h.UID != tt.want.UID || h.CSRFToken != tt.want.CSRFToken || h.Data != tt.want.Data {
			t.Errorf("HandshakeFromValue(%#v) = %+v, %v; want %+v", tt.v, h, err, tt.want)
		}
	}
	bad := []any{
		nil,
		[]any{transit.Keyword("chsk/other"), []any{"u"}},
		[]any{hs},
		[]any{hs, "u"},
		[]any{hs, []any{}},
		[]any{hs, []any{1}},
		[]any{hs, []any{transit.Keyword("a/b")}},
		[]any{hs, []any{"u", 1}},
	}
	for _, v := range bad {
		if _, err := HandshakeFromValue(v); !errors.Is(err, ErrBadHandshake) {
			t.Errorf("HandshakeFromValue(%#v) error %v, want ErrBadHandshake", v, err)
		}
	}
}

// TestHandshakeTokenPolicy checks that only the v1 generations carry the
// CSRF token and that GenV2 always sends three elements.
func TestHandshakeTokenPolicy(t *testing.T) {
	for g := GenFlexi; g <= GenV2; g++ {
		frame, err := g.Handshake(Handshake{UID: "u", CSRFToken: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		sf, err := g.ParseServerFrame(frame)
		if err != nil {
			t.Fatal(err)
		}
		h, err := HandshakeFromValue(sf.Value)
		if err != nil {
			t.Fatal(err)
		}
		wantToken := g == GenFlexi || g == GenV1
		if (h.CSRFToken == "secret") != wantToken {
			t.Errorf("%v: handshake %s carries token %q", g, frame, h.CSRFToken)
		}
		n := len(sf.Value.([]any)[1].([]any))
		if want := map[bool]int{true: 3, false: 2}[g == GenV2]; n != want {
			t.Errorf("%v: handshake %s has %d elements, want %d", g, frame, n, want)
		}
	}
}

// TestBatchRoundTrip reads a batch of full tweets back as each generation's
// client does and writes it again: the Transit cache (more than 44 entries,
// so two-character codes) must survive both ways.
func TestBatchRoundTrip(t *testing.T) {
	evs := tweetBatch(30)
	wide := transit.NewMap()
	for i := range 60 {
		wide.Set(transit.Keyword(fmt.Sprintf("key/k%02d", i)), i)
	}
	evs = append(evs, Event{ID: "stats/wide", Data: wide}, Event{ID: "stats/wide", Data: wide})
	pb, err := PackBatch(evs, AllGenerations)
	if err != nil {
		t.Fatal(err)
	}
	for g := GenFlexi; g <= GenV2; g++ {
		frame := pb.Frame(g)
		sf, err := g.ParseServerFrame(frame)
		if err != nil {
			t.Fatalf("%v: %v", g, err)
		}
		vec, ok := sf.Value.([]any)
		if !ok || len(vec) != len(evs) {
			t.Fatalf("%v: batch read as %T of length %d", g, sf.Value, len(vec))
		}
		back := make([]Event, len(vec))
		for i, v := range vec {
			if back[i], err = EventFromValue(v); err != nil {
				t.Fatalf("%v: event %d: %v", g, i, err)
			}
		}
		again, err := g.Batch(back...)
		if err != nil || !bytes.Equal(again, frame) {
			t.Errorf("%v: batch does not round-trip (%v)\n got: %.300s\nwant: %.300s", g, err, again, frame)
		}
	}
	if !bytes.Contains(pb.Frame(GenV2), []byte(`"^10"`)) {
		t.Errorf("batch uses no two-character cache code: %.400s", pb.Frame(GenV2))
	}
}
