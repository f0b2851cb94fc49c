package web

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
)

// TestConfigPacker runs a Transit and an EDN 1.21 client against a server
// of each Config.Packer, over Ajax and WebSocket: which frames are served,
// and the format of every answer (handshake, dummy reply, "no data" poll,
// callback reply, pong, broadcast).
func TestConfigPacker(t *testing.T) {
	transitP, ednP := profileNamed(t, "v2"), profileNamed(t, "v2-edn")
	const (
		fT = protocol.FormatTransit
		fE = protocol.FormatEDN
	)
	cases := []struct {
		packer Packer
		hello  protocol.Format  // format of a handshake to a client that has not spoken
		serves [numFormats]bool // frames of each format are served
	}{
		{PackerTransit, fT, [numFormats]bool{fT: true}},
		{PackerEDN, fE, [numFormats]bool{fE: true}},
		{PackerAuto, fT, [numFormats]bool{fT: true, fE: true}},
	}
	for _, c := range cases {
		t.Run(c.packer.String(), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.Packer = c.packer
			cfg.Generations = func(*http.Request) protocol.GenerationSet { return protocol.SetOf(protocol.GenV2) }
			ts := newTestServer(t, cfg)
			hdr := http.Header{"Origin": {testOrigin}, headerCSRF: {testToken}}
			v2 := func(f protocol.Format) protocol.Dialect {
				return protocol.Dialect{Generation: protocol.GenV2, Format: f}
			}
			other := func(f protocol.Format) protocol.Format { return 1 - f }
			// want is the frame the server must answer with.
			want := func(b []byte, err error) string {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			post := func(cid string, frame []byte) response {
				t.Helper()
				body := "udt=1&client-id=" + url.QueryEscape(cid) + "&ppstr=" + url.QueryEscape(string(frame))
				return ts.rawRequest(t, "A", http.MethodPost, "", body, hdr)
			}

			// Ajax.
			for _, p := range []profile{transitP, ednP} {
				cid := "a-" + p.name + "-tab1"
				uid := testUID(nil, cid)
				r := ts.rawRequest(t, "A", http.MethodGet, "udt=1&client-id="+cid+"&handshake%3F=1", "", hdr)
				if w := want(v2(c.hello).Handshake(protocol.Handshake{UID: uid})); r.body != w {
					t.Fatalf("%s: handshake %q, want %q", p.name, r.body, w)
				}
				frame, _ := p.dialect().ClientFrame(helloEvent(1), protocol.Callback{})
				r = post(cid, frame)
				served := c.serves[p.format]
				if !served {
					if r.status != http.StatusBadRequest {
						t.Fatalf("%s: POST answered %d %q, want 400", p.name, r.status, r.body)
					}
					continue
				}
				if w := want(v2(p.format).AjaxDummyReply()); r.status != http.StatusOK || r.body != w {
					t.Fatalf("%s: POST answered %d %q, want %q", p.name, r.status, r.body, w)
				}
				if m := nextAppEvent(t, ts); m.Format != p.format || m.ClientID != cid {
					t.Fatalf("%s: event %s", p.name, describeMessage(m))
				}
				r = ts.rawRequest(t, "A", http.MethodGet, "udt=2&client-id="+cid, "", hdr)
				if w := want(v2(p.format).PollTimeout()); r.body != w {
					t.Fatalf("%s: idle poll %q, want %q", p.name, r.body, w)
				}
				// The first frame pinned the format: the other is refused.
				frame, _ = v2(other(p.format)).ClientFrame(helloEvent(2), protocol.Callback{})
				if r = post(cid, frame); r.status != http.StatusBadRequest {
					t.Fatalf("%s: POST in the other format answered %d %q, want 400", p.name, r.status, r.body)
				}
			}

			// WebSocket.
			conns := map[string]*wsClient{}
			for _, p := range []profile{transitP, ednP} {
				cid := "w-" + p.name + "-tab1"
				uid := testUID(nil, cid)
				a := ts.dialWS(t, "W", p, cid)
				conns[p.name] = a
				if got, w := readRaw(t, a), want(v2(c.hello).Handshake(protocol.Handshake{UID: uid})); got != w {
					t.Fatalf("%s: handshake %q, want %q", p.name, got, w)
				}
				frame, _ := p.dialect().ClientFrame(echoEvent("hi"), protocol.Callback{ID: "cb1"})
				a.sendRaw(frame)
				served := c.serves[p.format]
				f := c.hello // the format the connection is answered in
				if served {
					f = p.format
					m := nextAppEvent(t, ts)
					if m.Format != p.format || m.ClientID != cid || m.Reply == nil {
						t.Fatalf("%s: event %s", p.name, describeMessage(m))
					}
					if err := m.Reply("ok"); err != nil {
						t.Fatal(err)
					}
					if got, w := readRaw(t, a), want(v2(f).CallbackReply("ok", "cb1")); got != w {
						t.Fatalf("%s: reply %q, want %q", p.name, got, w)
					}
				}
				// A frame in the other format is dropped; the next ping in
				// the connection's format is answered.
				frame, _ = v2(other(f)).ClientFrame(pingEvent, protocol.Callback{ID: "k1"})
				a.sendRaw(frame)
				frame, _ = v2(f).ClientFrame(pingEvent, protocol.Callback{ID: "k2"})
				a.sendRaw(frame)
				if got, w := readRaw(t, a), want(v2(f).Pong("k2")); got != w {
					t.Fatalf("%s: pong %q, want %q", p.name, got, w)
				}
				noAppEvent(t, ts)
			}
			if err := ts.s.Broadcast(tweetEvent(1)); err != nil {
				t.Fatal(err)
			}
			ts.s.Flush()
			for _, p := range []profile{transitP, ednP} {
				f := c.hello
				if c.serves[p.format] {
					f = p.format
				}
				if got, w := readRaw(t, conns[p.name]), want(v2(f).Batch(tweetEvent(1))); got != w {
					t.Fatalf("%s: broadcast %q, want %q", p.name, got, w)
				}
			}
		})
	}
}

// TestConfigPackerInvalid checks that New refuses a Packer outside the
// constants.
func TestConfigPackerInvalid(t *testing.T) {
	if _, err := New(Config{Packer: PackerAuto + 1}); err == nil {
		t.Fatal("New accepted an invalid Packer")
	}
	for _, p := range []Packer{PackerTransit, PackerEDN, PackerAuto} {
		if got := fmt.Sprint(p); got == "unknown packer" {
			t.Fatalf("Packer %d has no name", p)
		}
	}
}

// readRaw returns the next frame of a, unparsed.
func readRaw(t *testing.T, a *wsClient) string {
	t.Helper()
	a.conn.SetReadDeadline(time.Now().Add(waitFor))
	typ, data, err := a.conn.ReadMessage()
	if err != nil || typ != websocket.TextMessage {
		t.Fatalf("%s: read: type %d, %v", a.label, typ, err)
	}
	return string(data)
}

// nextAppEvent returns the next event that is not a uidport event.
func nextAppEvent(t *testing.T, ts *testServer) Message {
	t.Helper()
	for {
		if m := ts.event(t); m.Transport != 0 {
			return m
		}
	}
}

// noAppEvent fails if a client event is waiting on Events.
func noAppEvent(t *testing.T, ts *testServer) {
	t.Helper()
	for {
		select {
		case m := <-ts.s.Events():
			if m.Transport != 0 {
				t.Fatalf("unexpected event %s", describeMessage(m))
			}
		default:
			return
		}
	}
}
