package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/web/redistest"
)

// newTestRedisCluster returns a RedisCluster on rs with the test timing,
// closed when the test ends.
func newTestRedisCluster(t *testing.T, rs *redistest.Server, id string) *RedisCluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := NewRedisCluster(ctx, RedisClusterConfig{Addr: rs.Addr(), Prefix: "{t}:", InstanceID: id,
		Heartbeat: testHeartbeat, PresenceTTL: testPresenceTTL,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// presenceRecorder is a ClusterHandler that keeps the last presence.
type presenceRecorder struct{ last chan map[string]TransportSet }

func (p *presenceRecorder) RemotePresence(uids map[string]TransportSet) {
	select {
	case <-p.last:
	default:
	}
	p.last <- uids
}
func (p *presenceRecorder) AjaxReady(string) {}

// When Redis loses its data (FLUSHALL, a restart without persistence), a
// server finds out at its next write, even one that a presence change
// makes first, and restores its presence, its clients' records (without
// replacing what another server restored) and their Ajax routes with
// their full TTL; the others never see it leave.
func TestRedisClusterRestoresAfterDataLoss(t *testing.T) {
	rs := redistest.Start(t)
	rc := rs.Client()
	defer rc.Close()
	ctx := context.Background()
	a := newTestRedisCluster(t, rs, "a")
	b := newTestRedisCluster(t, rs, "b")
	rec := &presenceRecorder{last: make(chan map[string]TransportSet, 1)}
	stop, err := b.Watch(rec)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	ws := TransportSetOf(TransportWS)
	a.SetPresence("u1", ws)
	if _, err := a.BindClient(ctx, "c1", func() string { return "u1" }, false); err != nil {
		t.Fatal(err)
	}
	const ttl = time.Minute
	if err := a.JoinAjax(ctx, "c1", "u1", ttl); err != nil {
		t.Fatal(err)
	}
	waitPresence(t, rec, map[string]TransportSet{"u1": ws})

	if err := rc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	// Another server restores c1 first, with another uid: it is kept.
	if err := rc.HSet(ctx, "{t}:client:c1", "uid", "u-other").Err(); err != nil {
		t.Fatal(err)
	}
	a.SetPresence("u2", ws) // a write that recreates the hash

	testsupport.Await(t, waitFor, "the presence hash written again", func() bool {
		got, _ := rc.HGetAll(ctx, "{t}:presence:a").Result()
		return got["u1"] != "" && got["u2"] != ""
	})
	testsupport.Await(t, waitFor, "c1 in u1's Ajax clients again", func() bool {
		members, _ := rc.ZRange(ctx, "{t}:ajax:u1", 0, -1).Result()
		return slices.Equal(members, []string{"c1"})
	})
	if uid, _ := rc.HGet(ctx, "{t}:client:c1", "uid").Result(); uid != "u-other" {
		t.Errorf("restored record replaced another server's uid: %q", uid)
	}
	for _, route := range []string{"{t}:ajax:u1", "{t}:ajax:"} {
		if left, _ := rc.PTTL(ctx, route).Result(); left < ttl-10*time.Second {
			t.Errorf("%s expires in %v, want about %v", route, left, ttl)
		}
	}
	waitPresence(t, rec, map[string]TransportSet{"u1": ws, "u2": ws})
}

// waitPresence waits for the handler to be told want.
func waitPresence(t *testing.T, rec *presenceRecorder, want map[string]TransportSet) {
	t.Helper()
	deadline := time.After(waitFor)
	var got map[string]TransportSet
	for {
		select {
		case got = <-rec.last:
			if len(got) == len(want) {
				same := true
				for uid, set := range want {
					same = same && got[uid] == set
				}
				if same {
					return
				}
			}
		case <-deadline:
			t.Fatalf("presence %v, want %v", got, want)
		}
	}
}

// A join drops the expired members of its routes, so that the route of
// all Ajax clients does not grow with every client ever seen.
func TestRedisClusterRoutesShed(t *testing.T) {
	rs := redistest.Start(t)
	rc := rs.Client()
	defer rc.Close()
	ctx := context.Background()
	a := newTestRedisCluster(t, rs, "a")
	// A client that stopped polling a minute ago.
	past := float64(time.Now().Add(-time.Minute).UnixMilli())
	if err := rc.ZAdd(ctx, "{t}:ajax:", redis.Z{Score: past, Member: "gone"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := a.JoinAjax(ctx, "new", "u2", time.Minute); err != nil {
		t.Fatal(err)
	}
	if members, _ := rc.ZRange(ctx, "{t}:ajax:", 0, -1).Result(); !slices.Equal(members, []string{"new"}) {
		t.Errorf("route of all: %v, want [new]", members)
	}
}

// While Redis is unreachable, a RedisCluster fails fast, but for the
// clients it bound itself, whose records it keeps; it serves again once
// its heartbeat reaches Redis.
func TestRedisClusterOutage(t *testing.T) {
	rs := redistest.Start(t)
	ctx := context.Background()
	c := newTestRedisCluster(t, rs, "a")
	known, err := c.BindClient(ctx, "known", func() string { return "u1" }, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.JoinAjax(ctx, "known", "u1", time.Minute); err != nil {
		t.Fatal(err)
	}
	rs.Kill()
	testsupport.Await(t, waitFor, "the outage noticed", func() bool { return !c.up.Load() })
	if rec, err := c.BindClient(ctx, "known", func() string { return "u-new" }, true); err != nil || rec != known {
		t.Errorf("a known client during the outage: %+v, %v", rec, err)
	}
	if _, err := c.BindClient(ctx, "new", func() string { return "u2" }, false); !errors.Is(err, errClusterDown) {
		t.Errorf("a new client during the outage: %v", err)
	}
	if err := c.SaveClient(ctx, "known", known); err == nil {
		t.Error("SaveClient succeeded during the outage")
	}
	if c.PushAjax(Publication{UID: "u1", Event: tweetEvent(1)}) {
		t.Error("PushAjax took a push during the outage")
	}
	if _, err := c.TakeAjax(ctx, "known"); err == nil {
		t.Error("TakeAjax succeeded during the outage")
	}
	if got := c.Instances(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("Instances during the outage: %v", got)
	}
	rs.Restart()
	testsupport.Await(t, waitFor, "Redis reachable again", func() bool { return c.up.Load() })
	if rec, err := c.BindClient(ctx, "new", func() string { return "u2" }, false); err != nil || rec.UID != "u2" {
		t.Errorf("a new client after the outage: %+v, %v", rec, err)
	}
}

// After Redis lost its data, for one PresenceTTL while the servers
// restore what they know, a request that only a bound client sends, from
// a client-id no server restored, gets 503 "Cluster unavailable" rather
// than a new uid (the client retries); a client token binds its client
// here alone; afterwards the client-id is bound anew.
func TestRedisClusterSettling(t *testing.T) {
	rs := redistest.Start(t)
	rc := rs.Client()
	defer rc.Close()
	ctx := context.Background()
	in := newClusterInstance(t, rs, "s1", withClusterConfig(func(c *RedisClusterConfig) { c.PresenceTTL = 3 * time.Second }))
	presence := in.cluster.key("presence:s1")
	testsupport.Await(t, waitFor, "presence written", func() bool { return rc.Exists(ctx, presence).Val() == 1 })
	if err := rc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	testsupport.Await(t, waitFor, "the data loss noticed", func() bool { return in.cluster.settling.Load() > time.Now().UnixNano() })

	a := in.ts.ajax(t, "A", profileNamed(t, "v2"), "settle-tab1")
	a.open = true
	if r := a.poll(); r.status != http.StatusServiceUnavailable || r.body != bodyNoCluster {
		t.Fatalf("poll while settling: %d %q, want 503 %q", r.status, r.body, bodyNoCluster)
	}
	if r := a.postAsync(helloEvent(1), false)(); r.status != http.StatusServiceUnavailable || r.body != bodyNoCluster {
		t.Fatalf("POST while settling: %d %q, want 503 %q", r.status, r.body, bodyNoCluster)
	}
	if _, err := in.cluster.BindClient(ctx, "settle-tab1", func() string { return "u-x" }, true); !errors.Is(err, errClusterSettling) {
		t.Fatalf("BindClient while settling: %v", err)
	}
	flexi := profileNamed(t, "flexi")
	b := in.ts.ajax(t, "B", flexi, "settle-tok-tab1")
	b.csrf = issueToken(in.ts.s.tokenSecret, "settle-tok-tab1", "u-settle-tok", testNow, testToken)
	if r := b.postAsync(helloEvent(2), false)(); r.status != http.StatusOK {
		t.Fatalf("POST with a client token while settling: %d %q", r.status, r.body)
	}
	testsupport.Await(t, waitFor, "the POST delivered", func() bool { return in.events.count("test/hello", "u-settle-tok") == 1 })

	testsupport.Await(t, waitFor, "settled", func() bool { return in.cluster.settling.Load() < time.Now().UnixNano() })
	r := a.poll()
	if h, err := protocol.HandshakeFromValue(a.parse(r).Value); err != nil || h.UID != "u-settle" {
		t.Fatalf("poll once settled: %d %q, want a handshake of u-settle", r.status, r.body)
	}
}

// A RedisCluster needs a client or an address, not both, and a prefix
// whose hash tag keeps its keys in one Redis Cluster slot.
func TestRedisClusterConfig(t *testing.T) {
	rs := redistest.Start(t)
	client := rs.Client()
	defer client.Close()
	ctx := context.Background()
	for _, cfg := range []RedisClusterConfig{
		{},
		{Client: client, Addr: rs.Addr()},
		{Client: client, Prefix: "sente:"},
		{Client: client, Prefix: "{}:"},
		{Client: client, Heartbeat: time.Second, PresenceTTL: time.Second},
		{Client: client, MailboxLen: -1},
	} {
		if c, err := NewRedisCluster(ctx, cfg); err == nil {
			c.Close()
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// The broker and the cluster of a process share its client, which they
// never close: the application keeps using it after them.
func TestRedisSharedClient(t *testing.T) {
	rs := redistest.Start(t)
	client := rs.Client()
	defer client.Close()
	ctx := context.Background()
	b, err := NewRedisBroker(ctx, RedisBrokerConfig{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewRedisCluster(ctx, RedisClusterConfig{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewRedisBroker(ctx, RedisBrokerConfig{Client: client, Addr: rs.Addr()}); err == nil {
		t.Error("a broker with Client and Addr")
	}
	if _, err := c.BindClient(ctx, "c1", func() string { return "u1" }, false); err != nil {
		t.Fatal(err)
	}
	if n := client.Exists(ctx, DefaultRedisPrefix+"client:c1").Val(); n != 1 {
		t.Errorf("the record is not at %sclient:c1", DefaultRedisPrefix)
	}
	b.Close()
	c.Close()
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatalf("the client after Close: %v", err)
	}
}
