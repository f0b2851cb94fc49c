package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
)

var update = flag.Bool("update", false, "rewrite the transcripts under ../testdata/birdwatch")

// chanSource is a tweet source fed by the test.
type chanSource chan *tweet.Tweet

func (c chanSource) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case t := <-c:
			emit(t)
		}
	}
}

// testTweet builds an English (or lang) tweet with id n.
func testTweet(n int64, text, lang string) *tweet.Tweet {
	id := 546814306545300000 + n
	return &tweet.Tweet{
		ID: id, IDStr: fmt.Sprint(id), Text: text, Lang: lang,
		CreatedAt: time.Date(2014, 12, 22, 23, 0, int(n), 0, time.UTC).Format("Mon Jan 02 15:04:05 -0700 2006"),
		User:      &tweet.User{ID: n, IDStr: fmt.Sprint(n), Name: "User " + fmt.Sprint(n), ScreenName: fmt.Sprint("user", n), FollowersCount: n * 10, ProfileImageURL: "/images/avatar-1.png"},
		Entities:  &tweet.Entities{},
	}
}

// flexiClient is a Sente 1.3.0 (flexi Transit) client over a real WebSocket.
type flexiClient struct {
	t          *testing.T
	conn       *websocket.Conn
	transcript *strings.Builder
	uid, token string
	pending    [][]any // events of the last batch not yet delivered
	// ignore, when set, tells events that may arrive at any point.
	ignore func(ev []any) bool
}

func (c *flexiClient) send(id transit.Keyword, data any) {
	c.t.Helper()
	frame, err := protocol.GenFlexi.ClientFrame(protocol.NewEvent(id, data), protocol.Callback{})
	if err != nil {
		c.t.Fatal(err)
	}
	fmt.Fprintf(c.transcript, "C> %s\n", c.redact(string(frame)))
	if err := c.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		c.t.Fatal(err)
	}
}

func (c *flexiClient) redact(s string) string {
	if c.uid != "" {
		s = strings.ReplaceAll(s, c.uid, "<uid>")
	}
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, "<csrf>")
	}
	return s
}

// next returns the next event the client would deliver (handshake or
// pushed event), skipping frames a 1.3 client cannot read. Each event
// except the stats (whose timing varies) is written to the transcript.
func (c *flexiClient) next(deadline time.Time) []any {
	c.t.Helper()
	for len(c.pending) == 0 {
		c.conn.SetReadDeadline(deadline)
		_, frame, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("reading: %v", err)
		}
		sf, err := protocol.GenFlexi.ParseServerFrame(frame)
		if err != nil {
			continue // another generation's frame: the client logs and drops it
		}
		v, ok := sf.Value.([]any)
		if !ok || len(v) == 0 {
			c.t.Fatalf("unexpected frame %s", frame)
		}
		if v[0] == transit.Keyword("chsk/handshake") {
			hs := v[1].([]any)
			c.uid, _ = hs[0].(string)
			c.token, _ = hs[1].(string)
			c.pending = append(c.pending, v)
			break
		}
		for _, ev := range v { // a push batch
			c.pending = append(c.pending, ev.([]any))
		}
	}
	ev := c.pending[0]
	c.pending = c.pending[1:]
	return ev
}

// record writes a delivered event to the transcript.
func (c *flexiClient) record(ev []any) {
	b, err := transit.Marshal(ev)
	if err != nil {
		c.t.Fatal(err)
	}
	fmt.Fprintf(c.transcript, "S< %s\n", c.redact(string(b)))
}

// await returns the next event with this id; see awaitEvent.
func (c *flexiClient) await(id transit.Keyword, within time.Duration) []any {
	c.t.Helper()
	return awaitEvent(c.t, id, within, c.next, c.record, c.ignore)
}

// awaitEvent returns the next event with this id that next delivers,
// failing on any other event except the stats (whose timing varies) and
// those ignore (when not nil) says may come at any time; the event
// returned goes to record unless a stat.
func awaitEvent(t *testing.T, id transit.Keyword, within time.Duration, next func(deadline time.Time) []any, record func([]any), ignore func([]any) bool) []any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ev := next(deadline)
		if ev[0] == id {
			if id.Namespace() != "stats" {
				record(ev)
			}
			return ev
		}
		if ev[0].(transit.Keyword).Namespace() == "stats" || ignore != nil && ignore(ev) {
			continue
		}
		t.Fatalf("waiting for %s, got %v", id, ev)
	}
}

func ids(chunk []any) []string {
	var out []string
	for _, t := range chunk {
		v, _ := t.(*transit.Map).Get(transit.Keyword("id_str"))
		out = append(out, v.(string))
	}
	return out
}

// sessionClient is a Sente 1.3.0 BirdWatch client of either transport
// (flexiClient, flexiAjaxClient), as the session script drives it.
type sessionClient interface {
	send(id transit.Keyword, data any)
	await(id transit.Keyword, within time.Duration) []any
	sessionUID() string
}

func (c *flexiClient) sessionUID() string { return c.uid }

// birdwatchHistory feeds src the history of the session tests, 6 English
// tweets about clojure, 3 about java and 2 German ones, and waits until
// the store of in has them. It returns the feed for later tweets and the
// id_str of the history tweets.
func birdwatchHistory(t *testing.T, in *instance, src chanSource) (feed func(text, lang string) *tweet.Tweet, history map[string]bool) {
	t.Helper()
	var n int64
	feed = func(text, lang string) *tweet.Tweet {
		n++
		tw := testTweet(n, text, lang)
		src <- tw
		return tw
	}
	for i := 0; i < 6; i++ {
		feed(fmt.Sprintf("Clojure tip %d: transducers", i), "en")
		if i%2 == 0 {
			feed(fmt.Sprintf("Java news %d", i), "en")
		}
	}
	feed("Clojure auf Deutsch", "de")
	feed("Clojure und Java", "de")
	history = map[string]bool{}
	for i := int64(1); i <= n; i++ {
		history[testTweet(i, "", "").IDStr] = true
	}
	testsupport.Await(t, 5*time.Second, "the store has the history", func() bool { return in.app.store.Count() == int(n) })
	return feed, history
}

// liveHistory returns an ignore function for a session client: the
// percolator may still be catching up with the history tweets when the
// search registers, so those may come live too.
func liveHistory(history map[string]bool) func(ev []any) bool {
	return func(ev []any) bool {
		if ev[0] != transit.Keyword("tweet/new") {
			return false
		}
		id, _ := ev[1].(*transit.Map).Get(transit.Keyword("id_str"))
		return history[id.(string)]
	}
}

// birdwatchSession runs a BirdWatch search as the 1.3.0 client does
// (docs/birdwatch.md §4), once c has its handshake, with the history of
// birdwatchHistory: the live query and four history queries, their
// chunks (the first newest first), the users count, a matching live tweet
// and no other, a missing tweet found and one not found.
func birdwatchSession(t *testing.T, c sessionClient, feed func(text, lang string) *tweet.Tweet) {
	t.Helper()
	uid := c.sessionUID()
	q := birdwatchQuery("(clojure) AND lang:en")
	c.send("cmd/percolate", transit.NewMap(transit.Keyword("query"), q, transit.Keyword("uid"), uid))
	for k := 0; k < 4; k++ {
		c.send("cmd/query", transit.NewMap(transit.Keyword("query"), q, transit.Keyword("n"), 500,
			transit.Keyword("uid"), uid, transit.Keyword("from"), 500*k))
	}
	wantFirst := []string{"546814306545300009", "546814306545300007", "546814306545300006", "546814306545300004", "546814306545300003", "546814306545300001"}
	for k := 0; k < 4; k++ {
		ev := c.await("tweet/prev-chunk", 5*time.Second)
		chunk := ev[1].([]any)
		if k == 0 && strings.Join(ids(chunk), ",") != strings.Join(wantFirst, ",") {
			t.Fatalf("first chunk ids = %v, want newest first %v", ids(chunk), wantFirst)
		}
		if k > 0 && len(chunk) != 0 {
			t.Fatalf("chunk %d has %d tweets, want none", k, len(chunk))
		}
	}

	// :stats/users-count reaches every client every 2 s.
	ev := c.await("stats/users-count", 5*time.Second)
	if ev[1] != int64(1) {
		t.Fatalf("users-count = %v, want 1", ev[1])
	}

	// Live: only matching tweets are pushed.
	feed("Java only", "en")
	feed("Clojure, but in German", "de")
	live := feed("Live clojure tweet", "en")
	ev = c.await("tweet/new", 5*time.Second)
	if id, _ := ev[1].(*transit.Map).Get(transit.Keyword("id_str")); id != live.IDStr {
		t.Fatalf("tweet/new = %v, want %s", id, live.IDStr)
	}

	// Missing tweets: found, and not found (the all-null skeleton).
	c.send("cmd/missing", transit.NewMap(transit.Keyword("id_str"), "546814306545300001", transit.Keyword("uid"), uid))
	ev = c.await("tweet/missing-tweet", 5*time.Second)
	if got, _ := ev[1].(*transit.Map).Get(transit.Keyword("text")); got != "Clojure tip 0: transducers" {
		t.Fatalf("missing tweet text = %v", got)
	}
	c.send("cmd/missing", transit.NewMap(transit.Keyword("id_str"), "1", transit.Keyword("uid"), uid))
	ev = c.await("tweet/missing-tweet", 5*time.Second)
	skel := ev[1].(*transit.Map)
	if v, ok := skel.Get(transit.Keyword("text")); !ok || v != nil || skel.Len() != 8 {
		t.Fatalf("skeleton = %v", skel)
	}
}

// TestBirdWatchSession runs the BirdWatch session over a WebSocket.
func TestBirdWatchSession(t *testing.T) {
	src := make(chanSource)
	in := startInstance(t, config{source: "none", storeSize: 1000}, src)
	feed, history := birdwatchHistory(t, in, src)

	var transcript strings.Builder
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(in.url, "http")+"/chsk?client-id=9f1c3a2e-5b7d-4e8f-a1b2-c3d4e5f60718", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &flexiClient{t: t, conn: conn, transcript: &transcript, ignore: liveHistory(history)}
	c.await("chsk/handshake", 5*time.Second)
	if c.uid == "" || c.token == "" {
		t.Fatalf("handshake without uid or token: %q %q", c.uid, c.token)
	}
	birdwatchSession(t, c, feed)
	checkTranscript(t, "session-flexi.golden", transcript.String())
}

func checkTranscript(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("..", "testdata", "birdwatch", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./server -run BirdWatch -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("transcript differs from %s:\n%s", path, got)
	}
}
