package web

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/web/redistest"
)

// clusterImpl is a Cluster implementation under the conformance suite
// testCluster.
type clusterImpl struct {
	// open returns a Cluster on state of its own, closed when the test
	// ends.
	open func(t *testing.T) Cluster
	// join returns another server's Cluster on the state of c; nil when
	// each Cluster is one server's alone (MemoryCluster), and the cases
	// of several servers do not apply.
	join func(t *testing.T, c Cluster) Cluster
}

// memoryClusterImpl is MemoryCluster under the suite.
var memoryClusterImpl = clusterImpl{open: func(*testing.T) Cluster { return NewMemoryCluster() }}

// redisClusterImpl is RedisCluster on rs under the suite, with a client
// of its own, or on client when it is not nil: each open has a prefix of
// its own, and join a second instance on the same prefix.
func redisClusterImpl(rs *redistest.Server, client redis.UniversalClient) clusterImpl {
	var n atomic.Int64
	open := func(t *testing.T, prefix, id string) Cluster {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		cfg := RedisClusterConfig{Client: client, Prefix: prefix, InstanceID: id,
			Heartbeat: testHeartbeat, PresenceTTL: testPresenceTTL,
			Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)}
		if client == nil {
			cfg.Addr = rs.Addr()
		}
		c, err := NewRedisCluster(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return clusterImpl{
		open: func(t *testing.T) Cluster { return open(t, fmt.Sprintf("{suite%d}:", n.Add(1)), "a") },
		join: func(t *testing.T, c Cluster) Cluster { return open(t, c.(*RedisCluster).cfg.Prefix, "b") },
	}
}

// clusterRecorder is a ClusterHandler that keeps what it is told.
type clusterRecorder struct {
	mu       sync.Mutex
	presence map[string]TransportSet
	ready    map[string]int // client-id → wake-ups
}

func newClusterRecorder() *clusterRecorder {
	return &clusterRecorder{ready: map[string]int{}}
}

func (r *clusterRecorder) RemotePresence(uids map[string]TransportSet) {
	r.mu.Lock()
	r.presence = uids
	r.mu.Unlock()
}

func (r *clusterRecorder) AjaxReady(cid string) {
	r.mu.Lock()
	r.ready[cid]++
	r.mu.Unlock()
}

// sees reports whether the last presence told is want.
func (r *clusterRecorder) sees(want map[string]TransportSet) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Equal(r.presence, want) && (r.presence != nil || len(want) == 0)
}

// woken returns how many times cid was told ready.
func (r *clusterRecorder) woken(cid string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready[cid]
}

// takeAll takes cid's mailbox until it gave n events, and checks that it
// is empty afterwards.
func takeAll(t *testing.T, mb Mailboxes, cid string, n int) []protocol.Event {
	t.Helper()
	var got []protocol.Event
	testsupport.Await(t, waitFor, fmt.Sprintf("%d events in the mailbox of %s", n, cid), func() bool {
		evs, err := mb.TakeAjax(context.Background(), cid)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
		return len(got) >= n
	})
	if evs, err := mb.TakeAjax(context.Background(), cid); err != nil || len(evs) != 0 || len(got) != n {
		t.Fatalf("mailbox of %s: %d events, then %d more (%v); want %d", cid, len(got), len(evs), err, n)
	}
	return got
}

// sameEvents reports whether got and want show alike, in order.
func sameEvents(got, want []protocol.Event) bool {
	return slices.EqualFunc(got, want, func(a, b protocol.Event) bool { return show(a.Value()) == show(b.Value()) })
}

// testCluster is the conformance suite every Cluster implementation
// passes (the Broker's is testBroker). The cases of several servers run
// where the implementation has them (impl.join), and those of the Ajax
// mailboxes where it has some (Cluster.Mailboxes). Outages, data loss and
// what a Server answers then are tested through a fault-injecting
// wrapper (TestClusterUnavailable, both implementations) and on a real
// Redis (cluster_redis_test.go).
func testCluster(t *testing.T, impl clusterImpl) {
	ctx := context.Background()
	t.Run("token secret", func(t *testing.T) {
		c := impl.open(t)
		s1, err := c.TokenSecret(ctx)
		if err != nil || len(s1) < minTokenSecretLen {
			t.Fatalf("TokenSecret: %d bytes, %v", len(s1), err)
		}
		if s2, err := c.TokenSecret(ctx); err != nil || string(s2) != string(s1) {
			t.Fatalf("a second TokenSecret differs (%v)", err)
		}
		if impl.join != nil {
			if s3, err := impl.join(t, c).TokenSecret(ctx); err != nil || string(s3) != string(s1) {
				t.Fatalf("another server's TokenSecret differs (%v)", err)
			}
		}
	})
	t.Run("binds new clients", func(t *testing.T) {
		c := impl.open(t)
		calls := 0
		rec, err := c.BindClient(ctx, "c1", func() string { calls++; return "u1" }, false)
		if err != nil || calls != 1 || rec != (ClientRecord{UID: "u1"}) {
			t.Fatalf("BindClient of a new client: %+v, %v, newUID called %d times", rec, err, calls)
		}
		// A binding that must exist is not made. (A RedisCluster just
		// started cannot tell a lost binding from an unknown one yet.)
		testsupport.Await(t, waitFor, "ErrUnknownClient", func() bool {
			_, err := c.BindClient(ctx, "c2", nil, true)
			return errors.Is(err, ErrUnknownClient)
		})
	})
	t.Run("watch", func(t *testing.T) {
		c := impl.open(t)
		if _, err := c.Watch(nil); err == nil {
			t.Error("Watch(nil) succeeded")
		}
		stop, err := c.Watch(newClusterRecorder())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Watch(newClusterRecorder()); err == nil {
			t.Error("a second Watch succeeded")
		}
		stop()
		stop() // idempotent
		stop, err = c.Watch(newClusterRecorder())
		if err != nil {
			t.Fatalf("Watch after stop: %v", err)
		}
		stop()
	})
	t.Run("presence never blocks", func(t *testing.T) {
		c := impl.open(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 10000 {
				c.SetPresence(fmt.Sprintf("u%d", i%100), TransportSet(i%4))
			}
		}()
		select {
		case <-done:
		case <-time.After(waitFor):
			t.Fatal("SetPresence blocks")
		}
	})
	t.Run("concurrent use", func(t *testing.T) {
		c := impl.open(t)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 20 {
					cid := fmt.Sprintf("c%d", j)
					rec, err := c.BindClient(ctx, cid, func() string { return fmt.Sprintf("u%d", i) }, false)
					if err != nil {
						t.Error(err)
						return
					}
					rec.Generation = protocol.GenV2
					if err := c.SaveClient(ctx, cid, rec); err != nil {
						t.Error(err)
					}
					c.SetPresence(rec.UID, TransportSetOf(TransportWS))
					if _, err := c.TokenSecret(ctx); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
	})
	t.Run("mailboxes", func(t *testing.T) {
		c := impl.open(t)
		mb := c.Mailboxes()
		if mb == nil {
			t.Skip("no mailboxes: each server keeps its Ajax clients' pushes")
		}
		rec := newClusterRecorder()
		stop, err := c.Watch(rec)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		for _, cid := range []string{"c1", "c2"} {
			if err := mb.JoinAjax(ctx, cid, "u-"+cid, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		ev1, ev2 := tweetEvent(1), echoEvent("to every ajax client")
		if !mb.PushAjax(Publication{UID: "u-c1", Event: ev1}) || !mb.PushAjax(Publication{Broadcast: true, Event: ev2}) {
			t.Fatal("PushAjax refused a push")
		}
		testsupport.Await(t, waitFor, "c1 woken", func() bool { return rec.woken("c1") > 0 })
		if got := takeAll(t, mb, "c1", 2); !sameEvents(got, []protocol.Event{ev1, ev2}) {
			t.Errorf("c1 took %v", got)
		}
		if got := takeAll(t, mb, "c2", 1); !sameEvents(got, []protocol.Event{ev2}) {
			t.Errorf("c2 took %v", got)
		}
	})

	if impl.join == nil {
		return // one server's alone
	}
	t.Run("shares clients", func(t *testing.T) {
		a := impl.open(t)
		b := impl.join(t, a)
		if _, err := a.BindClient(ctx, "c1", func() string { return "u1" }, false); err != nil {
			t.Fatal(err)
		}
		rec, err := b.BindClient(ctx, "c1", func() string { t.Error("bound anew"); return "u-other" }, true)
		if err != nil || rec.UID != "u1" {
			t.Fatalf("the other server bound c1 to %q (%v)", rec.UID, err)
		}
		saved := ClientRecord{UID: "u1", Generation: protocol.GenV2, Format: protocol.FormatEDN, FormatKnown: true,
			Hint: protocol.SetOf(protocol.GenV2), AjaxHandshake: true, TokenIssued: 42}
		if err := a.SaveClient(ctx, "c1", saved); err != nil {
			t.Fatal(err)
		}
		if rec, err := b.BindClient(ctx, "c1", nil, true); err != nil || rec != saved {
			t.Fatalf("the other server reads %+v (%v), want %+v", rec, err, saved)
		}
		// Two servers binding a new client-id at once agree.
		var uids [2]string
		var wg sync.WaitGroup
		for i, c := range []Cluster{a, b} {
			wg.Go(func() {
				rec, err := c.BindClient(ctx, "c5", func() string { return fmt.Sprintf("u5-%d", i) }, false)
				if err != nil {
					t.Error(err)
				}
				uids[i] = rec.UID
			})
		}
		wg.Wait()
		if uids[0] != uids[1] {
			t.Errorf("c5 bound to %q and %q", uids[0], uids[1])
		}
	})
	t.Run("shares presence", func(t *testing.T) {
		a := impl.open(t)
		b := impl.join(t, a)
		rec := newClusterRecorder()
		stop, err := b.Watch(rec)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		both := TransportSetOf(TransportWS, TransportAjax)
		a.SetPresence("u1", both)
		testsupport.Await(t, waitFor, "b sees u1", func() bool { return rec.sees(map[string]TransportSet{"u1": both}) })
		a.SetPresence("u1", 0)
		testsupport.Await(t, waitFor, "b sees u1 leave", func() bool { return rec.sees(map[string]TransportSet{}) })
	})
	t.Run("mailboxes across servers", func(t *testing.T) {
		a := impl.open(t)
		b := impl.join(t, a)
		if a.Mailboxes() == nil {
			t.Skip("no mailboxes")
		}
		rec := newClusterRecorder()
		stop, err := a.Watch(rec)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
		if err := a.Mailboxes().JoinAjax(ctx, "c1", "u1", time.Minute); err != nil {
			t.Fatal(err)
		}
		ev := tweetEvent(7)
		if !b.Mailboxes().PushAjax(Publication{UID: "u1", Event: ev}) {
			t.Fatal("PushAjax refused the push")
		}
		testsupport.Await(t, waitFor, "a's poll woken", func() bool { return rec.woken("c1") > 0 })
		if got := takeAll(t, a.Mailboxes(), "c1", 1); !sameEvents(got, []protocol.Event{ev}) {
			t.Errorf("took %v", got)
		}
	})
}

func TestMemoryCluster(t *testing.T) { testCluster(t, memoryClusterImpl) }

func TestRedisCluster(t *testing.T) { testCluster(t, redisClusterImpl(redistest.Start(t), nil)) }

// On Redis Cluster, through a cluster client the application owns: the
// suites pass (a Redis Cluster node refuses a command whose keys are in
// several slots), and every key the clusters wrote is in the slot of its
// prefix's hash tag, as the script, which writes keys it cannot declare,
// needs on a cluster of several nodes.
func TestRedisClusterMode(t *testing.T) {
	rs := redistest.StartCluster(t)
	cc := rs.ClusterClient()
	t.Cleanup(func() { cc.Close() })
	t.Run("cluster", func(t *testing.T) { testCluster(t, redisClusterImpl(rs, cc)) })
	t.Run("one slot", func(t *testing.T) {
		ctx := context.Background()
		keys, err := cc.Keys(ctx, "*").Result()
		if err != nil || len(keys) == 0 {
			t.Fatalf("%d keys, %v", len(keys), err)
		}
		for _, k := range keys {
			open, end := strings.IndexByte(k, '{'), strings.IndexByte(k, '}')
			if open < 0 || end < open+2 {
				t.Errorf("key %q has no hash tag", k)
				continue
			}
			want := cc.ClusterKeySlot(ctx, k[open+1:end]).Val()
			if got := cc.ClusterKeySlot(ctx, k).Val(); got != want {
				t.Errorf("key %q is in slot %d, its tag's is %d", k, got, want)
			}
		}
	})
	t.Run("broker", func(t *testing.T) {
		n := 0
		testBroker(t,
			func(t *testing.T) Broker {
				n++
				b, err := NewRedisBroker(context.Background(), RedisBrokerConfig{Client: cc, Channel: fmt.Sprintf("test:cc:%d", n),
					Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { b.Close() })
				return b
			},
			func(b Broker) error { return b.(*RedisBroker).Close() })
	})
}
