package web

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestCloseDeliversWebSocketReplies checks the drain rule (doc.go,
// "Closing"): of 100 WebSocket events with callbacks handed to the
// application before Close, every reply the application gives after Close
// began, before Close's deadline, reaches its client before the socket
// ends, and Close then returns nil.
func TestCloseDeliversWebSocketReplies(t *testing.T) {
	t.Parallel()
	const clients, perClient = 10, 10
	cfg := testConfig()
	cfg.CallbackTimeout = 20 * time.Second
	ts := newTestServer(t, cfg)
	draining := make(chan struct{})
	ts.s.hooks.draining = func() { close(draining) }

	conns := make([]*wsClient, clients)
	for i := range conns {
		p := profiles[i%len(profiles)]
		conns[i] = ts.dialWS(t, fmt.Sprintf("C%d", i), p, fmt.Sprintf("drain%d-tab1", i))
		conns[i].expectHandshake()
		for j := range perClient {
			conns[i].send(helloEvent(j), fmt.Sprintf("cb%d", j))
		}
	}
	var pending []Message
	for len(pending) < clients*perClient {
		if m := ts.event(t); m.Reply != nil {
			pending = append(pending, m)
		}
	}
	go func() { // the application keeps reading Events until Close ends it
		for range ts.s.Events() {
		}
	}()

	// Each client reads its socket to the end, collecting its replies.
	got := make([]map[string]bool, clients)
	var readers sync.WaitGroup
	for i, c := range conns {
		got[i] = map[string]bool{}
		readers.Add(1)
		go func() {
			defer readers.Done()
			_ = c.conn.SetReadDeadline(time.Now().Add(waitFor))
			for {
				_, data, err := c.conn.ReadMessage()
				if err != nil {
					return // the close (1001 or 1006) or the deadline
				}
				if sf, err := c.p.dialect().ParseServerFrame(data); err == nil && sf.CallbackID != "" {
					got[i][sf.CallbackID] = true
				}
			}
		}()
	}

	closed := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		closed <- ts.s.Close(ctx)
	}()
	select {
	case <-draining:
	case <-time.After(waitFor):
		t.Fatal("Close did not begin")
	}
	// The application answers after the final flush of Close, from
	// several goroutines, as a worker pool does.
	var repliers sync.WaitGroup
	errs := make(chan error, len(pending))
	for w := range 4 {
		repliers.Add(1)
		go func() {
			defer repliers.Done()
			for k := w; k < len(pending); k += 4 {
				if err := pending[k].Reply(true); err != nil {
					errs <- fmt.Errorf("reply %d (%s): %w", k, pending[k].ClientID, err)
				}
			}
		}()
	}
	repliers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v, want nil (every callback was answered)", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Close did not return")
	}
	readers.Wait()
	delivered := 0
	for i := range conns {
		for j := range perClient {
			if got[i][fmt.Sprintf("cb%d", j)] {
				delivered++
			}
		}
	}
	if delivered != clients*perClient {
		t.Errorf("%d of %d replies given during the drain reached their clients", delivered, clients*perClient)
	}
}

// TestCloseUnansweredWebSocketCallback checks the bounds of the drain: a
// callback the application never answers holds its socket open for at
// most CallbackTimeout after the event was handed over, and a reply after
// the socket's final flush is refused with ErrReplyExpired.
func TestCloseUnansweredWebSocketCallback(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CallbackTimeout = 300 * time.Millisecond
	ts := newTestServer(t, cfg)
	c := ts.dialWS(t, "A", profileNamed(t, "v2"), "unanswered-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	c.expectHandshake()
	c.send(helloEvent(1), "cb1")
	m := ts.expectEvent(t, "test/hello")
	go func() {
		for range ts.s.Events() {
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	start := time.Now()
	if err := ts.s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > cfg.CallbackTimeout+closeWait+time.Second {
		t.Errorf("Close took %v with one unanswered callback (CallbackTimeout %v)", d, cfg.CallbackTimeout)
	}
	if err := m.Reply(true); err != ErrReplyExpired {
		t.Errorf("Reply after the socket closed: %v, want ErrReplyExpired", err)
	}
	if code := c.readClose(); code != websocket.CloseGoingAway {
		t.Errorf("close code %d, want %d", code, websocket.CloseGoingAway)
	}
}
