package source

import (
	"bytes"
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

	"github.com/sente-go/sente/server/tweet"
	"github.com/sente-go/sente/web/redistest"
)

var _ tweetSource = (*Redis)(nil)
var _ tweetSource = (*PublishingSource)(nil)

// redisWait bounds every wait of the Redis tests.
const redisWait = 5 * time.Second

// publishTo PUBLISHes msg once at least n clients are subscribed to
// channel (a PUBLISH that reaches fewer is not received by the ones that
// matter: pub/sub keeps nothing), polling until redisWait.
func publishTo(t *testing.T, c *redis.Client, channel string, n int64, msg string) {
	t.Helper()
	deadline := time.Now().Add(redisWait)
	for {
		subs, err := c.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && subs[channel] >= n {
			got, err := c.Publish(context.Background(), channel, msg).Result()
			if err == nil && got >= n {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %d subscribers on %s within %v (last error %v)", n, channel, redisWait, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func statusJSON(id int64) string {
	return fmt.Sprintf(`{"id":%d,"id_str":"%d","text":"tweet %d #redis","created_at":"Mon Dec 22 23:45:00 +0000 2014","user":{"id":7,"screen_name":"bird","followers_count":3}}`, id, id, id)
}

// syncBuffer is a log sink that Run's goroutine and the test share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	logs := &syncBuffer{}
	src, err := NewRedis(RedisConfig{Addr: rs.Addr(), Channel: "test:statuses", Logger: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	got, stop := runRedis(t, src)
	c := rs.Client()
	defer c.Close()
	for _, msg := range []string{
		statusJSON(1),
		`{"id": 2, "text": `, // malformed
		statusJSON(2),
		`{"delete":{"status":{"id":1,"id_str":"1","user_id":7}}}`,
		`not json either`,
		statusJSON(3),
	} {
		publishTo(t, c, "test:statuses", 1, msg)
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
	if !strings.Contains(out, "malformed redis tweet message skipped") || !strings.Contains(out, "not a status") {
		t.Errorf("skips not logged:\n%s", out)
	}
}

func TestRedisSurvivesRestart(t *testing.T) {
	rs := redistest.Start(t)
	logs := &syncBuffer{}
	src, err := NewRedis(RedisConfig{Addr: rs.Addr(), Channel: "test:restart", Logger: zerolog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	got, stop := runRedis(t, src)
	c := rs.Client()
	defer c.Close()
	publishTo(t, c, "test:restart", 1, statusJSON(1))
	if tw := next(t, got); tw.ID != 1 {
		t.Fatalf("emitted %d, want 1", tw.ID)
	}
	rs.Kill()
	rs.Restart()
	// publishTo waits for Run to resubscribe.
	publishTo(t, c, "test:restart", 1, statusJSON(2))
	publishTo(t, c, "test:restart", 1, statusJSON(3))
	for want := int64(2); want <= 3; want++ {
		if tw := next(t, got); tw.ID != want {
			t.Fatalf("emitted %d, want %d", tw.ID, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("Run = %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "subscription lost"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "subscription renewed") {
		t.Errorf("renewal not logged:\n%s", out)
	}
}

func TestRedisWithoutServerStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	src, err := NewRedis(RedisConfig{Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := src.Run(ctx, func(*tweet.Tweet) { t.Error("emitted without Redis") }); err != nil {
		t.Fatalf("Run = %v, want nil at ctx's end", err)
	}
	if _, err := NewRedis(RedisConfig{}); err == nil {
		t.Error("NewRedis without Addr: no error")
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
	const channel = "test:publish"
	other, err := NewRedis(RedisConfig{Addr: rs.Addr(), Channel: channel})
	if err != nil {
		t.Fatal(err)
	}
	gotOther, stopOther := runRedis(t, other)
	c := rs.Client()
	defer c.Close()
	// Wait for the other instance's subscription: the publisher does not.
	deadline := time.Now().Add(redisWait)
	for {
		subs, err := c.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && subs[channel] >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Redis source did not subscribe")
		}
		time.Sleep(5 * time.Millisecond)
	}

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
	pub := &PublishingSource{Inner: inner, Addr: rs.Addr(), Channel: channel}
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
	pub := &PublishingSource{Inner: sliceSource{err: boom}, Addr: rs.Addr(), Channel: "test:inner-error"}
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
