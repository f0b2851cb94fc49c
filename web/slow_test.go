package web

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// smallBufListener gives accepted connections a small send buffer, so
// that a client that does not read fills it soon: every connection, or
// with firstOnly the first one only (TestSlowConsumer's slow client dials
// first).
type smallBufListener struct {
	net.Listener
	firstOnly bool
	once      sync.Once
}

func (l *smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		small := func() { _ = tc.SetWriteBuffer(8 << 10) } // a best effort: the tests only run longer without it
		if l.firstOnly {
			l.once.Do(small)
		} else {
			small()
		}
	}
	return c, err
}

// startSmallBufServer runs a Server with cfg behind a smallBufListener
// and hands each of its events to onEvent, on the one goroutine of the
// application; the test's cleanup closes both. It returns the Server and
// its address.
func startSmallBufServer(t *testing.T, cfg Config, firstOnly bool, onEvent func(Message)) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(s.Handler())
	hs.Listener = &smallBufListener{Listener: hs.Listener, firstOnly: firstOnly}
	hs.Start()
	appDone := make(chan struct{})
	go func() {
		defer close(appDone)
		for m := range s.Events() {
			onEvent(m)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-appDone
		hs.Close()
	})
	return s, strings.TrimPrefix(hs.URL, "http://")
}

// TestSlowConsumer connects many clients that read and one that never
// does, and broadcasts large pushes: every reading client gets every push
// within the batching window plus delivery, the slow one is disconnected
// once its queue is full, and its queue never exceeds the limits.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	const (
		fastClients = 20
		pushBytes   = 8 << 10
		maxPushes   = 300
		queueLen    = 64
		queueBytes  = 256 << 10
	)
	cfg := Config{
		UserID:          testUID,
		CSRFToken:       func(*http.Request) string { return "x" },
		SendQueueLen:    queueLen,
		SendQueueBytes:  queueBytes,
		WriteTimeout:    5 * time.Second,
		DisconnectGrace: 10 * time.Millisecond,
	}
	// The application: note when the slow client leaves.
	slowGone := make(chan struct{})
	s, addr := startSmallBufServer(t, cfg, true, func(m Message) {
		if m.Event.ID == IDUIDPortClose && m.UID == "u-slow" {
			close(slowGone)
		}
	})
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	wsURL := "ws://" + addr + "/chsk?csrf-token=x&client-id="
	dialer := websocket.Dialer{HandshakeTimeout: waitFor}

	// The slow client reads nothing, with a small receive buffer; its
	// first frame pins its generation so pushes are not held.
	slowDialer := dialer
	slowDialer.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4 << 10) // best effort, as above
		}
		return c, err
	}
	slow, _, err := slowDialer.Dial(wsURL+"slow-tab1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	hello, _ := protocol.GenV2.ClientFrame(helloEvent(0), protocol.Callback{})
	if err := slow.WriteMessage(websocket.TextMessage, hello); err != nil {
		t.Fatal(err)
	}

	// The fast clients read everything, answer the probe, and report the
	// id of every push.
	type receipt struct {
		client, id int
		at         time.Time
	}
	receipts := make(chan receipt, fastClients*4)
	var readers sync.WaitGroup
	var fast []*websocket.Conn
	for i := range fastClients {
		c, _, err := dialer.Dial(wsURL+"fast"+string(rune('a'+i))+"-tab1", nil)
		if err != nil {
			t.Fatal(err)
		}
		fast = append(fast, c)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, data, err := c.ReadMessage()
				if err != nil {
					return
				}
				at := time.Now()
				sf, err := protocol.GenV2.ParseServerFrame(data)
				if err != nil {
					continue // the v1 handshake of the dual send
				}
				switch v := sf.Value.(type) {
				case transit.Keyword: // the probe
					pong, _ := protocol.GenV2.ClientFrame(protocol.Event{ID: protocol.IDWSPong}, protocol.Callback{})
					if err := c.WriteMessage(websocket.TextMessage, pong); err != nil {
						return
					}
				case []any:
					for _, x := range v {
						ev, err := protocol.EventFromValue(x)
						if err != nil || ev.ID != "test/big" {
							continue
						}
						id, _ := ev.Data.(*transit.Map).Get(kw("id"))
						receipts <- receipt{i, int(id.(int64)), at}
					}
				}
			}
		}()
	}
	defer func() {
		for _, c := range fast {
			c.Close()
		}
		readers.Wait()
	}()
	// Wait until every client is registered and pinned.
	testsupport.Await(t, waitFor, "every client registered and pinned", func() bool {
		s.reg.mu.Lock()
		defer s.reg.mu.Unlock()
		n := 0
		for _, cl := range s.reg.clients {
			if c, ok := cl.conns[0].(*wsConn); ok {
				if _, pinned := c.candidates().Only(); pinned {
					n++
				}
			}
		}
		return n == fastClients+1
	})
	slowConn := func() *wsConn {
		s.reg.mu.Lock()
		defer s.reg.mu.Unlock()
		if cl := s.reg.clients["slow-tab1"]; cl != nil {
			c, _ := cl.conns[0].(*wsConn)
			return c
		}
		return nil
	}()

	payload := strings.Repeat("x", pushBytes)
	var latencies []time.Duration
	maxQueued, maxQueuedBytes := 0, 0
	pushes, after := 0, -1
	for ; pushes < maxPushes && after != 0; pushes++ {
		sent := time.Now()
		ev := protocol.Event{ID: "test/big", Data: transit.NewMap(kw("id"), pushes, kw("pad"), payload)}
		if err := s.Broadcast(ev); err != nil {
			t.Fatal(err)
		}
		got := make([]bool, fastClients)
		for n := 0; n < fastClients; {
			select {
			case r := <-receipts:
				if r.id != pushes || got[r.client] {
					t.Fatalf("client %d got push %d, want %d once", r.client, r.id, pushes)
				}
				got[r.client] = true
				latencies = append(latencies, r.at.Sub(sent))
				n++
			case <-time.After(waitFor):
				t.Fatalf("push %d: only %d of %d clients got it", pushes, n, fastClients)
			}
		}
		n, b := slowConn.q.stats()
		maxQueued, maxQueuedBytes = max(maxQueued, n), max(maxQueuedBytes, b)
		select {
		case <-slowGone:
			if after < 0 {
				after = 10 // keep pushing a little after the disconnect
			}
		default:
		}
		if after > 0 {
			after--
		}
	}
	select {
	case <-slowGone:
	default:
		t.Fatalf("the slow client was not disconnected after %d pushes", pushes)
	}
	if maxQueued > queueLen || maxQueuedBytes > queueBytes {
		t.Errorf("slow queue reached %d items, %d bytes; limits %d, %d", maxQueued, maxQueuedBytes, queueLen, queueBytes)
	}
	slices.Sort(latencies)
	p50, p99, worst := latencies[len(latencies)/2], latencies[len(latencies)*99/100], latencies[len(latencies)-1]
	t.Logf("%d pushes of %d KiB to %d readers; latency p50 %v p99 %v max %v (window %v); slow queue peaked at %d items, %d KiB",
		pushes, pushBytes>>10, fastClients, p50, p99, worst, defaultWSBatchWindow, maxQueued, maxQueuedBytes>>10)
	// The fast clients kept getting every push while the slow one's queue
	// was backed up (it peaked well above one item): nothing waited for it.
	if maxQueued < 8 {
		t.Errorf("the slow client never fell behind (queue peaked at %d)", maxQueued)
	}
	// The median is the window plus delivery. (The tail is not checked: on
	// a shared 2-core machine under -race the whole process gets stalled
	// now and then, which delays every client alike.)
	if p50 > defaultWSBatchWindow+100*time.Millisecond {
		t.Errorf("median latency %v: the slow client delays the others", p50)
	}
	var after2 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after2)
	if grown := int64(after2.HeapAlloc) - int64(before.HeapAlloc); grown > 32<<20 {
		t.Errorf("heap grew by %d MiB", grown>>20)
	}
}
