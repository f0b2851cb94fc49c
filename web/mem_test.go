package web

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
)

// memPad is the size of the extra header of the memory tests' requests:
// large enough that keeping each request, or each closed connection,
// shows in the heap.
const memPad = 200 << 10

// TestClosedConnectionsFreed opens and closes many WebSockets (and Ajax
// handshake polls) whose requests carry a 200 KB header, with a one-hour
// PingInterval, and checks that every upgrade request, every connection
// and every poll request is freed once closed, long before its next ping
// would have fallen due, and that the heap returns near its baseline
// (issue 13: each closed socket kept its request until its next ping, 25 s
// later).
func TestClosedConnectionsFreed(t *testing.T) {
	const cycles = 150
	cfg := testConfig()
	cfg.PingInterval = time.Hour
	reqFreed := make(chan struct{}, 2*cycles)
	cfg.UserID = func(r *http.Request, cid string) string {
		// Called once per new client-id, with the whole request.
		runtime.AddCleanup(r, func(ch chan struct{}) { ch <- struct{}{} }, reqFreed)
		return testUID(r, cid)
	}
	ts := newTestServer(t, cfg)
	connFreed := make(chan struct{}, cycles)
	ts.s.hooks.wsOpen = func(c *wsConn) {
		runtime.AddCleanup(c, func(ch chan struct{}) { ch <- struct{}{} }, connFreed)
	}
	go func() {
		for range ts.s.Events() { // uidport events; closed by Close
		}
	}()
	pad := strings.Repeat("x", memPad)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()
	start := time.Now()

	d := websocket.Dialer{HandshakeTimeout: waitFor}
	wsURL := "ws" + strings.TrimPrefix(ts.url, "http")
	p := profileNamed(t, "v2")
	for i := range cycles {
		cid := fmt.Sprintf("mem%d-tab1", i)
		conn, _, err := d.Dial(wsURL+"?"+p.wsQuery(cid, testToken), http.Header{"Origin": {testOrigin}, "X-Pad": {pad}})
		if err != nil {
			t.Fatalf("cycle %d: dial: %v", i, err)
		}
		conn.SetReadDeadline(time.Now().Add(waitFor))
		if _, _, err := conn.ReadMessage(); err != nil { // the handshake
			t.Fatalf("cycle %d: handshake: %v", i, err)
		}
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "")
		_ = conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(waitFor)) // closed next anyway
		conn.Close()

		// An Ajax client's handshake poll, whose request the server
		// must not keep either.
		req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s?udt=%d&client-id=ajax%d-tab1&handshake%%3F=1", ts.url, i, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		ts.ajax(t, "a", p, "").header(req)
		req.Header.Set("X-Pad", pad)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("cycle %d: poll: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("cycle %d: poll: %d", i, resp.StatusCode)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	waitFreed(t, connFreed, cycles, "closed WebSockets")
	waitFreed(t, reqFreed, 2*cycles, "requests (upgrades and polls)")
	grown := int64(heap()) - int64(base)
	elapsed := time.Since(start)
	t.Logf("%d cycles with a %d KiB header: heap %+d KiB after %v", cycles, memPad>>10, grown>>10, elapsed)
	// Keeping the requests would be 2*cycles*memPad (60 MB); allow a
	// quarter of the upgrade requests' pads (7.5 MB) for noise.
	if limit := int64(cycles * memPad / 4); grown > limit {
		t.Fatalf("heap grew by %d KiB after %d closed connections, want under %d KiB", grown>>10, cycles, limit>>10)
	}
	if elapsed >= cfg.PingInterval {
		t.Fatalf("took %v, the ping interval", elapsed)
	}
}

// TestWebSocketRequestKept checks what Message.Request of a WebSocket
// event is: the upgrade request's URL, remote address and context values, with
// its header fields up to MaxKeptHeaderBytes but for the WebSocket
// handshake's, no body, while the hooks got the whole request; each
// event has a request of its own.
func TestWebSocketRequestKept(t *testing.T) {
	cfg := testConfig()
	hookPad := make(chan int, 1)
	cfg.UserID = func(r *http.Request, cid string) string {
		hookPad <- len(r.Header.Get("X-Pad"))
		return testUID(r, cid)
	}
	ts := newTestServer(t, cfg)
	p := profileNamed(t, "v2")
	header := http.Header{
		"Origin": {testOrigin},
		"X-Pad":  {strings.Repeat("x", memPad)},
		"X-Zz":   {strings.Repeat("z", MaxKeptHeaderBytes/2)},
		"Cookie": {"session=abc"},
	}
	conn, _, err := ts.dialWSRaw(t, "c", p.wsQuery("kept-tab1", testToken), header)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &wsClient{t: t, ts: ts, p: p, label: "c", cid: "kept-tab1", conn: conn}
	c.expectHandshake()
	if n := <-hookPad; n != memPad {
		t.Fatalf("UserID saw an X-Pad of %d bytes, want %d", n, memPad)
	}
	c.send(helloEvent(1), "")
	ts.expectEvent(t, IDUIDPortOpen)
	m := ts.expectEvent(t, "test/hello")
	r := m.Request
	if r == nil {
		t.Fatal("no Request")
	}
	if got := r.URL.Query().Get("client-id"); got != "kept-tab1" {
		t.Errorf("Request.URL client-id = %q", got)
	}
	if r.Method != http.MethodGet || r.RemoteAddr == "" || r.Host == "" {
		t.Errorf("Request: method %q, remote %q, host %q", r.Method, r.RemoteAddr, r.Host)
	}
	if r.Header.Get("Origin") != testOrigin {
		t.Errorf("Origin = %q", r.Header.Get("Origin"))
	}
	if ck, err := r.Cookie("session"); err != nil || ck.Value != "abc" {
		t.Errorf("cookie session = %v, %v", ck, err)
	}
	if r.Header.Get("X-Pad") != "" {
		t.Errorf("X-Pad of %d bytes kept, over MaxKeptHeaderBytes", len(r.Header.Get("X-Pad")))
	}
	if len(r.Header.Get("X-Zz")) != MaxKeptHeaderBytes/2 {
		t.Errorf("X-Zz (after X-Pad, and within the bound) not kept")
	}
	size := 0
	for name, vs := range r.Header {
		for _, v := range vs {
			size += len(name) + len(v) + 4
		}
	}
	if size > MaxKeptHeaderBytes {
		t.Errorf("kept %d header bytes, over %d", size, MaxKeptHeaderBytes)
	}
	if r.Body != http.NoBody || r.Form != nil {
		t.Errorf("Request has a body %v or a form %v", r.Body, r.Form)
	}
	if r.Context().Err() == nil {
		t.Errorf("Request's context not done after the upgrade")
	}
	if r.Context().Value(http.ServerContextKey) == nil {
		t.Errorf("Request's context lost the upgrade request's values")
	}
	for _, name := range []string{"Upgrade", "Connection", "Sec-WebSocket-Key", "Sec-WebSocket-Version"} {
		if v := r.Header.Get(name); v != "" {
			t.Errorf("handshake field %s: %q kept", name, v)
		}
	}
	r.Header.Set("Origin", "changed by the first event's handler")
	c.send(helloEvent(2), "")
	r2 := ts.expectEvent(t, "test/hello").Request
	if r2 == r || r2.Header.Get("Origin") != testOrigin {
		t.Errorf("second event: request %p (first %p), Origin %q", r2, r, r2.Header.Get("Origin"))
	}
}

// TestIdleReaderStack checks what an idle WebSocket's reader keeps after
// its client has sent pongs and events (issue 19), parked and not.
//
// Parked (the default where the system has epoll), an idle connection
// has no goroutine: the runtime's goroutines grow by at most one per 20
// connections, and its stacks by at most 1 KiB per connection (the stacks
// of the readers that have exited are freed, but the runtime keeps some
// of their memory for its next goroutines).
//
// Not parked, its one goroutine keeps the smallest stack: reading an
// event and handing it to the application grows the reader's stack, so
// the reader leaves its wait to a fresh goroutine. The runtime starts a
// goroutine with the average stack its goroutines used at the last GC.
// In a burst of events, as when every client connects at once, that can
// be 4 KiB, and the waits then started keep it; a connection's next frame
// (a Sente client sends a keep-alive every 10 to 25 s) moves its wait to
// a goroutine started in calmer times. So the clients send two rounds of
// pongs and an event, with a GC between them; after the second, the
// stacks (after a GC) have grown by at most 2.5 KiB per connection (a
// reader that kept the stack it grew has 4 KiB or more).
//
// The clients have no goroutines: their stacks are not counted.
func TestIdleReaderStack(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes stacks larger; make test runs this test without it")
	}
	const conns = 1000
	for _, parked := range []bool{true, false} {
		name := "parked"
		if !parked {
			name = "goroutine"
		}
		t.Run(name, func(t *testing.T) {
			ts := newTestServer(t, testConfig())
			ts.s.hooks.noPark = !parked
			if parked && ts.s.poll == nil {
				t.Skip("no poller on this system")
			}
			stacks := func() (int64, int) {
				runtime.GC()
				s := []rtmetrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
				rtmetrics.Read(s)
				return int64(s[0].Value.Uint64()), runtime.NumGoroutine()
			}
			baseStacks, baseG := stacks()
			d := websocket.Dialer{HandshakeTimeout: waitFor}
			wsURL := "ws" + strings.TrimPrefix(ts.url, "http")
			p := profileNamed(t, "v2")
			pong := clientFrame(0xA, true, []byte("pong"))
			clients := make([]*websocket.Conn, conns)
			for i := range clients {
				c, _, err := d.Dial(wsURL+"?"+p.wsQuery(fmt.Sprintf("stack%d-tab1", i), testToken), http.Header{"Origin": {testOrigin}})
				if err != nil {
					t.Fatalf("dial %d: %v", i, err)
				}
				defer c.Close()
				clients[i] = c
			}
			round := func(n int) {
				for i, c := range clients {
					// Unsolicited pongs (RFC 6455, section 5.5.3), one split
					// over two writes, then an event, which the server reads
					// after them.
					for _, b := range [][]byte{pong, pong[:2], pong[2:], pong} {
						if _, err := c.NetConn().Write(b); err != nil {
							t.Fatal(err)
						}
					}
					frame, err := p.dialect().ClientFrame(helloEvent(n*conns+i), protocol.Callback{})
					if err != nil {
						t.Fatal(err)
					}
					if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
						t.Fatal(err)
					}
				}
				for hellos := 0; hellos < conns; {
					if ts.event(t).Event.ID == "test/hello" {
						hellos++
					}
				}
			}
			round(0)
			st, _ := stacks()
			t.Logf("after a burst: %d bytes of stack per connection", (st-baseStacks)/conns)
			round(1)
			maxStack, maxG := int64(2560), conns
			if parked {
				maxStack, maxG = 1024, conns/20
			}
			var per int64
			var g int
			if !testsupport.Eventually(waitFor, func() bool {
				st, n := stacks()
				per, g = (st-baseStacks)/conns, n-baseG
				return per <= maxStack && g <= maxG
			}) {
				t.Fatalf("%d bytes of stack per idle connection, %d more goroutines; want at most %d, %d", per, g, maxStack, maxG)
			}
			t.Logf("%d bytes of stack per idle connection, %d more goroutines", per, g)
		})
	}
}
