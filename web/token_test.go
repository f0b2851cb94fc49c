package web

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sente-go/sente/protocol"
)

// TestClientToken checks the client tokens that identify Sente 1.3–1.13
// clients (token.go): round trip, and each way a token is refused.
func TestClientToken(t *testing.T) {
	secret := []byte(testSecret)
	now := testNow
	tok := issueToken(secret, "tab-1", "u-1", now, "ref")
	ct, err := verifyToken(secret, tok, now.Add(time.Hour), 24*time.Hour, "ref")
	if err != nil || ct.cid != "tab-1" || ct.uid != "u-1" || !ct.issued.Equal(now) {
		t.Fatalf("verify %q = %+v, %v", tok, ct, err)
	}
	parts := strings.Split(tok, ".")
	tests := []struct {
		name   string
		tok    string
		at     time.Time
		secret []byte
		ref    string
		want   error
	}{
		{"another secret", tok, now, []byte("another-secret-0123456789"), "ref", errTokenForged},
		{"another session", tok, now, secret, "other-ref", errTokenForged},
		{"mac changed", parts[0] + "." + parts[1] + "." + parts[2] + ".AAAAAAAAAAAAAAAAAAAAAA", now, secret, "ref", errTokenForged},
		{"uid changed", parts[0] + ".dS0y." + parts[2] + "." + parts[3], now, secret, "ref", errTokenForged},
		{"time changed", parts[0] + "." + parts[1] + ".1999999999." + parts[3], now, secret, "ref", errTokenForged},
		{"not base64", "!!." + parts[1] + "." + parts[2] + "." + parts[3], now, secret, "ref", errTokenForged},
		{"three fields", parts[0] + "." + parts[1] + "." + parts[2], now, secret, "ref", errTokenForged},
		{"huge", strings.Repeat("a", maxTokenLen) + "...", now, secret, "ref", errTokenForged},
		{"expired", tok, now.Add(24*time.Hour + time.Second), secret, "ref", errTokenExpired},
		{"from the future", tok, now.Add(-2 * time.Minute), secret, "ref", errTokenExpired},
	}
	for _, tt := range tests {
		if _, err := verifyToken(tt.secret, tt.tok, tt.at, 24*time.Hour, tt.ref); err != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if tokenDue(0, now, time.Hour) || tokenDue(now.Unix(), now.Add(30*time.Minute), time.Hour) || !tokenDue(now.Unix(), now.Add(31*time.Minute), time.Hour) {
		t.Error("tokenDue")
	}
}

// TestAjaxClientTokenRefused checks that a POST whose client token is
// forged, expired, of another client or of an earlier binding gets 403
// with its reason, and that none of their events reaches the application:
// the next event is that of a good POST.
func TestAjaxClientTokenRefused(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.TokenMaxAge = time.Hour
	ts := newTestServer(t, cfg)
	var clock atomic.Int64
	clock.Store(testNow.Unix())
	ts.s.hooks.now = func() time.Time { return time.Unix(clock.Load(), 0) }

	p := profileNamed(t, "flexi")
	a := ts.ajax(t, "A", p, "tok-tab1")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	good := a.csrf
	hello, _ := p.dialect().ClientFrame(helloEvent(1), protocol.Callback{})
	other := issueToken([]byte("another-secret-0123456789"), "tok-tab1", "u-tok", testNow, testToken)
	parts := strings.Split(good, ".")
	forged := issueToken([]byte(testSecret), "tok-tab1", "u-admin", testNow, testToken)
	forged = strings.Join(append(strings.Split(forged, ".")[:3], parts[3]), ".")

	refused := []struct {
		name  string
		token string
		cid   string // a client-id in the POST (1.7+), "" for none (1.3–1.6)
		want  string
	}{
		{"forged uid", forged, "", bodyBadCSRF},
		{"another deployment's secret", other, "", bodyBadCSRF},
		{"page token, no client-id", testToken, "", bodyNoClient},
		{"no token, no client-id", "", "", bodyNoClient},
		{"another client's token", good, "tok-tab2", bodyTokenForeign},
	}
	for _, tt := range refused {
		b := *a
		b.cid = tt.cid
		if tt.cid != "" {
			b.p.postClientID = true
		}
		r, _ := b.postRaw(hello, tt.token, nil)
		if r.status != http.StatusForbidden || r.body != tt.want {
			t.Errorf("%s: %d %q, want 403 %q", tt.name, r.status, r.body, tt.want)
		}
	}

	// An hour later the token has expired; the client's next poll, past
	// half the token's life already, renews it.
	clock.Add(int64(time.Hour/time.Second) + 1)
	if r, _ := a.postRaw(hello, good, nil); r.status != http.StatusForbidden || r.body != bodyTokenExpired {
		t.Errorf("expired token: %d %q", r.status, r.body)
	}
	a.expectHandshake()
	if a.csrf == good {
		t.Fatal("the poll did not renew the token")
	}
	renewed := a.csrf
	if r, _ := a.postRaw(hello, renewed, nil); r.status != http.StatusOK {
		t.Fatalf("renewed token: %d %q", r.status, r.body)
	}
	if m := ts.expectEvent(t, "test/hello"); m.UID != "u-tok" || m.ClientID != "tok-tab1" {
		t.Fatalf("event of uid %q client %q", m.UID, m.ClientID)
	}

	// A token of an earlier binding of the client-id: the client was
	// dropped and bound anew to another uid.
	stale := issueToken([]byte(testSecret), "tok-tab1", "u-earlier", time.Unix(clock.Load(), 0), testToken)
	if r, _ := a.postRaw(hello, stale, nil); r.status != http.StatusForbidden || r.body != bodyTokenExpired {
		t.Errorf("token of an earlier binding: %d %q", r.status, r.body)
	}
	select {
	case m := <-ts.s.Events():
		t.Fatalf("event %v delivered after refused POSTs", m.Event.ID)
	default:
	}
}

// FuzzVerifyToken checks that verifyToken never panics and accepts
// nothing but the tokens issueToken makes: a token that verifies is the
// one issued for the client-id, uid and time it names.
func FuzzVerifyToken(f *testing.F) {
	secret := []byte(testSecret)
	f.Add(issueToken(secret, "tab-1", "u-1", testNow, "ref"))
	f.Add("a.b.c.d")
	f.Add("...")
	f.Add("dGFiLTE.dS0x.1418299200.")
	f.Fuzz(func(t *testing.T, tok string) {
		ct, err := verifyToken(secret, tok, testNow, 24*time.Hour, "ref")
		if err != nil {
			if err != errTokenForged && err != errTokenExpired {
				t.Fatalf("verifyToken(%q): unexpected error %v", tok, err)
			}
			return
		}
		if again := issueToken(secret, ct.cid, ct.uid, ct.issued, "ref"); again != tok {
			t.Fatalf("verifyToken accepted %q, which is not the token issued for %+v (%q)", tok, ct, again)
		}
	})
}

// BenchmarkVerifyToken measures what a Sente 1.3–1.13 POST pays to be
// identified: one HMAC-SHA256 over a real-sized token.
func BenchmarkVerifyToken(b *testing.B) {
	secret := []byte(testSecret)
	tok := issueToken(secret, "9f1c3a2e-5b7d-4e8f-a1b2-c3d4e5f60718", "7b4f1c2e-8d4a-4c8b-9e1f-0a2b3c4d5e6f", testNow, "0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := verifyToken(secret, tok, testNow, time.Hour, "0123456789abcdef0123456789abcdef"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDisconnectRevokesClientTokens checks that a 1.3 Ajax client ended by
// Server.Disconnect cannot come back as its old uid with its client token:
// its POST gets 403, and its next poll a handshake of its new binding.
func TestDisconnectRevokesClientTokens(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	var session atomic.Int64
	session.Store(1)
	cfg.UserID = func(*http.Request, string) string { return fmt.Sprintf("u-victim-%d", session.Load()) }
	ts := newTestServer(t, cfg)
	a := ts.ajax(t, "A", profileNamed(t, "flexi"), "victim-tab1")
	a.expectHandshake()
	ts.expectEvent(t, IDUIDPortOpen)
	session.Add(1)
	if n := ts.s.Disconnect("u-victim-1"); n != 1 {
		t.Fatalf("Disconnect ended %d connections", n)
	}
	hello, _ := profileNamed(t, "flexi").dialect().ClientFrame(helloEvent(1), protocol.Callback{})
	if r, _ := a.postRaw(hello, a.csrf, nil); r.status != http.StatusForbidden || r.body != bodyTokenExpired {
		t.Fatalf("POST with the old token: %d %q, want 403 %q", r.status, r.body, bodyTokenExpired)
	}
	r := a.poll()
	if h, err := protocol.HandshakeFromValue(a.parse(r).Value); err != nil || h.UID != "u-victim-2" {
		t.Fatalf("next poll %q, want a handshake of u-victim-2", r.body)
	}
	if r, _ := a.postRaw(hello, a.csrf, nil); r.status != http.StatusOK {
		t.Fatalf("POST with the new token: %d %q", r.status, r.body)
	}
}
