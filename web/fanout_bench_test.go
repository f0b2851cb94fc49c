package web

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// fakeConn is a transport that counts the pushes it is handed: the
// benchmarks below measure the server's side of a push alone, from Send
// to the connection's queue, without sockets.
type fakeConn struct {
	k      Transport
	pushes atomic.Int64
}

func (f *fakeConn) kind() Transport                     { return f.k }
func (f *fakeConn) generations() protocol.GenerationSet { return protocol.SetOf(protocol.GenV2) }
func (f *fakeConn) deliver(*push)                       { f.pushes.Add(1) }
func (f *fakeConn) shutdown()                           {}
func (f *fakeConn) abort(closeReason)                   {}

// newFanoutServer returns a Server with a WebSocket and an Ajax fakeConn
// for each of n client-ids of n uids.
func newFanoutServer(b *testing.B, n int) (*Server, []*fakeConn) {
	cfg := testConfig()
	s, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	go func() {
		for range s.Events() {
		}
	}()
	var conns []*fakeConn
	for i := range n {
		cid := fmt.Sprintf("fan%d-tab1", i)
		for _, k := range []Transport{TransportWS, TransportAjax} {
			f := &fakeConn{k: k}
			benchAttach(b, s, cid, f)
			conns = append(conns, f)
		}
	}
	return s, conns
}

// BenchmarkSendFanout is the single-instance hot path of a push: Send (or
// Broadcast) through the Server's default backplane to the registry's
// buffers, then Flush, which packs the batch and hands it to each
// connection. send-1 pushes to one uid with a WebSocket and an Ajax
// client; broadcast-100 to 100 uids with both.
func BenchmarkSendFanout(b *testing.B) {
	ev := protocol.Event{ID: "bench/push", Data: transit.NewMap(kw("id"), 42, kw("text"), "a tweet of ordinary length, about a hundred bytes of text.")}
	b.Run("send-1", func(b *testing.B) {
		s, conns := newFanoutServer(b, 1)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Send("u-fan0", ev); err != nil {
				b.Fatal(err)
			}
			s.Flush()
		}
		if conns[0].pushes.Load() == 0 || conns[1].pushes.Load() == 0 {
			b.Fatal("nothing delivered")
		}
	})
	b.Run("broadcast-100", func(b *testing.B) {
		s, conns := newFanoutServer(b, 100)
		b.ReportAllocs()
		for b.Loop() {
			if err := s.Broadcast(ev); err != nil {
				b.Fatal(err)
			}
			s.Flush()
		}
		for _, c := range conns {
			if c.pushes.Load() == 0 {
				b.Fatal("a connection got nothing")
			}
		}
	})
}

// benchAttach registers f as the connection of its transport of cid.
func benchAttach(b *testing.B, s *Server, cid string, f *fakeConn) {
	_, _, _, _, err := s.reg.attach(context.Background(), cid, f.k, func() string { return testUID(nil, cid) }, false,
		func(*client, transport) transport { return f })
	if err != nil {
		b.Fatal(err)
	}
}
