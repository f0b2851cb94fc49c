package web

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/web/redistest"
)

// errInjected is the failure of a faultyCluster that is down.
var errInjected = errors.New("injected fault: cluster unreachable")

// faultyCluster wraps a Cluster, failing every call that needs the
// shared state while down is set, as a RedisCluster does while Redis is
// unreachable: the fault injection that gives a MemoryCluster the outages
// it has none of.
type faultyCluster struct {
	Cluster
	down atomic.Bool
}

func (f *faultyCluster) BindClient(ctx context.Context, cid string, newUID func() string, existing bool) (ClientRecord, error) {
	if f.down.Load() {
		return ClientRecord{}, errInjected
	}
	return f.Cluster.BindClient(ctx, cid, newUID, existing)
}

func (f *faultyCluster) SaveClient(ctx context.Context, cid string, rec ClientRecord) error {
	if f.down.Load() {
		return errInjected
	}
	return f.Cluster.SaveClient(ctx, cid, rec)
}

func (f *faultyCluster) Mailboxes() Mailboxes {
	if mb := f.Cluster.Mailboxes(); mb != nil {
		return faultyMailboxes{Mailboxes: mb, f: f}
	}
	return nil
}

// faultyMailboxes are the mailboxes of a faultyCluster.
type faultyMailboxes struct {
	Mailboxes
	f *faultyCluster
}

func (m faultyMailboxes) JoinAjax(ctx context.Context, cid, uid string, ttl time.Duration) error {
	if m.f.down.Load() {
		return errInjected
	}
	return m.Mailboxes.JoinAjax(ctx, cid, uid, ttl)
}

func (m faultyMailboxes) PushAjax(p Publication) bool {
	return !m.f.down.Load() && m.Mailboxes.PushAjax(p)
}

func (m faultyMailboxes) TakeAjax(ctx context.Context, cid string) ([]protocol.Event, error) {
	if m.f.down.Load() {
		return nil, errInjected
	}
	return m.Mailboxes.TakeAjax(ctx, cid)
}

// testClusterUnavailable checks what a Server on c answers while its
// Cluster cannot be reached: 503 "Cluster unavailable" to what only a
// client bound before sends (a poll without the handshake flag, a POST)
// from a client-id it does not hold, rather than a new uid; a handshake
// poll, a WebSocket and a client token bind the client here alone; the
// clients it holds are served. Once the cluster answers, an unknown
// client-id is bound anew, and a client token whose binding ended is
// refused.
func testClusterUnavailable(t *testing.T, c Cluster) {
	fc := &faultyCluster{Cluster: c}
	cfg := testConfig()
	cfg.Cluster = fc
	ts := newTestServer(t, cfg)
	v2, flexi := profileNamed(t, "v2"), profileNamed(t, "flexi")
	fc.down.Store(true)

	a := ts.ajax(t, "A", v2, "unav-tab1")
	a.open = true // a client that had its handshake from another server
	if r := a.poll(); r.status != http.StatusServiceUnavailable || r.body != bodyNoCluster {
		t.Fatalf("poll of an unknown client: %d %q, want 503 %q", r.status, r.body, bodyNoCluster)
	}
	if r := a.postAsync(helloEvent(1), false)(); r.status != http.StatusServiceUnavailable || r.body != bodyNoCluster {
		t.Fatalf("POST of an unknown client: %d %q, want 503 %q", r.status, r.body, bodyNoCluster)
	}
	a.open = false
	a.expectHandshake() // bound here alone
	ts.expectEvent(t, IDUIDPortOpen)
	if r := a.postAsync(helloEvent(2), false)(); r.status != http.StatusOK {
		t.Fatalf("POST of a client bound here: %d %q", r.status, r.body)
	}
	if m := ts.expectEvent(t, "test/hello"); m.UID != "u-unav" {
		t.Fatalf("POST of uid %q", m.UID)
	}
	w := ts.dialWS(t, "W", v2, "unav-ws-tab1")
	if h := w.expectHandshake(); h.UID != "u-unav-ws" {
		t.Fatalf("WebSocket bound to %q", h.UID)
	}
	ts.expectEvent(t, IDUIDPortOpen)

	// A 1.3 client whose token another server issued: the token vouches.
	b := ts.ajax(t, "B", flexi, "tok-tab1")
	b.csrf, b.open = issueToken(ts.s.tokenSecret, "tok-tab1", "u-tok", testNow, testToken), true
	if r := b.postAsync(helloEvent(3), false)(); r.status != http.StatusOK {
		t.Fatalf("POST with a client token: %d %q", r.status, r.body)
	}
	if m := ts.expectEvent(t, "test/hello"); m.UID != "u-tok" || m.ClientID != "tok-tab1" {
		t.Fatalf("POST with a client token: uid %q client %q", m.UID, m.ClientID)
	}

	fc.down.Store(false)
	d := ts.ajax(t, "D", v2, "back-tab1")
	d.open = true
	r := d.poll()
	if _, err := protocol.HandshakeFromValue(d.parse(r).Value); err != nil {
		t.Fatalf("poll of an unknown client once the cluster answers: %d %q, want a handshake", r.status, r.body)
	}
	ts.expectEvent(t, IDUIDPortOpen)
	e := ts.ajax(t, "E", flexi, "gone-tab1")
	e.csrf = issueToken(ts.s.tokenSecret, "gone-tab1", "u-gone", testNow, testToken)
	hello, _ := flexi.dialect().ClientFrame(helloEvent(4), protocol.Callback{})
	testsupport.Await(t, waitFor, "a token of an ended binding refused", func() bool {
		r, _ := e.postRaw(hello, e.csrf, nil)
		return r.status == http.StatusForbidden && r.body == bodyTokenExpired
	})
}

func TestClusterUnavailable(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		testClusterUnavailable(t, NewMemoryCluster())
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		testClusterUnavailable(t, redisClusterImpl(redistest.Start(t), nil).open(t))
	})
}
