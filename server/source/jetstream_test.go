package source

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/server/tweet"
)

var _ tweetSource = (*Jetstream)(nil)

// jetstreamWait bounds every wait of the Jetstream tests.
const jetstreamWait = 10 * time.Second

// fakeJetstream is a local Jetstream: each connection is served by serve,
// given the connection's number (from 0) and its cursor (0 for none).
type fakeJetstream struct {
	srv     *httptest.Server
	mu      sync.Mutex
	cursors []int64 // the cursor of each connection, in order
}

func newFakeJetstream(t *testing.T, serve func(n int, cursor int64, c *websocket.Conn)) *fakeJetstream {
	t.Helper()
	f := &fakeJetstream{}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/subscribe" || r.URL.Query().Get("wantedCollections") != "app.bsky.feed.post" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var cursor int64
		if s := r.URL.Query().Get("cursor"); s != "" {
			var err error
			if cursor, err = strconv.ParseInt(s, 10, 64); err != nil {
				http.Error(w, "bad cursor", http.StatusBadRequest)
				return
			}
		}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		f.mu.Lock()
		n := len(f.cursors)
		f.cursors = append(f.cursors, cursor)
		f.mu.Unlock()
		serve(n, cursor, c)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeJetstream) url() string {
	return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/subscribe?wantedCollections=app.bsky.feed.post"
}

func (f *fakeJetstream) seen() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.cursors...)
}

// fixtureLine is one line of the fixture and its time_us (0 when it has
// none: a malformed line).
type fixtureLine struct {
	data   string
	timeUS int64
}

func readFixture(t *testing.T) []fixtureLine {
	t.Helper()
	f, err := os.Open("testdata/jetstream/posts.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []fixtureLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := fixtureLine{data: sc.Text()}
		var ev struct {
			TimeUS int64  `json:"time_us"`
			Kind   string `json:"kind"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Kind != "" {
			l.timeUS = ev.TimeUS
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// fixturePosts returns the texts of the fixture's posts that must be
// emitted: creates of app.bsky.feed.post with a record that has text.
func fixturePosts(t *testing.T, lines []fixtureLine) map[string]bool {
	t.Helper()
	want := map[string]bool{}
	for _, l := range lines {
		var ev struct {
			Kind   string `json:"kind"`
			Commit struct {
				Operation, Collection string
				Record                json.RawMessage
			} `json:"commit"`
		}
		if json.Unmarshal([]byte(l.data), &ev) != nil || ev.Kind != "commit" || ev.Commit.Operation != "create" || ev.Commit.Collection != "app.bsky.feed.post" {
			continue
		}
		var rec struct{ Text string }
		if json.Unmarshal(ev.Commit.Record, &rec) == nil && rec.Text != "" {
			if want[rec.Text] {
				t.Fatalf("fixture repeats %q", rec.Text)
			}
			want[rec.Text] = true
		}
	}
	return want
}

// collector gathers emitted tweets.
type collector struct {
	mu     sync.Mutex
	tweets []*tweet.Tweet
}

func (c *collector) emit(t *tweet.Tweet) {
	c.mu.Lock()
	c.tweets = append(c.tweets, t)
	c.mu.Unlock()
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tweets)
}

func (c *collector) all() []*tweet.Tweet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*tweet.Tweet(nil), c.tweets...)
}

// runJetstream runs src on a goroutine; stop cancels it and returns its
// stats.
func runJetstream(t *testing.T, src *Jetstream, emit func(*tweet.Tweet)) (stop func() JetstreamStats) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan JetstreamStats, 1)
	go func() {
		st, err := src.RunStats(ctx, emit)
		if err != nil {
			t.Errorf("RunStats: %v", err)
		}
		done <- st
	}()
	var once sync.Once
	var st JetstreamStats
	stop = func() JetstreamStats {
		once.Do(func() {
			cancel()
			select {
			case st = <-done:
			case <-time.After(jetstreamWait):
				t.Fatal("RunStats did not return after its context was cancelled")
			}
		})
		return st
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestJetstreamResume replays the fixture, cuts the connection in the
// middle, and checks that the source resumed with the cursor of the last
// event it saw less the overlap, and emitted every post exactly once.
func TestJetstreamResume(t *testing.T) {
	lines := readFixture(t)
	want := fixturePosts(t, lines)
	const cut = 150
	var lastBeforeCut int64
	for _, l := range lines[:cut] {
		lastBeforeCut = max(lastBeforeCut, l.timeUS)
	}
	f := newFakeJetstream(t, func(n int, cursor int64, c *websocket.Conn) {
		from, to := 0, cut
		if n > 0 {
			to = len(lines)
			for from < len(lines) && lines[from].timeUS < cursor {
				from++
			}
		}
		for _, l := range lines[from:to] {
			if c.WriteMessage(websocket.TextMessage, []byte(l.data)) != nil {
				return
			}
		}
		if n == 0 {
			c.UnderlyingConn().Close() // mid-stream, without a close frame
			return
		}
		for { // hold the connection until the client goes
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	var logs testsupport.Buffer
	src, err := NewJetstream(JetstreamConfig{URL: f.url(), MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Logger: zerolog.New(&logs).Level(zerolog.DebugLevel)})
	if err != nil {
		t.Fatal(err)
	}
	var got collector
	stop := runJetstream(t, src, got.emit)
	testsupport.Await(t, jetstreamWait, "every post emitted", func() bool { return got.len() >= len(want) })
	logs.AwaitContains(t, jetstreamWait, "reachable again")
	st := stop()

	cursors := f.seen()
	if len(cursors) != 2 || cursors[0] != 0 || cursors[1] != lastBeforeCut-DefaultJetstreamOverlap.Microseconds() {
		t.Fatalf("cursors seen by the server %v, want [0 %d]", cursors, lastBeforeCut-DefaultJetstreamOverlap.Microseconds())
	}
	ids := map[int64]bool{}
	var prev int64
	for _, tw := range got.all() {
		if ids[tw.ID] {
			t.Errorf("post %d (%q) emitted twice", tw.ID, tw.Text)
		}
		ids[tw.ID] = true
		if !want[tw.Text] {
			t.Errorf("emitted %q, not a post of the fixture (or twice)", tw.Text)
		}
		delete(want, tw.Text)
		if tw.ID>>10 <= prev>>10 { // increasing with time_us
			t.Errorf("id %d after %d", tw.ID, prev)
		}
		prev = tw.ID
	}
	if len(want) != 0 {
		t.Errorf("%d posts lost, e.g. %v", len(want), want)
	}
	if st.Duplicates == 0 {
		t.Errorf("no duplicate dropped: the overlap of the resume was not exercised (%+v)", st)
	}
	if st.Connects != 2 || st.Malformed == 0 || st.Deleted == 0 || st.Skipped == 0 || st.Identities == 0 {
		t.Errorf("stats %+v: want 2 connects, and malformed, deleted, skipped and identity events counted", st)
	}
	out := logs.String()
	if n := countLines(out, `"level":"warn"`, "malformed jetstream event"); n != 1 {
		t.Errorf("%d warnings of malformed events, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "jetstream unreachable"); n != 1 {
		t.Errorf("%d outage warnings, want 1:\n%s", n, out)
	}
	if strings.Contains(out, "cursor=") || strings.Contains(out, "wantedCollections") {
		t.Errorf("the URL's query was logged:\n%s", out)
	}
}

// TestJetstreamHandles checks that authors are named by the handles of
// identity events, and by a short DID before theirs came.
func TestJetstreamHandles(t *testing.T) {
	lines := readFixture(t)
	f := newFakeJetstream(t, func(n int, cursor int64, c *websocket.Conn) {
		for _, l := range lines {
			if c.WriteMessage(websocket.TextMessage, []byte(l.data)) != nil {
				return
			}
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	src, err := NewJetstream(JetstreamConfig{URL: f.url()})
	if err != nil {
		t.Fatal(err)
	}
	var got collector
	stop := runJetstream(t, src, got.emit)
	want := fixturePosts(t, lines)
	testsupport.Await(t, jetstreamWait, "every post emitted", func() bool { return got.len() >= len(want) })
	stop()
	names := map[string]int{}
	for _, tw := range got.all() {
		names[tw.User.ScreenName]++
		if tw.User.ScreenName == "" || tw.User.Name == "" || tw.Lang == "" {
			t.Errorf("tweet %d without screen_name, name or lang: %+v", tw.ID, tw.User)
		}
	}
	if names["alice.bsky.social"] == 0 || names["example.org"] == 0 {
		t.Errorf("no post by the handles of identity events: %v", names)
	}
	short := 0
	for n := range names {
		if strings.HasPrefix(n, "plc:") && len(n) == len("plc:")+8 {
			short++
		}
	}
	if short == 0 {
		t.Errorf("no author shown by a short DID: %v", names)
	}
}

// TestJetstreamBackpressure blocks emit while the server writes large
// events as fast as it can: the server's writes stall after a bounded
// number (the source reads no further), and once emit resumes the source
// reconnects from its cursor and emits every event exactly once.
func TestJetstreamBackpressure(t *testing.T) {
	const (
		events      = 400
		size        = 32 << 10
		smallBuffer = 64 << 10
	)
	body := strings.Repeat("x", size)
	event := func(i int) string {
		return fmt.Sprintf(`{"did":"did:plc:bp","time_us":%d,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"r%d","record":{"text":"%d %s","createdAt":"2026-01-01T00:00:00Z"}}}`,
			1767225600000000+int64(i)*1000, i, i, body)
	}
	stalled := make(chan int, 1)
	f := newFakeJetstream(t, func(n int, cursor int64, c *websocket.Conn) {
		i := 0
		if n > 0 {
			for i < events && 1767225600000000+int64(i)*1000 < cursor {
				i++
			}
		}
		if tc, ok := c.UnderlyingConn().(*net.TCPConn); ok {
			tc.SetWriteBuffer(smallBuffer)
		}
		for ; i < events; i++ {
			if n == 0 {
				c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
			}
			if err := c.WriteMessage(websocket.TextMessage, []byte(event(i))); err != nil {
				if n == 0 {
					stalled <- i
				}
				return
			}
		}
		if n == 0 {
			stalled <- events
			return
		}
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	// Small socket buffers, so that what the kernel holds is bounded.
	dialer := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(smallBuffer)
		}
		return c, err
	}}
	src, err := NewJetstream(JetstreamConfig{URL: f.url(), MinBackoff: time.Millisecond, Overlap: 2 * time.Millisecond, Dialer: dialer})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var got collector
	stop := runJetstream(t, src, func(tw *tweet.Tweet) {
		<-release
		got.emit(tw)
	})
	var written int
	select {
	case written = <-stalled:
	case <-time.After(jetstreamWait):
		t.Fatal("the server's writes never stalled")
	}
	close(release)
	// The socket buffers hold some hundred kilobytes (the kernel may
	// double what was asked), gorilla's buffers 4 KiB each, and the source
	// one event.
	if written*size > 2<<20 {
		t.Fatalf("the server wrote %d events of %d bytes while emit was blocked: the source kept reading", written, size)
	}
	t.Logf("server stalled after %d events (%d KiB) while emit was blocked", written, written*size>>10)
	testsupport.Await(t, jetstreamWait, "every event emitted after the resume", func() bool { return got.len() >= events })
	st := stop()
	seen := map[int64]bool{}
	for _, tw := range got.all() {
		if seen[tw.ID] {
			t.Fatalf("post %d emitted twice", tw.ID)
		}
		seen[tw.ID] = true
	}
	if len(seen) != events || st.Connects < 2 {
		t.Errorf("%d distinct posts in %d connections, want %d in at least 2", len(seen), st.Connects, events)
	}
}

// TestJetstreamPostMapping checks the tweet made of one post, facets on
// non-ASCII text included.
func TestJetstreamPostMapping(t *testing.T) {
	const (
		alice = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"
		bob   = "did:plc:bbbbbbbbbbbbbbbbbbbbbbbb"
		carol = "did:plc:cccccccccccccccccccccccc"
	)
	profiles := newProfileCache(10)
	profiles.setHandle(alice, "alice.test")
	profiles.setName(alice, "Alice Ω")
	profiles.setHandle(bob, "bob.test")
	// The text, its facets as Bluesky writes them (UTF-8 byte ranges), and
	// the code-point indices Twitter would give.
	text := "Café ☕ 日本 #東京 @bob.test https://ex.com/p 🎉 @carol.test go"
	span := func(s string) (int, int) {
		i := strings.Index(text, s)
		if i < 0 {
			t.Fatalf("%q not in the text", s)
		}
		return i, i + len(s)
	}
	facet := func(s, feature string) string {
		b0, b1 := span(s)
		return fmt.Sprintf(`{"index":{"byteStart":%d,"byteEnd":%d},"features":[%s]}`, b0, b1, feature)
	}
	facets := strings.Join([]string{
		facet("#東京", `{"$type":"app.bsky.richtext.facet#tag","tag":"東京"}`),
		facet("@bob.test", `{"$type":"app.bsky.richtext.facet#mention","did":"`+bob+`"}`),
		facet("https://ex.com/p", `{"$type":"app.bsky.richtext.facet#link","uri":"https://ex.com/p?full=1"}`),
		facet("@carol.test", `{"$type":"app.bsky.richtext.facet#mention","did":"`+carol+`"}`),
		// Dropped: a javascript: link, a range past the end, a range
		// splitting a rune, a range ending before it starts.
		facet("go", `{"$type":"app.bsky.richtext.facet#link","uri":"javascript:alert(1)"}`),
		`{"index":{"byteStart":0,"byteEnd":999},"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"x"}]}`,
		`{"index":{"byteStart":4,"byteEnd":6},"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"y"}]}`,
		`{"index":{"byteStart":6,"byteEnd":2},"features":[{"$type":"app.bsky.richtext.facet#tag","tag":"z"}]}`,
	}, ",")
	record := func(extra string) string {
		return `{"text":` + strconv.Quote(text) + `,"langs":["ja","en"],"createdAt":"2025-12-06T10:11:12.345Z","facets":[` + facets + `]` + extra + `}`
	}
	const timeUS = 1764979200123456
	ev := func(did, rec string) *jetstreamEvent {
		var e jetstreamEvent
		data := fmt.Sprintf(`{"did":%q,"time_us":%d,"kind":"commit","commit":{"operation":"create","collection":"app.bsky.feed.post","rkey":"3lk","record":%s}}`, did, timeUS, rec)
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			t.Fatal(err)
		}
		return &e
	}
	tw, err := postTweet(ev(alice, record(`,"reply":{"parent":{"uri":"at://`+bob+`/app.bsky.feed.post/3lj"}}`)), profiles.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if tw.ID>>10 != timeUS || tw.IDStr != strconv.FormatInt(tw.ID, 10) || tw.ID <= 0 {
		t.Errorf("id %d (%s), want time_us %d shifted by 10 bits", tw.ID, tw.IDStr, timeUS)
	}
	checks := []struct{ what, got, want string }{
		{"created_at", tw.CreatedAt, "Sat Dec 06 10:11:12 +0000 2025"},
		{"timestamp_ms", tw.TimestampMs, "1764979200123"},
		{"lang", tw.Lang, "ja"},
		{"text", tw.Text, text},
		{"screen_name", tw.User.ScreenName, "alice.test"},
		{"name", tw.User.Name, "Alice Ω"},
		{"in_reply_to_screen_name", tw.InReplyToScreenName, "bob.test"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	e := tw.Entities
	wantTags := []tweet.Hashtag{{Text: "東京", Indices: tweet.Indices{10, 13}}}
	wantURLs := []tweet.URL{{URL: "https://ex.com/p?full=1", ExpandedURL: "https://ex.com/p?full=1", DisplayURL: "https://ex.com/p", Indices: tweet.Indices{24, 40}}}
	wantMentions := []tweet.Mention{
		{ScreenName: "bob.test", Name: "bob.test", Indices: tweet.Indices{14, 23}},
		{ScreenName: "carol.test", Name: "carol.test", Indices: tweet.Indices{43, 54}},
	}
	if fmt.Sprint(e.Hashtags) != fmt.Sprint(wantTags) || fmt.Sprint(e.URLs) != fmt.Sprint(wantURLs) {
		t.Errorf("hashtags %v urls %v, want %v %v", e.Hashtags, e.URLs, wantTags, wantURLs)
	}
	if len(e.UserMentions) != len(wantMentions) {
		t.Fatalf("mentions %v, want %v", e.UserMentions, wantMentions)
	}
	for i, m := range e.UserMentions {
		w := wantMentions[i]
		if m.ScreenName != w.ScreenName || m.Name != w.Name || m.Indices != w.Indices || m.ID <= 0 || m.IDStr != strconv.FormatInt(m.ID, 10) {
			t.Errorf("mention %d: %+v, want %+v", i, m, w)
		}
	}
	// The indices are code points: each entity's text is at them.
	runes := []rune(text)
	for _, h := range e.Hashtags {
		if s := string(runes[h.Indices[0]:h.Indices[1]]); s != "#"+h.Text {
			t.Errorf("hashtag indices %v give %q", h.Indices, s)
		}
	}
	if e.Symbols == nil || e.Media != nil {
		t.Errorf("symbols %v media %v: want [] and none", e.Symbols, e.Media)
	}

	// Unknown author, no langs, bad createdAt, unknown reply parent.
	tw, err = postTweet(ev(carol, `{"text":"plain","createdAt":"yesterday","reply":{"parent":{"uri":"at://`+carol+`/app.bsky.feed.post/x"}}}`), profiles.lookup)
	if err != nil {
		t.Fatal(err)
	}
	if tw.User.ScreenName != "plc:cccccccc" || tw.User.Name != "plc:cccccccc" || tw.Lang != "und" ||
		tw.CreatedAt != "Sat Dec 06 00:00:00 +0000 2025" || tw.InReplyToScreenName != "" ||
		len(tw.Entities.URLs)+len(tw.Entities.Hashtags)+len(tw.Entities.UserMentions) != 0 || tw.Entities.URLs == nil {
		t.Errorf("post of an unknown author: %+v user %+v entities %+v", tw, tw.User, tw.Entities)
	}
	if tw, err := postTweet(ev(carol, `{"text":"hi","langs":["EN-us"]}`), profiles.lookup); err != nil {
		t.Error(err)
	} else if tw.Lang != "en" {
		t.Errorf("langs [EN-us]: lang %q, want en", tw.Lang)
	}
	if _, err := postTweet(ev(carol, `{"text":"  "}`), profiles.lookup); err != errNoText {
		t.Errorf("post without text: %v, want errNoText", err)
	}
	if _, err := postTweet(ev(carol, `"text"`), profiles.lookup); err == nil {
		t.Error("a record that is not an object was accepted")
	}
}

// TestJetstreamProfileCacheBounded checks the cache forgets the least
// recently used DID beyond its capacity.
func TestJetstreamProfileCacheBounded(t *testing.T) {
	c := newProfileCache(2)
	c.setHandle("did:a", "a")
	c.setHandle("did:b", "b")
	c.lookup("did:a") // b is now the least recently used
	c.setHandle("did:c", "c")
	if h, _ := c.lookup("did:b"); h != "" {
		t.Errorf("did:b kept beyond the capacity: %q", h)
	}
	for _, d := range []string{"did:a", "did:c"} {
		if h, _ := c.lookup(d); h != strings.TrimPrefix(d, "did:") {
			t.Errorf("%s forgotten: %q", d, h)
		}
	}
	if c.order.Len() != 2 || len(c.byDID) != 2 {
		t.Errorf("cache holds %d/%d entries, want 2", c.order.Len(), len(c.byDID))
	}
}

func TestJetstreamConfig(t *testing.T) {
	for _, u := range []string{"http://x/subscribe", "wss://", "::"} {
		if _, err := NewJetstream(JetstreamConfig{URL: u}); err == nil {
			t.Errorf("NewJetstream(%q) accepted", u)
		}
	}
	if _, err := NewJetstream(JetstreamConfig{Overlap: -1}); err == nil {
		t.Error("negative overlap accepted")
	}
	j, err := NewJetstream(JetstreamConfig{})
	if err != nil || j.cfg.URL != DefaultJetstreamURL {
		t.Errorf("zero config: %v, url %q", err, j.cfg.URL)
	}
}

// FuzzJetstreamEvent feeds arbitrary events to the event handler: it must
// not panic, and every tweet it emits has indices within its text.
func FuzzJetstreamEvent(f *testing.F) {
	lines, _ := os.ReadFile("testdata/jetstream/posts.jsonl")
	for i, l := range strings.Split(string(lines), "\n") {
		if i%10 == 0 {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, data string) {
		j, _ := NewJetstream(JetstreamConfig{HandleCache: 4})
		r := &jetstreamRun{j: j, profiles: newProfileCache(4), recent: newRecentIDs(4)}
		r.emit = func(tw *tweet.Tweet) {
			n := len([]rune(tw.Text))
			e := tw.Entities
			var ix []tweet.Indices
			for _, u := range e.URLs {
				ix = append(ix, u.Indices)
			}
			for _, m := range e.UserMentions {
				ix = append(ix, m.Indices)
			}
			for _, h := range e.Hashtags {
				ix = append(ix, h.Indices)
			}
			for _, i := range ix {
				if i[0] < 0 || i[1] <= i[0] || i[1] > n {
					t.Fatalf("indices %v outside a text of %d code points", i, n)
				}
			}
			if tw.ID <= 0 {
				t.Fatalf("id %d", tw.ID)
			}
		}
		r.event([]byte(data))
	})
}

// countLines counts the lines of s that contain all of subs.
func countLines(s string, subs ...string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		all := true
		for _, sub := range subs {
			all = all && strings.Contains(l, sub)
		}
		if all {
			n++
		}
	}
	return n
}

// BenchmarkJetstreamEvent handles the fixture's events, one per op, as
// Run does after reading them: decode, map posts to tweets, emit.
func BenchmarkJetstreamEvent(b *testing.B) {
	data, err := os.ReadFile("testdata/jetstream/posts.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	j, _ := NewJetstream(JetstreamConfig{})
	r := &jetstreamRun{j: j, profiles: newProfileCache(DefaultHandleCache), recent: newRecentIDs(4), emit: func(*tweet.Tweet) {}}
	var bytes int64
	for _, l := range lines {
		bytes += int64(len(l))
	}
	b.SetBytes(bytes / int64(len(lines)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(lines) == 0 {
			r.recent = newRecentIDs(len(lines)) // every post is new
		}
		r.event([]byte(lines[i%len(lines)]))
	}
}
