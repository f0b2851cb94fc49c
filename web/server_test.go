package web

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sente-go/sente/protocol"
)

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error; empty for none
	}{
		{"zero", Config{}, ""},
		{"negative window", Config{WSBatchWindow: -1}, "WSBatchWindow is negative"},
		{"window too long", Config{AjaxBatchWindow: time.Minute}, "AjaxBatchWindow"},
		{"poll timeout too long", Config{PollTimeout: time.Minute}, "PollTimeout"},
		{"ping too fast", Config{PingInterval: time.Millisecond}, "PingInterval"},
		{"negative read limit", Config{ReadLimit: -1}, "ReadLimit"},
		{"negative queue", Config{SendQueueLen: -1}, "SendQueueLen"},
		{"bad csrf check", Config{CSRFCheck: 9}, "CSRFCheck"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.cfg.WSBatchWindow != defaultWSBatchWindow || s.cfg.ReadLimit != defaultReadLimit {
					t.Errorf("defaults not applied: %+v", s.cfg)
				}
				if err := s.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "web: ") {
				t.Fatalf("err %v, want one about %s", err, tt.want)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var be *protocol.BadEventError
	if err := s.Send("", tweetEvent(1)); !errors.Is(err, ErrNoUID) {
		t.Errorf("empty uid: %v", err)
	}
	if err := s.Send("u", protocol.Event{ID: "nonamespace"}); !errors.As(err, &be) || !errors.Is(err, protocol.ErrEventID) {
		t.Errorf("invalid id: %v", err)
	}
	if err := s.Broadcast(protocol.Event{ID: "chsk/close"}); !errors.Is(err, protocol.ErrReservedID) {
		t.Errorf("reserved id: %v", err)
	}
	if err := s.Send("nobody", tweetEvent(1)); err != nil {
		t.Errorf("push to a uid without connection: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Errorf("second Close: %v", err)
	}
	if _, ok := <-s.Events(); ok {
		t.Error("Events not closed")
	}
	if err := s.Broadcast(tweetEvent(1)); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Broadcast after Close: %v", err)
	}
}

// TestZeroConfig checks what a zero Config serves: a random uid per
// client-id, Sente 1.3–1.13 clients (no page token to check) from the
// server's own origin; a 1.14+ client, whose page token cannot be checked,
// and another origin are refused.
func TestZeroConfig(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, Config{})
	p := profileNamed(t, "flexi")
	if _, resp, err := ts.dialWSRaw(t, "X", p.wsQuery("zero-tab1", ""), http.Header{"Origin": {testOrigin}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("another origin: %v, want 403", err)
	}
	if _, resp, err := ts.dialWSRaw(t, "X", profileNamed(t, "v2").wsQuery("zero-tab1", testToken), http.Header{"Origin": {ts.hs.URL}}); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a 1.21 client: %v, want 403", err)
	}
	a := ts.dialWSOrigin(t, "A", p, "zero-tab1", ts.hs.URL)
	m := ts.event(t)
	h := a.expectHandshake()
	if m.Event.ID != IDUIDPortOpen || m.UID != h.UID || len(h.UID) != 36 {
		t.Fatalf("uidport %s %q, handshake uid %q", show(m.Event.Value()), m.UID, h.UID)
	}
	a.send(echoEvent("x"), "cb1234")
	if m := ts.event(t); m.Request == nil || m.Request.URL.Query().Get("client-id") != "zero-tab1" || m.UID != h.UID {
		t.Fatalf("message %+v", m)
	}
}

func TestOrigins(t *testing.T) {
	tests := []struct {
		name            string
		allowed         []string
		origin, referer string
		ok              bool
	}{
		{"default: another origin", nil, "http://any.example", "", false},
		{"default: same origin", nil, "http://x", "", true},
		{"default: same host, other port", nil, "http://x:8080", "", false},
		{"default: same origin by referer", nil, "", "http://x/page", true},
		{"default: opaque origin", nil, "null", "", false},
		{"star", []string{"*"}, "http://any.example", "", true},
		{"listed", []string{"http://a.example", "https://b.example"}, "https://b.example", "", true},
		{"listed, and the same origin", []string{"http://a.example"}, "http://x", "", true},
		{"not listed", []string{"http://a.example"}, "http://a.example.evil", "", false},
		{"referer", []string{"http://a.example"}, "", "http://a.example/page", true},
		{"referer prefix trick", []string{"http://a.example"}, "", "http://a.example.evil/page", false},
		{"neither header: not a page", []string{"http://a.example"}, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{cfg: Config{AllowedOrigins: tt.allowed}}
			r, _ := http.NewRequest(http.MethodGet, "http://x/chsk", nil)
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			if tt.referer != "" {
				r.Header.Set("Referer", tt.referer)
			}
			if got := s.originAllowed(r); got != tt.ok {
				t.Fatalf("got %v, want %v", got, tt.ok)
			}
		})
	}
}

// TestBroadcastAllGenerations pushes one event to clients of every
// generation over both transports: each reads it in its own encoding.
func TestBroadcastAllGenerations(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, testConfig())
	var wss []*wsClient
	var ajaxes []*ajaxClient
	for _, p := range profiles {
		c := ts.dialWS(t, "W-"+p.name, p, "ws"+p.name+"-tab1")
		ts.expectEvent(t, IDUIDPortOpen)
		c.expectHandshake()
		c.send(helloEvent(0), "") // pins
		ts.expectEvent(t, "test/hello")
		wss = append(wss, c)
		a := ts.ajax(t, "A-"+p.name, p, "ajax"+p.name+"-tab1")
		a.expectHandshake()
		ts.expectEvent(t, IDUIDPortOpen)
		ajaxes = append(ajaxes, a)
	}
	if err := ts.s.Broadcast(tweetEvent(1)); err != nil {
		t.Fatal(err)
	}
	if err := ts.s.Broadcast(tweetEvent(2)); err != nil {
		t.Fatal(err)
	}
	ts.s.Flush()
	for _, c := range wss {
		c.expectBatch(2)
	}
	for _, a := range ajaxes {
		a.expectBatch(a.poll(), 2)
	}
}

// TestGenerationsHook checks Config.Generations: a deployment that serves
// only 1.3 and 1.21+ clients, without a page token (so that a URL without
// one tells nothing), writes both encodings to an unknown client without
// holding pushes (no client reads both).
func TestGenerationsHook(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.CSRFToken, cfg.CSRFCheck = nil, CSRFOff
	cfg.Generations = func(*http.Request) protocol.GenerationSet {
		return protocol.SetOf(protocol.GenFlexi, protocol.GenV2)
	}
	cfg.DetectTimeout = time.Minute // longer than waitFor: a held push would fail the test
	ts := newTestServer(t, cfg)
	a := ts.dialWS(t, "A", profileNamed(t, "flexi"), "hook-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	ts.send(t, "u-hook", tweetEvent(1))
	a.expectBatch(1) // not held: it arrives before the client said anything
	want := strings.Join([]string{
		`A< -j["~:chsk/handshake",["u-hook","` + issueToken([]byte(testSecret), "hook-tab1", "u-hook", testNow, "") + `"]]`,
		`app> send u-hook ["~:tweet/new",["^ ","~:id",1,"~:text","tweet 1"]]`,
		`A< [["~:chsk/handshake",["u-hook",null,null]],null]    (unreadable by 1.3.0: dropped)`,
		`A< ["~:chsk/ws-ping",null]    (unreadable by 1.3.0: dropped)`,
		`A< -j[["~:tweet/new",["^ ","~:id",1,"~:text","tweet 1"]]]`,
		`A< [[["~:tweet/new",["^ ","~:id",1,"~:text","tweet 1"]]],null]    (unreadable by 1.3.0: dropped)`,
	}, "\n")
	if _, ok := a.next(); ok { // the v2 copy of the push
		t.Fatal("a flexi client read the v2 copy")
	}
	a.send(helloEvent(1), "")
	ts.expectEvent(t, "test/hello")
	ts.send(t, "u-hook", tweetEvent(2))
	a.expectBatch(1) // pinned: flexi only
	want += "\n" + strings.Join([]string{
		`A> +j[["~:test/hello",["^ ","~:n",1]]]`,
		`app< ["~:test/hello",["^ ","~:n",1]] uid="u-hook" client-id="hook-tab1" via ws, flexi (1.3-1.8)`,
		`app> send u-hook ["~:tweet/new",["^ ","~:id",2,"~:text","tweet 2"]]`,
		`A< -j[["~:tweet/new",["^ ","~:id",2,"~:text","tweet 2"]]]`,
	}, "\n")
	if got := ts.tr.String(); !strings.Contains(got, want) {
		t.Fatalf("transcript:\n%s\nwant it to contain:\n%s", got, want)
	}
}

// TestWatchUIDs checks the change stream of ConnectedUIDs.
func TestWatchUIDs(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.DisconnectGrace = 10 * time.Millisecond
	ts := newTestServer(t, cfg)
	changed, stop := ts.s.WatchUIDs()
	defer stop()
	waitChange := func(want ConnectedUIDs) {
		t.Helper()
		deadline := time.After(waitFor)
		for {
			got := ts.s.ConnectedUIDs()
			if strings.Join(got.WS, ",") == strings.Join(want.WS, ",") &&
				strings.Join(got.Ajax, ",") == strings.Join(want.Ajax, ",") &&
				strings.Join(got.Any, ",") == strings.Join(want.Any, ",") {
				return
			}
			select {
			case <-changed:
			case <-deadline:
				t.Fatalf("connected %+v, want %+v", got, want)
			}
		}
	}
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "watch-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	waitChange(ConnectedUIDs{WS: []string{"u-watch"}, Any: []string{"u-watch"}})
	b := ts.ajax(t, "B", profileNamed(t, "v2"), "other-tab1")
	b.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	waitChange(ConnectedUIDs{WS: []string{"u-watch"}, Ajax: []string{"u-other"}, Any: []string{"u-other", "u-watch"}})
	// B stops polling: dropped after the grace period.
	ts.expectEvent(t, IDUIDPortClose)
	waitChange(ConnectedUIDs{WS: []string{"u-watch"}, Any: []string{"u-watch"}})
	a.close()
	ts.expectEvent(t, IDUIDPortClose)
	waitChange(ConnectedUIDs{})
	stop()
	stop()
}

// TestCloseAnswersPending checks that Close answers a held poll with the
// pushes buffered for it, and a pending Ajax callback with :chsk/timeout
// when its context ends first.
func TestCloseAnswersPending(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PollTimeout = 20 * time.Second
	cfg.CallbackTimeout = 20 * time.Second
	ts := newTestServer(t, cfg)
	p := profileNamed(t, "flexi")
	a := ts.ajax(t, "A", p, "close-tab1")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	collect := a.pollAsync()
	ts.waitHeld(t, "close-tab1")
	ts.send(t, "u-close", tweetEvent(1)) // in its 100 ms window
	b := ts.ajax(t, "B", p, "idle-tab1")
	b.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	collectB := b.pollAsync()
	ts.waitHeld(t, "idle-tab1")
	waitPost := a.postAsync(echoEvent("never answered"), true)
	ts.expectEvent(t, "test/echo")

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := ts.s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v (the callback was pending)", err)
	}
	a.expectBatch(collect(), 1)
	if r := collectB(); r.body != "-j[]" {
		t.Fatalf("idle poll answered %q at Close", r.body)
	}
	if r := waitPost(); r.body != `-j["~#'","~:chsk/timeout"]` {
		t.Fatalf("pending callback answered %q at Close", r.body)
	}
}

// TestCloseStuckApplication checks that Close gives up on an application
// that stopped reading Events, and still ends every goroutine (goleak).
func TestCloseStuckApplication(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.EventBuffer = 1
	ts := newTestServer(t, cfg)
	a := ts.dialWS(t, "A", profileNamed(t, "v2"), "stuck-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	for i := range 5 {
		a.send(helloEvent(i), "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ts.s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
}

// TestSharedBroker checks that two servers on one MemoryBroker reach each
// other's clients.
func TestSharedBroker(t *testing.T) {
	t.Parallel()
	b := NewMemoryBroker()
	defer b.Close()
	cfg := testConfig()
	cfg.Broker = b
	one := newTestServer(t, cfg)
	two := newTestServer(t, cfg)
	a := two.dialWS(t, "A", profileNamed(t, "v2"), "shared-tab1")
	two.expectEvent(t, IDUIDPortOpen)
	a.expectHandshake()
	if err := one.s.Send("u-shared", tweetEvent(1)); err != nil {
		t.Fatal(err)
	}
	a.expectBatch(1)
	if err := one.s.Broadcast(tweetEvent(2)); err != nil {
		t.Fatal(err)
	}
	a.expectBatch(1)
}

// TestClientsKnown checks Config.Clients as BirdWatch uses it: a Sente 1.3
// flexi bundle and a 1.21+ page, with a page token. Each client, before it
// says anything, gets exactly one handshake in its own dialect and its
// pushes once, with no frame it cannot read (no other generation's
// handshake, no probe), over WebSocket and Ajax; the transcript is
// testdata/web/hello-clients.golden.
func TestClientsKnown(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.Clients = protocol.SetOf(protocol.GenFlexi, protocol.GenV2)
	cfg.DetectTimeout = time.Minute   // longer than waitFor: a held push would fail the test
	cfg.DisconnectGrace = time.Minute // no uidport-close during the test
	ts := newTestServer(t, cfg)
	tr := ts.tr
	tr.linef("# Config.Clients = {flexi, v2}, with a page token: each client's hello")
	for _, name := range []string{"flexi", "v2"} {
		p := profileNamed(t, name)
		uid := "u-known-" + name
		tr.section("WebSocket, Sente " + p.version)
		c := ts.dialWS(t, "W", p, "known-"+name+"-tab1")
		ts.expectEvent(t, IDUIDPortOpen)
		if h := c.expectHandshake(); h.UID != uid {
			t.Fatalf("handshake uid %q", h.UID)
		}
		ts.send(t, uid, tweetEvent(1))
		c.expectBatch(1) // not held: the push comes before the client speaks

		tr.section("Ajax, Sente " + p.version)
		a := ts.ajax(t, "A", p, "known-ajax-"+name+"-tab1")
		a.expectHandshake()
		ts.expectEvent(t, IDUIDPortOpen)
		ts.send(t, "u-known-ajax-"+name, tweetEvent(2))
		ts.flush()
		a.expectBatch(a.poll(), 1)
	}
	got := tr.String()
	if strings.Contains(got, "unreadable") {
		t.Errorf("a client got a frame it cannot read:\n%s", got)
	}
	if n := strings.Count(got, "chsk/handshake"); n != 4 {
		t.Errorf("%d handshakes, want one per client:\n%s", n, got)
	}
	checkGolden(t, "hello-clients", got)
}

// TestAuthorize checks Config.Authorize on each kind of request: a nil
// error lets it through, an error refuses it with 401 "Unauthorized
// request", a *Refusal with its own status and text, and a refused POST
// delivers no event.
func TestAuthorize(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	var seen sync.Map // client-ids Authorize was asked about
	cfg.Authorize = func(r *http.Request, cid string) error {
		seen.Store(cid, true)
		switch {
		case strings.HasPrefix(cid, "banned"):
			return errors.New("banned")
		case strings.HasPrefix(cid, "busy"):
			return &Refusal{Status: http.StatusTooManyRequests, Reason: "Slow down"}
		}
		return nil
	}
	ts := newTestServer(t, cfg)
	p := profileNamed(t, "v2")
	for _, tt := range []struct {
		cid, body string
		status    int
	}{{"banned-tab1", bodyUnauthorized, 401}, {"busy-tab1", "Slow down", 429}} {
		if _, resp, err := ts.dialWSRaw(t, "X", p.wsQuery(tt.cid, testToken), http.Header{"Origin": {testOrigin}}); err == nil || resp.StatusCode != tt.status {
			t.Errorf("upgrade of %s: %v, want %d", tt.cid, err, tt.status)
		}
		hdr := http.Header{"Origin": {testOrigin}, headerCSRF: {testToken}}
		if r := ts.rawRequest(t, "X", http.MethodGet, "udt=1&handshake%3F=1&client-id="+tt.cid, "", hdr); r.status != tt.status || r.body != tt.body {
			t.Errorf("poll of %s: %d %q", tt.cid, r.status, r.body)
		}
		if r := ts.rawRequest(t, "X", http.MethodPost, "", "udt=1&client-id="+tt.cid+"&ppstr=%5B%5B%22~%3Atest%2Fhello%22%5D%2Cnull%5D", hdr); r.status != tt.status || r.body != tt.body {
			t.Errorf("POST of %s: %d %q", tt.cid, r.status, r.body)
		}
	}
	// A 1.3 POST is authorized as the client its token names.
	a := ts.ajax(t, "A", profileNamed(t, "flexi"), "ok-tab1")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	wait := a.postAsync(helloEvent(1), false)
	if m := ts.expectEvent(t, "test/hello"); m.ClientID != "ok-tab1" {
		t.Fatalf("event of %q", m.ClientID)
	}
	wait()
	if _, ok := seen.Load(""); ok {
		t.Error("Authorize was asked about a POST without its client-id")
	}
}

// TestDisconnect checks Server.Disconnect: every WebSocket and Ajax
// connection of the uid ends at once, other users keep theirs, and the
// client-ids are bound anew on their next request (UserID is asked again).
func TestDisconnect(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	var session atomic.Int64 // the victim's session: its uid changes after the disconnect
	session.Store(1)
	cfg.UserID = func(_ *http.Request, cid string) string {
		if strings.HasPrefix(cid, "other") {
			return "u-other"
		}
		return fmt.Sprintf("u-victim-%d", session.Load())
	}
	cfg.PollTimeout = 30 * time.Second // longer than waitFor: the held poll must end by the disconnect
	ts := newTestServer(t, cfg)
	v2 := profileNamed(t, "v2")
	w := ts.dialWS(t, "W", v2, "victim-tab1")
	if h := w.expectHandshake(); h.UID != "u-victim-1" {
		t.Fatalf("uid %q", h.UID)
	}
	w.expectProbe()
	ts.expectEvent(t, IDUIDPortOpen)
	a := ts.ajax(t, "A", v2, "victim-tab2")
	a.expectHandshake()
	other := ts.dialWS(t, "O", v2, "other-tab1")
	other.expectHandshake()
	other.expectProbe()
	ts.expectEvent(t, IDUIDPortOpen)
	held := a.pollAsync()
	ts.waitHeld(t, "victim-tab2")

	session.Add(1)
	if n := ts.s.Disconnect("u-victim-1"); n != 2 {
		t.Fatalf("Disconnect ended %d connections, want 2", n)
	}
	if r := held(); r.status != http.StatusOK {
		t.Fatalf("held poll: %d %q", r.status, r.body)
	}
	w.conn.SetReadDeadline(time.Now().Add(waitFor))
	for {
		if _, _, err := w.conn.ReadMessage(); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the WebSocket was not ended")
			}
			break
		}
	}
	if n := ts.s.Disconnect("u-nobody"); n != 0 {
		t.Errorf("Disconnect of an unknown uid ended %d", n)
	}
	// The other user still gets pushes.
	ts.send(t, "u-other", tweetEvent(1))
	other.expectBatch(1)
	// The victim's client-ids come back bound anew.
	again := ts.dialWS(t, "W2", v2, "victim-tab1")
	if h := again.expectHandshake(); h.UID != "u-victim-2" {
		t.Fatalf("reconnected with uid %q, want a new binding", h.UID)
	}
	r := a.poll()
	if h, err := protocol.HandshakeFromValue(a.parse(r).Value); err != nil || h.UID != "u-victim-2" {
		t.Fatalf("Ajax tab after the disconnect: %q", r.body)
	}
}
