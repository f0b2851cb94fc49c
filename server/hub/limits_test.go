package hub

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/percolator"
	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web"
)

// gateStore answers every search at once with no tweets, except those of
// costlyText: each of these first says so on entered, then waits for a
// token on pass (a closed pass lets all through).
type gateStore struct {
	entered chan struct{}
	pass    chan struct{}
}

func newGateStore() *gateStore {
	return &gateStore{entered: make(chan struct{}, 100), pass: make(chan struct{})}
}

func (s *gateStore) Add(*tweet.Tweet) error { return nil }
func (s *gateStore) Search(q *query.Query, _, _ int) ([]tweet.Stripped, error) {
	if q.Text() == costlyText {
		s.entered <- struct{}{}
		<-s.pass
	}
	return []tweet.Stripped{}, nil
}
func (s *gateStore) Get(string) (tweet.Stripped, bool) { return tweet.Stripped{}, false }
func (s *gateStore) Count() int                        { return 0 }

// push is one push of the hub, with its uid.
type push struct {
	uid string
	ev  protocol.Event
}

// uidTransport records the hub's pushes with their uids.
type uidTransport struct {
	events chan web.Message
	sent   chan push
}

func (t *uidTransport) Events() <-chan web.Message { return t.events }
func (t *uidTransport) Send(uid string, ev protocol.Event) error {
	t.sent <- push{uid, ev}
	return nil
}
func (t *uidTransport) BroadcastLocal(protocol.Event) error { return nil }
func (t *uidTransport) ConnectedUIDs() web.ConnectedUIDs    { return web.ConnectedUIDs{} }

// runGated runs a hub of cfg with a gateStore, a uidTransport and a
// percolator until the test ends; the gate opens first.
func runGated(t *testing.T, cfg Config) (*Hub, *uidTransport, *gateStore) {
	t.Helper()
	st := newGateStore()
	tr := &uidTransport{events: make(chan web.Message), sent: make(chan push, 100)}
	cfg.Transport, cfg.Store = tr, st
	if cfg.Percolator == nil {
		cfg.Percolator = percolator.New(percolator.Config{})
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		close(st.pass)
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return h, tr, st
}

// wait returns the next value of c, or fails the test after 5 s.
func wait[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s within 5 s", what)
		panic("unreachable")
	}
}

// none fails the test if c has a value now.
func none[T any](t *testing.T, c <-chan T, what string) {
	t.Helper()
	select {
	case v := <-c:
		t.Fatalf("unexpected %s: %v", what, v)
	default:
	}
}

func percolateEvent(text string) protocol.Event {
	q := transit.NewMap(transit.Keyword("query_string"), transit.NewMap(
		transit.Keyword("default_field"), "text", transit.Keyword("default_operator"), "AND", transit.Keyword("query"), text))
	return protocol.NewEvent(IDPercolate, transit.NewMap(transit.Keyword("query"), q))
}

func isEmptyChunk(v any) bool {
	chunk, ok := v.([]tweet.Stripped)
	return ok && len(chunk) == 0
}

// A client over its share of history requests gets empty answers at once
// (logged once), while its admitted queries are stuck in the store; the
// event loop goes on: another client registers a live query and gets its
// history answered meanwhile.
func TestHistoryFlood(t *testing.T) {
	var logs testsupport.Buffer
	h, tr, st := runGated(t, Config{HistoryWorkers: 2, HistoryPerUID: 4, Logger: zerolog.New(&logs)})
	const sent = 10
	for i := range sent {
		tr.events <- web.Message{UID: "flooder", Event: queryEvent(costlyText, 500*i)}
	}
	tr.events <- web.Message{UID: "flooder", Event: protocol.NewEvent(IDMissing, transit.NewMap(transit.Keyword("id_str"), "1"))}
	for i := range sent - 4 {
		p := wait(t, tr.sent, "answer over the limit")
		if p.uid != "flooder" || p.ev.ID != IDPrevChunk || !isEmptyChunk(p.ev.Data) {
			t.Fatalf("answer %d over the limit: %v", i, p)
		}
	}
	p := wait(t, tr.sent, "missing tweet over the limit")
	if m, ok := p.ev.Data.(tweet.Stripped); p.ev.ID != IDMissingTweet || !ok || m.IDStr != nil {
		t.Fatalf("missing tweet over the limit: %v", p)
	}
	wait(t, st.entered, "flooder's query in the store")

	replies := make(chan any, 10)
	reply := func(v any) error { replies <- v; return nil }
	tr.events <- web.Message{UID: "bystander", Event: percolateEvent("(clojure) AND lang:en"), Reply: reply}
	if v := wait(t, replies, "percolate reply"); v != true {
		t.Fatalf("percolate reply %v", v)
	}
	if _, ok := h.cfg.Percolator.Lookup("bystander"); !ok {
		t.Fatal("the bystander's live query is not registered")
	}
	for i := range 3 {
		tr.events <- web.Message{UID: "bystander", Event: queryEvent("(clojure) AND lang:en", 500*i), Reply: reply}
		if v := wait(t, replies, "bystander's chunk"); !isEmptyChunk(v) {
			t.Fatalf("bystander's chunk %v", v)
		}
	}
	none(t, tr.sent, "push while the flooder's queries are stuck")
	if n := strings.Count(logs.String(), "over the per-uid limit"); n != 1 {
		t.Errorf("%d lines about the flooder's requests over the limit, want 1:\n%s", n, logs.String())
	}

	// Once the store lets them through, the admitted ones are answered.
	close(st.pass)
	for range 4 {
		if p := wait(t, tr.sent, "flooder's chunk"); p.uid != "flooder" || !isEmptyChunk(p.ev.Data) {
			t.Fatalf("flooder's chunk %v", p)
		}
	}
	st.pass = make(chan struct{}) // for the cleanup
	none(t, tr.sent, "push")
}

// The uids with requests waiting take turns: with one worker, a
// bystander's query waits for the flooder's running query only, not for
// the seven queued behind it.
func TestHistoryTurns(t *testing.T) {
	_, tr, st := runGated(t, Config{HistoryWorkers: 1, HistoryPerUID: 8})
	order := make(chan string, 20)
	for i := range 8 {
		tr.events <- web.Message{UID: "flooder", Event: queryEvent(costlyText, 500*i),
			Reply: func(any) error { order <- fmt.Sprint("flooder-", i); return nil }}
	}
	wait(t, st.entered, "flooder's first query in the store")
	tr.events <- web.Message{UID: "bystander", Event: queryEvent("clojure", 0),
		Reply: func(any) error { order <- "bystander"; return nil }}
	// The event loop has queued the query once it answers the next event.
	registered := make(chan any, 1)
	tr.events <- web.Message{UID: "bystander", Event: percolateEvent("clojure"), Reply: func(v any) error { registered <- v; return nil }}
	wait(t, registered, "percolate reply")
	st.pass <- struct{}{}
	for _, want := range []string{"flooder-0", "bystander"} {
		if got := wait(t, order, want); got != want {
			t.Fatalf("answered %s, want %s", got, want)
		}
	}
	for i := 1; i < 8; i++ {
		st.pass <- struct{}{}
		if got, want := wait(t, order, "flooder's answer"), fmt.Sprint("flooder-", i); got != want {
			t.Fatalf("answered %s, want %s (one uid's answers in order)", got, want)
		}
	}
}

// A registration takes effect before the history queries that follow it
// are answered: the store sees each search's live query in place, or a
// later search's.
func TestRegistrationBeforeHistory(t *testing.T) {
	perc := percolator.New(percolator.Config{})
	st := &lookupStore{perc: perc, uid: "u1"}
	h := runHub(t, Config{Store: st, Percolator: perc, HistoryWorkers: 2})
	tr := h.cfg.Transport.(*fakeTransport)
	replies := make(chan any, 100)
	reply := func(v any) error { replies <- v; return nil }
	const searches = 20
	for i := range searches {
		text := fmt.Sprintf("(word%d) AND lang:en", i)
		tr.events <- web.Message{UID: "u1", Event: percolateEvent(text)}
		for k := range 4 {
			tr.events <- web.Message{UID: "u1", Event: queryEvent(text, 500*k), Reply: reply}
		}
	}
	for range searches * 4 {
		wait(t, replies, "chunk")
	}
	if err := st.err(); err != nil {
		t.Fatal(err)
	}
}

// lookupStore checks, for each search of "(wordN) AND lang:en", that
// uid's live query is that of a search N or later.
type lookupStore struct {
	perc *percolator.Percolator
	uid  string

	mu       sync.Mutex
	mismatch error
}

func (s *lookupStore) Add(*tweet.Tweet) error { return nil }
func (s *lookupStore) Search(q *query.Query, _, _ int) ([]tweet.Stripped, error) {
	live, ok := s.perc.Lookup(s.uid)
	if !ok || wordNumber(live.String()) < wordNumber(q.String()) {
		s.mu.Lock()
		if s.mismatch == nil {
			s.mismatch = fmt.Errorf("search %s answered while the live query is %v", q.Text(), live)
		}
		s.mu.Unlock()
	}
	return []tweet.Stripped{}, nil
}

// wordNumber returns the N of the first "wordN" in s, or -1.
func wordNumber(s string) int {
	i := strings.Index(s, "word")
	if i < 0 {
		return -1
	}
	n := 0
	for _, c := range s[i+len("word"):] {
		if c < '0' || c > '9' {
			break
		}
		n = 10*n + int(c-'0')
	}
	return n
}

func (s *lookupStore) Get(string) (tweet.Stripped, bool) { return tweet.Stripped{}, false }
func (s *lookupStore) Count() int                        { return 0 }
func (s *lookupStore) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mismatch
}

// A live query too costly to percolate (300 fuzzy terms without an
// anchor, as in issue 14) is refused: the callback gets an error, the
// uid's previous live query is dropped (here and on the other instances),
// and one line is logged however often the client tries.
func TestCostlyLiveQueryRefused(t *testing.T) {
	var logs testsupport.Buffer
	peers := newFakePeers("A")
	h := runHub(t, Config{Logger: zerolog.New(&logs), Peers: peers})
	tr := h.cfg.Transport.(*fakeTransport)
	replies := make(chan any, 10)
	reply := func(v any) error { replies <- v; return nil }
	tr.events <- web.Message{UID: "u1", Event: percolateEvent("(clojure) AND lang:en"), Reply: reply}
	if v := wait(t, replies, "percolate reply"); v != true {
		t.Fatalf("percolate reply %v", v)
	}
	peers.mu.Lock()
	shared := len(peers.sets)
	peers.mu.Unlock()
	words := make([]string, 300)
	for i := range words {
		words[i] = fmt.Sprintf("word%d~", i)
	}
	costly := percolateEvent(strings.Join(words, " OR "))
	for range 3 {
		tr.events <- web.Message{UID: "u1", Event: costly, Reply: reply}
		m, ok := wait(t, replies, "refusal").(*transit.Map)
		if !ok {
			t.Fatal("the refusal is not a map")
		}
		if msg, _ := m.Get(transit.Keyword("error")); msg != "query too costly to percolate" {
			t.Fatalf("refusal %v", m)
		}
		if ev, _ := m.Get(transit.Keyword("event")); ev != IDPercolate {
			t.Fatalf("refusal %v", m)
		}
	}
	if _, ok := h.cfg.Percolator.Lookup("u1"); ok {
		t.Fatal("the previous live query was kept")
	}
	peers.mu.Lock()
	if shared != 1 || len(peers.sets) != shared || !slices.Equal(peers.deletes, []string{"u1"}) {
		t.Errorf("shared %d entries, then %d more and removed %v; want 1, none more, u1 removed once", shared, len(peers.sets)-shared, peers.deletes)
	}
	peers.mu.Unlock()
	if n := strings.Count(logs.String(), `"message":"live query refused"`); n != 1 {
		t.Errorf("%d lines about the refusal, want 1:\n%s", n, logs.String())
	}
	// The next search of the user is accepted.
	tr.events <- web.Message{UID: "u1", Event: percolateEvent("(*) AND lang:en"), Reply: reply}
	if v := wait(t, replies, "percolate reply"); v != true {
		t.Fatalf("percolate reply %v", v)
	}
}

// onceLog writes a key's line once per window, counting those left out,
// and forgets keys older than the window as it grows.
func TestOnceLog(t *testing.T) {
	l := newOnceLog(time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		key     string
		at      time.Duration
		ok      bool
		leftOut int
	}{
		{"a", 0, true, 0},
		{"a", time.Second, false, 0},
		{"b", time.Second, true, 0},
		{"a", 2 * time.Second, false, 0},
		{"a", time.Minute, true, 2},
		{"a", time.Minute + time.Second, false, 0},
	} {
		if ok, n := l.allow(c.key, t0.Add(c.at)); ok != c.ok || n != c.leftOut {
			t.Errorf("%d: allow(%s, +%v) = %v, %d; want %v, %d", i, c.key, c.at, ok, n, c.ok, c.leftOut)
		}
	}
	for i := range 1000 {
		l.allow(fmt.Sprint("k", i), t0.Add(time.Duration(i)*time.Second))
	}
	if n := len(l.last); n > 200 {
		t.Errorf("%d keys kept, want those of the last minute (and a few)", n)
	}
}
