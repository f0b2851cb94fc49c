package web

import (
	"net/http"
	"slices"
	"testing"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// TestWebSocketConversation runs one WebSocket conversation per client
// generation, with the Transit packer and with the EDN packer (a server
// configured with PackerEDN), and compares it with
// testdata/web/ws-<generation>[-edn].golden:
// rejections (origin, CSRF, client-id), handshake, client events with and
// without callback, a malformed frame, keep-alive ping, a push, a batch of
// several pushes, a second tab of the same uid, uidport events.
func TestWebSocketConversation(t *testing.T) {
	for _, p := range append(profiles[:len(profiles):len(profiles)], ednProfiles...) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, p.config())
			tr := ts.tr
			tr.linef("# WebSocket conversation of a Sente %s client (%s)", p.version, p.describe())
			uid := "u-" + p.name
			cid := p.name + "-tab1"

			tr.section("rejections")
			if _, resp, err := ts.dialWSRaw(t, "X", p.wsQuery(cid, testToken), http.Header{"Origin": {evilOrigin}}); err == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("evil origin: err %v, want 403", err)
			}
			if p.csrfOnRequests {
				if _, resp, err := ts.dialWSRaw(t, "X", p.wsQuery(cid, "wrong"), http.Header{"Origin": {testOrigin}}); err == nil || resp.StatusCode != http.StatusForbidden {
					t.Fatalf("bad CSRF token: err %v, want 403", err)
				}
			} else {
				tr.linef("(a %s client sends no CSRF token on its WebSocket)", p.version)
			}
			if _, resp, err := ts.dialWSRaw(t, "X", "csrf-token="+testToken, http.Header{"Origin": {testOrigin}}); err == nil || resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("missing client-id: err %v, want 400", err)
			}

			tr.section("handshake")
			a := ts.dialWS(t, "A", p, cid)
			ts.expectEvent(t, IDUIDPortOpen)
			if h := a.expectHandshake(); h.UID != uid {
				t.Fatalf("handshake uid %q, want %q", h.UID, uid)
			}

			tr.section("client events")
			a.send(helloEvent(1), "")
			ts.expectEvent(t, "test/hello")
			a.sendRaw([]byte("this is not a frame"))
			a.send(echoEvent("hi"), "a1b2c3")
			m := ts.expectEvent(t, "test/echo")
			ts.reply(t, m, transit.NewMap(kw("ok"), true, kw("text"), "hi"))
			a.expectReply("a1b2c3")

			tr.section("keep-alive ping")
			if p.pingCallback {
				a.send(pingEvent, "k9m2p1")
				if v := a.expectReply("k9m2p1"); v != "pong" {
					t.Fatalf("ping reply %s, want \"pong\"", show(v))
				}
			} else {
				a.send(pingEvent, "")
				tr.linef("(no answer: the next frame is the push)")
			}

			tr.section("push")
			ts.send(t, uid, tweetEvent(1))
			a.expectBatch(1)

			tr.section("batch of several pushes")
			for id := 2; id <= 4; id++ {
				ts.send(t, uid, tweetEvent(id))
			}
			ts.flush()
			a.expectBatch(3)

			tr.section("second tab of the same uid")
			b := ts.dialWS(t, "B", p, p.name+"-tab2")
			b.expectHandshake()
			if !p.answersServerPing {
				// Its first keep-alive ping tells its generation.
				b.send(pingEvent, "")
			}
			ts.send(t, uid, tweetEvent(5))
			a.expectBatch(1)
			b.expectBatch(1)
			if got := ts.s.ConnectedUIDs(); len(got.WS) != 1 || got.WS[0] != uid || len(got.Ajax) != 0 {
				t.Fatalf("ConnectedUIDs %+v", got)
			}

			tr.section("both tabs close")
			a.close()
			b.close()
			ts.expectEvent(t, IDUIDPortClose)
			if got := ts.s.ConnectedUIDs(); len(got.Any) != 0 {
				t.Fatalf("ConnectedUIDs after close %+v", got)
			}
			checkGolden(t, "ws-"+p.name, tr.String())
		})
	}
}

// TestAjaxConversation runs one Ajax conversation per client generation,
// with the Transit packer and with the EDN packer, and compares it with
// testdata/web/ajax-<generation>[-edn].golden: rejections,
// handshake poll, POSTs with and without callback, a push queued between
// two polls, a batch of several pushes to a held poll, a poll that ends
// without data, a second tab, uidport events.
func TestAjaxConversation(t *testing.T) {
	for _, p := range slices.Concat(profiles, ednProfiles, ednAjaxOnly) {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, p.config())
			tr := ts.tr
			tr.linef("# Ajax conversation of a Sente %s client (%s)", p.version, p.describe())
			uid := "u-" + p.name
			cid := p.name + "-tab1"
			a := ts.ajax(t, "A", p, cid)

			tr.section("rejections")
			hdr := http.Header{"Origin": {evilOrigin}}
			if r := ts.rawRequest(t, "X", http.MethodGet, p.clock+"=1&client-id="+cid, "", hdr); r.status != http.StatusForbidden {
				t.Fatalf("evil origin: %d", r.status)
			}
			ping, _ := p.dialect().ClientFrame(helloEvent(0), protocol.Callback{})
			r, shown := a.postRaw(ping, "wrong", http.Header{headerCSRF: {"wrong"}})
			tr.linef("X> POST /chsk %s (token %q)", shown, "wrong")
			tr.linef("X< %d %s", r.status, r.body)
			if r.status != http.StatusForbidden {
				t.Fatalf("bad CSRF token: %d", r.status)
			}
			hdr = http.Header{"Origin": {testOrigin}, headerCSRF: {testToken}}
			if r := ts.rawRequest(t, "X", http.MethodGet, p.clock+"=1", "", hdr); r.status != http.StatusBadRequest {
				t.Fatalf("missing client-id: %d", r.status)
			}
			if r := ts.rawRequest(t, "X", http.MethodPost, "", "csrf-token="+testToken+"&ppstr=%2Bj%5Bnope", hdr); r.status != http.StatusBadRequest {
				t.Fatalf("bad ppstr: %d", r.status)
			}

			tr.section("handshake")
			a.expectHandshake()
			ts.expectEvent(t, IDUIDPortOpen)

			tr.section("client events")
			wait := a.postAsync(helloEvent(1), false)
			ts.expectEvent(t, "test/hello")
			wait()
			wait = a.postAsync(echoEvent("hi"), true)
			m := ts.expectEvent(t, "test/echo")
			ts.reply(t, m, transit.NewMap(kw("ok"), true, kw("text"), "hi"))
			if r := wait(); r.status != http.StatusOK {
				t.Fatalf("reply status %d", r.status)
			}

			tr.section("push while no poll is open, then a poll")
			ts.send(t, uid, tweetEvent(1))
			ts.flush()
			a.expectBatch(a.poll(), 1)

			tr.section("batch of several pushes to a held poll")
			collect := a.pollAsync()
			ts.waitHeld(t, cid)
			for id := 2; id <= 4; id++ {
				ts.send(t, uid, tweetEvent(id))
			}
			ts.flush()
			a.expectBatch(collect(), 3)

			tr.section("poll that ends without data")
			r = a.poll()
			if want, _ := p.dialect().PollTimeout(); r.body != string(want) {
				t.Fatalf("idle poll answered %q, want %q", r.body, want)
			}

			tr.section("second tab of the same uid")
			b := ts.ajax(t, "B", p, p.name+"-tab2")
			b.expectHandshake()
			ts.send(t, uid, tweetEvent(5))
			ts.flush()
			a.expectBatch(a.poll(), 1)
			b.expectBatch(b.poll(), 1)
			if got := ts.s.ConnectedUIDs(); len(got.Ajax) != 1 || got.Ajax[0] != uid || len(got.WS) != 0 {
				t.Fatalf("ConnectedUIDs %+v", got)
			}

			tr.section("both tabs stop polling")
			ts.expectEvent(t, IDUIDPortClose)
			checkGolden(t, "ajax-"+p.name, tr.String())
		})
	}
}
