package protocol

import (
	"fmt"
	"net/url"
	"strings"
)

// Generation names one variant of the Sente wire format: the envelope, the
// packer and the small rules (handshake shape, idle-poll answer, pings)
// that changed together (docs/protocol.md §3, §10). Each generation has
// its own file (gen_*.go) and its own golden frames.
//
// The zero value is GenUnknown, which every writer rejects with
// ErrUnknownGeneration. A Generation is a plain value, safe for concurrent
// use.
type Generation uint8

// The generations, oldest first. Version ranges are those of the Sente
// client; a server must answer in the generation of the client.
const (
	// GenUnknown is the zero Generation: not yet known.
	GenUnknown Generation = iota
	// GenFlexi is Sente 1.3–1.8 with the flexi Transit packer: envelope v1
	// with a 'j' marker, "-j[…]" / "+j[…]". Clients send "+j[ev]" or
	// "+j[ev cb]"; the server never sends :chsk/timeout nor a server ping.
	GenFlexi
	// GenV1 is Sente 1.9–1.17 with the plain Transit packer: envelope v1
	// without a marker, "-[…]" / "+[…]".
	GenV1
	// GenV2Mixed is Sente 1.18–1.20: envelope v2 ([x] or [x cb], no prefix),
	// written as a one-element vector when there is no callback. These
	// clients also read v1 frames and send the Ajax callback marker 0.
	GenV2Mixed
	// GenV2 is Sente 1.21+: envelope v2 always as a pair [x cb-or-nil],
	// Ajax callback marker :ajax. These clients read nothing else.
	GenV2
)

// String returns a short name with the client versions, such as
// "flexi (1.3-1.8)".
func (g Generation) String() string {
	switch g {
	case GenFlexi:
		return "flexi (1.3-1.8)"
	case GenV1:
		return "v1 (1.9-1.17)"
	case GenV2Mixed:
		return "v2 mixed (1.18-1.20)"
	case GenV2:
		return "v2 (1.21+)"
	}
	return "unknown"
}

// Valid reports whether g is one of the named generations (not GenUnknown).
func (g Generation) Valid() bool { return g >= GenFlexi && g <= GenV2 }

// Packer returns the packer the generation uses for Transit clients:
// FlexiPacker for GenFlexi, TransitPacker for the others, nil for an
// invalid generation. Dialect.Packer gives the packer of either format.
func (g Generation) Packer() Packer { return Dialect{Generation: g}.Packer() }

// generationImpl is what each generation file implements: the frames of
// one generation, in the format the implementation was made with
// (Dialect.impl). dst is appended to; v and ev are values of the transit
// value model, ev an already validated event vector.
type generationImpl interface {
	// handshake appends the handshake frame.
	handshake(dst []byte, h Handshake) ([]byte, error)
	// batch appends a push frame around body, the batch vector already
	// packed by the format's packer without marker (a batch has no
	// callback, so no Transit cache entry of the envelope precedes it and
	// its bytes can be spliced).
	batch(dst, body []byte) []byte
	// callbackReply appends the WebSocket reply v to callback cbID.
	callbackReply(dst []byte, v any, cbID string) ([]byte, error)
	// ajaxReply appends the body of an Ajax POST reply v.
	ajaxReply(dst []byte, v any) ([]byte, error)
	// pollTimeout appends the answer to a long poll that ends without data.
	pollTimeout(dst []byte) ([]byte, error)
	// serverPing appends the server's keep-alive ping.
	serverPing(dst []byte) ([]byte, error)
	// clientFrame appends a frame as this generation's client writes it.
	clientFrame(dst []byte, ev []any, cb Callback) ([]byte, error)
	// parseServerFrame reads a frame as this generation's client reads it.
	parseServerFrame(frame []byte) (ServerFrame, error)
}

// GenerationSet is a set of generations: what a request tells about its
// client when it does not tell everything. The zero value is the empty set.
type GenerationSet uint8

// AllGenerations is the set of every named generation: nothing is known.
const AllGenerations = GenerationSet(1<<GenFlexi | 1<<GenV1 | 1<<GenV2Mixed | 1<<GenV2)

// SetOf returns the set of the given generations; invalid ones are ignored.
func SetOf(gens ...Generation) GenerationSet {
	var s GenerationSet
	for _, g := range gens {
		if g.Valid() {
			s |= 1 << g
		}
	}
	return s
}

// Has reports whether g is in s.
func (s GenerationSet) Has(g Generation) bool { return g.Valid() && s&(1<<g) != 0 }

// Only returns the single member of s, or false if s has none or several.
func (s GenerationSet) Only() (Generation, bool) {
	for g := GenFlexi; g <= GenV2; g++ {
		if s == 1<<g {
			return g, true
		}
	}
	return GenUnknown, false
}

// Writer returns a generation whose server frames every member of s reads,
// or false if there is none (for example 1.9–1.17 and 1.21+ share no
// format). A single member is its own writer; otherwise GenV2 is preferred
// (1.18+ all read it), then GenV1 (read by 1.9–1.20).
func (s GenerationSet) Writer() (Generation, bool) {
	if g, ok := s.Only(); ok {
		return g, true
	}
	if s == 0 {
		return GenUnknown, false
	}
	for _, w := range [...]Generation{GenV2, GenV1, GenV2Mixed, GenFlexi} {
		ok := true
		for g := GenFlexi; g <= GenV2; g++ {
			if s.Has(g) && !Reads(g, w) {
				ok = false
				break
			}
		}
		if ok {
			return w, true
		}
	}
	return GenUnknown, false
}

// String lists the members, such as "{v1 (1.9-1.17), v2 mixed (1.18-1.20)}".
func (s GenerationSet) String() string {
	var names []string
	for g := GenFlexi; g <= GenV2; g++ {
		if s.Has(g) {
			names = append(names, g.String())
		}
	}
	return "{" + strings.Join(names, ", ") + "}"
}

// shortNames are the names ParseGenerations reads, by generation.
var shortNames = [...]string{GenFlexi: "flexi", GenV1: "v1", GenV2Mixed: "v2mixed", GenV2: "v2"}

// ParseGenerations reads a comma-separated list of generation names,
// "flexi" (1.3–1.8), "v1" (1.9–1.17), "v2mixed" (1.18–1.20) and "v2"
// (1.21+), or "all", as a deployment names the clients it serves (a flag
// such as -clients flexi,v2). Spaces around names are ignored; an empty
// list, an unknown name or "all" among others is an error.
func ParseGenerations(list string) (GenerationSet, error) {
	if strings.TrimSpace(list) == "all" {
		return AllGenerations, nil
	}
	var s GenerationSet
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for g := GenFlexi; g <= GenV2; g++ {
			if shortNames[g] == name {
				s |= SetOf(g)
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("protocol: unknown client generation %q (want flexi, v1, v2mixed, v2 or all)", name)
		}
	}
	return s, nil
}

// Query parameter names the clients send (docs/protocol.md §2.2). Keys
// arrive URL-encoded ("handshake%3F"); url.Values holds them decoded.
const (
	paramOldClock  = "_"          // client clock, ≤1.8
	paramClock     = "udt"        // client clock, 1.9+
	paramHandshake = "handshake?" // set while the client is not open, 1.4+
	paramCSRF      = "csrf-token" // on the WebSocket URL from 1.14
)

// DetectAjax returns the generations an Ajax long-poll request (the query
// of GET /chsk) may come from, by docs/protocol.md §11.2:
//
//   - "_" present: 1.3–1.8, {GenFlexi};
//   - "udt" present with "handshake?=1": 1.21+, {GenV2};
//   - "udt" with "handshake?=true": 1.9–1.20, {GenV1, GenV2Mixed};
//   - "udt" alone (a later poll, the flag is sent only until the client is
//     open): any of 1.9+, {GenV1, GenV2Mixed, GenV2};
//   - neither: AllGenerations.
//
// "udt" wins if both clock keys are present (a user :params key could add
// either). Only the first poll of a client tells its generation; remember it
// per client-id. For a POST, parse the ppstr instead (ParseClientFrame),
// which tells exactly.
func DetectAjax(q url.Values) GenerationSet {
	switch {
	case q.Has(paramClock):
		if !q.Has(paramHandshake) {
			return SetOf(GenV1, GenV2Mixed, GenV2)
		}
		switch q.Get(paramHandshake) {
		case "1":
			return SetOf(GenV2)
		case "true":
			return SetOf(GenV1, GenV2Mixed)
		}
		return SetOf(GenV1, GenV2Mixed, GenV2)
	case q.Has(paramOldClock):
		return SetOf(GenFlexi)
	}
	return AllGenerations
}

// DetectWebSocket returns the generations a WebSocket upgrade request (the
// query of its URL) may come from. A "csrf-token" key means 1.14+
// ({GenV1, GenV2Mixed, GenV2}); its absence tells nothing (1.3–1.13, or a
// later client whose page gave no token), so the result is AllGenerations.
// The handshake must be sent before the client speaks; see
// docs/protocol.md §11.2 for the ways to decide (deployment, a heuristic,
// or sending both dialects until the first client frame).
func DetectWebSocket(q url.Values) GenerationSet {
	if q.Has(paramCSRF) {
		return SetOf(GenV1, GenV2Mixed, GenV2)
	}
	return AllGenerations
}
