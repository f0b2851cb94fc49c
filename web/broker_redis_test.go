package web

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/web/redistest"
)

// newTestRedisBroker returns a RedisBroker on rs, closed when the test
// ends.
func newTestRedisBroker(t testing.TB, rs *redistest.Server, channel, instance string) *RedisBroker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	b, err := NewRedisBroker(ctx, RedisBrokerConfig{
		Addr:       rs.Addr(),
		Channel:    channel,
		InstanceID: instance,
		Logger:     zerolog.New(zerolog.NewTestWriter(t)).Level(testLogLevel(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestRedisBroker(t *testing.T) {
	rs := redistest.Start(t)
	n := 0
	testBroker(t,
		func(t *testing.T) Broker {
			n++
			return newTestRedisBroker(t, rs, fmt.Sprintf("test:conformance:%d", n), "")
		},
		func(b Broker) error { return b.(*RedisBroker).Close() })
}

// recorder counts the publications a subscriber received, by event.
type recorder struct {
	mu  sync.Mutex
	got []Publication
}

func (r *recorder) add(p Publication) {
	r.mu.Lock()
	r.got = append(r.got, p)
	r.mu.Unlock()
}

// count returns how many received publications carry an event shown as ev.
func (r *recorder) count(ev protocol.Event) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, p := range r.got {
		if show(p.Event.Value()) == show(ev.Value()) {
			n++
		}
	}
	return n
}

func (r *recorder) find(ev protocol.Event) (Publication, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.got {
		if show(p.Event.Value()) == show(ev.Value()) {
			return p, true
		}
	}
	return Publication{}, false
}

func subscribeRecorder(t *testing.T, b Broker) *recorder {
	t.Helper()
	r := &recorder{}
	if _, err := b.Subscribe(r.add); err != nil {
		t.Fatal(err)
	}
	return r
}

func mustPublish(t *testing.T, b Broker, p Publication) {
	t.Helper()
	if err := b.Publish(p); err != nil {
		t.Fatal(err)
	}
}

// Two instances on one Redis: a publication reaches each instance's
// subscribers exactly once, with its fields intact.
func TestRedisBrokerTwoInstances(t *testing.T) {
	rs := redistest.Start(t)
	a := newTestRedisBroker(t, rs, "test:two", "a")
	b := newTestRedisBroker(t, rs, "test:two", "b")
	ra, rb := subscribeRecorder(t, a), subscribeRecorder(t, b)

	first := Publication{UID: "u1", Event: tweetEvent(1)}
	mustPublish(t, a, first)
	bare := Publication{Broadcast: true, Event: protocol.Event{ID: "test/bare"}}
	mustPublish(t, a, bare)
	nilData := Publication{Broadcast: true, Event: protocol.NewEvent("test/nil", nil)}
	mustPublish(t, a, nilData)
	testsupport.Await(t, waitFor, "b receives the publication without data", func() bool { return rb.count(nilData.Event) == 1 })
	for _, want := range []Publication{first, bare, nilData} {
		p, _ := rb.find(want.Event)
		if p.UID != want.UID || p.Broadcast != want.Broadcast ||
			show(p.Event.Value()) != show(want.Event.Value()) {
			t.Errorf("b got %+v, want %+v", p, want)
		}
	}
	// A marker from b reaches a after a's own copies of first came back
	// through Redis (one connection, in order), so a's counts are final
	// once the marker arrived; likewise b's once a's marker arrived.
	marker := Publication{Broadcast: true, Event: tweetEvent(2)}
	mustPublish(t, b, marker)
	testsupport.Await(t, waitFor, "a receives b's marker", func() bool { return ra.count(marker.Event) == 1 })
	markerA := Publication{Broadcast: true, Event: tweetEvent(3)}
	mustPublish(t, a, markerA)
	testsupport.Await(t, waitFor, "b receives a's marker", func() bool { return rb.count(markerA.Event) == 1 })
	for name, r := range map[string]*recorder{"a": ra, "b": rb} {
		for _, p := range []Publication{first, bare, nilData, marker, markerA} {
			if n := r.count(p.Event); n != 1 {
				t.Errorf("%s received %s %d times, want once", name, show(p.Event.Value()), n)
			}
		}
	}
}

// Messages on the channel that are not envelopes are logged and dropped;
// delivery goes on.
func TestRedisBrokerBadMessages(t *testing.T) {
	rs := redistest.Start(t)
	b := newTestRedisBroker(t, rs, "test:bad", "b")
	rb := subscribeRecorder(t, b)
	c := redis.NewClient(&redis.Options{Addr: rs.Addr(), Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx := context.Background()
	for _, msg := range []string{
		"", "not transit", `["~#list",[]]`, `["sente-pub/2","x","u",false]`,
		`["sente-pub/2","x","",false,["~:tweet/new"],false]`, // no uid
		`["sente-pub/2","x","u",false,["~:bad"],false]`,      // id without namespace
		`["sente-pub/2","x","u",false,["~:tweet/new"]]`,      // no ws-only flag
		`["sente-pub/1","x","u",false,["~:tweet/new"]]`,      // an older version
	} {
		if err := c.Publish(ctx, "test:bad", msg).Err(); err != nil {
			t.Fatal(err)
		}
	}
	good, err := encodeRedisEnvelope("x", Publication{UID: "u", Event: tweetEvent(7)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "test:bad", good).Err(); err != nil {
		t.Fatal(err)
	}
	testsupport.Await(t, waitFor, "b receives the good publication", func() bool { return rb.count(tweetEvent(7)) == 1 })
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if len(rb.got) != 1 {
		t.Errorf("delivered %d publications, want only the good one: %+v", len(rb.got), rb.got)
	}
}

// Redis dies: each instance keeps delivering its own publications. Redis
// returns on the same port: cross-instance delivery resumes by itself.
func TestRedisBrokerOutage(t *testing.T) {
	rs := redistest.Start(t)
	a := newTestRedisBroker(t, rs, "test:outage", "a")
	b := newTestRedisBroker(t, rs, "test:outage", "b")
	ra, rb := subscribeRecorder(t, a), subscribeRecorder(t, b)
	before := Publication{UID: "u", Event: tweetEvent(1)}
	mustPublish(t, a, before)
	testsupport.Await(t, waitFor, "b receives the publication before the outage", func() bool { return rb.count(before.Event) == 1 })

	rs.Kill()
	for i := range 20 {
		ev := tweetEvent(100 + i)
		mustPublish(t, a, Publication{UID: "u", Event: ev})
		if ra.count(ev) != 1 {
			t.Fatalf("a did not deliver its own publication %d locally while Redis is down", i)
		}
		ev = tweetEvent(200 + i)
		mustPublish(t, b, Publication{UID: "u", Event: ev})
		if rb.count(ev) != 1 {
			t.Fatalf("b did not deliver its own publication %d locally while Redis is down", i)
		}
	}

	rs.Restart()
	// Pub/sub keeps nothing for a subscriber that is away: probe until
	// each side hears the other.
	resumed := func(from Broker, to *recorder, base int) {
		t.Helper()
		deadline := time.Now().Add(waitFor)
		for i := 0; ; i++ {
			ev := tweetEvent(base + i)
			mustPublish(t, from, Publication{Broadcast: true, Event: ev})
			probe := time.Now().Add(100 * time.Millisecond)
			for time.Now().Before(probe) {
				if to.count(ev) == 1 {
					return
				}
				time.Sleep(time.Millisecond)
			}
			if time.Now().After(deadline) {
				t.Fatal("cross-instance delivery did not resume after Redis returned")
			}
		}
	}
	resumed(a, rb, 1000)
	resumed(b, ra, 2000)
	// Each of a's local publications reached a once: Redis copies of its
	// own, sent after the restart, are skipped.
	for i := range 20 {
		if n := ra.count(tweetEvent(100 + i)); n != 1 {
			t.Errorf("a delivered its publication %d %d times", i, n)
		}
	}
}

// A full queue drops publications for the other instances, never local
// delivery, and Publish does not block.
func TestRedisBrokerQueueFull(t *testing.T) {
	rs := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	b, err := NewRedisBroker(ctx, RedisBrokerConfig{Addr: rs.Addr(), Channel: "test:full", QueueLen: 4,
		Logger: zerolog.New(zerolog.NewTestWriter(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rb := subscribeRecorder(t, b)
	rs.Kill()
	start := time.Now()
	for i := range 100 {
		mustPublish(t, b, Publication{UID: "u", Event: tweetEvent(i)})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("100 publications took %v with Redis down", d)
	}
	if rb.count(tweetEvent(99)) != 1 {
		t.Error("local delivery stopped with the queue full")
	}
	if b.Dropped() < 90 {
		t.Errorf("dropped %d, want at least 90", b.Dropped())
	}
}

func TestRedisBrokerConfig(t *testing.T) {
	if _, err := NewRedisBroker(context.Background(), RedisBrokerConfig{}); err == nil {
		t.Error("no error without Addr")
	}
	if _, err := NewRedisBroker(context.Background(), RedisBrokerConfig{Addr: "x:1", QueueLen: -1}); err == nil {
		t.Error("no error for a negative QueueLen")
	}
	// Nothing listens on a port just released.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := NewRedisBroker(ctx, RedisBrokerConfig{Addr: addr}); err == nil {
		t.Error("no error with Redis unreachable at start")
	}
}

// Close stops and waits for every goroutine the broker started.
func TestRedisBrokerCloseLeaksNothing(t *testing.T) {
	rs := redistest.Start(t)
	opts := goleak.IgnoreCurrent()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	b, err := NewRedisBroker(ctx, RedisBrokerConfig{Addr: rs.Addr(), Channel: "test:leak"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		mustPublish(t, b, Publication{UID: "u", Event: tweetEvent(i)})
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b.Close() // idempotent
	goleak.VerifyNone(t, opts)
}

// Two Servers, each on its own RedisBroker ("instances"), reach each
// other's clients through Redis.
func TestRedisBrokerServers(t *testing.T) {
	rs := redistest.Start(t)
	cfg := testConfig()
	cfg.Broker = newTestRedisBroker(t, rs, "test:servers", "one")
	one := newTestServer(t, cfg)
	cfg.Broker = newTestRedisBroker(t, rs, "test:servers", "two")
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
