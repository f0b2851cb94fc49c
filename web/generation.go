package web

import (
	"net/http"
	"net/url"

	"github.com/sente-go/sente/protocol"
)

// The candidate generations of a connection whose client generation is not
// known yet (doc.go, "Client generations"): what the request, the
// deployment (Config.Clients, Config.Generations) and the client-id's past
// tell. The rules that follow from a set of candidates (its cover, the
// probe) are package protocol's (protocol.GenerationSet.Cover).

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
