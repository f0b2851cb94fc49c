package web

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sente-go/sente/protocol"
)

// TestAjaxCallbackTimeout checks that a POST whose callback the
// application does not answer gets :chsk/timeout, in each generation, and
// that a late Reply says so.
func TestAjaxCallbackTimeout(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			cfg := testConfig()
			cfg.CallbackTimeout = 100 * time.Millisecond
			ts := newTestServer(t, cfg)
			a := ts.ajax(t, "A", p, p.name+"-tab1")
			a.expectHandshake()
			ts.expectEvent(t, IDUIDPortOpen)
			wait := a.postAsync(echoEvent("?"), true)
			m := ts.expectEvent(t, "test/echo")
			r := wait()
			want, _ := p.gen.AjaxTimeoutReply()
			if r.status != http.StatusOK || r.body != string(want) {
				t.Fatalf("answer %d %q, want %q", r.status, r.body, want)
			}
			if err := m.Reply("late"); !errors.Is(err, ErrReplyExpired) {
				t.Fatalf("late Reply: %v", err)
			}
		})
	}
}

// TestAjaxIdleClient checks that a client that stops polling is dropped
// after the grace period (uidport-close), and that its next poll starts
// over with a handshake.
func TestAjaxIdleClient(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.DisconnectGrace = 50 * time.Millisecond
	ts := newTestServer(t, cfg)
	a := ts.ajax(t, "A", profileNamed(t, "v1"), "idle-tab1")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	ts.expectEvent(t, IDUIDPortClose)
	if got := ts.s.ConnectedUIDs(); len(got.Any) != 0 {
		t.Fatalf("connected %+v", got)
	}
	a.open = true // it still thinks it is open: no handshake flag
	r := a.poll()
	if _, err := protocol.HandshakeFromValue(a.parse(r).Value); err != nil {
		t.Fatalf("poll after the drop: %q, want a handshake", r.body)
	}
	ts.expectEvent(t, IDUIDPortOpen)
}

// TestAjaxFreshUIDPerRequest checks the case the original server got
// wrong (docs/protocol.md §6.1): a UserID that returns a new random id on
// every call still gives each Ajax client one uid, and pushes to it arrive.
func TestAjaxFreshUIDPerRequest(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.UserID = func(*http.Request, string) string { return randomID() }
	ts := newTestServer(t, cfg)
	a := ts.ajax(t, "A", profileNamed(t, "flexi"), "rnd-tab1")
	r := a.poll()
	h, err := protocol.HandshakeFromValue(a.parse(r).Value)
	if err != nil {
		t.Fatalf("first poll %q", r.body)
	}
	open := ts.expectEvent(t, IDUIDPortOpen)
	if open.UID != h.UID {
		t.Fatalf("uidport-open %q, handshake %q", open.UID, h.UID)
	}
	wait := a.postAsync(helloEvent(1), false)
	// A 1.3 POST carries no client-id, but its client token names the
	// client and the uid it was bound to.
	if m := ts.expectEvent(t, "test/hello"); m.UID != h.UID || m.ClientID != "rnd-tab1" {
		t.Fatalf("POST of uid %q client %q, want the poller's %q", m.UID, m.ClientID, h.UID)
	}
	wait()
	for i := range 3 {
		ts.send(t, h.UID, tweetEvent(i))
		ts.flush()
		a.expectBatch(a.poll(), 1)
	}
}

// TestAjaxSlowClient checks that pushes wait for the next poll up to the
// queue limit, and that a client over it is dropped and starts over.
func TestAjaxSlowClient(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.SendQueueLen = 2
	ts := newTestServer(t, cfg)
	a := ts.ajax(t, "A", profileNamed(t, "v2"), "slow-tab1")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	for i := range 2 {
		ts.send(t, "u-slow", tweetEvent(i))
		ts.flush()
	}
	// Two pushes queued between polls arrive as one batch.
	a.expectBatch(a.poll(), 2)
	for i := range 3 {
		ts.send(t, "u-slow", tweetEvent(i))
		ts.flush()
	}
	// The third overflowed the queue: the client was dropped.
	ts.expectEvent(t, IDUIDPortClose)
	r := a.poll()
	if _, err := protocol.HandshakeFromValue(a.parse(r).Value); err != nil {
		t.Fatalf("poll after the drop: %q, want a handshake", r.body)
	}
	ts.expectEvent(t, IDUIDPortOpen)
}

// TestAjaxSupersededPoll checks that a newer poll of the same client ends
// the older one without data.
func TestAjaxSupersededPoll(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.PollTimeout = 5 * time.Second
	ts := newTestServer(t, cfg)
	p := profileNamed(t, "flexi")
	a := ts.ajax(t, "A", p, "sup-tab1")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	first := a.pollAsync()
	ts.waitHeld(t, "sup-tab1")
	second := a.pollAsync()
	if r := first(); r.body != "-j[]" {
		t.Fatalf("superseded poll answered %q", r.body)
	}
	ts.waitHeld(t, "sup-tab1")
	ts.send(t, "u-sup", tweetEvent(1))
	ts.flush()
	a.expectBatch(second(), 1)
}

// TestAjaxBadRequests checks the 4xx answers: never an empty body.
func TestAjaxBadRequests(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ReadLimit = 256
	ts := newTestServer(t, cfg)
	hdr := http.Header{"Origin": {testOrigin}, headerCSRF: {testToken}}
	tests := []struct {
		name, method, query, body string
		status                    int
		want                      string
	}{
		{"method", http.MethodPut, "", "", http.StatusMethodNotAllowed, bodyMethodNotAllowed},
		{"no ppstr", http.MethodPost, "", "client-id=c", http.StatusBadRequest, bodyNoPpstr},
		{"empty ppstr", http.MethodPost, "", "ppstr=", http.StatusBadRequest, bodyBadPackage},
		{"v2 not an event", http.MethodPost, "", "ppstr=%5B1%2Cnull%5D", http.StatusBadRequest, bodyBadPackage},
		{"edn", http.MethodPost, "", "client-id=c&ppstr=%2B%5B%5B%3Aa%2Fb%5D%5D", http.StatusBadRequest, bodyBadPackage},
		{"no client", http.MethodPost, "", "_=1&ppstr=%2Bj%5B%5B%22~%3Aa%2Fb%22%5D%5D", http.StatusForbidden, bodyNoClient},
		{"reserved id", http.MethodPost, "", "ppstr=%5B%5B%22~%3Achsk%2Fuidport-open%22%5D%2Cnull%5D", http.StatusBadRequest, bodyReserved},
		{"binary packer", http.MethodPost, "binary%3F=true", "ppstr=x", http.StatusBadRequest, bodyBinary},
		{"too large", http.MethodPost, "", "ppstr=" + strings.Repeat("x", 300), http.StatusBadRequest, bodyBadRequest},
		{"long client-id", http.MethodGet, "udt=1&client-id=" + strings.Repeat("c", 200), "", http.StatusBadRequest, bodyBadClientID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.rawRequest(t, "X", tt.method, tt.query, tt.body, hdr)
			if r.status != tt.status || r.body != tt.want {
				t.Fatalf("%d %q, want %d %q", r.status, r.body, tt.status, tt.want)
			}
		})
	}
}
