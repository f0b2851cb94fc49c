package protocol

import (
	"net/url"
	"testing"
)

// TestDetectAjax checks the generations told by a poll's query (docs/protocol.md §11.2).
func TestDetectAjax(t *testing.T) {
	tests := []struct {
		query string
		want  GenerationSet
	}{
		{"_=1418300000000&client-id=9f1c", SetOf(GenFlexi)},
		{"_=1418300000000&client-id=9f1c&handshake%3F=true", SetOf(GenFlexi)},
		{"udt=1750000000000&client-id=9f1c&handshake%3F=1", SetOf(GenV2)},
		{"udt=1750000000000&client-id=9f1c&handshake%3F=true", SetOf(GenV1, GenV2Mixed)},
		{"udt=1750000000000&client-id=9f1c", SetOf(GenV1, GenV2Mixed, GenV2)},
		{"udt=1750000000000&client-id=9f1c&handshake%3F=", SetOf(GenV1, GenV2Mixed, GenV2)},
		{"udt=1&_=2&handshake%3F=1", SetOf(GenV2)},
		{"client-id=9f1c", AllGenerations},
		{"", AllGenerations},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		if got := DetectAjax(q); got != tt.want {
			t.Errorf("DetectAjax(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestDetectWebSocket checks the generations told by a WebSocket URL.
func TestDetectWebSocket(t *testing.T) {
	tests := []struct {
		query string
		want  GenerationSet
	}{
		{"client-id=9f1c3a2e-5b7d-4e8f-a1b2-c3d4e5f60718", AllGenerations},
		{"client-id=9f1c&csrf-token=tok123", SetOf(GenV1, GenV2Mixed, GenV2)},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		if got := DetectWebSocket(q); got != tt.want {
			t.Errorf("DetectWebSocket(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

// TestGenerationSetWriter checks which generation a set of possible
// clients can all read.
func TestGenerationSetWriter(t *testing.T) {
	tests := []struct {
		set  GenerationSet
		want Generation // GenUnknown: none
	}{
		{0, GenUnknown},
		{SetOf(GenFlexi), GenFlexi},
		{SetOf(GenV1), GenV1},
		{SetOf(GenV2Mixed), GenV2Mixed},
		{SetOf(GenV2), GenV2},
		{SetOf(GenV1, GenV2Mixed), GenV1},
		{SetOf(GenV2Mixed, GenV2), GenV2},
		{SetOf(GenV1, GenV2Mixed, GenV2), GenUnknown},
		{SetOf(GenFlexi, GenV1), GenUnknown},
		{AllGenerations, GenUnknown},
	}
	for _, tt := range tests {
		got, ok := tt.set.Writer()
		if got != tt.want || ok != (tt.want != GenUnknown) {
			t.Errorf("%v.Writer() = %v, %v; want %v", tt.set, got, ok, tt.want)
		}
	}
}

// TestGenerationSet checks the set operations and names.
func TestGenerationSet(t *testing.T) {
	s := SetOf(GenV1, GenUnknown, GenV2, Generation(200))
	if !s.Has(GenV1) || !s.Has(GenV2) || s.Has(GenFlexi) || s.Has(GenUnknown) || s.Has(Generation(200)) {
		t.Errorf("SetOf membership wrong: %v", s)
	}
	if _, ok := s.Only(); ok {
		t.Errorf("%v.Only() succeeded", s)
	}
	if g, ok := SetOf(GenV2Mixed).Only(); !ok || g != GenV2Mixed {
		t.Errorf("Only = %v, %v", g, ok)
	}
	if got, want := s.String(), "{v1 (1.9-1.17), v2 (1.21+)}"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if GenerationSet(0).String() != "{}" || GenUnknown.String() != "unknown" {
		t.Error("empty names wrong")
	}
	for g := GenFlexi; g <= GenV2; g++ {
		if !g.Valid() || g.Packer() == nil || g.String() == "unknown" {
			t.Errorf("%d: incomplete generation", g)
		}
	}
}

func TestParseGenerations(t *testing.T) {
	tests := []struct {
		in   string
		want GenerationSet
		ok   bool
	}{
		{"flexi,v2", SetOf(GenFlexi, GenV2), true},
		{" v1 , v2mixed ", SetOf(GenV1, GenV2Mixed), true},
		{"all", AllGenerations, true},
		{"v2,v2", SetOf(GenV2), true},
		{"", 0, false},
		{"flexi,", 0, false},
		{"v3", 0, false},
		{"all,v2", 0, false},
		{"FLEXI", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseGenerations(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseGenerations(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
