package web

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
)

// Request parameters and headers (docs/protocol.md §2.2).
const (
	paramClientID  = "client-id"
	paramCSRF      = "csrf-token"
	paramPpstr     = "ppstr"
	paramHandshake = "handshake?"
	paramBinary    = "binary?"
	headerCSRF     = "X-CSRF-Token"
	headerXSRF     = "X-XSRF-Token"
)

// maxClientIDLen bounds a client-id (real ones are 36-character UUIDs), so
// the registry's keys stay small.
const maxClientIDLen = 128

// Response bodies of refused requests; never empty (docs/protocol.md
// §2.3). The two 403 texts are Sente's own.
const (
	bodyBadCSRF          = "Bad CSRF token"
	bodyTokenExpired     = "Expired CSRF token"
	bodyTokenForeign     = "CSRF token of another client"
	bodyNoClient         = "Unknown client: no client-id and no client token"
	bodyBadOrigin        = "Unauthorized origin"
	bodyUnauthorized     = "Unauthorized request"
	bodyNoClientID       = "Missing client-id"
	bodyBadClientID      = "Bad client-id"
	bodyBadRequest       = "Bad request"
	bodyNoPpstr          = "Missing ppstr"
	bodyBadPackage       = "Bad package"
	bodyBinary           = "Binary packers are not supported"
	bodyReserved         = "Reserved event id"
	bodyClosing          = "Server closing"
	bodyNoCluster        = "Cluster unavailable"
	bodyInternal         = "Internal server error"
	bodyMethodNotAllowed = "Method not allowed"
)

// newHandler serves the one Sente path, whatever path it is mounted at.
// Three request kinds at one path need a method switch, not a router: no
// chi here (chi also pools its per-request route context, which a
// Message.Request kept past the handler would then share with later
// requests).
func (s *Server) newHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			s.serveGet(w, r)
		case http.MethodPost:
			s.servePost(w, r)
		default:
			w.Header().Set("Allow", "GET, POST")
			writeText(w, http.StatusMethodNotAllowed, bodyMethodNotAllowed)
		}
	})
}

// serveGet serves a WebSocket upgrade or an Ajax long poll.
func (s *Server) serveGet(w http.ResponseWriter, r *http.Request) {
	if !s.track() {
		writeText(w, http.StatusServiceUnavailable, bodyClosing)
		return
	}
	defer s.wg.Done()
	q := r.URL.Query()
	upgrade := websocket.IsWebSocketUpgrade(r)
	presented, ok := s.checkCSRF(r, q)
	if ok && !presented && !s.servesTokenless(q, upgrade) {
		ok = false // a 1.14+ client without its token
	}
	if !ok {
		s.m.refusal(refusedCSRF)
		writeText(w, http.StatusForbidden, bodyBadCSRF)
		return
	}
	if !s.originAllowed(r) {
		s.m.refusal(refusedOrigin)
		writeText(w, http.StatusForbidden, bodyBadOrigin)
		return
	}
	cid := q.Get(paramClientID)
	switch {
	case cid == "":
		writeText(w, http.StatusBadRequest, bodyNoClientID)
		return
	case len(cid) > maxClientIDLen:
		writeText(w, http.StatusBadRequest, bodyBadClientID)
		return
	}
	if !s.authorized(w, r, cid) {
		return
	}
	if upgrade {
		s.serveWebSocket(w, r, q, cid, presented)
		return
	}
	s.servePoll(w, r, q, cid, presented)
}

// checkCSRF applies Config.CSRFCheck to the page token r carries: the
// "csrf-token" parameter of params, else the X-CSRF-Token header, else
// X-XSRF-Token (Sente's order). presented reports whether r carried one,
// which marks a Sente 1.14+ client (or a 1.3–1.13 POST). A token presented
// must be the reference token (a missing reference token fails, as in
// Sente); a request without one passes unless CSRFRequired, and the
// caller applies the rule of its kind (a POST needs a token, a tokenless
// GET is a 1.3–1.13 client: servesTokenless). An empty value counts as
// none. The literal "null" that 1.16–1.20 send when their page has no
// token is a token, and a wrong one, as for Sente.
func (s *Server) checkCSRF(r *http.Request, params url.Values) (presented, ok bool) {
	tok, presented := presentedToken(r, params)
	switch {
	case s.cfg.CSRFCheck == CSRFOff:
		return presented, true
	case !presented:
		return false, s.cfg.CSRFCheck != CSRFRequired
	}
	return true, s.isPageToken(r, tok)
}

// servesTokenless reports whether a GET (a WebSocket upgrade if upgrade,
// else a poll) with query q and no CSRF token is served: only 1.3–1.13
// clients send none, so it is when its query allows one of them and the
// deployment serves them (Config.Clients). Under CSRFOff every request is.
func (s *Server) servesTokenless(q url.Values, upgrade bool) bool {
	if s.cfg.CSRFCheck == CSRFOff {
		return true
	}
	set := protocol.DetectWebSocket(q)
	if !upgrade {
		set = protocol.DetectAjax(q)
	}
	set &= legacyGenerations
	if c := s.cfg.Clients & protocol.AllGenerations; c != 0 {
		set &= c
	}
	return set != 0
}

// Refusal is an error a Config.Authorize function returns to refuse a
// request with its own status and text (for example 403 "Account
// suspended", or 429 with a retry hint in the text).
type Refusal struct {
	// Status is the HTTP status: 4xx or 5xx; another value answers 401.
	Status int
	// Reason is the plain-text body; empty answers the status text.
	Reason string
}

// Error returns the status and the reason.
func (e *Refusal) Error() string {
	return fmt.Sprintf("web: request refused: %d %s", e.Status, e.Reason)
}

// authorized applies Config.Authorize to r of client cid, answering a
// refusal itself; it reports whether the request goes on.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request, cid string) bool {
	if s.cfg.Authorize == nil {
		return true
	}
	err := s.cfg.Authorize(r, cid)
	if err == nil {
		return true
	}
	status, body := http.StatusUnauthorized, bodyUnauthorized
	var ref *Refusal
	if errors.As(err, &ref) && ref.Status >= 400 && ref.Status <= 599 {
		status, body = ref.Status, ref.Reason
		if body == "" {
			body = http.StatusText(status)
		}
	}
	s.log.Debug().Str("client_id", cid).Int("status", status).Msg("request refused by Authorize")
	s.m.refusal(refusedUnauthorized)
	writeText(w, status, body)
	return false
}

// isPageToken reports whether tok is r's reference CSRF token (the page
// token of Sente 1.14+ clients), in constant time.
func (s *Server) isPageToken(r *http.Request, tok string) bool {
	ref := s.refToken(r)
	return ref != "" && subtle.ConstantTimeCompare([]byte(ref), []byte(tok)) == 1
}

// originAllowed checks Config.AllowedOrigins against the Origin header, or
// when there is none, against the Referer (as Sente does): the server's own
// origin (the request's Host) and the listed ones pass. A request with
// neither header does not come from a page of another site.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	referer := r.Header.Get("Referer")
	from := origin
	if from == "" {
		from = referer
	}
	if from == "" {
		return true
	}
	if u, err := url.Parse(from); err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, a := range s.cfg.AllowedOrigins {
		switch {
		case a == "*":
			return true
		case origin != "":
			if origin == a {
				return true
			}
		case referer == a || strings.HasPrefix(referer, a+"/"):
			return true
		}
	}
	return false
}

// handshakeToken returns the CSRF token for cl's handshake: a client
// token (token.go) for clients that presented none (Sente 1.3–1.13),
// nothing for the others, since 1.14+ clients ignore it and it should not
// travel where it is not needed.
func (s *Server) handshakeToken(r *http.Request, presented bool, cl *client, now time.Time) string {
	if presented {
		return ""
	}
	return issueToken(s.tokenSecret, cl.id, cl.uid, now, s.refToken(r))
}

// refToken returns the reference CSRF token of r, "" without
// Config.CSRFToken.
func (s *Server) refToken(r *http.Request) string {
	if s.cfg.CSRFToken == nil {
		return ""
	}
	return s.cfg.CSRFToken(r)
}

// presentedToken returns the CSRF token r carries: the "csrf-token"
// parameter of params, else the X-CSRF-Token header, else X-XSRF-Token
// (Sente's order); ok is false when it carries none. An empty value counts
// as none.
func presentedToken(r *http.Request, params url.Values) (tok string, ok bool) {
	switch {
	case params.Get(paramCSRF) != "":
		return params.Get(paramCSRF), true
	case r.Header.Get(headerCSRF) != "":
		return r.Header.Get(headerCSRF), true
	case r.Header.Get(headerXSRF) != "":
		return r.Header.Get(headerXSRF), true
	}
	return "", false
}

// writeText answers with status and a plain-text body.
func writeText(w http.ResponseWriter, status int, body string) {
	writeBody(w, status, []byte(body))
}

// writeBody answers with status and body, as text that is never cached.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client may be gone; nothing to do about it
}

// writeUnavailable answers 503 for a request the registry refused: the
// server is closing, or a Cluster cannot tell who the client is (the
// client retries, likely on another server).
func writeUnavailable(w http.ResponseWriter, err error) {
	body := bodyClosing
	if errors.Is(err, errClusterUnavailable) {
		body = bodyNoCluster
	}
	writeText(w, http.StatusServiceUnavailable, body)
}
