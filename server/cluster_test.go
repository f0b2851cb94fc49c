package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/hub"
	"github.com/sente-go/sente/server/internal/roundrobin"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web/redistest"
)

// instance is one BirdWatch server of a test.
type instance struct {
	app  *app
	url  string
	stop func() // graceful shutdown, waits for it
}

// startInstance runs the app of cfg (with src as its tweet source, when
// not nil) on a free port until the test ends.
func startInstance(t *testing.T, cfg config, src hub.TweetSource) *instance {
	t.Helper()
	return startInstanceSeen(t, cfg, src, nil)
}

// startInstanceSeen is startInstance with seen, when not nil, called with
// every request to /chsk the instance serves.
func startInstanceSeen(t *testing.T, cfg config, src hub.TweetSource, seen func(*http.Request)) *instance {
	t.Helper()
	a, err := newApp(cfg, zerolog.Nop(), src)
	if err != nil {
		t.Fatal(err)
	}
	if seen != nil {
		next := a.http
		a.http = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/chsk" {
				seen(r)
			}
			next.ServeHTTP(w, r)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, context.Background(), ln, cfg, zerolog.Nop()) }()
	var once sync.Once
	in := &instance{app: a, url: "http://" + ln.Addr().String()}
	in.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
	}
	t.Cleanup(in.stop)
	return in
}

// ajaxV2 is a Sente 1.21 Ajax client: polls and POSTs through the proxy.
type ajaxV2 struct {
	base, cid, token string
	clock            atomic.Int64
	client           *http.Client
}

func (a *ajaxV2) poll(handshake bool) (protocol.ServerFrame, error) {
	q := fmt.Sprintf("udt=%d&client-id=%s", a.clock.Add(1), url.QueryEscape(a.cid))
	if handshake {
		q += "&handshake%3F=1"
	}
	req, _ := http.NewRequest(http.MethodGet, a.base+"/chsk?"+q, nil)
	req.Header.Set("X-CSRF-Token", a.token)
	return a.do(req)
}

func (a *ajaxV2) post(ev protocol.Event) error {
	frame, err := protocol.GenV2.ClientFrame(ev, protocol.Callback{})
	if err != nil {
		return err
	}
	body := fmt.Sprintf("udt=%d&client-id=%s&ppstr=%s", a.clock.Add(1), url.QueryEscape(a.cid), url.QueryEscape(string(frame)))
	req, _ := http.NewRequest(http.MethodPost, a.base+"/chsk", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", a.token)
	_, err = a.do(req)
	return err
}

func (a *ajaxV2) do(req *http.Request) (protocol.ServerFrame, error) {
	resp, err := a.client.Do(req)
	if err != nil {
		return protocol.ServerFrame{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return protocol.ServerFrame{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return protocol.ServerFrame{}, fmt.Errorf("%s: %d %s", req.Method, resp.StatusCode, body)
	}
	return protocol.GenV2.ParseServerFrame(body)
}

// birdwatchQuery is the query BirdWatch sends for a search of words.
func birdwatchQuery(words string) *transit.Map {
	return transit.NewMap(transit.Keyword("query_string"), transit.NewMap(
		transit.Keyword("default_field"), "text",
		transit.Keyword("default_operator"), "AND",
		transit.Keyword("query"), words))
}

// TestBirdWatchCluster runs BirdWatch as three instances on Redis behind
// the round-robin proxy: 1.3 WebSocket clients and a 1.21 Ajax client,
// whose requests land on every instance; tweets published on Redis by an
// external producer; users-count is the cluster's; a live query moves
// with the client's latest search; an instance that stops drops out.
func TestBirdWatchCluster(t *testing.T) {
	rs := redistest.Start(t)
	rc := rs.Client()
	defer rc.Close()
	cfg := config{source: "redis", storeSize: 1000, redisAddr: rs.Addr(), redisTweets: "test:tweets", packer: "auto"}
	var insts []*instance
	for range 3 {
		insts = append(insts, startInstance(t, cfg, nil))
	}
	front := startFront(t, insts)
	awaitSources(t, insts...)

	// Three 1.3 WebSocket clients: one per instance.
	var ws []*flexiClient
	for i := range 3 {
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(front.URL, "http")+fmt.Sprintf("/chsk?client-id=ws-%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c := &flexiClient{t: t, conn: conn, transcript: &strings.Builder{}}
		c.ignore = func([]any) bool { return true }
		c.await("chsk/handshake", 5*time.Second)
		ws = append(ws, c)
	}
	for i, in := range insts {
		if n := len(in.app.sente.ConnectedUIDs().Any); n == 0 {
			t.Fatalf("instance %d has no client: the proxy did not spread them", i)
		}
	}
	// The page's CSRF token is the cluster's; the 1.3 clients get client
	// tokens of their own instead.
	token, err := rc.Get(context.Background(), sharedTokenKey).Result()
	if err != nil || token == "" || ws[0].token == token || ws[0].token == ws[2].token || strings.Count(ws[0].token, ".") != 3 {
		t.Fatalf("shared token %q (%v), handed out %q and %q", token, err, ws[0].token, ws[2].token)
	}

	// A 1.21 Ajax client: its requests go round the instances.
	aj := &ajaxV2{base: front.URL, cid: "ajax-1", token: token, client: &http.Client{Timeout: 10 * time.Second}}
	defer aj.client.CloseIdleConnections()
	sf, err := aj.poll(true)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := protocol.HandshakeFromValue(sf.Value)
	if err != nil {
		t.Fatalf("first poll: %v (%s)", err, show(sf.Value))
	}
	var (
		mu  sync.Mutex
		got []string // texts of the :tweet/new the Ajax client received
	)
	pollCtx, stopPolls := context.WithCancel(context.Background())
	polls := make(chan struct{})
	go func() { // the client's poll loop
		defer close(polls)
		for pollCtx.Err() == nil {
			sf, err := aj.poll(false)
			evs, ok := sf.Value.([]any)
			if err != nil || !ok {
				continue
			}
			for _, e := range evs {
				ev, err := protocol.EventFromValue(e)
				if err != nil || ev.ID != "tweet/new" {
					continue
				}
				text, _ := ev.Data.(*transit.Map).Get(transit.Keyword("text"))
				mu.Lock()
				got = append(got, fmt.Sprint(text))
				mu.Unlock()
			}
		}
	}()
	defer func() { stopPolls(); <-polls }()

	// users-count is the cluster total on every instance.
	for _, c := range ws {
		awaitCount(t, c, 4)
	}

	// The Ajax client searches "clojure", then "golang": the two POSTs
	// land on different instances; the first one's must forget it.
	percolate := func(words string) {
		t.Helper()
		if err := aj.post(protocol.NewEvent("cmd/percolate", transit.NewMap(transit.Keyword("query"), birdwatchQuery(words), transit.Keyword("uid"), hs.UID))); err != nil {
			t.Fatal(err)
		}
	}
	// held reports whether exactly one instance percolates the client's
	// live query, and that it is the search of words.
	held := func(words string) bool {
		var qs []string
		for _, in := range insts {
			if q, ok := in.app.perc.Lookup(hs.UID); ok {
				qs = append(qs, q.String())
			}
		}
		return len(qs) == 1 && strings.Contains(qs[0], words)
	}
	// A POST is answered before the hub takes its event: the second
	// search is made once the first is in place, as a user's would be.
	percolate("clojure")
	testsupport.Await(t, 5*time.Second, "one instance holds the clojure query", func() bool { return held("clojure") })
	percolate("golang")
	testsupport.Await(t, 5*time.Second, "one instance holds the golang query", func() bool { return held("golang") })

	// Tweets from an external producer reach every instance; the match
	// reaches the Ajax client once, wherever it polls.
	for i, text := range []string{"clojure is fun", "golang is fun"} {
		addTweet(t, rc, "test:tweets", testTweet(int64(100+i), text, "en"))
	}
	testsupport.Await(t, 10*time.Second, "the golang tweet reaches the Ajax client", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	for _, in := range insts {
		testsupport.Await(t, 5*time.Second, "every instance stores the tweets", func() bool { return in.app.store.Count() == 2 })
	}
	mu.Lock()
	if len(got) != 1 || got[0] != "golang is fun" {
		t.Errorf("the Ajax client got %q, want only the golang tweet", got)
	}
	mu.Unlock()

	// An instance stops: its WebSocket client (the proxy sent the first
	// three requests, the dials, to the instances in turn) is gone, and
	// the others count the cluster without it.
	insts[0].stop()
	awaitCount(t, ws[1], 3)
	awaitCount(t, ws[2], 3)
}

// addTweet adds tw to the Redis stream the instances read, as an outside
// producer does.
func addTweet(t *testing.T, rc *redis.Client, stream string, tw *tweet.Tweet) {
	t.Helper()
	b, err := json.Marshal(tw)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: []string{"tweet", string(b)}}).Err(); err != nil {
		t.Fatal(err)
	}
}

// awaitSources waits until each instance reads its tweet source: a tweet
// added to a Redis stream after that reaches it.
func awaitSources(t *testing.T, insts ...*instance) {
	t.Helper()
	for _, in := range insts {
		select {
		case <-in.app.sourceReady:
		case <-time.After(10 * time.Second):
			t.Fatal("an instance does not read its tweet source within 10 s")
		}
	}
}

// startFront starts the round-robin proxy in front of insts until the
// test ends.
func startFront(t *testing.T, insts []*instance) *httptest.Server {
	t.Helper()
	var backends []*url.URL
	for _, in := range insts {
		u, err := url.Parse(in.url)
		if err != nil {
			t.Fatal(err)
		}
		backends = append(backends, u)
	}
	proxy, err := roundrobin.New(backends, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(func() {
		front.Close()
		proxy.CloseIdleConnections()
	})
	return front
}

func show(v any) string {
	b, err := transit.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// awaitCount waits for a :stats/users-count of n.
func awaitCount(t *testing.T, c *flexiClient, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := c.next(deadline)
		if ev[0] == transit.Keyword("stats/users-count") && ev[1] == n {
			return
		}
	}
}

// Instances joined through -redis-url share their users and tweets on a
// password-protected Redis, over TLS with a private authority as well;
// a wrong password stops an instance from starting.
func TestRedisURLPasswordAndTLS(t *testing.T) {
	rs := redistest.StartWith(t, redistest.Options{Password: "s3cret", TLS: true})
	rc := rs.Client()
	defer rc.Close()
	for i, url := range []string{
		"redis://:s3cret@" + rs.Addr(),
		"rediss://:s3cret@" + rs.TLSAddr() + "?ca_file=" + rs.CAFile(),
	} {
		stream := fmt.Sprintf("test:tweets-%d", i)
		cfg := config{source: "redis", storeSize: 100, redisURL: url, redisTweets: stream, packer: "auto"}
		a, b := startInstance(t, cfg, nil), startInstance(t, cfg, nil)
		awaitSources(t, a, b)
		conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.url, "http")+"/chsk?client-id=url-"+stream, nil)
		if err != nil {
			t.Fatal(err)
		}
		testsupport.Await(t, 10*time.Second, "the other instance counts the user", func() bool { return len(b.app.sente.ConnectedUIDs().Any) == 1 })
		conn.Close()
		addTweet(t, rc, stream, testTweet(1, "clojure over "+url[:6], "en"))
		for _, in := range []*instance{a, b} {
			testsupport.Await(t, 10*time.Second, "every instance stores the tweet", func() bool { return in.app.store.Count() == 1 })
		}
		a.stop()
		b.stop()
	}
	_, err := newApp(config{source: "none", storeSize: 100, redisURL: "redis://:wrong@" + rs.Addr()}, zerolog.Nop(), nil)
	t.Logf("a wrong password: %v", err)
	if err == nil || strings.Contains(err.Error(), "wrong") || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("newApp with a wrong password = %v, want an error that does not show it", err)
	}
}
