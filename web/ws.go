package web

import (
	"errors"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// closeWait bounds the closing handshake of a graceful close: how long the
// reader waits for the client to answer a close frame or to drop the
// connection after the server ended its side.
const closeWait = 2 * time.Second

// States of a wsConn.
const (
	wsOpen    uint32 = iota
	wsClosing        // graceful close asked: the writer drains (see drain), then ends the socket
	wsFlushed        // the writer has written its last frame and ended its side
	wsClosed         // over: both goroutines exit
)

// wsConn is one WebSocket (docs/design.md §5.1). Up to two goroutines
// serve it: readPump, the only reader, parses frames and hands events to
// the application; writePump, the only writer, writes the handshake,
// drains the send queue and sends the RFC 6455 pings. Each runs only
// while it has something to do (issue 19). The writer exits when it finds
// nothing to write, and kick starts a new one when something comes. The
// reader exits when the client has sent nothing more, and parks the
// connection: the server's poller (wsPoller, where the system has epoll)
// starts a new one when the client sends, and pingTick or a close do
// when the connection must end. Without a poller the reader waits in the
// gate (wsGate), at the top of its stack, and after it has read an event
// it leaves the wait to a fresh goroutine, which has the smallest stack.
// Close and WriteControl are the only calls made from elsewhere (gorilla
// allows them anywhere).
//
// An idle connection holds its gorilla Conn (with a 128-byte read buffer,
// no write buffer), its gate (no buffer while it waits), this struct, one
// channel, what it keeps of its upgrade request (keptRequest), its entry
// in the scheduler's ping queue and the poller's, and no goroutine (one,
// without a poller) and no timer of its own. The scheduler holds the
// connection's tasks through a handle that finish cancels, so that a
// closed connection is freed at once, not at its next ping.
type wsConn struct {
	s     *Server
	ws    *websocket.Conn
	gate  *wsGate // the socket as ws reads it
	cl    *client
	req   *keptRequest // what it keeps of its upgrade request, for Message.Request
	tasks *handle      // the scheduler's tasks of the connection (runTask), cancelled by finish

	// gens is the protocol.GenerationSet of the generations the client
	// may be; one member once pinned. Written by the reader (pin) and the
	// scheduler (probe window over), read by the writer.
	gens  atomic.Uint32
	state atomic.Uint32 // wsOpen, wsClosing, wsFlushed, wsClosed
	// replies counts the events with a callback handed to the
	// application and not answered yet; handed is the time (Unix
	// nanoseconds) the last of them was handed over. The graceful close
	// waits for them (drain).
	replies atomic.Int64
	handed  atomic.Int64
	reason  atomic.Uint32 // closeReason, set by the first close
	// parked is set while the connection has no reader: its socket is
	// registered with the server's poller, which starts one (unpark)
	// when the client sends; so does anything that ends the connection.
	parked atomic.Bool
	// deadline is the read deadline extendDeadline set last, as a
	// time.Duration since the server's epoch (monotonic); pingTick wakes
	// a parked connection past it.
	deadline atomic.Int64
	pollID   uint64      // the poller's registration of the socket (0: none yet); set by the reader that first parks it
	pingDue  atomic.Bool // the scheduler asks the writer for a ping
	q        sendQueue
	wake     chan struct{} // cap 1: the queue, the generations, the state or pingDue changed
	// writing is set while a writer runs or is being started (kick); it
	// stays set once the writer has ended for good.
	writing atomic.Bool
	// spare is the emptied slice the last writer handed back to the
	// queue's next take; the running writer's alone (writing orders one
	// writer's end before the next one's start). nil until a push.
	spare []outItem
	// wmu orders the start of a writer (counted in s.wg) before the
	// reader's end (finished), so that the server's WaitGroup never
	// gains a count after it may have reached zero: until then the
	// connection holds a count, its reader's or, parked, the one its
	// last reader left.
	wmu      sync.Mutex
	finished bool       // the reader has ended the connection: no writer starts
	bad      *logBudget // the bad frames read (badFrame); the reader's alone, made at the first
}

// logged adds the connection's fields to e (connFields).
func (c *wsConn) logged(e *zerolog.Event) *zerolog.Event { return connFields(e, c.cl, TransportWS) }

var _ transport = (*wsConn)(nil)

func (c *wsConn) kind() Transport { return TransportWS }

// candidates returns the generations the client may be.
func (c *wsConn) candidates() protocol.GenerationSet { return protocol.GenerationSet(c.gens.Load()) }

// serveWebSocket upgrades r and starts the connection's two goroutines.
// The request has passed the CSRF, origin and client-id checks.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, q url.Values, cid string, presented bool) {
	// The candidates before the lock of attach: Config.Generations is the
	// application's code.
	candidates := s.wsCandidates(r, q)
	gw := &gatedWriter{ResponseWriter: w, pool: &s.readBufs}
	ws, err := s.upgrader.Upgrade(gw, r, nil)
	if err != nil {
		// The upgrader has answered with an HTTP error.
		s.log.Debug().Err(err).Str("client_id", cid).Msg("websocket upgrade failed")
		return
	}
	var c *wsConn
	cl, _, old, open, err := s.reg.attach(r.Context(), cid, TransportWS, func() string { return s.userID(r, cid) }, false,
		func(cl *client, _ transport) transport {
			c = &wsConn{s: s, ws: ws, gate: gw.gate, cl: cl, wake: make(chan struct{}, 1)}
			c.tasks = newHandle(c.runTask)
			c.gens.Store(uint32(pinTo(candidates, cl.pinned())))
			return c
		})
	if err != nil {
		// Close has begun: drop the socket without a close frame, so that
		// every client generation reconnects.
		_ = ws.Close() // nothing to do about a failed close
		return
	}
	if old != nil {
		old.abort(closeReplaced)
	}
	s.awaitOpen(open)
	hs := protocol.Handshake{UID: cl.uid, CSRFToken: s.handshakeToken(r, presented, cl, s.now())}
	if s.cfg.HandshakeData != nil {
		hs.Data = s.cfg.HandshakeData(r, cl.uid)
	}
	// The hooks above had the whole request; the connection keeps what
	// the application's events need of it.
	var dropped []string
	c.req, dropped = keepRequest(r)
	if len(dropped) > 0 {
		c.logged(c.s.log.Debug()).Strs("headers", dropped).Msg("upgrade request headers not kept")
	}
	if e := c.s.log.Debug(); e.Enabled() {
		e = c.logged(e)
		e.Stringer("generations", c.candidates()).Msg("websocket open")
	}
	if s.hooks.wsOpen != nil {
		s.hooks.wsOpen(c)
	}
	c.ws.SetReadLimit(s.cfg.ReadLimit)
	// The pongs gorilla reads (the reader is within a message, or after a
	// client's ping) keep the deadline too, as those the gate takes.
	c.ws.SetPongHandler(func(string) error { c.extendDeadline(); return nil })
	c.extendDeadline()
	s.wg.Add(1)
	c.writing.Store(true)
	c.startWriter(&hs)
	go c.readPump()
}

// readPump is the reader: it reads the client's frames until the
// connection fails or closes, then ends the connection. When the client
// has sent nothing more, it parks the connection (park: the server's
// poller starts a reader when the client sends, and the connection has no
// goroutine meanwhile) and exits. Without a poller it waits in the gate
// (wsGate.await), at the top of its stack and holding no read buffer;
// there it also takes the pongs. Reading a message and handing its event
// to the application may grow its stack, so a reader that has read one
// leaves the wait to a fresh goroutine, which starts with a small stack
// (issue 19).
func (c *wsConn) readPump() {
	for fresh := true; ; fresh = false {
		ok, err := c.gate.await(false, c.extendDeadline)
		if err == nil && !ok {
			switch {
			case c.park():
				return // the parked connection keeps this reader's count in s.wg: unpark hands it on
			case !fresh:
				go c.readPump() // with this reader's count in s.wg
				return
			}
			ok, err = c.gate.await(true, c.extendDeadline)
		}
		if err != nil {
			c.readFailed(err)
			break
		}
		if !c.readMessage() {
			break
		}
	}
	c.finish()
	c.s.wg.Done()
}

// park registers the open connection with the server's poller, which
// starts a reader when the client sends something (unpark), and reports
// whether the calling reader must exit: the connection is parked, or an
// unpark meanwhile has started another reader. It is false when the
// server has no poller, the socket cannot be polled or the connection is
// closing: then the caller goes on reading.
func (c *wsConn) park() bool {
	p := c.s.poll
	if p == nil || c.gate.raw == nil || c.s.hooks.noPark {
		return false
	}
	first := c.pollID == 0
	if first {
		p.register(c) // before parked is set: the next reader reads pollID
	}
	c.s.m.parked.Add(1) // before parked is set: each clearing of it counts one down
	c.parked.Store(true)
	// After parked is set: a close that changes the state later sees it
	// and unparks (abort, shutdown).
	if c.state.Load() != wsOpen || p.arm(c, first) != nil {
		if c.parked.CompareAndSwap(true, false) {
			c.s.m.parked.Add(-1)
			return false
		}
		return true
	}
	return true
}

// unpark starts a reader for a parked connection: its client has sent
// something, it is past its read deadline, or it is closing.
func (c *wsConn) unpark() {
	if !c.parked.CompareAndSwap(true, false) {
		return
	}
	c.s.m.parked.Add(-1)
	go c.readPump() // with the count the parked connection kept in s.wg
}

// readMessage reads one message and acts on it; false when reading has
// ended.
func (c *wsConn) readMessage() bool {
	typ, data, err := c.ws.ReadMessage()
	if err != nil {
		c.readFailed(err)
		return false
	}
	c.extendDeadline()
	if typ != websocket.TextMessage {
		// 1.3 clients assert text; binary packers are not supported.
		c.s.m.frameRefusal(TransportWS, refusedBinary)
		c.badFrame().Int("bytes", len(data)).Msg("binary frame dropped")
		return true
	}
	c.handleFrame(data)
	return true
}

// extendDeadline gives the client PingInterval+PongTimeout to send its
// next frame or pong, unless the writer has ended its side (the closing
// handshake has its own deadline, closeWait).
func (c *wsConn) extendDeadline() {
	if st := c.state.Load(); st == wsOpen || st == wsClosing {
		t := time.Now().Add(c.s.cfg.PingInterval + c.s.cfg.PongTimeout)
		c.deadline.Store(int64(t.Sub(c.s.epoch)))
		_ = c.ws.SetReadDeadline(t) // fails only on a closed conn, which the next read reports
		if st := c.state.Load(); st != wsOpen && st != wsClosing {
			// closeGracefully set its shorter deadline meanwhile, which
			// the line above may have overwritten: it holds.
			_ = c.ws.SetReadDeadline(time.Now().Add(closeWait))
		}
	}
}

// readFailed records why reading ended.
func (c *wsConn) readFailed(err error) {
	reason := closeClient
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		reason = closeTooBig // gorilla has sent the 1009 close frame
		c.s.m.frameRefusal(TransportWS, refusedTooBig)
	case errors.As(err, &ne) && ne.Timeout() && c.state.Load() == wsOpen:
		reason = closeDead
	}
	c.reason.CompareAndSwap(uint32(closeNone), uint32(reason))
	c.logged(c.s.log.Debug()).Err(err).Stringer("reason", closeReason(c.reason.Load())).Msg("websocket read ended")
}

// finish ends the connection once the reader is done: the writer exits,
// the socket is closed and the registry forgets the connection (the uid
// stays connected for DisconnectGrace).
func (c *wsConn) finish() {
	c.state.Store(wsClosed)
	c.wmu.Lock()
	c.finished = true
	c.wmu.Unlock()
	c.tasks.cancel() // the scheduler's queues no longer refer to c
	signal(c.wake)
	_ = c.ws.Close() // may already be closed
	c.gate.release()
	if c.s.poll != nil {
		c.s.poll.forget(c)
	}
	c.q.closeQueue()
	c.s.reg.detach(c.cl, TransportWS, c, true)
	c.reason.CompareAndSwap(uint32(closeNone), uint32(closeClient))
	if c.bad != nil && c.bad.suppressed > 0 {
		// Charged to the server's budget like the lines it sums up; when
		// that is spent, the next line allowed (or Close) counts them.
		if ok, _ := c.s.badFrames.note(time.Now(), wsServerBadLogLines); ok {
			c.logged(c.s.log.Warn()).Int64("not_logged", int64(c.bad.suppressed)+c.s.badCarry.Swap(0)).Msg("bad frames dropped")
		} else {
			c.s.badCarry.Add(int64(c.bad.suppressed))
		}
	}
	c.logged(c.s.log.Debug()).Stringer("reason", closeReason(c.reason.Load())).Msg("websocket closed")
}

// handleFrame parses one client frame and acts on it. Bad frames are
// dropped and logged on the connection's budget (badFrame); the socket is
// kept (docs/protocol.md §9) unless the client sends too many of them.
func (c *wsConn) handleFrame(data []byte) {
	cf, err := protocol.ParseClientFrame(data)
	var be *protocol.BadEventError
	if err == nil || errors.As(err, &be) {
		// The envelope was fine: it tells the format and the generation.
		if f, ok := c.cl.pinFormat(cf.Format); !ok {
			c.s.m.frameRefusal(TransportWS, refusedFormat)
			c.badFrame().Err(errFormatRefused).Stringer("format", cf.Format).Stringer("want", f).Int("bytes", len(data)).Msg("frame dropped")
			return
		}
	}
	if err != nil {
		if be != nil {
			c.pin(cf.GenerationIn(c.candidates()))
		}
		c.s.m.frameRefusal(TransportWS, refusedMalformed)
		c.badFrame().Err(err).Int("bytes", len(data)).Msg("bad frame dropped")
		return
	}
	d := protocol.Dialect{Generation: c.pin(cf.GenerationIn(c.candidates())), Format: cf.Format}
	switch cf.Event.ID {
	case protocol.IDWSPing:
		// 1.18+ ping with a callback and expect "pong"; older clients
		// ping without one and get nothing.
		if cf.Callback.ID != "" {
			if frame, err := d.Pong(cf.Callback.ID); err == nil {
				c.sendDirect(frame)
			}
		}
		return
	case protocol.IDWSPong:
		return // a 1.19+ answer to the probe: it pinned the generation
	}
	if cf.Event.ID.Namespace() == reservedNamespace {
		c.s.m.frameRefusal(TransportWS, refusedReserved)
		c.badFrame().Str("event_id", clipInput(string(cf.Event.ID))).Msg("reserved event dropped")
		return
	}
	msg := Message{
		UID:        c.cl.uid,
		ClientID:   c.cl.id,
		Event:      cf.Event,
		Transport:  TransportWS,
		Generation: d.Generation,
		Format:     d.Format,
		Request:    c.req.request(),
	}
	if cf.Callback.ID != "" {
		msg.Reply = c.replyFunc(d, cf.Callback.ID)
		c.handed.Store(time.Now().UnixNano()) // before the count a drain reads it by
		c.replies.Add(1)
	}
	c.s.m.event(cf.Event.ID)
	if !c.s.deliverEvent(msg, nil) && msg.Reply != nil {
		c.replies.Add(-1)
	}
}

// pin records the generation a client frame revealed
// (protocol.Generation.Refine),
// releases pushes held while it was unknown, and returns the connection's
// generation.
func (c *wsConn) pin(g protocol.Generation) protocol.Generation {
	for {
		old := c.gens.Load()
		cur, _ := protocol.GenerationSet(old).Only()
		next := cur.Refine(g)
		if !next.Valid() {
			return g
		}
		set := uint32(protocol.SetOf(next))
		if set == old {
			return next
		}
		if c.gens.CompareAndSwap(old, set) {
			c.cl.pinGeneration(next)
			c.kick()
			return next
		}
	}
}

// probeOver ends the probe window: a client that did not answer the v2
// server ping is not 1.21+.
func (c *wsConn) probeOver() {
	for {
		old := c.gens.Load()
		next := uint32(protocol.GenerationSet(old).AfterProbe())
		if next == old {
			return
		}
		if c.gens.CompareAndSwap(old, next) {
			c.kick()
			return
		}
	}
}

// replyFunc returns the Reply of an event that came with callback cbID, in
// dialect d.
func (c *wsConn) replyFunc(d protocol.Dialect, cbID string) func(any) error {
	var used atomic.Bool
	return func(v any) error {
		if used.Load() {
			return ErrReplied
		}
		frame, err := d.CallbackReply(v, cbID)
		if err != nil {
			return err
		}
		if !used.CompareAndSwap(false, true) {
			return ErrReplied
		}
		// Pushes to the uid made before the reply reach the client
		// before it, as an application answering in order expects.
		c.s.reg.flushUser(c.cl.user)
		ok := c.sendDirect(frame)
		// Counted down after the frame is queued: a draining writer that
		// sees no reply pending has every reply in its queue.
		c.replies.Add(-1)
		c.kick()
		if !ok {
			c.s.m.callback(TransportWS, callbackExpired)
			return ErrReplyExpired
		}
		c.s.m.callback(TransportWS, callbackAnswered)
		return nil
	}
}

// sendDirect queues a frame for this connection alone.
func (c *wsConn) sendDirect(frame []byte) bool {
	return c.enqueue(outItem{frame: frame})
}

// generations returns the generations a push may be written in: those
// of the cover of the candidates, now or after the probe; see transport.
func (c *wsConn) generations() protocol.GenerationSet {
	set, f := c.candidates(), c.s.formatOf(c.cl)
	now, _ := set.CoverIn(f)
	later, _ := set.AfterProbe().CoverIn(f)
	return now | later
}

// deliver queues a push; see transport.
func (c *wsConn) deliver(p *push) { c.enqueue(outItem{push: p}) }

// enqueue adds it to the queue and wakes the writer; a full queue
// disconnects the slow client.
func (c *wsConn) enqueue(it outItem) bool {
	switch c.q.add(it, c.s.cfg.SendQueueLen, c.s.cfg.SendQueueBytes) {
	case queued:
		c.kick()
		return true
	case queueFull:
		c.abort(closeSlow)
	}
	return false
}

// shutdown asks the writer for a graceful close; see transport.
func (c *wsConn) shutdown() {
	if c.state.CompareAndSwap(wsOpen, wsClosing) {
		c.reason.CompareAndSwap(uint32(closeNone), uint32(closeShutdown))
		c.kick()
		c.unpark() // the reader waits for the client's side of the close
	}
}

// abort closes the socket at once, without a close frame: every client
// generation reconnects after that. The reader then finishes the
// connection. See transport.
func (c *wsConn) abort(reason closeReason) {
	if c.state.Swap(wsClosed) == wsClosed {
		return
	}
	c.reason.CompareAndSwap(uint32(closeNone), uint32(reason))
	if reason == closeSlow {
		c.s.m.slow[TransportWS.index()].Add(1)
		n, b := c.q.stats()
		c.logged(c.s.log.Warn()).Int("queued", n).Int("queued_bytes", b).Msg("slow client disconnected")
	}
	_ = c.ws.Close() // unblocks the reader and the writer
	signal(c.wake)
	c.unpark() // a reader finds the socket closed and ends the connection
}

// kick wakes the writer, and starts one if none runs.
func (c *wsConn) kick() {
	signal(c.wake)
	if c.writing.Load() || !c.writing.CompareAndSwap(false, true) {
		return
	}
	c.startWriter(nil)
}

// startWriter starts a writer, which writes hs first if not nil, unless
// the reader has ended the connection. The caller has set c.writing.
func (c *wsConn) startWriter(hs *protocol.Handshake) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.finished {
		return // writing stays set: no writer is needed any more
	}
	c.s.wg.Add(1)
	go c.writePump(hs)
}

// idle ends the writer when it has nothing to do: it clears c.writing
// and reports whether a wake-up came meanwhile that this writer takes
// on (it has set c.writing again). Either a kick sees c.writing clear
// and starts a writer, or the writer sees the kick's wake-up.
func (c *wsConn) idle() bool {
	c.writing.Store(false)
	select {
	case <-c.wake:
	default:
		return false
	}
	if c.writing.CompareAndSwap(false, true) {
		return true
	}
	signal(c.wake) // for the writer a kick has started meanwhile
	return false
}

// writePump is the only writer: the handshake first (hs, for the first
// writer of the connection), then queued frames and pings while there
// are some, until the connection closes.
func (c *wsConn) writePump(hs *protocol.Handshake) {
	defer c.s.wg.Done()
	if hs != nil {
		if err := c.writeHello(*hs); err != nil {
			c.writeFailed(err)
			return
		}
		c.s.sched.afterHandle(delayPing, c.tasks)
	}
	spare := c.spare // as the last writer left it: no allocation per burst
	for {
		select {
		case <-c.wake:
		default:
			c.spare = spare // before idle: the next writer may start at once
			if !c.idle() {
				return
			}
		}
		if c.pingDue.Swap(false) {
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
				c.writeFailed(err)
				return
			}
		}
		var err error
		switch c.state.Load() {
		case wsClosed:
			return
		case wsClosing:
			if err = c.drain(); err == nil {
				return
			}
		default:
			spare, err = c.writeQueued(false, spare)
		}
		if err != nil {
			c.writeFailed(err)
			return
		}
	}
}

// runTask runs the connection's scheduler task of kind k (c.tasks).
func (c *wsConn) runTask(k delayKind) {
	switch k {
	case delayPing:
		c.pingTick()
	case delayDetect:
		c.probeOver()
	}
}

// drain is the writer's part of a graceful close (Server.Close): it writes
// what is queued, and the replies to events already handed to the
// application as they come, until none is pending or the last of them was
// handed over Config.CallbackTimeout ago; then it writes what is left,
// closes the queue (a later Reply gets ErrReplyExpired) and ends the
// socket (closeGracefully). Server.Close bounds the wait with its context:
// when that ends the socket is aborted, which ends the drain.
func (c *wsConn) drain() error {
	var expire *time.Timer
	defer func() {
		if expire != nil {
			expire.Stop()
		}
	}()
	expired := false
	for {
		if c.pingDue.Swap(false) {
			// Pings go on while replies are awaited: the client's pongs
			// keep its read deadline from ending the socket meanwhile.
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
				return err
			}
		}
		if c.replies.Load() <= 0 || expired {
			if err := c.writeLast(c.q.closeQueue()); err != nil {
				return err
			}
			if !c.state.CompareAndSwap(wsClosing, wsFlushed) {
				return nil // aborted meanwhile
			}
			c.closeGracefully()
			return nil
		}
		if _, err := c.writeQueued(true, nil); err != nil {
			return err
		}
		if expire == nil {
			until := time.Until(time.Unix(0, c.handed.Load()).Add(c.s.cfg.CallbackTimeout))
			expire = time.NewTimer(until)
		}
		select {
		case <-c.wake:
			if c.state.Load() == wsClosed {
				return nil
			}
		case <-expire.C:
			// Events handed meanwhile are not waited for: the drain
			// ends CallbackTimeout after the last event it waited for.
			expired = true
		}
	}
}

// pingTick runs on the scheduler every PingInterval: it asks the writer for
// a ping and schedules the next tick, until the connection closes.
func (c *wsConn) pingTick() {
	if c.state.Load() == wsClosed {
		return
	}
	if c.parked.Load() && time.Since(c.s.epoch) >= time.Duration(c.deadline.Load()) {
		// The client has sent nothing, not even a pong, in time: a reader
		// finds the deadline passed and ends the connection (closeDead).
		c.unpark()
	}
	c.pingDue.Store(true)
	c.kick()
	c.s.sched.afterHandle(delayPing, c.tasks)
}

// writeFailed ends the connection after a failed write.
func (c *wsConn) writeFailed(err error) {
	if c.state.Load() != wsClosed {
		c.logged(c.s.log.Debug()).Err(err).Msg("websocket write failed")
	}
	c.abort(closeClient)
}

// writeHello writes the handshake in every encoding of the candidates'
// cover, then the probe if it can narrow them (doc.go, "Client
// generations"), in the client's format: the default of Config.Packer
// unless a reconnecting client-id revealed its own.
func (c *wsConn) writeHello(hs protocol.Handshake) error {
	set := c.candidates()
	f := c.s.formatOf(c.cl)
	w, _ := set.CoverIn(f)
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return err
	}
	for g := protocol.GenFlexi; g <= protocol.GenV2; g++ {
		if !w.Has(g) {
			continue
		}
		frame, err := protocol.Dialect{Generation: g, Format: f}.Handshake(hs)
		if err != nil {
			return err
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			return err
		}
		c.s.m.sent(TransportWS, len(frame))
	}
	c.s.m.handshakes[TransportWS.index()].Add(1)
	if set.NeedsProbe() {
		frame, err := protocol.Dialect{Generation: protocol.GenV2, Format: f}.ServerPing()
		if err != nil {
			return err
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			return err
		}
		c.s.m.sent(TransportWS, len(frame))
		c.s.sched.afterHandle(delayDetect, c.tasks)
	}
	return nil
}

// writeQueued writes every queued item in the encodings the client reads.
// While the generation is unknown and writing every candidate encoding
// would deliver a push twice, pushes stay queued (held); final (the
// graceful close) writes them for the candidates left after the probe.
// spare is handed to the queue (sendQueue.take); the emptied slice of
// items is returned for the next call. Each item stays counted in the
// queue's bytes until it is written.
func (c *wsConn) writeQueued(final bool, spare []outItem) ([]outItem, error) {
	set := c.candidates()
	f := c.s.formatOf(c.cl)
	w, dup := set.CoverIn(f)
	if dup {
		if !final {
			return spare, nil
		}
		w, _ = set.AfterProbe().CoverIn(f)
	}
	items := c.q.take(spare, true)
	if err := c.writeItemsIn(items, w); err != nil {
		return nil, err
	}
	if cap(items) > maxSpare {
		return nil, nil
	}
	return items[:0], nil
}

// writeLast writes the last items of a graceful close in the encodings the
// client reads, held pushes too, as writeQueued does when final.
func (c *wsConn) writeLast(items []outItem) error {
	set, f := c.candidates(), c.s.formatOf(c.cl)
	w, dup := set.CoverIn(f)
	if dup {
		w, _ = set.AfterProbe().CoverIn(f)
	}
	return c.writeItemsIn(items, w)
}

// writeItemsIn writes items once per generation in w, clearing them.
func (c *wsConn) writeItemsIn(items []outItem, w protocol.GenerationSet) error {
	for i, it := range items {
		if err := c.writeItem(it, w); err != nil {
			return err
		}
		items[i] = outItem{}
		c.q.release(it.size()) // written: no longer counted (a no-op once the queue is closed)
	}
	return nil
}

// writeItem writes one queued item: a direct frame as is, a push once per
// generation in w, in the client's format.
func (c *wsConn) writeItem(it outItem, w protocol.GenerationSet) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return err
	}
	if it.push == nil {
		if err := c.ws.WriteMessage(websocket.TextMessage, it.frame); err != nil {
			return err
		}
		c.s.m.sent(TransportWS, len(it.frame))
		return nil
	}
	f := c.s.formatOf(c.cl)
	for g := protocol.GenFlexi; g <= protocol.GenV2; g++ {
		if !w.Has(g) {
			continue
		}
		d := protocol.Dialect{Generation: g, Format: f}
		var (
			pm    *websocket.PreparedMessage
			frame []byte
			err   error
		)
		if it.push.shared {
			pm, frame, err = it.push.preparedMessage(d)
		} else {
			frame, err = it.push.frame(d)
		}
		switch {
		case err != nil:
			// A push this dialect cannot write is dropped, not the socket.
			c.logged(c.s.log.Error()).Err(err).Stringer("dialect", d).Msg("push dropped")
			continue
		case pm != nil:
			err = c.ws.WritePreparedMessage(pm)
		default:
			err = c.ws.WriteMessage(websocket.TextMessage, frame)
		}
		if err != nil {
			return err
		}
		c.s.m.sent(TransportWS, len(frame))
	}
	return nil
}

// closeGracefully ends a socket whose queue has been written, in the way
// that makes its client reconnect: 1.9–1.17 clients never reconnect after
// a close frame (docs/protocol.md §5.2, §13), so when the client may be
// one of them the server ends the TCP stream without a close frame (the
// browser reports 1006, not clean); the others get a 1001 "going away"
// close frame, after which they reconnect. The reader then waits up to
// closeWait for the client's side to end.
func (c *wsConn) closeGracefully() {
	deadline := time.Now().Add(closeWait)
	if c.candidates().Has(protocol.GenV1) {
		type closeWriter interface{ CloseWrite() error }
		if cw, ok := c.ws.NetConn().(closeWriter); ok {
			_ = cw.CloseWrite() // on failure the read deadline still ends the connection
		} else {
			_ = c.ws.Close() // the reader finishes the connection
		}
	} else {
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "")
		_ = c.ws.WriteControl(websocket.CloseMessage, msg, deadline) // on failure the read deadline still ends the connection
	}
	_ = c.ws.NetConn().SetReadDeadline(deadline) // a closed conn needs no deadline
}
