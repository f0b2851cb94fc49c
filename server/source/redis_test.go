package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/web/redistest"
)

var _ tweetSource = (*Redis)(nil)
var _ tweetSource = (*PublishingSource)(nil)

// redisWait bounds every wait of the Redis tests.
const redisWait = 5 * time.Second

// add XADDs msg to stream as a producer does.
func add(t *testing.T, c *redis.Client, stream, msg string) {
	t.Helper()
	if err := c.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: []string{"tweet", msg}}).Err(); err != nil {
		t.Fatalf("XADD: %v", err)
	}
}

// newSource returns a Redis source of stream through addr (a client the
// test closes at its end), and a channel closed when it is Ready.
func newSource(t *testing.T, addr, stream string, logs *testsupport.Buffer) (*Redis, <-chan struct{}) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true, MaxRetries: -1,
		DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second})
	t.Cleanup(func() { c.Close() })
	ready := make(chan struct{})
	cfg := RedisConfig{Client: c, Stream: stream, Ready: func() { close(ready) }}
	if logs != nil {
		cfg.Logger = zerolog.New(logs)
	}
	src, err := NewRedis(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return src, ready
}

// waitReady waits for ready, failing the test after redisWait.
func waitReady(t *testing.T, ready <-chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(redisWait):
		t.Fatal("the source was not ready within", redisWait)
	}
}

func statusJSON(id int64) string {
	return fmt.Sprintf(`{"id":%d,"id_str":"%d","text":"tweet %d #redis","created_at":"Mon Dec 22 23:45:00 +0000 2014","user":{"id":7,"screen_name":"bird","followers_count":3}}`, id, id, id)
}

// runRedis runs src in a goroutine, sending what it emits on the returned
// channel; stop cancels it and returns Run's result.
func runRedis(t *testing.T, src tweetSource) (got <-chan *tweet.Tweet, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan *tweet.Tweet, 100)
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, func(tw *tweet.Tweet) { ch <- tw }) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(redisWait):
				err = errors.New("Run did not return after cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return ch, stop
}

// next returns the next tweet on ch, failing the test after redisWait.
func next(t *testing.T, ch <-chan *tweet.Tweet) *tweet.Tweet {
	t.Helper()
	select {
	case tw := <-ch:
		return tw
	case <-time.After(redisWait):
		t.Fatal("no tweet within", redisWait)
		return nil
	}
}

func TestRedisEmitsStatusesOnly(t *testing.T) {
	rs := redistest.Start(t)
	logs := &testsupport.Buffer{}
	c := rs.Client()
	defer c.Close()
	add(t, c, "test:statuses", statusJSON(99)) // before Run: not read
	src, ready := newSource(t, rs.Addr(), "test:statuses", logs)
	got, stop := runRedis(t, src)
	waitReady(t, ready)
	for _, msg := range []string{
		statusJSON(1),
		`{"id": 2, "text": `, // malformed
		statusJSON(2),
		`{"delete":{"status":{"id":1,"id_str":"1","user_id":7}}}`,
		`not json either`,
		statusJSON(3),
	} {
		add(t, c, "test:statuses", msg)
	}
	for want := int64(1); want <= 3; want++ {
		if tw := next(t, got); tw.ID != want || tw.Text != fmt.Sprintf("tweet %d #redis", want) {
			t.Fatalf("emitted %d %q, want tweet %d", tw.ID, tw.Text, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	select {
	case tw := <-got:
		t.Fatalf("extra tweet %d emitted", tw.ID)
	default:
	}
	out := logs.String()
	// One warning per kind; the second malformed message is at debug.
	if n := strings.Count(out, `"level":"warn"`); n != 2 {
		t.Errorf("%d warnings, want 2 (one malformed, one not a status):\n%s", n, out)
	}
	if !strings.Contains(out, "malformed redis tweet entry skipped") || !strings.Contains(out, "not a status") {
		t.Errorf("skips not logged:\n%s", out)
	}
}

// Redis restarts empty: Run reads on, the entries added to the new stream
// included, and logs the outage once.
func TestRedisSurvivesRestart(t *testing.T) {
	rs := redistest.Start(t)
	logs := &testsupport.Buffer{}
	src, ready := newSource(t, rs.Addr(), "test:restart", logs)
	got, stop := runRedis(t, src)
	waitReady(t, ready)
	c := rs.Client()
	defer c.Close()
	add(t, c, "test:restart", statusJSON(1))
	if tw := next(t, got); tw.ID != 1 {
		t.Fatalf("emitted %d, want 1", tw.ID)
	}
	rs.Kill()
	logs.AwaitContains(t, redisWait, "unreachable")
	rs.Restart()
	add(t, c, "test:restart", statusJSON(2))
	add(t, c, "test:restart", statusJSON(3))
	for want := int64(2); want <= 3; want++ {
		if tw := next(t, got); tw.ID != want {
			t.Fatalf("emitted %d, want %d", tw.ID, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "unreachable"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "reachable again") {
		t.Errorf("the return not logged:\n%s", out)
	}
}

// An instance cut from Redis for 5 s, while the others keep it, gets the
// tweets added meanwhile once it is back, in order, none twice.
func TestRedisCatchesUpAfterCut(t *testing.T) {
	rs := redistest.Start(t)
	proxy := redistest.NewProxy(t, rs)
	logs := &testsupport.Buffer{}
	src, ready := newSource(t, proxy.Addr(), "test:cut", logs)
	got, stop := runRedis(t, src)
	waitReady(t, ready)
	c := rs.Client()
	defer c.Close()
	add(t, c, "test:cut", statusJSON(1))
	if tw := next(t, got); tw.ID != 1 {
		t.Fatalf("emitted %d, want 1", tw.ID)
	}
	proxy.Cut()
	logs.AwaitContains(t, redisWait, "unreachable")
	cutAt := time.Now()
	for id := int64(2); id <= 6; id++ {
		add(t, c, "test:cut", statusJSON(id))
	}
	time.Sleep(5*time.Second - time.Since(cutAt)) // the partition's length, not a wait for an event
	proxy.Restore()
	for want := int64(2); want <= 6; want++ {
		if tw := next(t, got); tw.ID != want {
			t.Fatalf("after the cut: emitted %d, want %d", tw.ID, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	select {
	case tw := <-got:
		t.Fatalf("extra tweet %d emitted", tw.ID)
	default:
	}
}

func TestRedisWithoutServerStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	src, _ := newSource(t, addr, "test:nothing", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := src.Run(ctx, func(*tweet.Tweet) { t.Error("emitted without Redis") }); err != nil {
		t.Fatalf("Run = %v, want nil at ctx's end", err)
	}
	if _, err := NewRedis(RedisConfig{}); err == nil {
		t.Error("NewRedis without a client: no error")
	}
}

// sliceSource emits its tweets, then waits for ctx (or returns err).
type sliceSource struct {
	tweets []*tweet.Tweet
	err    error
}

func (s sliceSource) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	for _, tw := range s.tweets {
		emit(tw)
	}
	if s.err != nil {
		return s.err
	}
	<-ctx.Done()
	return nil
}

func TestPublishingSourceRoundTrip(t *testing.T) {
	rs := redistest.Start(t)
	const stream = "test:publish"
	other, otherReady := newSource(t, rs.Addr(), stream, nil)
	gotOther, stopOther := runRedis(t, other)
	waitReady(t, otherReady) // the publisher does not wait for the others

	// One parsed tweet (published as its raw JSON), two built in Go.
	parsed, err := tweet.Parse([]byte(statusJSON(1)))
	if err != nil {
		t.Fatal(err)
	}
	inner := sliceSource{tweets: []*tweet.Tweet{
		parsed,
		{ID: 2, IDStr: "2", Text: "built #go", CreatedAt: "Mon Dec 22 23:46:00 +0000 2014", User: &tweet.User{ID: 8, ScreenName: "gopher"}},
		{ID: 3, IDStr: "3", Text: "third", CreatedAt: "Mon Dec 22 23:47:00 +0000 2014", User: &tweet.User{ID: 8, ScreenName: "gopher"}},
	}}
	c := rs.Client()
	defer c.Close()
	pub := &PublishingSource{Inner: inner, Client: c, Stream: stream}
	gotSelf, stopSelf := runRedis(t, pub)
	for _, ch := range []struct {
		name string
		got  <-chan *tweet.Tweet
	}{{"publishing instance", gotSelf}, {"other instance", gotOther}} {
		for i, want := range inner.tweets {
			tw := next(t, ch.got)
			if tw.ID != want.ID || tw.Text != want.Text || tw.User == nil || tw.User.ScreenName != want.User.ScreenName {
				t.Fatalf("%s: tweet %d is %d %q, want %d %q", ch.name, i, tw.ID, tw.Text, want.ID, want.Text)
			}
		}
	}
	if err := stopSelf(); err != nil {
		t.Fatalf("PublishingSource.Run = %v", err)
	}
	if err := stopOther(); err != nil {
		t.Fatalf("Redis.Run = %v", err)
	}
}

func TestPublishingSourceInnerError(t *testing.T) {
	rs := redistest.Start(t)
	boom := errors.New("boom")
	c := rs.Client()
	defer c.Close()
	pub := &PublishingSource{Inner: sliceSource{err: boom}, Client: c, Stream: "test:inner-error"}
	ctx, cancel := context.WithTimeout(context.Background(), redisWait)
	defer cancel()
	err := pub.Run(ctx, func(*tweet.Tweet) {})
	if !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want the inner error", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run waited for ctx instead of returning the inner error")
	}
}
