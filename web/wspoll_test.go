package web

import (
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
)

// TestCloseWaitsForParked interleaves Server.Disconnect and Server.Close:
// Disconnect has taken a parked connection out of the registry, Close
// runs, then Disconnect aborts the connection. Close returns only once the
// connection has finished: a parked connection keeps its reader's count
// in the server's WaitGroup.
func TestCloseWaitsForParked(t *testing.T) {
	ts := newTestServer(t, testConfig())
	if ts.s.poll == nil || *noPark {
		t.Skip("no poller")
	}
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "dc-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	testsupport.Await(t, waitFor, "the socket parked", func() bool { return ts.s.m.parked.Load() == 1 })
	conns := ts.s.reg.disconnect("u-dc") // Disconnect, first half
	go func() {
		for range ts.s.Events() {
		}
	}()
	ts.s.hooks.draining = func() {
		go func() { // Disconnect, second half, while Close waits
			for _, c := range conns {
				c.abort(closeDisconnected)
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := ts.s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	c := conns[0].(*wsConn)
	c.wmu.Lock()
	finished := c.finished
	c.wmu.Unlock()
	if !finished {
		t.Fatal("Close returned before a WebSocket had finished")
	}
}

// TestPollerCloseIsNoFailure checks that closing the poller ends its
// wait without an error, and that a Server's Close logs no failure of it.
func TestPollerCloseIsNoFailure(t *testing.T) {
	p, err := newPoller()
	if err != nil {
		t.Skip(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.run() }()
	p.close()
	if err := <-done; err != nil {
		t.Errorf("run after close: %v", err)
	}

	var logs testsupport.Buffer
	cfg := testConfig()
	cfg.Logger = zerolog.New(&logs)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logs.String(), "poller") {
		t.Errorf("Close logged: %s", logs.String())
	}
}
