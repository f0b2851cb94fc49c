package hub

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sente-go/sente/server/percolator"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/store"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web"
)

// fakePeers is the cluster of a test: its members are set by the test,
// and it records what the hub shares.
type fakePeers struct {
	self string

	mu      sync.Mutex
	members []string
	settled bool
	sets    []LiveEntry
	deletes []string // uids
}

func newFakePeers(self string, members ...string) *fakePeers {
	p := &fakePeers{self: self, settled: true}
	p.setMembers(members...)
	return p
}

func (p *fakePeers) Instance() string { return p.self }
func (p *fakePeers) Instances() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.members)
}
func (p *fakePeers) Set(e LiveEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sets = append(p.sets, e)
}
func (p *fakePeers) Delete(uid string, _ time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deletes = append(p.deletes, uid)
}
func (p *fakePeers) Settled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settled
}
func (p *fakePeers) setMembers(ms ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.members = append([]string{p.self}, ms...)
	slices.Sort(p.members)
}

// setSettled sets whether the view of the instances can be trusted.
func (p *fakePeers) setSettled(settled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settled = settled
}

// presence is a Transport whose connected uids the test sets.
type presence struct {
	fakeTransport
	mu  sync.Mutex
	any []string
}

func (p *presence) ConnectedUIDs() web.ConnectedUIDs {
	p.mu.Lock()
	defer p.mu.Unlock()
	return web.ConnectedUIDs{Any: slices.Clone(p.any)}
}

// newLiveHub returns a hub (not running) of instance self in a cluster of
// peers, for the live-query methods, which need no loop.
func newLiveHub(t *testing.T, peers *fakePeers, tr Transport) *Hub {
	t.Helper()
	st, err := store.New(store.Config{Capacity: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if tr == nil {
		tr = &presence{}
	}
	h, err := New(Config{Transport: tr, Store: st, Percolator: percolator.New(percolator.Config{}), Peers: peers, LiveGrace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	h.reown()
	return h
}

func liveQueryMap(words string) *transit.Map {
	return transit.NewMap(transit.Keyword("query_string"), transit.NewMap(transit.Keyword("query"), words))
}

// entry returns a LiveEntry of uid for words, tagged tag, from instance.
func entry(t *testing.T, uid, instance, words string, tag any, at time.Time) LiveEntry {
	t.Helper()
	data, err := encodeLive(liveQueryMap(words), tag)
	if err != nil {
		t.Fatal(err)
	}
	return LiveEntry{UID: uid, At: at, Instance: instance, Data: data}
}

// percolated returns the query string uid is percolated with here, or "".
func percolated(h *Hub, uid string) string {
	q, ok := h.cfg.Percolator.Lookup(uid)
	if !ok {
		return ""
	}
	return q.String()
}

// A :cmd/percolate is shared; a later entry of another instance alive
// takes the uid away, an earlier one does not; when that instance dies,
// this one takes the query over from the shared form, and hands it back
// when the instance returns.
func TestLiveQueryOwnership(t *testing.T) {
	peers := newFakePeers("A", "B")
	h := newLiveHub(t, peers, nil)
	q, err := queryOf(liveQueryMap("clojure"))
	if err != nil {
		t.Fatal(err)
	}
	h.registerLocal(registration{uid: "u1", q: q, raw: liveQueryMap("clojure"), tag: int64(7)})
	if len(peers.sets) != 1 || peers.sets[0].Instance != "A" || peers.sets[0].UID != "u1" {
		t.Fatalf("shared %+v, want one entry of u1 from A", peers.sets)
	}
	mine := peers.sets[0]
	if _, tag, err := decodeLive(mine.Data); err != nil || tag != int64(7) {
		t.Fatalf("shared data: tag %v, %v", tag, err)
	}
	want := percolated(h, "u1")
	if want == "" {
		t.Fatal("not percolated where registered")
	}

	h.Apply(entry(t, "u1", "B", "golang", nil, mine.At.Add(-time.Second)))
	if got := percolated(h, "u1"); got != want {
		t.Fatalf("an earlier entry elsewhere changed the query to %q", got)
	}
	later := entry(t, "u1", "B", "golang", "g", mine.At.Add(time.Second))
	h.Apply(later)
	if got := percolated(h, "u1"); got != "" {
		t.Fatalf("a later entry on B, alive, left %q percolated here", got)
	}
	if known, perc := h.LiveCount(); known != 1 || perc != 0 {
		t.Fatalf("LiveCount = %d, %d; want 1, 0", known, perc)
	}

	peers.setMembers() // B dies
	h.reown()
	if got := percolated(h, "u1"); got == "" || got == want {
		t.Fatalf("after B died, percolated %q, want B's golang query", got)
	}
	if q, tag := h.current("u1"); q == nil || tag != "g" {
		t.Fatalf("current = %v, %v; want the query and tag g", q, tag)
	}
	peers.setMembers("B") // B returns
	h.reown()
	if got := percolated(h, "u1"); got != "" {
		t.Fatalf("B returned, but %q is still percolated here", got)
	}

	// Unsettled (Redis lost, or just back), an instance missing from the
	// view may be alive: nothing is taken over.
	peers.setSettled(false)
	peers.setMembers()
	h.reown()
	if got := percolated(h, "u1"); got != "" {
		t.Fatalf("unsettled, B's query was taken over: %q", got)
	}
	peers.setSettled(true)
	h.reown()
	if got := percolated(h, "u1"); got == "" {
		t.Fatal("settled again without B, its query was not taken over")
	}

	// A query too large to share (its tag is the client's) is
	// percolated here, not shared.
	n := len(peers.sets)
	h.registerLocal(registration{uid: "u2", q: q, raw: liveQueryMap("clojure"), tag: strings.Repeat("x", maxSharedBytes)})
	if percolated(h, "u2") == "" || len(peers.sets) != n {
		t.Fatalf("a large query: percolated %q, %d shared", percolated(h, "u2"), len(peers.sets)-n)
	}
	// Its uid's next search, too large as well, removes the previous one
	// from the other instances.
	h.registerLocal(registration{uid: "u2", q: q, raw: liveQueryMap("clojure"), tag: strings.Repeat("y", maxSharedBytes)})
	if !slices.Equal(peers.deletes, []string{"u2"}) {
		t.Fatalf("removals shared: %v, want u2", peers.deletes)
	}
}

// queryOf parses a client's query map.
func queryOf(m *transit.Map) (*query.Query, error) { return query.FromMap(m) }

// Among the instances alive, exactly one takes over each query of a dead
// one, the same for every instance, and the queries are spread.
func TestLiveQueryRendezvous(t *testing.T) {
	members := []string{"A", "B", "C"}
	count := map[string]int{}
	for i := range 3000 {
		uid := fmt.Sprintf("uid-%d", i)
		owner := rendezvous(uid, members)
		count[owner]++
		// Another member leaving moves nothing else.
		for _, gone := range members {
			if gone == owner {
				continue
			}
			rest := slices.DeleteFunc(slices.Clone(members), func(m string) bool { return m == gone })
			if got := rendezvous(uid, rest); got != owner {
				t.Fatalf("%s: %s left and the owner moved from %s to %s", uid, gone, owner, got)
			}
		}
	}
	for _, m := range members {
		if count[m] < 800 {
			t.Errorf("%s owns %d of 3000 uids: %v", m, count[m], count)
		}
	}
	// Two hubs agree on who takes over a dead instance's query.
	owners := 0
	for _, self := range []string{"A", "C"} {
		h := newLiveHub(t, newFakePeers(self, map[string]string{"A": "C", "C": "A"}[self]), nil)
		h.Apply(entry(t, "u9", "B", "clojure", nil, time.Now()))
		if percolated(h, "u9") != "" {
			owners++
		}
	}
	if owners != 1 {
		t.Fatalf("%d of the two instances alive percolate a dead one's query, want 1", owners)
	}
}

// Reconcile merges the cluster's entries; with a complete hash it drops
// the entries others percolated that are gone from it, and returns the
// ones this instance percolates that it lacks; with a lost hash, all.
func TestLiveQueryReconcile(t *testing.T) {
	peers := newFakePeers("A", "B")
	h := newLiveHub(t, peers, nil)
	now := time.Now()
	h.Apply(entry(t, "mine", "A", "clojure", nil, now))
	h.Apply(entry(t, "theirs", "B", "golang", nil, now))
	h.Apply(entry(t, "stale", "B", "java", nil, now))
	newer := entry(t, "theirs", "B", "rust", nil, now.Add(time.Second))

	missing := h.Reconcile(map[string]LiveEntry{"theirs": newer}, true)
	if got := uids(missing); !slices.Equal(got, []string{"mine", "stale"}) {
		t.Fatalf("lost: write back %v, want mine and stale", got)
	}
	if known, _ := h.LiveCount(); known != 3 {
		t.Fatalf("lost: %d entries kept, want 3", known)
	}
	missing = h.Reconcile(map[string]LiveEntry{"theirs": newer}, false)
	if got := uids(missing); !slices.Equal(got, []string{"mine"}) {
		t.Fatalf("complete: write back %v, want mine", got)
	}
	if known, perc := h.LiveCount(); known != 2 || perc != 1 {
		t.Fatalf("complete: LiveCount = %d, %d; want 2 (stale dropped), 1", known, perc)
	}
	h.mu.Lock()
	gotAt := h.live["theirs"].entry.At
	h.mu.Unlock()
	if !gotAt.Equal(newer.At) {
		t.Fatal("the later entry of the hash did not win")
	}
	h.Drop("theirs", now) // an earlier entry's removal: kept
	h.Drop("mine", now)
	if known, _ := h.LiveCount(); known != 1 {
		t.Fatalf("after the drops: %d entries, want theirs only", known)
	}
}

func uids(es []LiveEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.UID)
	}
	slices.Sort(out)
	return out
}

// A live query outlives its uid's last connection by LiveGrace; then the
// instance percolating it drops it and shares the removal. Nothing is
// dropped while the cluster cannot tell who is connected.
func TestLiveQuerySweep(t *testing.T) {
	peers := newFakePeers("A", "B")
	tr := &presence{}
	h := newLiveHub(t, peers, tr)
	now := time.Now()
	h.Apply(entry(t, "here", "A", "clojure", nil, now))
	h.Apply(entry(t, "gone", "A", "clojure", nil, now))
	h.Apply(entry(t, "theirs", "B", "clojure", nil, now))
	tr.mu.Lock()
	tr.any = []string{"here"}
	tr.mu.Unlock()

	h.sweep(now.Add(30 * time.Second)) // within the grace
	if known, _ := h.LiveCount(); known != 3 {
		t.Fatalf("within the grace: %d entries, want 3", known)
	}
	peers.setSettled(false)
	h.sweep(now.Add(2 * time.Minute))
	if known, _ := h.LiveCount(); known != 3 {
		t.Fatalf("unsettled: %d entries, want 3", known)
	}
	peers.setSettled(true)
	h.sweep(now.Add(2 * time.Minute))
	if known, perc := h.LiveCount(); known != 2 || perc != 1 {
		t.Fatalf("after the grace: LiveCount = %d, %d; want here and theirs, here percolated", known, perc)
	}
	if !slices.Equal(peers.deletes, []string{"gone"}) {
		t.Fatalf("removals shared: %v, want gone", peers.deletes)
	}
}

// A query taken over from a dead instance delivers its tagged tweets.
func TestLiveQueryTakenOverDelivers(t *testing.T) {
	src := make(feed)
	peers := newFakePeers("A")
	h := runHub(t, Config{Source: src, Peers: peers})
	tr := h.cfg.Transport.(*fakeTransport)
	h.reown() // as the hub's ticks do every second
	h.Apply(entry(t, "u1", "dead", "clojure", int64(3), time.Now()))
	src <- &tweet.Tweet{ID: 1, IDStr: "1", Text: "clojure rocks", Lang: "en",
		CreatedAt: "Mon Dec 22 23:00:00 +0000 2014", User: &tweet.User{IDStr: "7", ScreenName: "a"}}
	select {
	case ev := <-tr.sent:
		if pair, ok := ev.Data.([]any); ev.ID != IDSearchTweet || !ok || pair[0] != int64(3) {
			t.Fatalf("pushed %s %v, want [:search/tweet [3 tweet]]", ev.ID, ev.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no live tweet")
	}
}
