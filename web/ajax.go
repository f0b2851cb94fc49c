package web

import (
	"net/http"
	"net/url"
	"sync"
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
	s  *Server
	cl *client
	q  sendQueue

	mu      sync.Mutex    // guards the fields below
	poll    chan struct{} // wake-up of the poll being held (cap 1); nil when none
	seq     uint64        // polls begun, for the idle check
	dead    bool          // dropped: polls answer "no data" and the next one starts over
	closing bool          // Server.Close: answer the held poll now
}

// logged adds the connection's fields to e (connFields).
func (a *ajaxConn) logged(e *zerolog.Event) *zerolog.Event { return connFields(e, a.cl, TransportAjax) }

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

// writeFrame answers a poll or a POST with a frame, counted in the
// metrics.
func (s *Server) writeFrame(w http.ResponseWriter, frame []byte) {
	s.m.sent(TransportAjax, len(frame))
	writeBody(w, http.StatusOK, frame)
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
		a.s.m.slow[TransportAjax.index()].Add(1)
		a.logged(a.s.log.Warn()).Int("queued", len(items)).Msg("slow ajax client dropped")
	} else {
		a.logged(a.s.log.Debug()).Stringer("reason", reason).Msg("ajax client dropped")
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

// servePoll serves an Ajax long poll (docs/protocol.md §6): a handshake
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
			return &ajaxConn{s: s, cl: cl}
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
		a.logged(a.s.log.Error()).Err(err).Msg("cannot write handshake")
		writeText(w, http.StatusInternalServerError, bodyInternal)
		return
	}
	s.reg.saveClient(cl, saved)
	s.m.handshakes[TransportAjax.index()].Add(1)
	s.writeFrame(w, frame)
}

// hold holds the poll until the client's queued pushes or the events of
// its mailbox (when the Cluster has mailboxes) can answer it as one batch,
// or answers "no data" after PollTimeout, or when a newer poll, the
// client's drop or Close ends it.
func (a *ajaxConn) hold(w http.ResponseWriter, r *http.Request) {
	s := a.s
	ch := a.beginPoll()
	defer a.endPoll(ch)
	mb := s.reg.mailbox(a.cl.id)
	defer mb.close()
	s.m.heldPolls.Add(1)
	defer s.m.heldPolls.Add(-1)
	if s.hooks.pollHeld != nil {
		s.hooks.pollHeld(a.cl.id)
	}
	timeout := time.NewTimer(s.cfg.PollTimeout)
	defer timeout.Stop()
	for {
		mail := mb.take()
		if items := a.q.take(nil, false); len(items) > 0 || len(mail) > 0 {
			s.writeFrame(w, a.answer(items, mail))
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
		a.logged(a.s.log.Error()).Err(err).Stringer("dialect", d).Msg("cannot merge pushes")
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
	a.s.writeFrame(w, frame)
}
