package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
)

// TestWebSocketSilentClient shows the probe window (doc.go, "Client
// generations"): clients that never speak and do not answer the v2 probe
// (1.16, 1.18) get their pushes after DetectTimeout, once, in v1; a 1.21
// client that answers gets them at once in v2. Transcripts:
// testdata/web/ws-silent-<release>.golden.
func TestWebSocketSilentClient(t *testing.T) {
	v118 := profileNamed(t, "v2mixed")
	v118.name, v118.version, v118.pingCallback, v118.answersServerPing = "v118", "1.18.0", true, false
	for _, p := range []profile{profileNamed(t, "v1"), v118, profileNamed(t, "v2")} {
		t.Run(p.version, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.DetectTimeout = 200 * time.Millisecond
			ts := newTestServer(t, cfg)
			ts.tr.linef("# A Sente %s client that does not speak first (DetectTimeout %v)", p.version, cfg.DetectTimeout)
			a := ts.dialWS(t, "A", p, p.name+"-tab1")
			ts.expectEvent(t, IDUIDPortOpen)
			a.expectHandshake()
			ts.send(t, "u-"+p.name, tweetEvent(1))
			a.expectBatch(1)
			ts.send(t, "u-"+p.name, tweetEvent(2))
			a.expectBatch(1)
			checkGolden(t, "ws-silent-"+strings.ReplaceAll(p.version, ".", ""), ts.tr.String())
		})
	}
}

// TestWebSocketShutdown checks how Close ends each generation's socket:
// queued pushes are written first; 1.9–1.17 clients (which never
// reconnect after a close frame) see the stream end without one (1006),
// the others get 1001 going away.
func TestWebSocketShutdown(t *testing.T) {
	wantCode := map[string]int{
		"flexi":   websocket.CloseGoingAway,
		"v1":      websocket.CloseAbnormalClosure,
		"v2mixed": websocket.CloseGoingAway,
		"v2":      websocket.CloseGoingAway,
	}
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, testConfig())
			a := ts.dialWS(t, "A", p, p.name+"-tab1")
			ts.expectEvent(t, IDUIDPortOpen)
			a.expectHandshake()
			a.send(helloEvent(1), "") // pins the generation
			ts.expectEvent(t, "test/hello")
			ts.send(t, "u-"+p.name, tweetEvent(1)) // still in its batch window

			closed := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				defer cancel()
				closed <- ts.s.Close(ctx)
			}()
			a.expectBatch(1)
			if code := a.readClose(); code != wantCode[p.name] {
				t.Errorf("close code %d, want %d", code, wantCode[p.name])
			}
			a.conn.Close()
			if err := <-closed; err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := ts.s.Send("u-"+p.name, tweetEvent(2)); !errors.Is(err, ErrServerClosed) {
				t.Errorf("Send after Close: %v", err)
			}
			r := ts.rawRequest(t, "X", http.MethodGet, "_=1&client-id=x", "", http.Header{"Origin": {testOrigin}})
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("poll after Close: %d", r.status)
			}
		})
	}
}

// TestWebSocketReadLimit checks that a message over ReadLimit closes the
// socket with 1009.
func TestWebSocketReadLimit(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ReadLimit = 1024
	ts := newTestServer(t, cfg)
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "big-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	a.send(protocol.Event{ID: "test/big", Data: strings.Repeat("x", 2000)}, "")
	if code := a.readClose(); code != websocket.CloseMessageTooBig {
		t.Fatalf("close code %d, want 1009", code)
	}
}

// TestWebSocketKeepAlive checks the RFC 6455 pings, and that a peer that
// stops answering them is closed.
func TestWebSocketKeepAlive(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PingInterval = 50 * time.Millisecond
	// Long enough that a loaded CI machine stalling the live client's
	// goroutine for a second does not make it look dead.
	cfg.PongTimeout = 4 * time.Second
	cfg.DisconnectGrace = 10 * time.Millisecond
	ts := newTestServer(t, cfg)

	// A live client answers pings (gorilla does so while reading) and
	// stays connected.
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "live-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	pings := make(chan struct{}, 16)
	a.conn.SetPingHandler(func(data string) error {
		signal(pings)
		return a.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readErr := a.readAll()
	for range 3 {
		select {
		case <-pings:
		case <-time.After(waitFor):
			t.Fatal("no RFC 6455 ping")
		}
	}

	// A dead client (it never reads, so never answers) is dropped.
	d := ts.dialWS(t, "D", profileNamed(t, "v2"), "dead-tab1")
	m := ts.expectEvent(t, IDUIDPortOpen)
	if m.UID != "u-dead" {
		t.Fatalf("uidport-open of %q", m.UID)
	}
	m = ts.expectEvent(t, IDUIDPortClose)
	if m.UID != "u-dead" {
		t.Fatalf("uidport-close of %q, want u-dead", m.UID)
	}
	_ = d
	if got := ts.s.ConnectedUIDs(); len(got.WS) != 1 || got.WS[0] != "u-live" {
		t.Fatalf("connected %+v", got)
	}
	a.conn.Close()
	<-readErr
}

// TestWebSocketPongsKeepAlive checks that a client that sends nothing
// but pongs, some split over two writes, stays connected well past
// PingInterval+PongTimeout, and that its frames after the pongs are read
// in step: the gate takes the pongs (issue 19).
func TestWebSocketPongsKeepAlive(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PingInterval = 50 * time.Millisecond
	cfg.PongTimeout = time.Second
	ts := newTestServer(t, cfg)
	p := profileNamed(t, "v2")
	a := ts.dialWS(t, "A", p, "pongs-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	a.send(helloEvent(1), "") // pins v2
	ts.expectEvent(t, "test/hello")
	pings := make(chan struct{}, 64)
	var split bool
	a.conn.SetPingHandler(func(data string) error {
		frame := clientFrame(0xA, true, []byte(data))
		split = !split
		if split {
			// The first bytes alone, then the rest: the gate waits for
			// the whole pong.
			if _, err := a.conn.NetConn().Write(frame[:3]); err != nil {
				return err
			}
			time.Sleep(5 * time.Millisecond) // shapes the writes; no event to wait on
			frame = frame[3:]
		}
		_, err := a.conn.NetConn().Write(frame)
		signal(pings)
		return err
	})
	readErr := a.readAll()
	// Three times the time a client has to answer.
	live := 3 * (cfg.PingInterval + cfg.PongTimeout)
	for start := time.Now(); time.Since(start) < live; {
		select {
		case <-pings:
		case err := <-readErr:
			t.Fatalf("the socket ended after %v of pongs: %v", time.Since(start), err)
		case <-time.After(waitFor):
			t.Fatal("no RFC 6455 ping")
		}
	}
	if got := ts.s.ConnectedUIDs(); len(got.WS) != 1 {
		t.Fatalf("connected %+v", got)
	}
	frame, err := p.dialect().ClientFrame(helloEvent(2), protocol.Callback{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		t.Fatal(err)
	}
	if m := ts.expectEvent(t, "test/hello"); show(m.Event.Data) != show(helloEvent(2).Data) {
		t.Fatalf("after the pongs, event data %s", show(m.Event.Data))
	}
	a.conn.Close()
	<-readErr
}

// TestWebSocketClientPingThenPongs checks that a client that sends an RFC
// 6455 ping once and then only answers the server's pings stays
// connected: after the client's ping the reader waits inside gorilla, not
// in the gate, and the pongs gorilla reads keep the deadline too.
func TestWebSocketClientPingThenPongs(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PingInterval = 50 * time.Millisecond
	cfg.PongTimeout = 500 * time.Millisecond
	ts := newTestServer(t, cfg)
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "cp-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	if err := a.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	readErr := a.readAll()
	select {
	case err := <-readErr:
		t.Fatalf("a live client's socket ended: %v", err)
	case <-time.After(3 * (cfg.PingInterval + cfg.PongTimeout)): // the socket must outlive this
	}
	a.conn.Close()
	<-readErr
}

// TestPollerFailure checks that when the poller fails, the parked
// WebSockets are woken and their readers wait in goroutines of their own
// from then on, as do those of the sockets opened later.
func TestPollerFailure(t *testing.T) {
	ts := newTestServer(t, testConfig())
	if ts.s.poll == nil || *noPark {
		t.Skip("no poller")
	}
	p := profileNamed(t, "v2")
	var clients []*wsClient
	dial := func(n int) {
		for i := range n {
			c := ts.dialWS(t, "C", p, fmt.Sprintf("pf%d-tab1", len(clients)+i))
			ts.expectEvent(t, IDUIDPortOpen)
			c.expectHandshake()
			clients = append(clients, c)
		}
	}
	parked := func() int {
		n := 0
		ts.s.reg.mu.Lock()
		defer ts.s.reg.mu.Unlock()
		for _, cl := range ts.s.reg.clients {
			if c, ok := cl.conns[TransportWS.index()].(*wsConn); ok && c.parked.Load() {
				n++
			}
		}
		return n
	}
	dial(5)
	testsupport.Await(t, waitFor, "every socket parked", func() bool { return parked() == 5 && ts.s.m.parked.Load() == 5 })
	ts.s.poll.fail()
	dial(2)
	for i, c := range clients {
		c.send(helloEvent(i), "")
		if m := ts.expectEvent(t, "test/hello"); m.ClientID != c.cid {
			t.Fatalf("event of %s, want %s", m.ClientID, c.cid)
		}
	}
	if n, m := parked(), ts.s.m.parked.Load(); n != 0 || m != 0 {
		t.Fatalf("%d sockets parked after the poller failed (gauge %d)", n, m)
	}
}

// TestWebSocketReplaced checks that a second socket of the same client-id
// replaces the first without uidport churn.
func TestWebSocketReplaced(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testConfig())
	p := profileNamed(t, "v2")
	a := ts.dialWS(t, "A", p, "re-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	b := ts.dialWS(t, "B", p, "re-tab1")
	b.expectHandshake()
	if code := a.readClose(); code != websocket.CloseAbnormalClosure {
		t.Fatalf("replaced socket closed with %d", code)
	}
	ts.send(t, "u-re", tweetEvent(1))
	b.expectBatch(1)
	b.send(helloEvent(1), "")
	if m := ts.event(t); m.Event.ID != "test/hello" {
		t.Fatalf("event %s, want test/hello (no uidport churn)", show(m.Event.Value()))
	}
}

// TestWebSocketReplyErrors checks Reply's errors.
func TestWebSocketReplyErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.DisconnectGrace = 10 * time.Millisecond
	ts := newTestServer(t, cfg)
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "rep-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	a.send(echoEvent("1"), "cb0001")
	m1 := ts.expectEvent(t, "test/echo")
	a.send(echoEvent("2"), "cb0002")
	m2 := ts.expectEvent(t, "test/echo")
	if err := m1.Reply(make(chan int)); err == nil {
		t.Fatal("Reply of a value Transit cannot write succeeded")
	}
	if err := m1.Reply("ok"); err != nil {
		t.Fatal(err)
	}
	if err := m1.Reply("again"); !errors.Is(err, ErrReplied) {
		t.Fatalf("second Reply: %v", err)
	}
	a.expectReply("cb0001")
	a.close()
	ts.expectEvent(t, IDUIDPortClose)
	if err := m2.Reply("late"); !errors.Is(err, ErrReplyExpired) {
		t.Fatalf("Reply after close: %v", err)
	}
}

// TestWebSocketBadFrames checks that malformed and binary frames are
// dropped with the socket kept, and that a client cannot forge a reserved
// event.
func TestWebSocketBadFrames(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testConfig())
	p := profileNamed(t, "v2")
	a := ts.dialWS(t, "A", p, "bad-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	for _, f := range []string{"", "+", "[", "[1,2,3]", `["~:nonamespace",null]`, `[["~:a/b"],42]`, `+j[["~:a/b"]`} {
		a.sendRaw([]byte(f))
	}
	if err := a.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	a.send(protocol.Event{ID: IDUIDPortOpen, Data: "u-someone-else"}, "")
	a.send(helloEvent(7), "")
	ts.expectEvent(t, "test/hello")
}

// TestLogging checks that connections log with uid and client_id fields.
func TestLogging(t *testing.T) {
	t.Parallel()
	var buf testsupport.Buffer
	cfg := testConfig()
	cfg.Logger = zerolog.New(&buf).Level(zerolog.DebugLevel)
	ts := newTestServer(t, cfg)
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "log-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	a.sendRaw([]byte("garbage"))
	a.send(helloEvent(1), "")
	ts.expectEvent(t, "test/hello")
	for _, want := range []string{`"uid":"u-log"`, `"client_id":"log-tab1"`, `"transport":"ws"`, `"message":"bad frame dropped"`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, buf.String())
		}
	}
}

// A callback reply does not overtake the pushes to the uid made before
// it, even when their batch window has not ended.
func TestReplyAfterEarlierPushes(t *testing.T) {
	p := profileNamed(t, "v2")
	cfg := p.config()
	cfg.WSBatchWindow = 5 * time.Second // the push would wait this long
	ts := newTestServer(t, cfg)
	c := ts.dialWS(t, "A", p, "order-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	c.expectHandshake()
	c.send(helloEvent(1), "cb1")
	m := ts.expectEvent(t, "test/hello")
	ts.send(t, "u-order", tweetEvent(1))
	ts.reply(t, m, "done")
	c.expectBatch(1)
	if v := c.expectReply("cb1"); v != "done" {
		t.Fatalf("reply %s", show(v))
	}
}

// TestUnpackablePushDropped checks that a push the connection's dialect
// cannot write is dropped, and the socket kept: the next push arrives.
func TestUnpackablePushDropped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testConfig())
	c := ts.dialWS(t, "A", profileNamed(t, "v2"), "unpack-tab1")
	c.expectHandshake()
	c.send(helloEvent(0), "") // pins it
	ts.expectEvent(t, IDUIDPortOpen)
	ts.expectEvent(t, "test/hello")
	ts.s.reg.mu.Lock()
	conn, _ := ts.s.reg.clients["unpack-tab1"].conns[TransportWS.index()].(*wsConn)
	ts.s.reg.mu.Unlock()
	if conn == nil {
		t.Fatal("no WebSocket registered")
	}
	g, ok := conn.candidates().Only()
	if !ok {
		t.Fatalf("not pinned: %v", conn.candidates())
	}
	bad := &push{events: []protocol.Event{tweetEvent(1)}}
	pf := &bad.frames[ts.s.formatOf(conn.cl)][g]
	pf.once.Do(func() { pf.err = errors.New("cannot pack") })
	conn.deliver(bad)
	ts.send(t, "u-unpack", tweetEvent(2))
	c.expectBatch(1)
}

// TestWebSocketWriterOnDemand checks that an idle WebSocket keeps no
// writer goroutine (issue 19): the writer ends once the handshake is
// written, and each push starts one that ends again once it has written
// the push.
func TestWebSocketWriterOnDemand(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testConfig())
	opened := make(chan *wsConn, 1)
	ts.s.hooks.wsOpen = func(c *wsConn) { opened <- c }
	p := profileNamed(t, "v2")
	a := ts.dialWS(t, "A", p, p.name+"-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	var c *wsConn
	select {
	case c = <-opened:
	case <-time.After(waitFor):
		t.Fatal("no websocket opened")
	}
	idle := func() bool { return !c.writing.Load() }
	testsupport.Await(t, waitFor, "the writer ends after the handshake", idle)
	for i := range 3 {
		ts.send(t, "u-"+p.name, tweetEvent(i+1))
		a.expectBatch(1)
		testsupport.Await(t, waitFor, "the writer ends after a push", idle)
	}
}
