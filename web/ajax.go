package web

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// ajaxConn is the Ajax side of one client: its send queue, which keeps
// pushes between two polls (Sente dropped them after about a second), and
// the poll being held. It lives from the client's first poll until it
// stops polling for DisconnectGrace, its queue overflows, or the server
// closes. It owns no goroutine: polls run on their request's goroutine.
type ajaxConn struct {
	s   *Server
	cl  *client
	log zerolog.Logger
	q   sendQueue

	mu      sync.Mutex    // guards the fields below
	poll    chan struct{} // wake-up of the poll being held (cap 1); nil when none
	seq     uint64        // polls begun, for the idle check
	dead    bool          // dropped: polls answer "no data" and the next one starts over
	closing bool          // Server.Close: answer the held poll now
}

var _ transport = (*ajaxConn)(nil)

func (a *ajaxConn) kind() Transport { return TransportAjax }

// dialect returns the dialect to answer in: the generation the client's
// frames revealed, else the writer of what its polls told, and the
// client's format (Server.formatOf).
func (a *ajaxConn) dialect() protocol.Dialect {
	g := a.cl.pinned()
	if !g.Valid() {
		g = protocol.GenerationSet(a.cl.hint.Load()).AjaxWriter()
	}
	return protocol.Dialect{Generation: g, Format: a.s.formatOf(a.cl)}
}

// generations returns the generation of the client's next answer; see
// transport.
func (a *ajaxConn) generations() protocol.GenerationSet {
	return protocol.SetOf(a.dialect().Generation)
}

// deliver queues a push and wakes the held poll; see transport.
func (a *ajaxConn) deliver(p *push) {
	switch a.q.add(outItem{push: p}, a.s.cfg.SendQueueLen, a.s.cfg.SendQueueBytes) {
	case queued:
		a.mu.Lock()
		if a.poll != nil {
			signal(a.poll)
		}
		a.mu.Unlock()
	case queueFull:
		a.abort(closeSlow)
	}
}

// shutdown answers the held poll at once; see transport.
func (a *ajaxConn) shutdown() {
	a.mu.Lock()
	a.closing = true
	if a.poll != nil {
		signal(a.poll)
	}
	a.mu.Unlock()
}

// abort drops the client's Ajax connection: its queue is discarded, a held
// poll is answered "no data", and its next poll starts over with a
// handshake. See transport.
func (a *ajaxConn) abort(reason closeReason) {
	a.mu.Lock()
	if a.dead {
		a.mu.Unlock()
		return
	}
	a.dead = true
	if a.poll != nil {
		signal(a.poll)
	}
	a.mu.Unlock()
	items := a.q.closeQueue()
	if reason == closeSlow {
		a.log.Warn().Int("queued", len(items)).Msg("slow ajax client dropped")
	} else {
		a.log.Debug().Stringer("reason", reason).Msg("ajax client dropped")
	}
	a.s.reg.detach(a.cl, TransportAjax, a, false)
}

// beginPoll makes the caller the held poll; an older one is told to end.
func (a *ajaxConn) beginPoll() chan struct{} {
	ch := make(chan struct{}, 1)
	a.mu.Lock()
	if a.poll != nil {
		signal(a.poll)
	}
	a.poll = ch
	a.seq++
	a.mu.Unlock()
	return ch
}

// endPoll releases the poll ch and starts the idle clock: a client that does not poll again
// within DisconnectGrace is dropped.
func (a *ajaxConn) endPoll(ch chan struct{}) {
	a.mu.Lock()
	if a.poll == ch {
		a.poll = nil
	}
	seq := a.seq
	a.mu.Unlock()
	a.s.sched.after(delayGrace, func() {
		a.mu.Lock()
		idle := a.poll == nil && a.seq == seq && !a.dead
		a.mu.Unlock()
		if idle {
			a.abort(closeIdle)
		}
	})
}

// pollState tells a held poll whether it must end without data.
func (a *ajaxConn) pollState(ch chan struct{}) (end bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.dead || a.closing || a.poll != ch
}

// servePoll serves an Ajax long poll (sente-protocol.md §6): a handshake
// for a new client or one that asks for it, else the queued pushes as one
// batch, at once or as soon as some arrive, or "no data" after
// PollTimeout.
func (s *Server) servePoll(w http.ResponseWriter, r *http.Request, q url.Values, cid string, presented bool) {
	// A poll without the handshake flag is one only a bound client sends.
	a, created, err := s.attachPoll(r, cid, !q.Has(paramHandshake))
	if err != nil {
		writeUnavailable(w, err)
		return
	}
	saved := a.cl.record()
	s.learnFromPoll(a.cl, q, presented, created)
	now := s.now()
	if s.pollGetsHandshake(a.cl, q, created, now) {
		s.writeAjaxHandshake(w, r, a, presented, now, &saved)
		return
	}
	s.reg.saveClient(a.cl, &saved)
	a.hold(w, r)
}

// attachPoll binds the client of a poll and returns its Ajax connection,
// created now or not. The uidport-open of its uid, if the poll connects
// it, has reached the application.
func (s *Server) attachPoll(r *http.Request, cid string, existing bool) (a *ajaxConn, created bool, err error) {
	uid := func() string { return s.userID(r, cid) }
	_, t, _, open, err := s.reg.attach(r.Context(), cid, TransportAjax, uid, existing,
		func(cl *client, cur transport) transport {
			if cur != nil {
				return cur
			}
			created = true
			return &ajaxConn{s: s, cl: cl, log: s.connLogger(cl, TransportAjax)}
		})
	if err != nil {
		return nil, false, err
	}
	s.awaitOpen(open)
	return t.(*ajaxConn), created, nil
}

// learnFromPoll records the generations the poll's query allows
// (protocol.DetectAjax, what the deployment serves, and 1.3–1.13 alone
// for a poll without token); the first poll of a connection, and one with
// the handshake flag (or the "_" of 1.3–1.8), tell more than a later one
// and pin the generation when they leave one.
func (s *Server) learnFromPoll(cl *client, q url.Values, presented, created bool) {
	detected := narrowTo(protocol.DetectAjax(q), s.cfg.Clients)
	if !presented && s.cfg.CSRFCheck != CSRFOff {
		detected &= legacyGenerations // servesTokenless made sure it is not empty
	}
	if set := cl.narrow(detected); created || q.Has(paramHandshake) {
		if g, ok := set.Only(); ok {
			cl.pinGeneration(g)
		}
	}
}

// pollGetsHandshake reports whether a poll is answered with a handshake:
// it asks for one; or it is the first of an Ajax connection, which 1.3
// clients never flag, and the client does not resume (registry.resumesAjax);
// or the client's token is past half its life, renewed by the handshake
// (once per client: another server may have renewed it).
func (s *Server) pollGetsHandshake(cl *client, q url.Values, created bool, now time.Time) bool {
	if q.Has(paramHandshake) || created && !s.reg.resumesAjax(cl) {
		return true
	}
	if !tokenDue(cl.tokenIssued.Load(), now, s.cfg.TokenMaxAge) {
		return false
	}
	s.reg.reloadClient(cl)
	return tokenDue(cl.tokenIssued.Load(), now, s.cfg.TokenMaxAge)
}

// writeAjaxHandshake answers a poll with a handshake, and a new client
// token for a client without page token; the client's record is saved
// first (its next poll may reach another server).
func (s *Server) writeAjaxHandshake(w http.ResponseWriter, r *http.Request, a *ajaxConn, presented bool, now time.Time, saved *ClientRecord) {
	cl := a.cl
	cl.ajaxHandshake.Store(true)
	defer a.endPoll(a.beginPoll())
	hs := protocol.Handshake{UID: cl.uid, CSRFToken: s.handshakeToken(r, presented, cl, now)}
	if hs.CSRFToken != "" {
		cl.tokenIssued.Store(now.Unix())
	}
	if s.cfg.HandshakeData != nil {
		hs.Data = s.cfg.HandshakeData(r, cl.uid)
	}
	frame, err := a.dialect().Handshake(hs)
	if err != nil {
		a.log.Error().Err(err).Msg("cannot write handshake")
		writeText(w, http.StatusInternalServerError, bodyInternal)
		return
	}
	s.reg.saveClient(cl, saved)
	writeBody(w, http.StatusOK, frame)
}

// hold holds the poll until the client's queued pushes or the events of
// its mailbox (in a Cluster with mailboxes) can answer it as one batch,
// or answers "no data" after PollTimeout, or when a newer poll, the
// client's drop or Close ends it.
func (a *ajaxConn) hold(w http.ResponseWriter, r *http.Request) {
	s := a.s
	ch := a.beginPoll()
	defer a.endPoll(ch)
	mb := s.reg.mailbox(a.cl.id)
	defer mb.close()
	if s.hooks.pollHeld != nil {
		s.hooks.pollHeld(a.cl.id)
	}
	timeout := time.NewTimer(s.cfg.PollTimeout)
	defer timeout.Stop()
	for {
		mail := mb.take()
		if items := a.q.take(nil, false); len(items) > 0 || len(mail) > 0 {
			writeBody(w, http.StatusOK, a.answer(items, mail))
			return
		}
		if a.pollState(ch) {
			a.writeNoData(w)
			return
		}
		select {
		case <-ch:
		case <-mb.ready:
			mb.due = true
			if !a.gather(r) {
				return
			}
		case <-timeout.C:
			a.writeNoData(w)
			return
		case <-r.Context().Done():
			return // the client left; what is queued waits for its next poll
		case <-s.hardStop:
			a.writeNoData(w)
			return
		}
	}
}

// gather lets the rest of a burst of mailbox events arrive, to answer it
// at once as the batch window does for local pushes; it reports false
// when the client left meanwhile.
func (a *ajaxConn) gather(r *http.Request) bool {
	window := time.NewTimer(a.s.cfg.AjaxBatchWindow)
	defer window.Stop()
	select {
	case <-window.C:
	case <-r.Context().Done():
		return false
	case <-a.s.hardStop:
	}
	return true
}

// answer returns the body for the events of the client's mailbox and its
// queued pushes: one batch of all of them.
func (a *ajaxConn) answer(items []outItem, mail []protocol.Event) []byte {
	d := a.dialect()
	if len(items) == 1 && len(mail) == 0 {
		if frame, err := items[0].push.frame(d); err == nil {
			return frame
		}
	}
	events := mail
	for _, it := range items {
		events = append(events, it.push.events...)
	}
	frame, err := d.Batch(events...)
	if err != nil {
		// Each push was packed before, for the formats then in use; this
		// one may not write an event. Send the events that pack.
		a.log.Error().Err(err).Stringer("dialect", d).Msg("cannot merge pushes")
		good := events[:0:0]
		for _, ev := range events {
			if _, err := d.Batch(ev); err == nil {
				good = append(good, ev)
			}
		}
		if frame, err = d.Batch(good...); err != nil {
			frame, _ = d.Batch() // an empty batch: the client polls again
		}
	}
	return frame
}

// writeNoData ends a poll without data: an empty batch for 1.3–1.8, whose
// poll loop dies on anything else, :chsk/timeout for 1.9+.
func (a *ajaxConn) writeNoData(w http.ResponseWriter) {
	frame, err := a.dialect().PollTimeout()
	if err != nil {
		writeText(w, http.StatusInternalServerError, bodyInternal)
		return
	}
	writeBody(w, http.StatusOK, frame)
}

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
// reply (sente-protocol.md §6). A bad request gets 400 and no event.
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
	if !p.frame.Callback.Requested() {
		if !s.deliverEvent(msg, r.Context().Done()) {
			return
		}
		frame, _ := msg.dialect().AjaxDummyReply() // valid: it came from the parser
		writeBody(w, http.StatusOK, frame)
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
		writeText(w, http.StatusForbidden, bodyBadOrigin)
		return nil, false
	}
	if !s.readPostFrame(w, r, p) {
		return nil, false
	}
	if p.cid == "" {
		// A 1.3–1.6 POST whose client had no client token.
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
		writeText(w, http.StatusForbidden, bodyBadCSRF)
		return false
	}
	return true
}

// readPostFrame parses the POST's ppstr into p.frame.
func (s *Server) readPostFrame(w http.ResponseWriter, r *http.Request, p *ajaxPost) bool {
	if r.Form.Has(paramBinary) {
		writeText(w, http.StatusBadRequest, bodyBinary)
		return false
	}
	if !r.Form.Has(paramPpstr) {
		writeText(w, http.StatusBadRequest, bodyNoPpstr)
		return false
	}
	cf, err := protocol.ParseClientFrame([]byte(r.Form.Get(paramPpstr)))
	if err == nil && !s.cfg.Packer.accepts(cf.Format) {
		err = errFormatRefused
	}
	if err != nil {
		s.badPost(zerolog.WarnLevel).Err(err).Msg("bad ajax post")
		writeText(w, http.StatusBadRequest, bodyBadPackage)
		return false
	}
	if cf.Event.ID.Namespace() == reservedNamespace {
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
		writeBody(w, http.StatusOK, frame)
		return
	case <-timeout.C:
	case <-s.hardStop:
	case <-r.Context().Done():
		gone = true
	}
	if !state.CompareAndSwap(replyWaiting, replyExpired) {
		// The reply won the race.
		if frame := <-replies; !gone {
			writeBody(w, http.StatusOK, frame)
		}
		return
	}
	if gone {
		return
	}
	frame, _ := g.AjaxTimeoutReply() // g is valid
	writeBody(w, http.StatusOK, frame)
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
