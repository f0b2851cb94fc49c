package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web/redistest"
)

// lpTimeout is the XHR timeout of a Sente 1.3.0 long poll (:lp-timeout-ms,
// docs/protocol.md §6.1); the server answers a held poll before it.
const lpTimeout = 25 * time.Second

// dummyReply is the answer to an Ajax POST without callback, as a 1.3
// client gets it.
const dummyReply = `-j["~#'","~:chsk/dummy-cb-200"]`

// formField is one field of an Ajax request, in the order the client
// writes it.
type formField struct{ key, value string }

// pollResult is what the poll loop hands to the test: one event the
// client delivers, or the error that ended the loop.
type pollResult struct {
	ev  []any
	err error
}

// flexiAjaxClient is a Sente 1.3.0 (flexi Transit) client over Ajax long
// polling (docs/protocol.md §2.2, §6.1): it polls GET /chsk?_=…&client-id=…
// without handshake flag, and POSTs each event as the form _, csrf-token
// (the token of its handshake) and ppstr, without client-id. Its poll loop
// runs on a goroutine of its own, which the client owns: start begins it,
// and stop (also a cleanup of the test) ends it and waits for it.
type flexiAjaxClient struct {
	t          *testing.T
	base, cid  string
	http       *http.Client
	transcript *strings.Builder
	uid, token string // from the handshake; read and written on the test's goroutine
	// ignore, when set, tells events that may arrive at any point.
	ignore func(ev []any) bool

	events chan pollResult // from the poll loop
	stop   func()          // ends the poll loop and waits for it; idempotent

	polls      atomic.Int32 // polls answered
	handshakes atomic.Int32 // handshakes among them
	empty      atomic.Int32 // empty batches (the server's poll timeout)
	stats      atomic.Int32 // :stats/* events delivered
}

// newFlexiAjaxClient returns a client of the server at base (scheme and
// host) with client-id cid, writing to transcript; start begins polling.
func newFlexiAjaxClient(t *testing.T, base, cid string, transcript *strings.Builder) *flexiAjaxClient {
	tr := &http.Transport{DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	c := &flexiAjaxClient{
		t: t, base: base, cid: cid, transcript: transcript,
		http:   &http.Client{Transport: tr, Timeout: lpTimeout},
		events: make(chan pollResult, 64),
		stop:   func() {},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return c
}

// start writes the first poll to the transcript and starts the poll loop.
func (c *flexiAjaxClient) start() {
	fmt.Fprintf(c.transcript, "C> GET /chsk?_=<ms>&client-id=%s\n", c.cid)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go c.pollLoop(ctx, done)
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel() // aborts the poll being held
			<-done
			c.http.CloseIdleConnections()
		})
	}
	c.t.Cleanup(c.stop)
}

// pollLoop polls as the 1.3 client does: again at once after every
// answer, a handshake or a batch of events, which it hands on one by one.
// An answer the client cannot read (not a handshake, not a vector of
// events) kills a real 1.3 poll loop for good; a status other than 200
// makes it retry with backoff. Both end the loop here, with an error the
// test sees. A client-side timeout is retried at once, as the client does.
func (c *flexiAjaxClient) pollLoop(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	deliver := func(r pollResult) bool {
		select {
		case c.events <- r:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for ctx.Err() == nil {
		status, body, err := c.do(ctx, http.MethodGet, "/chsk?"+c.encode([]formField{{"_", ""}, {"client-id", c.cid}}), nil)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && isTimeout(err):
			continue
		case err != nil:
			deliver(pollResult{err: err})
			return
		case status != http.StatusOK:
			deliver(pollResult{err: fmt.Errorf("poll answered %d %q", status, body)})
			return
		}
		c.polls.Add(1)
		sf, err := protocol.GenFlexi.ParseServerFrame([]byte(body))
		v, ok := sf.Value.([]any)
		if err != nil || !ok {
			deliver(pollResult{err: fmt.Errorf("poll answer a 1.3 client cannot read (%v): %q", err, body)})
			return
		}
		if !strings.HasPrefix(body, "-j") { // readable by the flexi packer, but the client speaks Transit
			deliver(pollResult{err: fmt.Errorf("poll answer not in Transit: %q", body)})
			return
		}
		if len(v) > 0 && v[0] == protocol.IDHandshake {
			c.handshakes.Add(1)
			if !deliver(pollResult{ev: v}) {
				return
			}
			continue
		}
		if len(v) == 0 {
			c.empty.Add(1)
		}
		for _, e := range v {
			if _, err := protocol.EventFromValue(e); err != nil {
				deliver(pollResult{err: fmt.Errorf("poll answer with a bad event (%v): %q", err, body)})
				return
			}
			ev := e.([]any)
			if ev[0].(transit.Keyword).Namespace() == "stats" {
				c.stats.Add(1)
			}
			if !deliver(pollResult{ev: ev}) {
				return
			}
		}
	}
}

// finish stops the poll loop and fails on what it left undelivered: an
// error, or an event other than the stats and those c.ignore allows.
func (c *flexiAjaxClient) finish() {
	c.t.Helper()
	c.stop()
	for len(c.events) > 0 {
		r := <-c.events
		switch {
		case r.err != nil:
			c.t.Errorf("poll loop of %s: %v", c.cid, r.err)
		case r.ev[0].(transit.Keyword).Namespace() != "stats" && (c.ignore == nil || !c.ignore(r.ev)):
			c.t.Errorf("client %s got %v after the last event it waited for", c.cid, r.ev)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// encode writes fields as the 1.3 client's Ajax code does
// (encodeURIComponent on keys and values), with the client clock for "_".
func (c *flexiAjaxClient) encode(fields []formField) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('&')
		}
		v := f.value
		if f.key == "_" {
			v = strconv.FormatInt(time.Now().UnixMilli(), 10)
		}
		b.WriteString(encodeURIComponent(f.key) + "=" + encodeURIComponent(v))
	}
	return b.String()
}

// encodeURIComponent is JavaScript's: everything but A–Z a–z 0–9 and
// -_.!~*'() is percent-encoded, UTF-8 byte by byte.
func encodeURIComponent(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-_.!~*'()", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

// do sends one request of the client and returns the answer.
func (c *flexiAjaxClient) do(ctx context.Context, method, target string, body []formField) (int, string, error) {
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(c.encode(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+target, rd)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("X-Requested-With", "XMLHTTPRequest")
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// post sends an Ajax POST of fields, failing the test on a transport error.
func (c *flexiAjaxClient) post(fields []formField) (int, string) {
	c.t.Helper()
	status, body, err := c.do(context.Background(), http.MethodPost, "/chsk", fields)
	if err != nil {
		c.t.Fatalf("POST: %v", err)
	}
	return status, body
}

// ppstr returns the frame a 1.3 client POSTs for the event, no callback.
func (c *flexiAjaxClient) ppstr(id transit.Keyword, data any) string {
	c.t.Helper()
	frame, err := protocol.GenFlexi.ClientFrame(protocol.NewEvent(id, data), protocol.Callback{})
	if err != nil {
		c.t.Fatal(err)
	}
	return string(frame)
}

// send POSTs the event as the 1.3 client does, writes the request (form
// values decoded, the clock as <ms>) and the answer to the transcript,
// and fails unless the answer is the dummy reply.
func (c *flexiAjaxClient) send(id transit.Keyword, data any) {
	c.t.Helper()
	fields := []formField{{"_", ""}, {"csrf-token", c.token}, {"ppstr", c.ppstr(id, data)}}
	fmt.Fprintf(c.transcript, "C> POST /chsk %s\n", c.redact(fmt.Sprintf("_=<ms>&csrf-token=%s&ppstr=%s", fields[1].value, fields[2].value)))
	status, body := c.post(fields)
	fmt.Fprintf(c.transcript, "S< %d %s\n", status, c.redact(body))
	if status != http.StatusOK || body != dummyReply {
		c.t.Fatalf("POST %s answered %d %q, want 200 %q", id, status, body, dummyReply)
	}
	if sf, err := protocol.GenFlexi.ParseServerFrame([]byte(body)); err != nil || sf.Value != protocol.IDDummyReply {
		c.t.Fatalf("POST answer %q reads as %v, %v", body, sf.Value, err)
	}
}

func (c *flexiAjaxClient) sessionUID() string { return c.uid }

func (c *flexiAjaxClient) redact(s string) string {
	if c.uid != "" {
		s = strings.ReplaceAll(s, c.uid, "<uid>")
	}
	if c.token != "" {
		s = strings.ReplaceAll(s, c.token, "<csrf>")
	}
	return s
}

// next returns the next event the polls delivered (the handshake, whose
// uid and token it keeps, or a pushed event), failing on an error of the
// poll loop or when none comes before deadline.
func (c *flexiAjaxClient) next(deadline time.Time) []any {
	c.t.Helper()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case r := <-c.events:
		if r.err != nil {
			c.t.Fatalf("poll loop of %s: %v", c.cid, r.err)
		}
		if r.ev[0] == protocol.IDHandshake {
			hs, err := protocol.HandshakeFromValue(r.ev)
			if err != nil {
				c.t.Fatalf("handshake %v: %v", r.ev, err)
			}
			c.uid, c.token = hs.UID, hs.CSRFToken
		}
		return r.ev
	case <-timer.C:
		c.t.Fatalf("client %s: no event from the polls by the deadline", c.cid)
		return nil
	}
}

// record writes an event a poll delivered to the transcript.
func (c *flexiAjaxClient) record(ev []any) {
	b, err := transit.Marshal(ev)
	if err != nil {
		c.t.Fatal(err)
	}
	fmt.Fprintf(c.transcript, "S< poll: %s\n", c.redact(string(b)))
}

// await returns the next event with this id; see awaitEvent.
func (c *flexiAjaxClient) await(id transit.Keyword, within time.Duration) []any {
	c.t.Helper()
	return awaitEvent(c.t, id, within, c.next, c.record, c.ignore)
}

// checkClientToken checks the token of c's handshake: a client token
// (web/token.go: base64url(client-id).base64url(uid).issued.mac) naming
// c's client-id and uid, not the page's CSRF token.
func checkClientToken(t *testing.T, c *flexiAjaxClient, pageToken string) {
	t.Helper()
	if c.uid == "" || c.token == "" {
		t.Fatalf("handshake without uid or token: %q %q", c.uid, c.token)
	}
	if c.token == pageToken || strings.Count(c.token, ".") != 3 {
		t.Fatalf("handshake token %q is not a client token (page token %q)", c.token, pageToken)
	}
	parts := strings.Split(c.token, ".")
	cid, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	uid, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || string(cid) != c.cid || string(uid) != c.uid {
		t.Fatalf("client token %q names client %q and uid %q, want %q and %q", c.token, cid, uid, c.cid, c.uid)
	}
}

var pageTokenRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

// pageToken returns the CSRF token of the built-in page at base.
func pageToken(t *testing.T, base string) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	m := pageTokenRE.FindSubmatch(b)
	if err != nil || resp.StatusCode != http.StatusOK || m == nil || len(m[1]) == 0 {
		t.Fatalf("GET / = %d (%v), no CSRF token in the page", resp.StatusCode, err)
	}
	return string(m[1])
}

// TestBirdWatchAjaxSession runs the search of TestBirdWatchSession as the
// 1.3.0 client does it over Ajax long polling: its POSTs carry no
// client-id, only the token of its handshake, which must give their events
// the poller's uid, so that the answers reach its polls.
func TestBirdWatchAjaxSession(t *testing.T) {
	src := make(chanSource)
	in := startInstance(t, config{source: "none", storeSize: 1000}, src)
	feed, history := birdwatchHistory(t, in, src)
	page := pageToken(t, in.url)

	var transcript strings.Builder
	transcript.WriteString("# Sente 1.3.0 flexi client over Ajax: C> its requests (form values decoded, <ms> its clock),\n" +
		"# S< the answers: a POST's body, or each event the polls delivered (poll:), stats left out\n")
	c := newFlexiAjaxClient(t, in.url, "9f1c3a2e-5b7d-4e8f-a1b2-c3d4e5f60718", &transcript)
	c.ignore = liveHistory(history)
	c.start()
	c.await("chsk/handshake", 5*time.Second)
	checkClientToken(t, c, page)
	// Before the client token, its POSTs had no uid and the answers went
	// nowhere: that they arrive is the point.
	birdwatchSession(t, c, feed)
	c.finish()
	if h := c.handshakes.Load(); h != 1 {
		t.Errorf("the polls returned %d handshakes, want 1", h)
	}
	checkTranscript(t, "session-ajax-flexi.golden", transcript.String())
}

// TestBirdWatchAjaxTokenRefused POSTs, as 1.3–1.7 clients could, with
// tokens that are forged, foreign or missing: each gets 403 with its
// reason, and none of their events reaches the hub, for the client the
// token names or any other.
func TestBirdWatchAjaxTokenRefused(t *testing.T) {
	src := make(chanSource)
	in := startInstance(t, config{source: "none", storeSize: 1000}, src)
	for i := int64(1); i <= 8; i++ {
		src <- testTweet(i, fmt.Sprintf("Clojure tip %d", i), "en")
	}
	testsupport.Await(t, 5*time.Second, "the store has the tweets", func() bool { return in.app.store.Count() == 8 })
	page := pageToken(t, in.url)

	// Client b is the one whose uid and client-id the forgeries borrow:
	// it polls too, to see that nothing reaches it either.
	ca := newFlexiAjaxClient(t, in.url, "a0000000-0000-4000-8000-00000000000a", &strings.Builder{})
	cb := newFlexiAjaxClient(t, in.url, "b0000000-0000-4000-8000-00000000000b", &strings.Builder{})
	for _, c := range []*flexiAjaxClient{ca, cb} {
		c.start()
		c.await("chsk/handshake", 5*time.Second)
		checkClientToken(t, c, page)
	}
	if ca.uid == cb.uid {
		t.Fatalf("both clients have uid %q", ca.uid)
	}
	missing := func(c *flexiAjaxClient, n int64) string {
		return c.ppstr("cmd/missing", transit.NewMap(transit.Keyword("id_str"), testTweet(n, "", "").IDStr, transit.Keyword("uid"), c.uid))
	}
	a, b := strings.Split(ca.token, "."), strings.Split(cb.token, ".")
	for i, tc := range []struct {
		name   string
		fields []formField
		want   string
	}{
		{"MAC replaced", []formField{{"_", ""}, {"csrf-token", strings.Join([]string{a[0], a[1], a[2], b[3]}, ".")}, {"ppstr", missing(ca, 1)}},
			"Bad CSRF token"},
		{"uid of another client", []formField{{"_", ""}, {"csrf-token", strings.Join([]string{a[0], b[1], a[2], a[3]}, ".")}, {"ppstr", missing(cb, 2)}},
			"Bad CSRF token"},
		{"page token, no client-id", []formField{{"_", ""}, {"csrf-token", page}, {"ppstr", missing(ca, 3)}},
			"Unknown client: no client-id and no client token"},
		{"no token, no client-id", []formField{{"_", ""}, {"ppstr", missing(ca, 4)}},
			"Unknown client: no client-id and no client token"},
		{"1.7 POST of another client-id", []formField{{"_", ""}, {"csrf-token", ca.token}, {"client-id", cb.cid}, {"ppstr", missing(cb, 5)}},
			"CSRF token of another client"},
	} {
		status, body := ca.post(tc.fields)
		if status != http.StatusForbidden || body != tc.want {
			t.Errorf("(%c) %s: %d %q, want 403 %q", 'a'+i, tc.name, status, body, tc.want)
		}
	}

	// Valid POSTs now: the answer each client's polls return next is its
	// own missing tweet, not one the refused POSTs asked for.
	for i, c := range []*flexiAjaxClient{ca, cb} {
		n := int64(7 + i)
		if status, body := c.post([]formField{{"_", ""}, {"csrf-token", c.token}, {"ppstr", missing(c, n)}}); status != http.StatusOK || body != dummyReply {
			t.Fatalf("valid POST of %s: %d %q", c.cid, status, body)
		}
		ev := c.await("tweet/missing-tweet", 5*time.Second)
		if id, _ := ev[1].(*transit.Map).Get(transit.Keyword("id_str")); id != testTweet(n, "", "").IDStr {
			t.Errorf("client %s got missing tweet %v first, want %s", c.cid, id, testTweet(n, "", "").IDStr)
		}
	}
	for _, c := range []*flexiAjaxClient{ca, cb} {
		c.finish()
		if h := c.handshakes.Load(); h != 1 {
			t.Errorf("client %s: the polls returned %d handshakes, want 1", c.cid, h)
		}
	}
}

// TestBirdWatchAjaxCluster runs a 1.3.0 Ajax client against three
// instances on Redis behind the round-robin proxy: its polls and POSTs
// land on different instances, it gets one handshake only, its POSTs
// (identified by the token alone) reach the hub with its uid wherever
// they land, and the answers reach its polls wherever those land.
func TestBirdWatchAjaxCluster(t *testing.T) {
	rs := redistest.Start(t)
	rc := rs.Client()
	defer rc.Close()
	cfg := config{source: "redis", storeSize: 1000, redisAddr: rs.Addr(), redisTweets: "test:tweets", packer: "auto"}
	var (
		insts        []*instance
		polls, posts [3]atomic.Int32 // requests to /chsk each instance served
	)
	for i := range 3 {
		insts = append(insts, startInstanceSeen(t, cfg, nil, func(r *http.Request) {
			switch r.Method {
			case http.MethodGet:
				polls[i].Add(1)
			case http.MethodPost:
				posts[i].Add(1)
			}
		}))
	}
	front := startFront(t, insts)
	awaitSources(t, insts...)
	publish := func(n int64, text string) {
		t.Helper()
		addTweet(t, rc, "test:tweets", testTweet(n, text, "en"))
	}
	// History, from an external producer.
	publish(1, "clojure history one")
	publish(2, "java history")
	publish(3, "clojure history two")
	for _, in := range insts {
		testsupport.Await(t, 5*time.Second, "every instance stores the history", func() bool { return in.app.store.Count() == 3 })
	}
	page := pageToken(t, front.URL)
	total := func(c *[3]atomic.Int32) (n int32) {
		for i := range c {
			n += c[i].Load()
		}
		return n
	}
	before := total(&polls) // the page request was no poll, but be exact

	c := newFlexiAjaxClient(t, front.URL, "c1a5c1a5-0000-4000-8000-000000000013", &strings.Builder{})
	c.start()
	c.await("chsk/handshake", 5*time.Second)
	checkClientToken(t, c, page)
	// The poll after the handshake reaches the next instance: no new
	// handshake there, the client is known to the cluster.
	testsupport.Await(t, 5*time.Second, "the second poll reaches an instance", func() bool { return total(&polls)-before >= 2 })

	c.send("cmd/query", transit.NewMap(transit.Keyword("query"), birdwatchQuery("clojure"), transit.Keyword("n"), 500,
		transit.Keyword("uid"), c.uid, transit.Keyword("from"), 0))
	ev := c.await("tweet/prev-chunk", 10*time.Second)
	if got, want := strings.Join(ids(ev[1].([]any)), ","), "546814306545300003,546814306545300001"; got != want {
		t.Fatalf("chunk ids = %s, want %s", got, want)
	}

	c.send("cmd/percolate", transit.NewMap(transit.Keyword("query"), birdwatchQuery("clojure"), transit.Keyword("uid"), c.uid))
	testsupport.Await(t, 5*time.Second, "one instance holds the live query", func() bool {
		held := 0
		for _, in := range insts {
			if _, ok := in.app.perc.Lookup(c.uid); ok {
				held++
			}
		}
		return held == 1
	})
	publish(4, "java live")
	publish(5, "clojure live")
	ev = c.await("tweet/new", 10*time.Second)
	if text, _ := ev[1].(*transit.Map).Get(transit.Keyword("text")); text != "clojure live" {
		t.Fatalf("tweet/new %q, want the clojure one", text)
	}

	c.finish()
	var seen []string
	used := 0
	pollInstances := 0
	for i := range insts {
		p, q := polls[i].Load(), posts[i].Load()
		seen = append(seen, fmt.Sprintf("instance %d: %d polls, %d POSTs", i, p, q))
		if p+q > 0 {
			used++
		}
		if p > 0 {
			pollInstances++
		}
	}
	t.Logf("%s; %d polls answered (%d empty), %d stats events", strings.Join(seen, "; "), c.polls.Load(), c.empty.Load(), c.stats.Load())
	if used < 2 || pollInstances < 2 {
		t.Errorf("the client's requests reached %d instances, its polls %d; want at least 2 each", used, pollInstances)
	}
	if h := c.handshakes.Load(); h != 1 {
		t.Errorf("the polls returned %d handshakes, want 1", h)
	}
}
