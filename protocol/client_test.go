package protocol

import (
	"errors"
	"strings"
	"testing"

	"github.com/sente-go/sente/transit"
)

// errTransitSyntax stands for any *transit.SyntaxError in the table below.
var errTransitSyntax = errors.New("transit syntax error")

// TestParseClientFrameMalformed feeds malformed frames to ParseClientFrame
// and checks the error type (bad package or bad event), its cause, and the
// generation reported alongside.
func TestParseClientFrameMalformed(t *testing.T) {
	tests := []struct {
		name     string
		frame    string
		badEvent bool // *BadEventError rather than *BadPackageError
		cause    error
		gen      Generation
	}{
		{"empty", "", false, ErrEmptyFrame, GenUnknown},
		{"unknown prefix", `*j[["~:cmd/query"]]`, false, ErrUnknownPrefix, GenUnknown},
		{"unknown prefix space", ` [["~:cmd/query"],null]`, false, ErrUnknownPrefix, GenUnknown},
		{"object at top", `{"~:cmd/query":1}`, false, ErrUnknownPrefix, GenUnknown},
		{"prefix only", "+", false, ErrBadMarker, GenUnknown},
		{"bad marker", `+x[["~:cmd/query"]]`, false, ErrBadMarker, GenUnknown},
		{"bad marker space", `+ [["~:cmd/query"]]`, false, ErrBadMarker, GenUnknown},
		{"marker without body", "+j", false, errTransitSyntax, GenFlexi},
		{"truncated transit flexi", `+j[["~:cmd/query",["^ ","~:q"`, false, errTransitSyntax, GenFlexi},
		{"truncated transit v1", `+[["~:cmd/query"]`, false, errTransitSyntax, GenV1},
		{"truncated transit v2", `[["~:cmd/query",["^ ","~:q","clojure"]],"a1b`, false, errTransitSyntax, GenV2},
		{"trailing garbage", `[["~:cmd/query"],null]x`, false, errTransitSyntax, GenV2},
		{"unknown cache code", `+j[["^5"]]`, false, errTransitSyntax, GenFlexi},
		{"binary garbage", "\x00\xff\xfe\x80\x01", false, ErrUnknownPrefix, GenUnknown},
		{"binary after marker", "+j\xff\xfe\x00", false, errTransitSyntax, GenFlexi},
		{"binary after bracket", "[\x00\xff]", false, errTransitSyntax, GenV2},
		{"wrapper is a map", `+j["^ ","~:q","clojure"]`, false, ErrBadEnvelope, GenFlexi},
		{"wrapper is a scalar", `+j["~#'","~:cmd/query"]`, false, ErrBadEnvelope, GenFlexi},
		{"wrapper empty v1", `+j[]`, false, ErrBadEnvelope, GenFlexi},
		{"wrapper empty v2", `[]`, false, ErrBadEnvelope, GenV2},
		{"wrapper three elements v1", `+j[["~:cmd/query"],"a1b2c3",1]`, false, ErrBadEnvelope, GenFlexi},
		{"wrapper three elements v2", `[["~:cmd/query"],null,null]`, false, ErrBadEnvelope, GenV2},
		{"callback number", `+j[["~:cmd/query"],1]`, false, ErrBadCallback, GenFlexi},
		{"callback true", `[["~:cmd/query"],true]`, false, ErrBadCallback, GenV2},
		{"callback empty string", `+[["~:cmd/query"],""]`, false, ErrBadCallback, GenV1},
		{"callback other keyword", `[["~:cmd/query"],"~:http"]`, false, ErrBadCallback, GenV2},
		{"callback map", `[["~:cmd/query"],["^ "]]`, false, ErrBadCallback, GenV2},
		{"not a vector: map", `+j[["^ ","~:q","clojure"]]`, true, ErrNotVector, GenFlexi},
		{"not a vector: keyword", `-j["~#'","~:cmd/query"]`, true, ErrNotVector, GenFlexi},
		{"not a vector: string", `[["~#'","cmd/query"],null]`, true, ErrNotVector, GenV2},
		{"not a vector: list", `[["~#list",["~:cmd/query"]],null]`, true, ErrNotVector, GenV2},
		{"not a vector: set", `+[["~#set",["~:cmd/query"]]]`, true, ErrNotVector, GenV1},
		{"not a vector: verbose map", `-{"~:cmd/query":1}`, true, ErrNotVector, GenV1},
		{"non-namespaced id", `+j[["~:query",["^ ","~:q","clojure"]]]`, true, ErrEventID, GenFlexi},
		{"id empty name", `[["~:cmd/"],null]`, true, ErrEventID, GenV2},
		{"id empty namespace", `[["~:/query"],null]`, true, ErrEventID, GenV2},
		{"id is a string", `+j[["cmd/query"]]`, true, ErrEventID, GenFlexi},
		{"id is a symbol", `+j[["~$cmd/query"]]`, true, ErrEventID, GenFlexi},
		{"id is null", `[[null,1],null]`, true, ErrEventID, GenV2},
		{"empty event", `+j[[]]`, true, ErrEventLength, GenFlexi},
		{"three elements", `+j[["~:cmd/query",["^ ","~:q","clojure"],3]]`, true, ErrEventLength, GenFlexi},
		{"three elements v2", `[["~:cmd/query",1,2],"a1b2c3"]`, true, ErrEventLength, GenV2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf, err := ParseClientFrame([]byte(tt.frame))
			if err == nil {
				t.Fatalf("ParseClientFrame(%q) = %+v, want an error", tt.frame, cf)
			}
			if !strings.HasPrefix(err.Error(), "protocol: ") {
				t.Errorf("error %q lacks the protocol: prefix", err)
			}
			var bp *BadPackageError
			var be *BadEventError
			if tt.badEvent {
				if !errors.As(err, &be) {
					t.Fatalf("ParseClientFrame(%q) error %v (%T), want *BadEventError", tt.frame, err, err)
				}
				if errors.As(err, &bp) {
					t.Errorf("error %v is also a *BadPackageError", err)
				}
			} else {
				if !errors.As(err, &bp) {
					t.Fatalf("ParseClientFrame(%q) error %v (%T), want *BadPackageError", tt.frame, err, err)
				}
				if bp.Generation != tt.gen {
					t.Errorf("BadPackageError.Generation = %v, want %v", bp.Generation, tt.gen)
				}
			}
			if tt.cause == errTransitSyntax {
				var se *transit.SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("ParseClientFrame(%q) error %v, want a *transit.SyntaxError cause", tt.frame, err)
				}
			} else if !errors.Is(err, tt.cause) {
				t.Errorf("ParseClientFrame(%q) error %v, want cause %v", tt.frame, err, tt.cause)
			}
			if cf.Generation != tt.gen {
				t.Errorf("ClientFrame.Generation = %v, want %v", cf.Generation, tt.gen)
			}
			if cf.Format != FormatTransit || bp != nil && bp.Format != FormatTransit {
				t.Errorf("format %v (package error %+v), want Transit", cf.Format, bp)
			}
			if cf.Event.ID != "" {
				t.Errorf("event %v returned with an error", cf.Event)
			}
		})
	}
}

// TestParseClientFrameValid checks frames that are unusual but valid.
func TestParseClientFrameValid(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		id    transit.Keyword
		data  bool
		cb    Callback
		gen   Generation
	}{
		{"unwrapped flexi", `-j["~:cmd/query",1]`, "cmd/query", true, Callback{}, GenFlexi},
		{"unwrapped v1", `-["~:chsk/ws-ping"]`, "chsk/ws-ping", false, Callback{}, GenV1},
		{"v1 null callback", `+[["~:cmd/query"],null]`, "cmd/query", false, Callback{}, GenV1},
		{"v1 false callback", `+j[["~:cmd/query"],false]`, "cmd/query", false, Callback{}, GenFlexi},
		{"v1 ajax keyword", `+[["~:cmd/query"],"~:ajax"]`, "cmd/query", false, Callback{Ajax: true}, GenV1},
		{"v2 one element", `[["~:cmd/query",null]]`, "cmd/query", true, Callback{}, GenV2Mixed},
		{"v2 marker 0", `[["~:cmd/query"],0]`, "cmd/query", false, Callback{Ajax: true}, GenV2Mixed},
		{"v2 marker ajax", `[["~:cmd/query"],"~:ajax"]`, "cmd/query", false, Callback{Ajax: true}, GenV2},
		{"v2 null", `[["~:cmd/query"],null]`, "cmd/query", false, Callback{}, GenV2},
		{"v2 false", `[["~:cmd/query"],false]`, "cmd/query", false, Callback{}, GenV2},
		{"v2 cb", `[["~:cmd/query"],"a1b2c3"]`, "cmd/query", false, Callback{ID: "a1b2c3"}, GenV2},
		{"verbose json", `[["~:cmd/query",{"~:q":"clojure"}],null]`, "cmd/query", true, Callback{}, GenV2},
		{"nested namespace", `[["~:a.b/c.d"],null]`, "a.b/c.d", false, Callback{}, GenV2},
		{"cached id", `+j[["~:cmd/query",["^ ","^0",1]]]`, "cmd/query", true, Callback{}, GenFlexi},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf, err := ParseClientFrame([]byte(tt.frame))
			if err != nil {
				t.Fatalf("ParseClientFrame(%q): %v", tt.frame, err)
			}
			if cf.Event.ID != tt.id || cf.Event.HasData != tt.data || cf.Callback != tt.cb || cf.Generation != tt.gen || cf.Format != FormatTransit {
				t.Errorf("ParseClientFrame(%q) = %+v, want id %v, data %v, callback %+v, generation %v",
					tt.frame, cf, tt.id, tt.data, tt.cb, tt.gen)
			}
		})
	}
}

// TestBadEventKeepsCallback checks that a bad event still reports the
// callback and generation, as Sente keeps the reply function (docs/protocol.md §9).
func TestBadEventKeepsCallback(t *testing.T) {
	cf, err := ParseClientFrame([]byte(`+j[["~:query",1],"a1b2c3"]`))
	var be *BadEventError
	if !errors.As(err, &be) {
		t.Fatalf("error %v, want *BadEventError", err)
	}
	if cf.Callback.ID != "a1b2c3" || cf.Generation != GenFlexi {
		t.Errorf("ClientFrame = %+v, want callback a1b2c3 and GenFlexi", cf)
	}
	v, ok := be.Value.([]any)
	if !ok || len(v) != 2 || v[0] != transit.Keyword("query") {
		t.Errorf("BadEventError.Value = %#v, want the decoded vector", be.Value)
	}
}

// TestClientFrameWriteErrors checks the client writer's rejections.
func TestClientFrameWriteErrors(t *testing.T) {
	if _, err := GenUnknown.ClientFrame(Event{ID: "cmd/query"}, Callback{}); !errors.Is(err, ErrUnknownGeneration) {
		t.Errorf("GenUnknown: %v", err)
	}
	if _, err := GenV2.ClientFrame(Event{ID: "query"}, Callback{}); !errors.Is(err, ErrEventID) {
		t.Errorf("bad id: %v", err)
	}
	for g := GenFlexi; g <= GenV2; g++ {
		if _, err := g.ClientFrame(Event{ID: "cmd/query"}, Callback{ID: "x", Ajax: true}); !errors.Is(err, ErrBadCallback) {
			t.Errorf("%v: both callback kinds: %v", g, err)
		}
	}
}

// TestEventValue checks the one- and two-element forms.
func TestEventValue(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{ID: "chsk/ws-ping"}, `["~:chsk/ws-ping"]`},
		{Event{ID: "a/b", Data: 1}, `["~:a/b",1]`},
		{NewEvent("a/b", nil), `["~:a/b",null]`},
		{Event{ID: "a/b", Data: false}, `["~:a/b",false]`},
	}
	for _, tt := range tests {
		got, err := transit.Marshal(tt.ev.Value())
		if err != nil || string(got) != tt.want {
			t.Errorf("%+v encodes as %s, %v; want %s", tt.ev, got, err, tt.want)
		}
	}
}
