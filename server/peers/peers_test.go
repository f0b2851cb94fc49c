package peers

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/server/hub"
	"github.com/sente-go/sente/web/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// replica is a hub's replica for a test: the entries it holds, which it
// writes back when told the hash was lost.
type replica struct {
	mu      sync.Mutex
	entries map[string]hub.LiveEntry
	changed chan struct{} // cap 1: something was applied, dropped or reconciled
	lost    int           // Reconcile calls with lost
}

func newReplica(es ...hub.LiveEntry) *replica {
	r := &replica{entries: map[string]hub.LiveEntry{}, changed: make(chan struct{}, 1)}
	for _, e := range es {
		r.entries[e.UID] = e
	}
	return r
}

func (r *replica) signal() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *replica) Apply(e hub.LiveEntry) {
	r.mu.Lock()
	if cur, ok := r.entries[e.UID]; !ok || cur.At.Before(e.At) {
		r.entries[e.UID] = e
	}
	r.mu.Unlock()
	r.signal()
}

func (r *replica) Drop(uid string, at time.Time) {
	r.mu.Lock()
	if cur, ok := r.entries[uid]; ok && !cur.At.After(at) {
		delete(r.entries, uid)
	}
	r.mu.Unlock()
	r.signal()
}

func (r *replica) Reconcile(all map[string]hub.LiveEntry, lost bool) []hub.LiveEntry {
	r.mu.Lock()
	defer r.signal()
	defer r.mu.Unlock()
	if lost {
		r.lost++
	}
	for _, e := range all {
		if cur, ok := r.entries[e.UID]; !ok || cur.At.Before(e.At) {
			r.entries[e.UID] = e
		}
	}
	var missing []hub.LiveEntry
	for uid, e := range r.entries {
		if s, ok := all[uid]; !ok || s.At.Before(e.At) {
			missing = append(missing, e)
		}
	}
	return missing
}

// has reports whether the replica holds exactly uids (sorted).
func (r *replica) has(uids ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	for uid := range r.entries {
		got = append(got, uid)
	}
	slices.Sort(got)
	return slices.Equal(got, uids)
}

// await waits until cond holds, re-checking whenever r changes.
func (r *replica) await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-r.changed:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// start runs p with rep until the test ends.
func start(t *testing.T, p *Redis, rep *replica) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, rep) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func newPeer(t *testing.T, addr, instance string, settle time.Duration) *Redis {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second})
	t.Cleanup(func() { c.Close() })
	p, err := New(Config{Client: c, Key: "test:live", Instance: instance, Instances: func() []string { return []string{instance} }, SettleAfter: settle})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func liveEntry(uid, instance string, at time.Time) hub.LiveEntry {
	return hub.LiveEntry{UID: uid, At: at, Instance: instance, Data: []byte(`["~#q",["x y"]]`)}
}

// One instance's entries and removals reach the other; an earlier entry
// does not replace a later one in the hash; a newcomer reads them all.
func TestShare(t *testing.T) {
	rs := redistest.Start(t)
	c := rs.Client()
	defer c.Close()
	a, b := newPeer(t, rs.Addr(), "A", time.Hour), newPeer(t, rs.Addr(), "B", time.Hour)
	ra, rb := newReplica(), newReplica()
	start(t, a, ra)
	start(t, b, rb)
	at := time.Unix(1700000000, 123456789)
	a.Set(liveEntry("u 1", "A", at)) // a uid may hold spaces
	rb.await(t, "b holds u 1", func() bool { return rb.has("u 1") })
	rb.mu.Lock()
	got := rb.entries["u 1"]
	rb.mu.Unlock()
	if !got.At.Equal(at) || got.Instance != "A" || string(got.Data) != `["~#q",["x y"]]` {
		t.Fatalf("b got %+v", got)
	}
	b.Set(liveEntry("u 1", "B", at.Add(-time.Second))) // earlier: refused by the hash
	b.Set(liveEntry("u2", "B", at))
	ra.await(t, "a holds u2", func() bool { return ra.has("u 1", "u2") })
	v, err := c.HGet(context.Background(), "test:live", "u 1").Result()
	if e, ok := parseValue("u 1", v); err != nil || !ok || e.Instance != "A" {
		t.Fatalf("hash holds %q (%v), want A's entry", v, err)
	}
	a.Delete("u2", at.Add(-time.Second)) // not the entry's time: kept in the hash
	b.Delete("u 1", at)
	ra.await(t, "a dropped u 1", func() bool { return ra.has("u2") })
	if n, _ := c.HLen(context.Background(), "test:live").Result(); n != 2 { // u2 and the mark
		t.Fatalf("hash has %d fields, want u2 and the mark", n)
	}
	rn := newReplica()
	start(t, newPeer(t, rs.Addr(), "N", time.Hour), rn)
	rn.await(t, "a newcomer reads u2", func() bool { return rn.has("u2") })
}

// When Redis restarts empty, each instance writes its entries back; the
// hash is complete again and Settled follows Redis.
func TestDataLoss(t *testing.T) {
	rs := redistest.Start(t)
	c := rs.Client()
	defer c.Close()
	now := time.Now()
	a, b := newPeer(t, rs.Addr(), "A", 50*time.Millisecond), newPeer(t, rs.Addr(), "B", 50*time.Millisecond)
	ra, rb := newReplica(liveEntry("ua", "A", now)), newReplica(liveEntry("ub", "B", now))
	start(t, a, ra)
	start(t, b, rb)
	ra.await(t, "a holds both", func() bool { return ra.has("ua", "ub") })
	rb.await(t, "b holds both", func() bool { return rb.has("ua", "ub") })
	testsupport.Await(t, 15*time.Second, "a is settled", a.Settled)

	rs.Kill()
	testsupport.Await(t, 15*time.Second, "a notices the outage", func() bool { return !a.Settled() })
	rs.Restart()
	testsupport.Await(t, 15*time.Second, "the hash is whole again", func() bool {
		m, err := c.HGetAll(context.Background(), "test:live").Result()
		_, ok1 := m["ua"]
		_, ok2 := m["ub"]
		_, ok3 := m[complete]
		return err == nil && ok1 && ok2 && ok3
	})
	testsupport.Await(t, 15*time.Second, "a settles again", a.Settled)
	ra.mu.Lock()
	lost := ra.lost
	ra.mu.Unlock()
	rb.mu.Lock()
	lost += rb.lost
	rb.mu.Unlock()
	if lost < 1 {
		t.Fatal("no instance was told Redis lost the hash")
	}
}

// Bad messages and fields are ignored; good ones still arrive.
func TestBadInput(t *testing.T) {
	rs := redistest.Start(t)
	c := rs.Client()
	defer c.Close()
	ctx := context.Background()
	for field, v := range map[string]string{"bad1": "x", "bad2": "00000000000000000001 A", "bad3": "1 A data", "good": formatValue(liveEntry("good", "A", time.Unix(0, 5)))} {
		if err := c.HSet(ctx, "test:live", field, v).Err(); err != nil {
			t.Fatal(err)
		}
	}
	r := newReplica()
	start(t, newPeer(t, rs.Addr(), "A", time.Hour), r)
	r.await(t, "the good field is read", func() bool { return r.has("good") })
	testsupport.Await(t, 15*time.Second, "subscribed", func() bool {
		n, err := c.PubSubNumSub(ctx, "test:live").Result()
		return err == nil && n["test:live"] == 1
	})
	for _, bad := range []string{"", "x", "{}", `{"uid":"u"}`, `{"uid":"u","del":"12"}`, `{"uid":"u","v":"1 A d"}`} {
		if err := c.Publish(ctx, "test:live", bad).Err(); err != nil {
			t.Fatal(err)
		}
	}
	good, _ := formatMessage(liveEntry("after", "B", time.Unix(0, 9)))
	if err := c.Publish(ctx, "test:live", good).Err(); err != nil {
		t.Fatal(err)
	}
	r.await(t, "the good message arrives", func() bool { return r.has("after", "good") })
}

// FuzzParseMessage: any message is read without panic, and an entry read
// is written back to a message that reads the same.
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{"", "{}", `{"uid":"u","v":"00000000000000000001 A d"}`, `{"uid":"u","del":"00000000000000000001"}`, `{"uid":"u","v":"1 A d"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		e, del, ok := parseMessage(msg)
		if !ok || del {
			return
		}
		again, err := formatMessage(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, del2, ok2 := parseMessage(again)
		if !ok2 || del2 || e2.UID != e.UID || !e2.At.Equal(e.At) || e2.Instance != e.Instance || string(e2.Data) != string(e.Data) {
			t.Fatalf("%q → %q → %+v", msg, again, e2)
		}
	})
}
