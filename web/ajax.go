package web

import (
	"context"
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
	detected := narrowTo(protocol.DetectAjax(q), s.cfg.Clients)
	if !presented && s.cfg.CSRFCheck != CSRFOff {
		detected &= legacyGenerations // servesTokenless made sure it is not empty
	}
	created := false
	uid := func() string { return s.userID(r, cid) }
	strict := !q.Has(paramHandshake)
	if cluster := s.cfg.Cluster; cluster != nil {
		// The client's route first: pushes published once it is polling
		// (from its uidport-open on) reach its mailbox.
		cl, err := s.reg.bind(cid, uid, strict)
		if err != nil {
			writeUnavailable(w, err)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), clusterTimeout)
		err = cluster.JoinAjax(ctx, cid, cl.uid, s.ajaxTTL())
		cancel()
		if err != nil {
			s.log.Debug().Err(err).Str("client_id", cid).Msg("ajax route not written")
		}
	}
	cl, t, _, open, err := s.reg.attach(cid, TransportAjax, uid, strict,
		func(cl *client, cur transport) transport {
			if cur != nil {
				return cur
			}
			created = true
			a := &ajaxConn{s: s, cl: cl}
			a.log = s.connLogger(cl, TransportAjax)
			return a
		})
	if err != nil {
		writeUnavailable(w, err)
		return
	}
	a := t.(*ajaxConn)
	if open != nil {
		select {
		case <-open.done:
		case <-s.hardStop:
		}
	}
	saved := cl.record()
	// A poll with the handshake flag (or the "_" of 1.3–1.8) tells more
	// than a later one.
	if set := cl.narrow(detected); created || q.Has(paramHandshake) {
		if g, ok := set.Only(); ok {
			cl.pinGeneration(g)
		}
	}
	cluster := s.cfg.Cluster
	// 1.3 clients send no handshake flag: a poll from a client-id without
	// Ajax connection gets the handshake too, unless, in a Cluster, the
	// client had it from another server. A client whose client token is
	// past half its life gets a new handshake, which renews it.
	now := s.now()
	due := tokenDue(cl.tokenIssued.Load(), now, s.cfg.TokenMaxAge)
	if due && cluster != nil {
		// Another server may have renewed it: one renewal per client, not
		// one per server its polls reach.
		s.reloadClient(cl)
		due = tokenDue(cl.tokenIssued.Load(), now, s.cfg.TokenMaxAge)
	}
	if q.Has(paramHandshake) || created && (cluster == nil || !cl.ajaxHandshake.Load()) || due {
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
		// In place before the client's next poll, which may reach
		// another server.
		s.saveClient(cl, &saved)
		writeBody(w, http.StatusOK, frame)
		return
	}
	s.saveClient(cl, &saved)
	ch := a.beginPoll()
	defer a.endPoll(ch)
	var mailbox chan struct{} // nil without a Cluster: never ready
	if cluster != nil {
		var done func()
		mailbox, done = s.cluster.wait(cid)
		defer done()
	}
	if s.hooks.pollHeld != nil {
		s.hooks.pollHeld(cid)
	}
	timeout := time.NewTimer(s.cfg.PollTimeout)
	defer timeout.Stop()
	checkMail := cluster != nil // at the start, then on each wake-up of the mailbox
	for {
		var mail []protocol.Event
		if checkMail {
			mail, checkMail = a.takeMailbox(), false
		}
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
		case <-mailbox:
			checkMail = true
			// Let the rest of a burst arrive, to answer it at once as
			// the batch window does for local pushes.
			window := time.NewTimer(s.cfg.AjaxBatchWindow)
			select {
			case <-window.C:
			case <-r.Context().Done():
				window.Stop()
				return
			case <-s.hardStop:
				window.Stop()
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

// takeMailbox returns the events waiting in the client's Cluster
// mailbox; none without a Cluster or when it cannot be reached (the
// Cluster logs the outage).
func (a *ajaxConn) takeMailbox() []protocol.Event {
	c := a.s.cfg.Cluster
	if c == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	events, err := c.TakeAjax(ctx, a.cl.id)
	if err != nil {
		a.log.Debug().Err(err).Msg("ajax mailbox not read")
	}
	return events
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

// servePost serves an Ajax POST: one client event, answered with the
// application's reply when the client asked for one, else with the dummy
// reply (sente-protocol.md §6). A bad request gets 400 and no event.
func (s *Server) servePost(w http.ResponseWriter, r *http.Request) {
	if !s.track() {
		writeText(w, http.StatusServiceUnavailable, bodyClosing)
		return
	}
	defer s.wg.Done()
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.ReadLimit)
	if err := r.ParseForm(); err != nil {
		writeText(w, http.StatusBadRequest, bodyBadRequest)
		return
	}
	cid := r.Form.Get(paramClientID)
	if len(cid) > maxClientIDLen {
		writeText(w, http.StatusBadRequest, bodyBadClientID)
		return
	}
	// A client token (Sente 1.3–1.13, token.go) names the client; a page
	// token (1.14+) goes through the CSRF check.
	var ct clientToken
	byToken := false
	if tok, ok := presentedToken(r, r.Form); ok && looksLikeToken(tok) && !s.isPageToken(r, tok) {
		var err error
		ct, err = verifyToken(s.tokenSecret, tok, s.now(), s.cfg.TokenMaxAge, s.refToken(r))
		if err == nil && cid != "" && cid != ct.cid {
			err = errTokenForeign
		}
		if err != nil {
			s.badPost(zerolog.DebugLevel).Str("reason", err.Error()).Str("client_id", cid).Msg("ajax post refused: client token")
			writeText(w, http.StatusForbidden, err.Error())
			return
		}
		cid, byToken = ct.cid, true
	} else if presented, ok := s.checkCSRF(r, r.Form); !ok || !presented && s.cfg.CSRFCheck != CSRFOff && cid != "" {
		// Every POST carries a token (a client-id without one is a
		// cross-site form's as much as a client's).
		writeText(w, http.StatusForbidden, bodyBadCSRF)
		return
	}
	if !s.originAllowed(r) {
		writeText(w, http.StatusForbidden, bodyBadOrigin)
		return
	}
	if r.Form.Has(paramBinary) {
		writeText(w, http.StatusBadRequest, bodyBinary)
		return
	}
	if !r.Form.Has(paramPpstr) {
		writeText(w, http.StatusBadRequest, bodyNoPpstr)
		return
	}
	cf, err := protocol.ParseClientFrame([]byte(r.Form.Get(paramPpstr)))
	if err == nil && !s.cfg.Packer.accepts(cf.Format) {
		err = errFormatRefused
	}
	if err != nil {
		s.badPost(zerolog.WarnLevel).Err(err).Msg("bad ajax post")
		writeText(w, http.StatusBadRequest, bodyBadPackage)
		return
	}
	if cf.Event.ID.Namespace() == reservedNamespace {
		writeText(w, http.StatusBadRequest, bodyReserved)
		return
	}
	// "_" in the form marks 1.3–1.8, whose EDN frames look like 1.9–1.17's.
	cf.Generation = cf.GenerationIn(protocol.DetectAjax(r.Form))
	if cid == "" {
		// A 1.3–1.6 POST whose client had no client token.
		writeText(w, http.StatusForbidden, bodyNoClient)
		return
	}
	if !s.authorized(w, r, cid) {
		return
	}
	msg := Message{ClientID: cid, Event: cf.Event, Transport: TransportAjax, Generation: cf.Generation, Format: cf.Format, Request: r}
	var cl *client
	if byToken && s.cfg.Cluster == nil {
		cl = s.reg.lookup(cid) // nil: forgotten, and its token with it
	} else {
		uid, strict := func() string { return s.userID(r, cid) }, true
		if byToken {
			// The token's uid, signed by a server of this deployment: the
			// binding any of them made, or makes now.
			uid, strict = func() string { return ct.uid }, false
		}
		var err error
		if cl, err = s.reg.bind(cid, uid, strict); err != nil {
			writeUnavailable(w, err)
			return
		}
	}
	if byToken && (cl == nil || cl.uid != ct.uid) {
		// The server forgot the client (it stopped polling, or
		// Disconnect ended it) or bound its client-id anew: the token
		// went with that binding, and the client's next poll gets a
		// handshake with a new one.
		s.badPost(zerolog.DebugLevel).Str("reason", bodyTokenExpired).Str("client_id", cid).Msg("ajax post refused: client token of an ended binding")
		writeText(w, http.StatusForbidden, bodyTokenExpired)
		return
	}
	saved := cl.record()
	if f, ok := cl.pinFormat(cf.Format); !ok {
		s.badPost(zerolog.WarnLevel).Err(errFormatRefused).Stringer("format", cf.Format).Stringer("want", f).Str("client_id", cid).Msg("bad ajax post")
		writeText(w, http.StatusBadRequest, bodyBadPackage)
		return
	}
	msg.Generation = cl.pinGeneration(cf.Generation)
	msg.UID = cl.uid
	s.saveClient(cl, &saved)
	g := protocol.Dialect{Generation: msg.Generation, Format: msg.Format}
	if !cf.Callback.Requested() {
		if !s.deliverEvent(msg, r.Context().Done()) {
			return
		}
		frame, _ := g.AjaxDummyReply() // g is valid: it came from the parser
		writeBody(w, http.StatusOK, frame)
		return
	}
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
