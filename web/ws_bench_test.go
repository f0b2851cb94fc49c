package web

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// benchConns is the number of WebSockets of the benchmarks: client and
// server share one process, so 5,000 connections take 10,000 descriptors.
const benchConns = 5000

// needFDs skips the benchmark under -short or when the process cannot
// open enough descriptors (raising the soft limit to the hard one first).
func needFDs(b *testing.B) {
	b.Helper()
	if testing.Short() {
		b.Skip("skipped under -short")
	}
	const need = 2*benchConns + 200
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Skipf("cannot read the descriptor limit: %v", err)
	}
	if lim.Cur < need && lim.Max >= need {
		lim.Cur = need
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) // checked below
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if lim.Cur < need {
		b.Skipf("needs %d file descriptors, the limit is %d (ulimit -n)", need, lim.Cur)
	}
}

// benchServer is a Server behind an httptest server whose application
// drains Events.
type benchServer struct {
	s       *Server
	hs      *httptest.Server
	addr    string
	appDone chan struct{}
}

func newBenchServer(b *testing.B, cfg Config) *benchServer {
	b.Helper()
	if cfg.CSRFToken == nil {
		cfg.CSRFToken = func(*http.Request) string { return "t" } // the clients' csrf-token
	}
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	bs := &benchServer{s: s, hs: httptest.NewServer(s.Handler()), appDone: make(chan struct{})}
	bs.addr = strings.TrimPrefix(bs.hs.URL, "http://")
	go func() {
		defer close(bs.appDone)
		for range s.Events() {
		}
	}()
	return bs
}

func (bs *benchServer) close(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := bs.s.Close(ctx); err != nil {
		b.Errorf("Close: %v", err)
	}
	<-bs.appDone
	bs.hs.Close()
}

// wsConnCount returns the number of registered WebSockets.
func (bs *benchServer) wsConnCount() int {
	bs.s.reg.mu.Lock()
	defer bs.s.reg.mu.Unlock()
	return bs.s.reg.live[TransportWS.index()]
}

// rawDial opens a WebSocket with a hand-written upgrade request and reads
// up to the first frame (so the server's goroutines are running), keeping
// nothing but the net.Conn: the client side of the idle benchmark costs as
// little as possible.
func rawDial(addr, cid string, scratch []byte) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	req := "GET /?client-id=" + cid + "&csrf-token=t HTTP/1.1\r\nHost: " + addr +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(waitFor)) // a failed deadline shows as a hang, caught by the benchmark timeout
	n := 0
	for {
		m, err := c.Read(scratch[n:])
		if err != nil {
			c.Close()
			return nil, err
		}
		n += m
		if i := bytes.Index(scratch[:n], []byte("\r\n\r\n")); i >= 0 && n > i+4 {
			break
		}
		if n == len(scratch) {
			n = copy(scratch, scratch[n-4:n])
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

// BenchmarkIdleWebSocket measures the heap each idle WebSocket costs, at
// 5,000 connections: KiB/conn is the growth of HeapAlloc (after GC) per
// connection, the clients' bare net.Conns included; stack-KiB/conn is the
// goroutine stacks (two per connection), which the runtime keeps outside
// the heap. An op is one ConnectedUIDs snapshot of the 5,000 uids.
func BenchmarkIdleWebSocket(b *testing.B) {
	needFDs(b)
	bs := newBenchServer(b, Config{})
	defer bs.close(b)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()
	scratch := make([]byte, 4096)
	for i := range benchConns {
		c, err := rawDial(bs.addr, fmt.Sprintf("idle-%05d", i), scratch)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	for bs.wsConnCount() < benchConns {
		time.Sleep(time.Millisecond) // a benchmark, not a test: the count has no event to wait on
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / benchConns / 1024
	stack := float64(int64(after.StackInuse)-int64(before.StackInuse)) / benchConns / 1024
	perConn := float64(runtime.NumGoroutine()-goroutines) / benchConns
	if heap > 10 {
		b.Errorf("idle WebSocket costs %.1f KiB of heap, target 10", heap)
	}
	for b.Loop() {
		if got := len(bs.s.ConnectedUIDs().Any); got != benchConns {
			b.Fatalf("%d uids connected", got)
		}
	}
	// After the loop: b.Loop drops metrics reported before it.
	b.ReportMetric(heap, "KiB/conn")
	b.ReportMetric(stack, "stack-KiB/conn")
	b.ReportMetric(perConn, "goroutines/conn")
}

// BenchmarkBroadcast5000 pushes one event to 5,000 WebSockets: Broadcast
// then Flush, until every client has read it (sente-ms/op), next to a loop
// writing one gorilla PreparedMessage to the same server-side connections
// from one goroutine (raw-ms/op); sente/raw is their ratio (target 1.2).
// The clients, one reader goroutine each, are the same for both. An op is
// one of each.
func BenchmarkBroadcast5000(b *testing.B) {
	needFDs(b)
	bs := newBenchServer(b, Config{PingInterval: time.Hour, DetectTimeout: time.Minute})
	defer bs.close(b)

	marker := []byte(`[[["~:bench/push"`)
	var received atomic.Int64
	var target atomic.Int64
	target.Store(-1)
	reached := make(chan struct{}, 1)
	var readers sync.WaitGroup
	var clients []*websocket.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
		readers.Wait()
	}()
	hello, _ := protocol.GenV2.ClientFrame(helloEvent(0), protocol.Callback{})
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	for i := range benchConns {
		c, _, err := d.Dial(fmt.Sprintf("ws://%s/?client-id=bc-%05d&csrf-token=t", bs.addr, i), nil)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		if err := c.WriteMessage(websocket.TextMessage, hello); err != nil { // pins v2
			b.Fatal(err)
		}
		clients = append(clients, c)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				if bytes.HasPrefix(data, marker) && received.Add(1) == target.Load() {
					reached <- struct{}{}
				}
			}
		}()
	}
	// Every server connection registered and pinned to v2.
	var server []*websocket.Conn
	for {
		server = server[:0]
		bs.s.reg.mu.Lock()
		for _, cl := range bs.s.reg.clients {
			if c, ok := cl.conns[TransportWS.index()].(*wsConn); ok {
				if g, _ := c.candidates().Only(); g == protocol.GenV2 {
					server = append(server, c.ws)
				}
			}
		}
		bs.s.reg.mu.Unlock()
		if len(server) == benchConns {
			break
		}
		time.Sleep(time.Millisecond) // a benchmark: nothing to wait on
	}

	ev := protocol.Event{ID: "bench/push", Data: transit.NewMap(kw("id"), 42, kw("text"), "a tweet of ordinary length, about a hundred bytes of text.")}
	frame, err := protocol.GenV2.Batch(ev)
	if err != nil {
		b.Fatal(err)
	}
	wait := func() {
		select {
		case <-reached:
		case <-time.After(time.Minute):
			b.Fatalf("only %d of %d frames arrived", received.Load(), target.Load())
		}
	}
	// The two variants alternate, so that a change of machine load (other
	// processes, GC of the setup) weighs on both alike.
	broadcast := func() {
		if err := bs.s.Broadcast(ev); err != nil {
			b.Fatal(err)
		}
		bs.s.Flush()
	}
	raw := func() {
		pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, c := range server {
			_ = c.SetWriteDeadline(deadline) // a failed write is reported below
			if err := c.WritePreparedMessage(pm); err != nil {
				b.Fatal(err)
			}
		}
	}
	timed := func(send func()) time.Duration {
		target.Store(received.Load() + benchConns)
		start := time.Now()
		send()
		wait()
		return time.Since(start)
	}
	timed(broadcast) // warm up both paths
	timed(raw)
	runtime.GC()
	var sente, gorilla time.Duration
	n := 0
	for b.Loop() {
		sente += timed(broadcast)
		gorilla += timed(raw)
		n++
	}
	b.ReportMetric(float64(sente.Microseconds())/1000/float64(n), "sente-ms/op")
	b.ReportMetric(float64(gorilla.Microseconds())/1000/float64(n), "raw-ms/op")
	b.ReportMetric(float64(sente)/float64(gorilla), "sente/raw")
}

// BenchmarkInboundEvents measures the server's side of client events: 50
// WebSockets each send their turn of one event frame, round-robin from one
// goroutine, and the application reads the events. An op is one event
// read by the application; each usually arrives alone on its socket, so
// each wakes that socket's reader (the worst case of a reader that leaves
// its wait to a fresh goroutine after each event, issue 19).
func BenchmarkInboundEvents(b *testing.B) {
	const clients = 50
	s, err := New(Config{CSRFToken: func(*http.Request) string { return "t" }, PingInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	var read atomic.Int64
	var target atomic.Int64
	target.Store(-1)
	reached := make(chan struct{}, 1)
	appDone := make(chan struct{})
	go func() {
		defer close(appDone)
		for m := range s.Events() {
			if m.Event.ID == "test/hello" && read.Add(1) == target.Load() {
				reached <- struct{}{}
			}
		}
	}()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			b.Errorf("Close: %v", err)
		}
		<-appDone
	}()
	frame, err := protocol.GenV2.ClientFrame(helloEvent(0), protocol.Callback{})
	if err != nil {
		b.Fatal(err)
	}
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	conns := make([]*websocket.Conn, clients)
	for i := range conns {
		c, _, err := d.Dial(fmt.Sprintf("ws://%s/?client-id=in-%03d&csrf-token=t", strings.TrimPrefix(hs.URL, "http://"), i), nil)
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		defer c.Close()
		go func() { // drains the server's frames, so that its writes never stall
			for {
				if _, _, err := c.NextReader(); err != nil {
					return
				}
			}
		}()
		conns[i] = c
	}
	send := func(n int) {
		start := read.Load()
		target.Store(start + int64(n))
		for i := range n {
			if err := conns[i%clients].WriteMessage(websocket.TextMessage, frame); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-reached:
		case <-time.After(waitFor):
			b.Fatalf("%d of %d events read", read.Load()-start, n)
		}
	}
	send(clients) // every socket pinned and its reader warm
	b.ReportAllocs()
	b.ResetTimer()
	send(b.N)
}
