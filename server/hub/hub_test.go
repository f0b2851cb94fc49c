package hub

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/percolator"
	"github.com/sente-go/sente/server/store"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeTransport records what the hub sends.
type fakeTransport struct {
	events chan web.Message
	sent   chan protocol.Event
}

func (f *fakeTransport) Events() <-chan web.Message { return f.events }
func (f *fakeTransport) Send(_ string, ev protocol.Event) error {
	f.sent <- ev
	return nil
}
func (f *fakeTransport) BroadcastLocal(ev protocol.Event) error { return nil }
func (f *fakeTransport) ConnectedUIDs() web.ConnectedUIDs       { return web.ConnectedUIDs{} }

// runHub runs a Hub of cfg until the test ends, with a fakeTransport, a
// store of 10 tweets and a percolator unless cfg has its own.
func runHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	if cfg.Store == nil {
		st, err := store.New(store.Config{Capacity: 10})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		cfg.Store = st
	}
	if cfg.Percolator == nil {
		cfg.Percolator = percolator.New(percolator.Config{})
	}
	cfg.Transport = &fakeTransport{events: make(chan web.Message), sent: make(chan protocol.Event, 16)}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return h
}

// TestBadInput checks that commands the hub cannot use get a logged,
// bounded answer: a query that does not parse gets an empty chunk and a
// warning; malformed commands are logged and dropped; unknown events are
// ignored.
func TestBadInput(t *testing.T) {
	var logs testsupport.Buffer
	h := runHub(t, Config{Logger: zerolog.New(&logs)})
	tr := h.cfg.Transport.(*fakeTransport)
	send := func(id transit.Keyword, data any) {
		tr.events <- web.Message{UID: "u1", Event: protocol.NewEvent(id, data)}
	}
	badQuery := transit.NewMap(transit.Keyword("query_string"), transit.NewMap(transit.Keyword("query"), "(unbalanced AND"))
	send(IDPercolate, transit.NewMap(transit.Keyword("query"), badQuery))
	send(IDQuery, "not a map")
	send(IDMissing, transit.NewMap())
	send("some/state", transit.NewMap())
	send(IDQuery, transit.NewMap(transit.Keyword("query"), badQuery, transit.Keyword("n"), 500, transit.Keyword("from"), 0))
	select {
	case ev := <-tr.sent:
		chunk, ok := ev.Data.([]tweet.Stripped)
		if ev.ID != IDPrevChunk || !ok || len(chunk) != 0 {
			t.Fatalf("answer to a bad query = %v, want an empty :tweet/prev-chunk", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no answer to a query that does not parse")
	}
	select {
	case ev := <-tr.sent:
		t.Fatalf("unexpected push %v", ev)
	default:
	}
	for _, want := range []string{`"event":"cmd/percolate","message":"query does not parse"`, `"message":"malformed command"`,
		`"message":"malformed :cmd/missing"`, `"event":"cmd/query","message":"query does not parse"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
}

// A :cmd/query that asks for a callback gets its chunk as the reply, not
// as a :tweet/prev-chunk push.
func TestQueryReply(t *testing.T) {
	h := runHub(t, Config{})
	tr := h.cfg.Transport.(*fakeTransport)
	if err := h.cfg.Store.Add(&tweet.Tweet{ID: 1, IDStr: "1", Text: "clojure rocks", Lang: "en", CreatedAt: "Mon Dec 22 23:00:00 +0000 2014", User: &tweet.User{IDStr: "7", ScreenName: "a"}}); err != nil {
		t.Fatal(err)
	}
	q := transit.NewMap(transit.Keyword("query_string"), transit.NewMap(transit.Keyword("query"), "clojure"))
	replies := make(chan any, 2)
	reply := func(v any) error { replies <- v; return nil }
	tr.events <- web.Message{UID: "u1", Event: protocol.NewEvent(IDPercolate, transit.NewMap(transit.Keyword("query"), q)), Reply: reply}
	tr.events <- web.Message{UID: "u1", Event: protocol.NewEvent(IDQuery, transit.NewMap(transit.Keyword("query"), q, transit.Keyword("n"), 10)), Reply: reply}
	for i, want := range []string{"true", "1 tweet"} {
		select {
		case v := <-replies:
			got := fmt.Sprint(v)
			if chunk, ok := v.([]tweet.Stripped); ok {
				got = fmt.Sprint(len(chunk), " tweet")
			}
			if got != want {
				t.Fatalf("reply %d = %v, want %s", i, v, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no reply %d", i)
		}
	}
	select {
	case ev := <-tr.sent:
		t.Fatalf("the chunk was also pushed: %v", ev)
	default:
	}
}

// feed is a tweet source fed by the test.
type feed chan *tweet.Tweet

func (f feed) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-f:
			emit(t)
		}
	}
}

// A :cmd/percolate with a :tag gets its live tweets as [:search/tweet
// [tag tweet]]; without, as [:tweet/new tweet].
func TestTaggedLiveTweets(t *testing.T) {
	src := make(feed)
	h := runHub(t, Config{Source: src})
	tr := h.cfg.Transport.(*fakeTransport)
	q := transit.NewMap(transit.Keyword("query_string"), transit.NewMap(transit.Keyword("query"), "clojure"))
	for n, c := range []struct {
		tag    any
		wantID transit.Keyword
	}{{int64(7), IDSearchTweet}, {nil, IDTweetNew}} {
		data := transit.NewMap(transit.Keyword("query"), q)
		if c.tag != nil {
			data.Set(transit.Keyword("tag"), c.tag)
		}
		registered := make(chan any, 1)
		tr.events <- web.Message{UID: "u1", Event: protocol.NewEvent(IDPercolate, data), Reply: func(v any) error { registered <- v; return nil }}
		<-registered
		src <- &tweet.Tweet{ID: int64(n + 1), IDStr: fmt.Sprint(n + 1), Text: "clojure rocks", Lang: "en",
			CreatedAt: "Mon Dec 22 23:00:00 +0000 2014", User: &tweet.User{IDStr: "7", ScreenName: "a"}}
		select {
		case ev := <-tr.sent:
			if ev.ID != c.wantID {
				t.Fatalf("tag %v: pushed %s, want %s", c.tag, ev.ID, c.wantID)
			}
			if pair, ok := ev.Data.([]any); c.tag != nil && (!ok || len(pair) != 2 || pair[0] != c.tag) {
				t.Fatalf("tag %v: data %v, want [tag tweet]", c.tag, ev.Data)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("tag %v: no live tweet", c.tag)
		}
	}
}

// An event with a callback that the hub does not handle, or cannot read,
// gets an error reply instead of leaving the client's callback (and a
// server's shutdown) waiting.
func TestUnansweredCallbacks(t *testing.T) {
	h := runHub(t, Config{})
	tr := h.cfg.Transport.(*fakeTransport)
	replies := make(chan any, 3)
	reply := func(v any) error { replies <- v; return nil }
	tr.events <- web.Message{UID: "u1", Event: protocol.NewEvent("app/unknown", nil), Reply: reply}
	tr.events <- web.Message{UID: "u1", Event: protocol.NewEvent(IDMissing, "not a map"), Reply: reply}
	tr.events <- web.Message{UID: "u1", Event: protocol.NewEvent(IDQuery, "not a map"), Reply: reply}
	for _, want := range []string{"unmatched event", "malformed command", "malformed command"} {
		select {
		case v := <-replies:
			m, ok := v.(*transit.Map)
			if !ok {
				t.Fatalf("reply %v", v)
			}
			if got, _ := m.Get(transit.Keyword("error")); got != want {
				t.Fatalf("reply %v, want error %q", v, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no reply (%s)", want)
		}
	}
}
