package web

import (
	"errors"
	"net/http"
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
	wsClosing        // graceful close asked: the writer sends what is queued, then ends the socket
	wsClosed         // over: both goroutines exit
)

// wsConn is one WebSocket (style.md pattern 1). Two goroutines serve it:
// readPump, the only reader, parses frames and hands events to the
// application; writePump, the only writer, writes the handshake, drains
// the send queue and sends the RFC 6455 pings. Close and WriteControl are
// the only calls made from elsewhere (gorilla allows them anywhere).
//
// An idle connection holds its gorilla Conn (with a 512-byte read buffer,
// no write buffer), this struct, one channel and its entry in the
// scheduler's ping queue: no timer of its own.
type wsConn struct {
	s   *Server
	ws  *websocket.Conn
	cl  *client
	req *http.Request
	log zerolog.Logger

	// gens is the protocol.GenerationSet of the generations the client
	// may be; one member once pinned. Written by the reader (pin) and the
	// scheduler (probe window over), read by the writer.
	gens    atomic.Uint32
	state   atomic.Uint32 // wsOpen, wsClosing, wsClosed
	reason  atomic.Uint32 // closeReason, set by the first close
	pingDue atomic.Bool   // the scheduler asks the writer for a ping
	q       sendQueue
	wake    chan struct{} // cap 1: the queue, the generations, the state or pingDue changed
	pingFn  func()        // c.pingTick, allocated once
}

var _ transport = (*wsConn)(nil)

func (c *wsConn) kind() Transport { return TransportWS }

// candidates returns the generations the client may be.
func (c *wsConn) candidates() protocol.GenerationSet { return protocol.GenerationSet(c.gens.Load()) }

// serveWebSocket upgrades r and starts the connection's two goroutines.
// The request has passed the CSRF, origin and client-id checks.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request, cid string, presented bool) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered with an HTTP error.
		s.log.Debug().Err(err).Str("client_id", cid).Msg("websocket upgrade failed")
		return
	}
	var c *wsConn
	cl, _, old, open, err := s.reg.attach(cid, TransportWS, func() string { return s.userID(r, cid) }, false,
		func(cl *client, _ transport) transport {
			c = &wsConn{s: s, ws: ws, cl: cl, req: r, wake: make(chan struct{}, 1), log: s.connLogger(cl, TransportWS)}
			c.gens.Store(uint32(s.wsCandidates(r, cl.pinned())))
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
	if open != nil {
		select {
		case <-open.done:
		case <-s.hardStop:
		}
	}
	hs := protocol.Handshake{UID: cl.uid, CSRFToken: s.handshakeToken(r, presented, cl, s.now())}
	if s.cfg.HandshakeData != nil {
		hs.Data = s.cfg.HandshakeData(r, cl.uid)
	}
	if e := c.log.Debug(); e.Enabled() {
		e.Stringer("generations", c.candidates()).Msg("websocket open")
	}
	s.wg.Add(2)
	go c.writePump(hs)
	go c.readPump()
}

// readPump reads frames until the connection fails or closes, then ends
// the connection.
func (c *wsConn) readPump() {
	defer c.s.wg.Done()
	defer c.finish()
	c.ws.SetReadLimit(c.s.cfg.ReadLimit)
	c.extendDeadline()
	c.ws.SetPongHandler(func(string) error {
		c.extendDeadline()
		return nil
	})
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		c.extendDeadline()
		if typ != websocket.TextMessage {
			// 1.3 clients assert text; binary packers are not supported.
			c.log.Warn().Int("bytes", len(data)).Msg("binary frame dropped")
			continue
		}
		c.handleFrame(data)
	}
}

// extendDeadline gives the client PingInterval+PongTimeout to send its
// next frame or pong, unless the connection is closing.
func (c *wsConn) extendDeadline() {
	if c.state.Load() == wsOpen {
		_ = c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.PingInterval + c.s.cfg.PongTimeout)) // fails only on a closed conn, which the next read reports
	}
}

// readFailed records why reading ended.
func (c *wsConn) readFailed(err error) {
	reason := closeClient
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		reason = closeTooBig // gorilla has sent the 1009 close frame
	case errors.As(err, &ne) && ne.Timeout() && c.state.Load() == wsOpen:
		reason = closeDead
	}
	c.reason.CompareAndSwap(uint32(closeNone), uint32(reason))
	c.log.Debug().Err(err).Stringer("reason", closeReason(c.reason.Load())).Msg("websocket read ended")
}

// finish ends the connection once the reader is done: the writer exits,
// the socket is closed and the registry forgets the connection (the uid
// stays connected for DisconnectGrace).
func (c *wsConn) finish() {
	c.state.Store(wsClosed)
	signal(c.wake)
	_ = c.ws.Close() // may already be closed
	c.q.closeQueue()
	c.s.reg.detach(c.cl, TransportWS, c, true)
	c.reason.CompareAndSwap(uint32(closeNone), uint32(closeClient))
	c.log.Debug().Stringer("reason", closeReason(c.reason.Load())).Msg("websocket closed")
}

// handleFrame parses one client frame and acts on it. Bad frames are
// logged and dropped; the socket is kept (sente-protocol.md §9).
func (c *wsConn) handleFrame(data []byte) {
	cf, err := protocol.ParseClientFrame(data)
	var be *protocol.BadEventError
	if err == nil || errors.As(err, &be) {
		// The envelope was fine: it tells the format and the generation.
		if f, ok := c.cl.pinFormat(cf.Format); !ok {
			c.log.Warn().Err(errFormatRefused).Stringer("format", cf.Format).Stringer("want", f).Int("bytes", len(data)).Msg("frame dropped")
			return
		}
	}
	if err != nil {
		if be != nil {
			c.pin(cf.GenerationIn(c.candidates()))
		}
		c.log.Warn().Err(err).Int("bytes", len(data)).Msg("bad frame dropped")
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
		c.log.Warn().Str("event_id", string(cf.Event.ID)).Msg("reserved event dropped")
		return
	}
	msg := Message{
		UID:        c.cl.uid,
		ClientID:   c.cl.id,
		Event:      cf.Event,
		Transport:  TransportWS,
		Generation: d.Generation,
		Format:     d.Format,
		Request:    c.req,
	}
	if cf.Callback.ID != "" {
		msg.Reply = c.replyFunc(d, cf.Callback.ID)
	}
	c.s.deliverEvent(msg, nil)
}

// pin records the generation a client frame revealed (see refine),
// releases pushes held while it was unknown, and returns the connection's
// generation.
func (c *wsConn) pin(g protocol.Generation) protocol.Generation {
	for {
		old := c.gens.Load()
		cur, _ := protocol.GenerationSet(old).Only()
		next := refine(cur, g)
		if !next.Valid() {
			return g
		}
		set := uint32(protocol.SetOf(next))
		if set == old {
			return next
		}
		if c.gens.CompareAndSwap(old, set) {
			c.cl.pinGeneration(next)
			signal(c.wake)
			return next
		}
	}
}

// probeOver ends the probe window: a client that did not answer the v2
// server ping is not 1.21+.
func (c *wsConn) probeOver() {
	for {
		old := c.gens.Load()
		next := uint32(afterProbe(protocol.GenerationSet(old)))
		if next == old {
			return
		}
		if c.gens.CompareAndSwap(old, next) {
			signal(c.wake)
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
		if !c.sendDirect(frame) {
			return ErrReplyExpired
		}
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
	now, _ := coverIn(set, f)
	later, _ := coverIn(afterProbe(set), f)
	return now | later
}

// deliver queues a push; see transport.
func (c *wsConn) deliver(p *push) { c.enqueue(outItem{push: p}) }

// enqueue adds it to the queue and wakes the writer; a full queue
// disconnects the slow client.
func (c *wsConn) enqueue(it outItem) bool {
	switch c.q.add(it, c.s.cfg.SendQueueLen, c.s.cfg.SendQueueBytes) {
	case queued:
		signal(c.wake)
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
		signal(c.wake)
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
		n, b := c.q.stats()
		c.log.Warn().Int("queued", n).Int("queued_bytes", b).Msg("slow client disconnected")
	}
	_ = c.ws.Close() // unblocks the reader and the writer
	signal(c.wake)
}

// writePump is the only writer: the handshake first, then queued frames and
// pings until the connection closes.
func (c *wsConn) writePump(hs protocol.Handshake) {
	defer c.s.wg.Done()
	if err := c.writeHello(hs); err != nil {
		c.writeFailed(err)
		return
	}
	c.pingFn = c.pingTick
	c.s.sched.after(delayPing, c.pingFn)
	var spare []outItem
	for {
		<-c.wake
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
			if _, err = c.writeQueued(true, nil); err == nil {
				c.closeGracefully()
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

// pingTick runs on the scheduler every PingInterval: it asks the writer for
// a ping and schedules the next tick, until the connection closes.
func (c *wsConn) pingTick() {
	if c.state.Load() == wsClosed {
		return
	}
	c.pingDue.Store(true)
	signal(c.wake)
	c.s.sched.after(delayPing, c.pingFn)
}

// writeFailed ends the connection after a failed write.
func (c *wsConn) writeFailed(err error) {
	if c.state.Load() != wsClosed {
		c.log.Debug().Err(err).Msg("websocket write failed")
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
	w, _ := coverIn(set, f)
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return err
	}
	for _, g := range generations {
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
	}
	if needsProbe(set) {
		frame, err := protocol.Dialect{Generation: protocol.GenV2, Format: f}.ServerPing()
		if err != nil {
			return err
		}
		if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
			return err
		}
		c.s.sched.after(delayDetect, c.probeOver)
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
	w, dup := coverIn(set, f)
	if dup {
		if !final {
			return spare, nil
		}
		w, _ = coverIn(afterProbe(set), f)
	}
	items := c.q.take(spare, true)
	for i, it := range items {
		if err := c.writeItem(it, w); err != nil {
			return nil, err
		}
		items[i] = outItem{}
		c.q.release(it.size())
	}
	if cap(items) > maxSpare {
		return nil, nil
	}
	return items[:0], nil
}

// writeItem writes one queued item: a direct frame as is, a push once per
// generation in w, in the client's format.
func (c *wsConn) writeItem(it outItem, w protocol.GenerationSet) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return err
	}
	if it.push == nil {
		return c.ws.WriteMessage(websocket.TextMessage, it.frame)
	}
	f := c.s.formatOf(c.cl)
	for _, g := range generations {
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
			c.log.Error().Err(err).Stringer("dialect", d).Msg("push dropped")
		case pm != nil:
			err = c.ws.WritePreparedMessage(pm)
		default:
			err = c.ws.WriteMessage(websocket.TextMessage, frame)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// closeGracefully ends a socket whose queue has been written, in the way
// that makes its client reconnect: 1.9–1.17 clients never reconnect after
// a close frame (sente-protocol.md §5.2, §13), so when the client may be
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
