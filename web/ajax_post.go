package web

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// The Ajax POST (docs/protocol.md §6): one client event, from a client
// named by its client-id or its client token, answered with the
// application's reply, the dummy reply, or :chsk/timeout.

// Reply states of an Ajax POST callback.
const (
	replyWaiting uint32 = iota
	replySent
	replyExpired
)

// ajaxPost is an Ajax POST that passed its checks: the client it names
// and its event.
type ajaxPost struct {
	cid   string
	token *clientToken // the client token that named the client; nil for a page token
	frame protocol.ClientFrame
}

// servePost serves an Ajax POST: one client event, answered with the
// application's reply when the client asked for one, else with the dummy
// reply (docs/protocol.md §6). A bad request gets 400 and no event.
func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	if !s.track() {
		writeText(w, http.StatusServiceUnavailable, bodyClosing)
		return
	}
	defer s.wg.Done()
	p, ok := s.readPost(w, r)
	if !ok {
		return
	}
	cl, ok := s.postClient(w, r, p)
	if !ok {
		return
	}
	msg, ok := s.postMessage(w, r, p, cl)
	if !ok {
		return
	}
	s.m.event(msg.Event.ID)
	if !p.frame.Callback.Requested() {
		if !s.deliverEvent(msg, r.Context().Done()) {
			return
		}
		frame, _ := msg.dialect().AjaxDummyReply() // valid: it came from the parser
		s.writeFrame(w, frame)
		return
	}
	s.answerCallback(w, r, msg)
}

// readPost reads and checks a POST: its form, the client token or page
// token, the origin, its frame and the client it names. A refused POST is
// answered here.
func (s *Server) readPost(w http.ResponseWriter, r *http.Request) (*ajaxPost, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.ReadLimit)
	if err := r.ParseForm(); err != nil {
		s.m.frameRefusal(TransportAjax, postFormRefusal(err))
		writeText(w, http.StatusBadRequest, bodyBadRequest)
		return nil, false
	}
	p := &ajaxPost{cid: r.Form.Get(paramClientID)}
	if len(p.cid) > maxClientIDLen {
		writeText(w, http.StatusBadRequest, bodyBadClientID)
		return nil, false
	}
	if !s.checkPostToken(w, r, p) {
		return nil, false
	}
	if !s.originAllowed(r) {
		s.m.refusal(refusedOrigin)
		writeText(w, http.StatusForbidden, bodyBadOrigin)
		return nil, false
	}
	if !s.readPostFrame(w, r, p) {
		return nil, false
	}
	if p.cid == "" {
		// A 1.3–1.6 POST whose client had no client token.
		s.m.refusal(refusedClientToken)
		writeText(w, http.StatusForbidden, bodyNoClient)
		return nil, false
	}
	return p, s.authorized(w, r, p.cid)
}

// checkPostToken checks the POST's token: a client token (Sente
// 1.3–1.13, token.go) names the client, which p takes; a page token
// (1.14+) goes through the CSRF check.
func (s *Server) checkPostToken(w http.ResponseWriter, r *http.Request, p *ajaxPost) bool {
	tok, ok := presentedToken(r, r.Form)
	if ok && looksLikeToken(tok) && !s.isPageToken(r, tok) {
		ct, err := verifyToken(s.tokenSecret, tok, s.now(), s.cfg.TokenMaxAge, s.refToken(r))
		if err == nil && p.cid != "" && p.cid != ct.cid {
			err = errTokenForeign
		}
		if err != nil {
			s.m.refusal(refusedClientToken)
			s.badPost(zerolog.DebugLevel).Str("reason", err.Error()).Str("client_id", p.cid).Msg("ajax post refused: client token")
			writeText(w, http.StatusForbidden, err.Error())
			return false
		}
		p.cid, p.token = ct.cid, &ct
		return true
	}
	// Every POST carries a token (a client-id without one is a cross-site
	// form's as much as a client's).
	if presented, ok := s.checkCSRF(r, r.Form); !ok || !presented && s.cfg.CSRFCheck != CSRFOff && p.cid != "" {
		s.m.refusal(refusedCSRF)
		writeText(w, http.StatusForbidden, bodyBadCSRF)
		return false
	}
	return true
}

// readPostFrame parses the POST's ppstr into p.frame.
func (s *Server) readPostFrame(w http.ResponseWriter, r *http.Request, p *ajaxPost) bool {
	if r.Form.Has(paramBinary) {
		s.m.frameRefusal(TransportAjax, refusedBinary)
		writeText(w, http.StatusBadRequest, bodyBinary)
		return false
	}
	if !r.Form.Has(paramPpstr) {
		s.m.frameRefusal(TransportAjax, refusedMalformed)
		writeText(w, http.StatusBadRequest, bodyNoPpstr)
		return false
	}
	cf, err := protocol.ParseClientFrame([]byte(r.Form.Get(paramPpstr)))
	if err == nil && !s.cfg.Packer.accepts(cf.Format) {
		err = errFormatRefused
	}
	if err != nil {
		s.m.frameRefusal(TransportAjax, parseRefusal(err))
		s.badPost(zerolog.WarnLevel).Err(err).Msg("bad ajax post")
		writeText(w, http.StatusBadRequest, bodyBadPackage)
		return false
	}
	if cf.Event.ID.Namespace() == reservedNamespace {
		s.m.frameRefusal(TransportAjax, refusedReserved)
		writeText(w, http.StatusBadRequest, bodyReserved)
		return false
	}
	// "_" in the form marks 1.3–1.8, whose EDN frames look like 1.9–1.17's.
	cf.Generation = cf.GenerationIn(protocol.DetectAjax(r.Form))
	p.frame = cf
	return true
}

// postClient returns the client a POST names: bound by its client token,
// or by its client-id, which only a bound client sends. A refused POST is
// answered here.
func (s *Server) postClient(w http.ResponseWriter, r *http.Request, p *ajaxPost) (*client, bool) {
	var cl *client
	var err error
	if p.token != nil {
		cl, err = s.reg.bindToken(r.Context(), p.cid, p.token.uid)
	} else {
		cl, err = s.reg.bind(r.Context(), p.cid, func() string { return s.userID(r, p.cid) }, true)
	}
	if errors.Is(err, errBindingEnded) || err == nil && p.token != nil && cl.uid != p.token.uid {
		// The servers forgot the client (it stopped polling, or
		// Disconnect ended it) or bound its client-id anew: the token
		// went with that binding, and the client's next poll gets a
		// handshake with a new one.
		s.m.refusal(refusedClientToken)
		s.badPost(zerolog.DebugLevel).Str("reason", bodyTokenExpired).Str("client_id", p.cid).Msg("ajax post refused: client token of an ended binding")
		writeText(w, http.StatusForbidden, bodyTokenExpired)
		return nil, false
	}
	if err != nil {
		writeUnavailable(w, err)
		return nil, false
	}
	return cl, true
}

// postMessage pins what the POST's frame tells of its client (saved in
// the cluster before the answer) and returns its event for the
// application. A frame in another format than the client's is refused
// here.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, p *ajaxPost, cl *client) (Message, bool) {
	saved := cl.record()
	if f, ok := cl.pinFormat(p.frame.Format); !ok {
		s.m.frameRefusal(TransportAjax, refusedFormat)
		s.badPost(zerolog.WarnLevel).Err(errFormatRefused).Stringer("format", p.frame.Format).Stringer("want", f).Str("client_id", p.cid).Msg("bad ajax post")
		writeText(w, http.StatusBadRequest, bodyBadPackage)
		return Message{}, false
	}
	msg := Message{UID: cl.uid, ClientID: p.cid, Event: p.frame.Event, Transport: TransportAjax,
		Generation: cl.pinGeneration(p.frame.Generation), Format: p.frame.Format, Request: r}
	s.reg.saveClient(cl, &saved)
	return msg, true
}

// answerCallback hands msg to the application with a Reply and answers
// the POST with the reply, or with :chsk/timeout after CallbackTimeout or
// at Close.
func (s *Server) answerCallback(w http.ResponseWriter, r *http.Request, msg Message) {
	g := msg.dialect()
	var state atomic.Uint32
	replies := make(chan []byte, 1)
	msg.Reply = func(v any) error {
		switch state.Load() {
		case replySent:
			return ErrReplied
		case replyExpired:
			return ErrReplyExpired
		}
		frame, err := g.AjaxReply(v)
		if err != nil {
			return err
		}
		if !state.CompareAndSwap(replyWaiting, replySent) {
			if state.Load() == replySent {
				return ErrReplied
			}
			return ErrReplyExpired
		}
		replies <- frame // never blocks: capacity 1, sent once
		return nil
	}
	if !s.deliverEvent(msg, r.Context().Done()) {
		state.Store(replyExpired)
		return
	}
	timeout := time.NewTimer(s.cfg.CallbackTimeout)
	defer timeout.Stop()
	var gone bool
	select {
	case frame := <-replies:
		s.m.callback(TransportAjax, callbackAnswered)
		s.writeFrame(w, frame)
		return
	case <-timeout.C:
	case <-s.hardStop:
	case <-r.Context().Done():
		gone = true
	}
	if !state.CompareAndSwap(replyWaiting, replyExpired) {
		// The reply won the race.
		s.m.callback(TransportAjax, callbackAnswered)
		if frame := <-replies; !gone {
			s.writeFrame(w, frame)
		}
		return
	}
	if gone {
		s.m.callback(TransportAjax, callbackExpired)
		return
	}
	s.m.callback(TransportAjax, callbackTimedOut)
	frame, _ := g.AjaxTimeoutReply() // g is valid
	s.writeFrame(w, frame)
}

// postFormRefusal classifies a POST form that does not parse: too large
// (Config.ReadLimit) or malformed.
func postFormRefusal(err error) frameRefusal {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refusedTooBig
	}
	return refusedMalformed
}

// parseRefusal classifies a POST frame refused by the parser or the
// packer check.
func parseRefusal(err error) frameRefusal {
	if errors.Is(err, errFormatRefused) {
		return refusedFormat
	}
	return refusedMalformed
}
