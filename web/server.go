package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// Server is a Sente channel-socket server: the Go form of Sente's
// make-channel-socket-server!. Mount Handler at the Sente path (/chsk),
// read Events, push with Send and Broadcast, and Close it to shut down.
//
// All methods are safe for concurrent use. A Server owns two background
// goroutines (timers, including every connection's pings, and uidport
// notices) and two goroutines per WebSocket; Close stops them all. The zero value is not usable: build
// one with New.
type Server struct {
	cfg      Config
	log      zerolog.Logger
	handler  http.Handler
	upgrader websocket.Upgrader
	readBufs sync.Pool // the WebSockets' read buffers (wsGate), *[]byte
	epoch    time.Time // when New ran: the WebSockets' deadlines are kept as durations since (monotonic)
	poll     *wsPoller // where idle WebSockets wait; nil without epoll
	events   chan Message
	reg      *registry
	sched    *scheduler
	notes    notifier

	bp *backplane // the Broker and the Cluster

	mu      sync.Mutex // guards closing; orders wg.Add against wg.Wait
	closing bool
	// wg counts handlers in flight and connection goroutines, and the
	// parked WebSockets (each keeps its last reader's count, which unpark
	// hands to the next); it is added to only under mu while not closing,
	// by a goroutine it counts, or for a connection whose count it holds
	// (wsConn.wmu).
	wg sync.WaitGroup
	bg sync.WaitGroup // the scheduler, the notifier and the poller

	stopBG    chan struct{} // closed at the end of Close: background goroutines exit
	hardStop  chan struct{} // closed when Close stops waiting: everything ends now
	closeOnce sync.Once
	closed    chan struct{} // closed when Close has finished
	closeErr  error

	tokenSecret []byte // signs client tokens (token.go)

	badPosts  sharedBudget // the log lines about refused Ajax POSTs (badPost)
	badFrames sharedBudget // the log lines about WebSocket bad frames (wsConn.badFrame)
	// badCarry counts the bad frames of closed WebSockets whose summary
	// line badFrames did not allow: the next line allowed reports them,
	// or Close does.
	badCarry atomic.Int64

	m *metrics // the counters of Collector

	hooks testHooks
}

// now returns the time, or the tests' clock.
func (s *Server) now() time.Time {
	if s.hooks.now != nil {
		return s.hooks.now()
	}
	return time.Now()
}

// testHooks lets tests observe internal moments; set before the first
// request, nil in production.
type testHooks struct {
	pollHeld func(clientID string) // a poll is being held
	now      func() time.Time      // the clock of client tokens
	wsOpen   func(c *wsConn)       // a WebSocket is about to start its goroutines
	draining func()                // Close has asked every connection to close
	noPark   bool                  // WebSockets are never parked: their readers wait as without a poller
}

// New returns a running Server configured by cfg (copied; see Config for
// defaults and ranges). It fails only on an invalid Config, a Broker or
// Cluster that refuses the Server, or a Cluster that cannot give the
// token secret in time.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		events:   make(chan Message, cfg.EventBuffer),
		stopBG:   make(chan struct{}),
		hardStop: make(chan struct{}),
		closed:   make(chan struct{}),
		m:        newMetrics(cfg.MetricsEventIDs),
	}
	s.epoch = time.Now()
	s.readBufs.New = func() any {
		b := make([]byte, gateBufSize)
		return &b
	}
	s.upgrader = websocket.Upgrader{
		// gorilla's read buffer, allocated per connection, as small as it
		// allows: the gate (wsGate) buffers what the socket sends, and
		// frames larger than it are read straight into the message.
		ReadBufferSize: wsReadBufferSize,
		// Write buffers come from a pool for the time of one write, so an
		// idle connection holds none; pushes to several sockets bypass
		// them (PreparedMessage).
		WriteBufferPool: &sync.Pool{},
		// The origin is checked before the upgrade (Config.AllowedOrigins,
		// 403 "Unauthorized origin"), as Sente does.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.reg = newRegistry(s)
	s.sched = newScheduler([numDelays]time.Duration{
		delayFlushWS:   cfg.WSBatchWindow,
		delayFlushAjax: cfg.AjaxBatchWindow,
		delayGrace:     cfg.DisconnectGrace,
		delayDetect:    cfg.DetectTimeout,
		delayPing:      cfg.PingInterval,
	})
	s.notes.wake = make(chan struct{}, 1)
	if s.bp, s.tokenSecret, err = openBackplane(&s.cfg, s.reg, &s.log); err != nil {
		return nil, err
	}
	s.handler = s.newHandler()
	if s.poll, err = newPoller(); err != nil {
		s.log.Debug().Err(err).Msg("no poller: each idle WebSocket keeps a goroutine")
	} else {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			if err := s.poll.run(); err != nil {
				s.log.Error().Err(err).Msg("poller failed: each idle WebSocket keeps a goroutine from now on")
				s.poll.fail()
			}
		}()
	}
	s.bg.Add(2)
	go func() {
		defer s.bg.Done()
		s.sched.run(s.stopBG)
	}()
	go func() {
		defer s.bg.Done()
		s.notes.run(s, s.stopBG)
	}()
	return s, nil
}

// wsReadBufferSize is gorilla's read buffer of one WebSocket, in bytes:
// the smallest it takes (it must hold a control frame's payload).
const wsReadBufferSize = 128

// Handler returns the Sente endpoint: GET with a WebSocket upgrade, GET
// without (an Ajax long poll) and POST (an Ajax event), at whatever path it
// is mounted (conventionally /chsk). Other methods get 405. Do not put
// timeout or compression middleware in front of it; a wrapper of the
// ResponseWriter must keep http.Hijacker. It is safe for concurrent use.
func (s *Server) Handler() http.Handler { return s.handler }

// Events returns the channel of client events and uidport events. The
// application must keep reading it: when its buffer (Config.EventBuffer)
// is full, connections stop reading their clients. It is closed when Close
// returns.
func (s *Server) Events() <-chan Message { return s.events }

// Send pushes ev to every connection of user uid (every tab, WebSocket or
// Ajax) through the backplane (the Broker, and the Cluster's mailboxes
// when it has some). Pushes are batched per uid and transport for
// the batch window (Config.WSBatchWindow, AjaxBatchWindow) unless Flush is
// called; a uid without connection drops them. ev must be a valid event
// outside the reserved chsk namespace (else a *protocol.BadEventError),
// and its Data must not be modified afterwards. Send never blocks; it
// returns ErrNoUID for an empty uid and ErrServerClosed after Close began.
func (s *Server) Send(uid string, ev protocol.Event) error {
	if uid == "" {
		return ErrNoUID
	}
	return s.publish(Publication{UID: uid, Event: ev})
}

// Broadcast pushes ev to every connection. The batch is packed once per
// client generation and the same bytes are written to every connection.
// Otherwise as Send.
func (s *Server) Broadcast(ev protocol.Event) error {
	return s.publish(Publication{Broadcast: true, Event: ev})
}

// BroadcastLocal pushes ev to every connection of this server only,
// bypassing the Broker: for what each server of a cluster sends its own
// clients (periodic statistics every server computes alike), which
// Broadcast would deliver once per server. Ajax clients get it when they
// poll this server. Otherwise as Broadcast.
func (s *Server) BroadcastLocal(ev protocol.Event) error {
	if err := checkPush(ev); err != nil {
		return err
	}
	if s.isClosing() {
		return ErrServerClosed
	}
	s.reg.publishTo(Publication{Broadcast: true, Event: ev}, allTransports)
	s.m.pushes[pushBroadcastLocal].Add(1)
	return nil
}

func (s *Server) publish(p Publication) error {
	if err := checkPush(p.Event); err != nil {
		return err
	}
	if s.isClosing() {
		return ErrServerClosed
	}
	if err := s.bp.publish(p); err != nil {
		s.m.publishErrors.Add(1)
		return err
	}
	if p.Broadcast {
		s.m.pushes[pushBroadcast].Add(1)
	} else {
		s.m.pushes[pushSend].Add(1)
	}
	return nil
}

// checkPush validates an event for a push batch, as protocol.PackBatch
// would, so that one bad event fails its Send call instead of its batch.
func checkPush(ev protocol.Event) error {
	if err := ev.Validate(); err != nil {
		return err
	}
	if ev.ID.Namespace() == reservedNamespace {
		return &protocol.BadEventError{Value: ev.Value(), Err: protocol.ErrReservedID}
	}
	return nil
}

// reservedNamespace is the namespace of Sente's own events.
const reservedNamespace = "chsk"

// Disconnect ends every connection of uid on this server, WebSocket and
// Ajax, and forgets the binding of its client-ids, so that their next
// request is bound anew (Config.UserID is asked again); the client tokens
// of their 1.3–1.13 clients die with the bindings (a POST with one gets
// 403 until a new handshake). Clients reconnect
// by themselves: to keep a user out, refuse their requests in
// Config.Authorize. With a RedisCluster, a client-id's binding is also
// kept by the cluster, and each server ends only its own connections: call
// Disconnect on every server. It returns how many connections it ended.
func (s *Server) Disconnect(uid string) int {
	conns := s.reg.disconnect(uid)
	for _, t := range conns {
		t.abort(closeDisconnected)
	}
	if len(conns) > 0 {
		s.log.Info().Str("uid", uid).Int("connections", len(conns)).Msg("user disconnected")
	}
	return len(conns)
}

// Flush sends every buffered push now instead of at the end of its batch
// window (Sente's {:flush? true}). It covers what reached this server;
// with a networked Broker, publications still in flight are not covered.
func (s *Server) Flush() { s.reg.flushAll() }

// ConnectedUIDs returns a snapshot of the connected uids.
func (s *Server) ConnectedUIDs() ConnectedUIDs { return s.reg.connectedUIDs() }

// WatchUIDs subscribes to changes of ConnectedUIDs: changed receives a
// value after one or more changes (coalesced, never blocking the server);
// call ConnectedUIDs for the new state. stop ends the subscription; it is
// idempotent. The exact order of connects and disconnects is what the
// uidport events on Events tell.
func (s *Server) WatchUIDs() (changed <-chan struct{}, stop func()) { return s.reg.watch() }

// Close shuts the server down gracefully: it refuses new connections and
// requests (503), flushes buffered pushes, answers held polls (with the
// pushes queued for them, or "no data"), waits for the application's
// replies to the callbacks already handed to it (for at most
// Config.CallbackTimeout each; doc.go, "Closing"), lets every WebSocket
// write what is queued for it and then ends it so that its client
// reconnects, and waits for every connection and request to finish. When ctx
// ends first, it closes what is left at once, answers pending Ajax
// callbacks :chsk/timeout, and returns ctx.Err(). Events is closed when
// Close returns. Later calls wait for the first to finish and return
// ErrServerClosed. Close does not close the http.Server that serves
// Handler.
func (s *Server) Close(ctx context.Context) error {
	first := false
	s.closeOnce.Do(func() {
		first = true
		s.closeErr = s.shutdown(ctx)
		close(s.closed)
	})
	if first {
		return s.closeErr
	}
	select {
	case <-s.closed:
		return ErrServerClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Server) shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.bp.leave(s.reg.localUIDs())
	s.reg.flushAll()
	for _, t := range s.reg.close() {
		t.shutdown()
	}
	if s.hooks.draining != nil {
		s.hooks.draining()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		close(s.hardStop)
		for _, t := range s.reg.all() {
			t.abort(closeShutdown)
		}
		<-done
	}
	if n := s.badCarry.Swap(0); n > 0 {
		s.log.Warn().Int64("not_logged", n).Msg("bad frames dropped")
	}
	close(s.stopBG)
	if s.poll != nil {
		s.poll.close() // no connection is parked: all have ended
	}
	s.bg.Wait()
	s.bp.closeOwn()
	close(s.events)
	return err
}

// isClosing reports whether Close has begun.
func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// track counts a request in s.wg, unless Close has begun.
func (s *Server) track() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// deliverEvent hands msg to the application, waiting while Events is
// full, until cancel is closed or Close gives up. It reports whether msg
// was delivered.
func (s *Server) deliverEvent(msg Message, cancel <-chan struct{}) bool {
	select {
	case s.events <- msg:
		return true
	default:
	}
	select {
	case s.events <- msg:
		return true
	case <-cancel:
	case <-s.hardStop:
	}
	return false
}

// awaitOpen waits until the uidport-open notice open, if not nil, has
// reached the application, so that it comes before any event of the
// connection that caused it, or until Close gives up.
func (s *Server) awaitOpen(open *notice) {
	if open == nil {
		return
	}
	select {
	case <-open.done:
	case <-s.hardStop:
	}
}

// userID returns the uid for a new client-id.
func (s *Server) userID(r *http.Request, cid string) string {
	if s.cfg.UserID != nil {
		return s.cfg.UserID(r, cid)
	}
	return randomID()
}

// randomID returns a random UUID-shaped string (version 4).
func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// connFields adds the fields of a connection of client cl by transport t
// (uid, client_id, transport) to e, an event of the server's logger. A
// connection keeps no logger of its own: it logs rarely, and an idle one
// should cost little (issue 19). e may be nil (its level is off).
func connFields(e *zerolog.Event, cl *client, t Transport) *zerolog.Event {
	return e.Str("uid", cl.uid).Str("client_id", cl.id).Str("transport", t.String())
}

// notifier hands uidport events to the application in the order the
// registry produced them, on its own goroutine, so that the registry
// never blocks on Events.
type notifier struct {
	wake chan struct{} // cap 1: q is not empty
	mu   sync.Mutex    // guards q
	q    []*notice
}

// add queues n; called under the registry lock, which fixes the order.
func (n *notifier) add(x *notice) {
	n.mu.Lock()
	n.q = append(n.q, x)
	n.mu.Unlock()
	signal(n.wake)
}

// run delivers queued notices until stop is closed; notices left then are
// dropped (their done channels closed).
func (n *notifier) run(s *Server, stop <-chan struct{}) {
	for {
		select {
		case <-n.wake:
		case <-stop:
			n.mu.Lock()
			q := n.q
			n.q = nil
			n.mu.Unlock()
			for _, x := range q {
				if x.done != nil {
					close(x.done)
				}
			}
			return
		}
		for {
			n.mu.Lock()
			q := n.q
			n.q = nil
			n.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for i, x := range q {
				s.deliverEvent(x.msg, stop)
				if x.done != nil {
					close(x.done)
				}
				q[i] = nil
			}
		}
	}
}
