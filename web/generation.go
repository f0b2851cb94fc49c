package web

import (
	"net/http"
	"net/url"

	"github.com/sente-go/sente/protocol"
)

// Generation choice for connections whose client generation is not known
// yet (doc.go, "Client generations"). A connection carries a
// protocol.GenerationSet of candidates; it is pinned (one member) once the
// client has said something, and until then frames are written in every
// encoding of its cover.

// generations in writing order: frames of several encodings go out in this
// order, so transcripts are stable.
var generations = [...]protocol.Generation{protocol.GenFlexi, protocol.GenV1, protocol.GenV2Mixed, protocol.GenV2}

// reads reports whether a client of generation client reads every server
// frame written in generation w (sente-protocol.md §3.4, §13): 1.18–1.20
// clients read v1 and v2, every other client only its own generation.
// (protocol has the same rule unexported.)
func reads(client, w protocol.Generation) bool {
	if client == protocol.GenV2Mixed {
		return w == protocol.GenV1 || w == protocol.GenV2Mixed || w == protocol.GenV2
	}
	return client == w && client.Valid()
}

// cover returns the generations to write a frame in so that every member of
// s reads at least one of them: the single writer of s when there is one
// (GenerationSet.Writer), else one writer per member, with 1.18–1.20 served
// by whichever of v1 and v2 is already there. dup reports that some member
// (1.18–1.20, which reads v1 and v2) would read two of them, so that a
// push written in every encoding would reach it twice.
func cover(s protocol.GenerationSet) (w protocol.GenerationSet, dup bool) {
	if g, ok := s.Writer(); ok {
		return protocol.SetOf(g), false
	}
	for _, g := range [...]protocol.Generation{protocol.GenFlexi, protocol.GenV1, protocol.GenV2} {
		if s.Has(g) {
			w |= protocol.SetOf(g)
		}
	}
	if s.Has(protocol.GenV2Mixed) {
		if !w.Has(protocol.GenV1) && !w.Has(protocol.GenV2) {
			w |= protocol.SetOf(protocol.GenV1)
		}
		dup = w.Has(protocol.GenV1) && w.Has(protocol.GenV2)
	}
	return w, dup
}

// coverIn is cover for frames in format f. In EDN, 1.3–1.8 clients
// (Sente's default EDN packer, no flexi marker) and 1.9–1.17 clients read
// the same handshake and push frames, so one v1 frame serves both instead
// of the same bytes written twice.
func coverIn(s protocol.GenerationSet, f protocol.Format) (w protocol.GenerationSet, dup bool) {
	w, dup = cover(s)
	if f == protocol.FormatEDN && w.Has(protocol.GenFlexi) && w.Has(protocol.GenV1) {
		w &^= protocol.SetOf(protocol.GenFlexi)
	}
	return w, dup
}

// needsProbe reports whether a WebSocket with candidates s gets the probe:
// a Sente server ping in the v2 encoding right after the handshake. Only
// 1.19+ clients answer it ([:chsk/ws-pong]), which pins them at once; the
// probe is sent only when it can shrink a cover of several encodings, and
// never to a set that could only be 1.3–1.8 clients.
func needsProbe(s protocol.GenerationSet) bool {
	if !s.Has(protocol.GenV2) {
		return false
	}
	w, _ := cover(s)
	_, single := w.Only()
	return !single
}

// afterProbe returns the candidates left when the probe went unanswered for
// Config.DetectTimeout: without 1.21+, which always answers. A set that
// gets no probe is returned as is.
func afterProbe(s protocol.GenerationSet) protocol.GenerationSet {
	if !needsProbe(s) {
		return s
	}
	return s &^ protocol.SetOf(protocol.GenV2)
}

// ajaxWriter returns the generation to answer an Ajax client with
// candidates s in: the single writer of s if any, else GenV2 (1.18+ read
// it), else the oldest member. Only a poll that carries neither "_" nor a
// handshake flag from an unknown client-id (a 1.9+ client that survived a
// server restart) lands in the fallback; a 1.9–1.17 client that cannot read
// the answer fails the poll and comes back with "handshake?=true".
func ajaxWriter(s protocol.GenerationSet) protocol.Generation {
	if g, ok := s.Writer(); ok {
		return g
	}
	if s.Has(protocol.GenV2) {
		return protocol.GenV2
	}
	for _, g := range generations {
		if s.Has(g) {
			return g
		}
	}
	return protocol.GenV2
}

// wsCandidates returns the candidate generations of a WebSocket upgrade
// request r with query q: protocol.DetectWebSocket, narrowed to 1.3–1.13
// when the server hands out a page token that the URL does not carry, then
// by Config.Clients and Config.Generations. (pinTo narrows it to the
// generation a reconnecting client-id pinned.)
func (s *Server) wsCandidates(r *http.Request, q url.Values) protocol.GenerationSet {
	set := protocol.DetectWebSocket(q)
	if !q.Has(paramCSRF) && (s.cfg.CSRFCheck != CSRFOff || s.cfg.CSRFToken != nil) {
		// 1.14+ clients send the page's token on the WebSocket URL, and
		// one without it is refused (servesTokenless) unless CSRFOff.
		set &= legacyGenerations
	}
	set = narrowTo(set, s.cfg.Clients)
	if hook := s.cfg.Generations; hook != nil {
		set = narrowTo(set, hook(r))
	}
	return set
}

// pinTo returns the candidates set of a connection whose client-id pinned
// generation pinned before (GenUnknown if none): that generation alone
// when it is a candidate.
func pinTo(set protocol.GenerationSet, pinned protocol.Generation) protocol.GenerationSet {
	if pinned.Valid() && set.Has(pinned) {
		return protocol.SetOf(pinned)
	}
	return set
}

// legacyGenerations are the generations of Sente 1.3–1.13 clients, which
// carry no CSRF token on their WebSocket URL and polls.
var legacyGenerations = protocol.SetOf(protocol.GenFlexi, protocol.GenV1)

// narrowTo intersects set with what a deployment knows, known; an empty
// known tells nothing, and when the two contradict each other known wins
// (the deployment knows its clients better than a heuristic).
func narrowTo(set, known protocol.GenerationSet) protocol.GenerationSet {
	known &= protocol.AllGenerations
	switch {
	case known == 0:
		return set
	case set&known != 0:
		return set & known
	}
	return known
}

// refine returns the pinned generation after a client frame revealed g,
// given the one pinned before (GenUnknown if none). A v2 frame that both
// 1.18–1.20 and 1.21+ write ([ev "cb"], reported as GenV2) does not undo
// a GenV2Mixed pin, which only 1.18–1.20 frames ([ev], [ev 0]) set.
func refine(pinned, g protocol.Generation) protocol.Generation {
	if !g.Valid() || (pinned == protocol.GenV2Mixed && g == protocol.GenV2) {
		return pinned
	}
	return g
}
