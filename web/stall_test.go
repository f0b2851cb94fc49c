package web

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// stallWebSocket opens a WebSocket with a raw connection and a small
// receive buffer, sends one v2 frame (which pins its generation, so that
// pushes are written rather than held) and then never reads.
func stallWebSocket(t *testing.T, addr, cid string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).SetReadBuffer(4 << 10) // best effort, as above
	_ = c.SetDeadline(time.Now().Add(waitFor))
	fmt.Fprintf(c, "GET /chsk?csrf-token=x&client-id=%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", cid, addr)
	br := bufio.NewReaderSize(c, 64)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 101 ") {
		t.Fatalf("upgrade of %s: %q, %v", cid, status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("upgrade of %s: %v", cid, err)
		}
		if line == "\r\n" {
			break
		}
	}
	hello, _ := protocol.GenV2.ClientFrame(helloEvent(0), protocol.Callback{})
	// A masked text frame, with a zero mask.
	frame := append([]byte{0x81, 0x80 | byte(len(hello)), 0, 0, 0, 0}, hello...)
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Time{})
	return c
}

// TestStalledReaders connects clients that stop reading after the upgrade
// and one that reads, and pushes large events to all of them (a broadcast
// and one Send to each uid per round): the stalled clients are cut within
// a bound, what they hold meanwhile is bounded by SendQueueBytes (the heap
// after GC), everything they held is freed once they are cut, and the
// reading client gets every push, in order.
func TestStalledReaders(t *testing.T) {
	const (
		stalled    = 20
		eventBytes = 32 << 10
		queueBytes = 256 << 10
		maxRounds  = 200
	)
	cfg := Config{
		UserID:          testUID,
		CSRFToken:       func(*http.Request) string { return "x" }, // the clients' csrf-token
		SendQueueBytes:  queueBytes,
		WriteTimeout:    time.Minute, // the queue limit cuts them, not a write timeout
		DisconnectGrace: 10 * time.Millisecond,
	}
	gone := make(chan string, stalled)
	s, addr := startSmallBufServer(t, cfg, false, func(m Message) {
		if m.Event.ID == IDUIDPortClose && strings.HasPrefix(m.UID, "u-stall") {
			gone <- m.UID
		}
	})

	// The reading client reports the id of every push it gets.
	reader, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/chsk?csrf-token=x&client-id=reader-tab1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	hello, _ := protocol.GenV2.ClientFrame(helloEvent(0), protocol.Callback{})
	if err := reader.WriteMessage(websocket.TextMessage, hello); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 64)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			_, data, err := reader.ReadMessage()
			if err != nil {
				return
			}
			sf, err := protocol.GenV2.ParseServerFrame(data)
			if err != nil {
				continue
			}
			batch, _ := sf.Value.([]any)
			for _, x := range batch {
				if ev, err := protocol.EventFromValue(x); err == nil && ev.ID.Namespace() == "test" {
					id, _ := ev.Data.(*transit.Map).Get(kw("id"))
					got <- fmt.Sprintf("%s %v", string(ev.ID), id)
				}
			}
		}
	}()
	defer func() {
		reader.Close()
		<-readerDone
	}()

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range stalled {
		conns = append(conns, stallWebSocket(t, addr, fmt.Sprintf("stall%02d-tab1", i)))
	}
	// Every client registered and pinned.
	stalledConns := func() (ws []*wsConn) {
		s.reg.mu.Lock()
		defer s.reg.mu.Unlock()
		for id, cl := range s.reg.clients {
			if c, ok := cl.conns[0].(*wsConn); ok && strings.HasPrefix(id, "stall") {
				ws = append(ws, c)
			}
		}
		return ws
	}
	testsupport.Await(t, waitFor, "every stalled connection pinned", func() bool {
		ws := stalledConns()
		for _, c := range ws {
			if _, pinned := c.candidates().Only(); !pinned {
				return false
			}
		}
		return len(ws) == stalled
	})
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	base := heap()

	payload := strings.Repeat("x", eventBytes)
	var peak uint64
	cut := map[string]bool{}
	start := time.Now()
	round := 0
	for ; len(cut) < stalled; round++ {
		if round == maxRounds || time.Since(start) > 2*waitFor {
			t.Fatalf("%d of %d stalled clients cut after %d rounds, %v", len(cut), stalled, round, time.Since(start))
		}
		if err := s.Broadcast(protocol.Event{ID: "test/all", Data: transit.NewMap(kw("id"), round, kw("pad"), payload)}); err != nil {
			t.Fatal(err)
		}
		for i := range stalled + 1 {
			uid := "u-reader"
			if i < stalled {
				uid = fmt.Sprintf("u-stall%02d", i)
			}
			// Data of its own for each uid, as for a percolated tweet.
			pad := strings.Clone(payload)
			if err := s.Send(uid, protocol.Event{ID: "test/one", Data: transit.NewMap(kw("id"), round, kw("pad"), pad)}); err != nil {
				t.Fatal(err)
			}
		}
		// The broadcast and the Send are flushed from two buffers, in
		// either order; each comes once, after those of earlier rounds.
		want := map[string]bool{fmt.Sprint("test/all ", round): true, fmt.Sprint("test/one ", round): true}
		for len(want) > 0 {
			select {
			case g := <-got:
				if !want[g] {
					t.Fatalf("round %d: the reader got %q, want one of %v", round, g, want)
				}
				delete(want, g)
			case <-time.After(waitFor):
				t.Fatalf("round %d: the reader did not get %v", round, want)
			}
		}
		for _, c := range stalledConns() {
			if _, b := c.q.stats(); b > queueBytes {
				t.Errorf("round %d: a stalled queue holds %d bytes, limit %d", round, b, queueBytes)
			}
		}
		peak = max(peak, heap())
	drain:
		for {
			select {
			case uid := <-gone:
				cut[uid] = true
			default:
				break drain
			}
		}
	}
	held := int64(peak) - int64(base)
	t.Logf("%d stalled clients cut after %d rounds (%v); heap peaked %d KiB above the start, %d KiB per stalled client (queue limit %d KiB)",
		stalled, round, time.Since(start).Round(time.Millisecond), held>>10, held/stalled>>10, queueBytes>>10)
	// What a stalled client holds: its queue, at most queueBytes of frames
	// (counting the one its writer is stuck on), and the events they were
	// packed from. Twice queueBytes per client, plus what the reader's
	// pushes take, is the bound. (Before the queue counted the item being
	// written and pushes were packed for the dialects in use only, this
	// test measured above 800 KiB per client.)
	if limit := int64(stalled*2*queueBytes + 2<<20); held > limit {
		t.Errorf("heap peaked %d KiB above the start, limit %d KiB", held>>10, limit>>10)
	}
	// Once cut, nothing of theirs is kept: not by queues, not by the
	// scheduler's closures, not by pushes.
	testsupport.Await(t, waitFor, "the stalled clients cut", func() bool { return len(stalledConns()) == 0 })
	if left := int64(heap()) - int64(base); left > 2<<20 {
		t.Errorf("heap %d KiB above the start after the stalled clients were cut", left>>10)
	}
}

// TestSplitBatchReader checks that a reading client that gets one batch
// larger than SendQueueBytes receives all of it: the batch goes out in
// parts that each fit, and the queue takes the parts of a batch whose
// first part it took, however fast the writer is.
func TestSplitBatchReader(t *testing.T) {
	t.Parallel()
	const (
		eventBytes = 16 << 10
		events     = 64 // 1 MiB in one batch
	)
	cfg := testConfig()
	cfg.SendQueueBytes = 256 << 10
	ts := newTestServer(t, cfg)
	c := ts.dialWS(t, "R", profileNamed(t, "v2"), "split-tab1")
	c.expectHandshake()
	c.send(helloEvent(0), "") // pins it: nothing is held
	ts.expectEvent(t, IDUIDPortOpen)
	payload := strings.Repeat("x", eventBytes)
	for i := range events {
		if err := ts.s.Send("u-split", protocol.Event{ID: "test/one", Data: transit.NewMap(kw("id"), i, kw("pad"), payload)}); err != nil {
			t.Fatal(err)
		}
	}
	ts.s.Flush()
	got, frames := 0, 0
	for got < events {
		sf := c.expectValue()
		batch, ok := sf.Value.([]any)
		if !ok {
			t.Fatalf("frame %v", sf.Value)
		}
		got += len(batch)
		frames++
	}
	if got != events || frames < 4 {
		t.Fatalf("%d events in %d frames, want %d in at least 4 (no frame over SendQueueBytes)", got, frames, events)
	}
}
