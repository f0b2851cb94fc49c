package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/tweet"
)

// DefaultRedisStream is the Redis stream RedisConfig uses when Stream is
// empty.
const DefaultRedisStream = "birdwatch:tweets"

// DefaultStreamLen is how many tweets PublishingSource keeps in the
// stream by default (approximately: MAXLEN ~): what an instance cut from
// Redis can catch up on, some minutes of a busy source.
const DefaultStreamLen = 10_000

// Timing of the Redis sources; the same as web.RedisBroker's.
const (
	redisMinBackoff = 50 * time.Millisecond // first wait after a failure
	redisMaxBackoff = 2 * time.Second       // longest wait between attempts
	// redisBlock bounds one XREAD: how long Run may take to notice that
	// its context is done.
	redisBlock = time.Second
	// redisBatch is the most entries one XREAD returns.
	redisBatch = 256
)

// Source is what every source of this package implements, and what the
// hub consumes (hub.TweetSource); see the package documentation.
type Source interface {
	Run(ctx context.Context, emit func(*tweet.Tweet)) error
}

// RedisConfig configures a Redis source.
type RedisConfig struct {
	// Client is the Redis client, shared with the process's other uses
	// (server/internal/redisconn). Required; the caller closes it.
	Client redis.UniversalClient
	// Stream is the stream the tweets are added to; "" means
	// DefaultRedisStream.
	Stream string
	// Ready, when not nil, is called once, when Run knows where the
	// stream ends: it emits every tweet added after that.
	Ready func()
	// Logger receives the outages (once each, and once when Redis
	// returns) and a warning for the first malformed entry and the first
	// entry that is not a status (no "text") of each Run; the next ones
	// are logged at debug. The zero value logs nothing.
	Logger zerolog.Logger
}

// Redis emits the tweets any producer adds to a Redis stream (XADD
// STREAM * tweet JSON), each entry one Twitter v1.1 status as JSON in its
// field "tweet". Entries that are malformed or are not statuses (delete
// and limit notices) are skipped.
//
// Run reads the entries added after it first reached Redis, and keeps its
// position in the stream: when Redis goes away, Run logs it once, retries
// with backoff until its context is done, and then reads on from where it
// was, so that it catches up on what was added meanwhile (as long as the
// stream still holds it: producers trim it, PublishingSource to
// StreamLen). Each Run has its own position, so several may share one
// Redis; the position is not kept across restarts.
type Redis struct {
	cfg RedisConfig
}

// NewRedis validates cfg and returns the source. Redis is first contacted
// by Run, so that it may start later.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if cfg.Client == nil {
		return nil, errors.New("source: redis needs a client")
	}
	if cfg.Stream == "" {
		cfg.Stream = DefaultRedisStream
	}
	return &Redis{cfg: cfg}, nil
}

// RedisStats counts what one Run did.
type RedisStats struct {
	Emitted   int // statuses passed to emit
	NotStatus int // entries without text: delete and limit notices
	Malformed int // entries that are not valid statuses
}

// Run emits the statuses added to the stream until ctx is done; then it
// returns nil. It returns no other error: Redis outages are waited out.
func (r *Redis) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	_, err := r.RunStats(ctx, emit)
	return err
}

// RunStats is Run, and also reports what it did.
func (r *Redis) RunStats(ctx context.Context, emit func(*tweet.Tweet)) (RedisStats, error) {
	var st RedisStats
	c := r.cfg.Client
	log := r.cfg.Logger.With().Str("redis_stream", r.cfg.Stream).Logger()
	ready := r.cfg.Ready
	last := "" // the id of the last entry read; "" until Redis first answered
	down := false
	backoff := redisMinBackoff
	failed := func(err error) bool { // waits out a failure; false when ctx is done
		if !down {
			down = true
			log.Warn().Err(err).Msg("redis tweet stream unreachable, reading on from where it was when it returns")
		}
		t := time.NewTimer(backoff)
		defer t.Stop()
		backoff = min(2*backoff, redisMaxBackoff)
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for ctx.Err() == nil {
		if last == "" {
			tail, err := c.XRevRangeN(ctx, r.cfg.Stream, "+", "-", 1).Result()
			if err != nil {
				if ctx.Err() != nil || !failed(err) {
					break
				}
				continue
			}
			last = "0-0"
			if len(tail) > 0 {
				last = tail[0].ID
			}
			if ready != nil {
				ready()
				ready = nil
			}
		}
		res, err := c.XRead(ctx, &redis.XReadArgs{Streams: []string{r.cfg.Stream, last}, Count: redisBatch, Block: redisBlock}).Result()
		if errors.Is(err, redis.Nil) {
			err = nil // nothing added within redisBlock
		}
		if err != nil {
			if ctx.Err() != nil || !failed(err) {
				break
			}
			continue
		}
		if down {
			down = false
			log.Info().Msg("redis tweet stream reachable again")
		}
		backoff = redisMinBackoff
		for _, s := range res {
			for _, m := range s.Messages {
				last = m.ID
				r.entry(log, m, &st, emit)
			}
		}
	}
	return st, nil
}

// entry emits the status of one stream entry, or counts and logs why not.
func (r *Redis) entry(log zerolog.Logger, m redis.XMessage, st *RedisStats, emit func(*tweet.Tweet)) {
	data, _ := m.Values["tweet"].(string)
	t, err := tweet.Parse([]byte(data))
	switch {
	case errors.Is(err, tweet.ErrNoText):
		st.NotStatus++
		ev := log.Debug()
		if st.NotStatus == 1 {
			ev = log.Warn().Str("later", "logged at debug")
		}
		ev.Str("id", m.ID).Int("bytes", len(data)).Msg("redis stream entry is not a status (no text), skipped")
	case err != nil:
		st.Malformed++
		ev := log.Debug()
		if st.Malformed == 1 {
			ev = log.Warn().Str("later", "logged at debug")
		}
		ev.Err(err).Str("id", m.ID).Int("bytes", len(data)).Msg("malformed redis tweet entry skipped")
	default:
		emit(t)
		st.Emitted++
	}
}

// PublishingSource runs another source and adds its tweets to a Redis
// stream instead of emitting them directly, so that every instance reading
// the stream (a Redis source, or a PublishingSource) receives them, this
// one included: its Run reads the stream as a Redis source with the same
// Client and Stream would, and emits what it reads. Run one
// PublishingSource per stream; the other instances run a Redis source.
//
// Each tweet is added as its JSON (tweet.Tweet.MarshalJSON: the status it
// was read from, or its modelled fields), and the stream trimmed to about
// StreamLen entries. While Redis is unreachable the tweets of Inner are
// dropped, with one warning per outage.
//
// Run starts one goroutine, for Inner, and waits for it before returning.
// When Inner returns (a replay at its end) Run goes on reading; an error
// of Inner ends Run with that error.
type PublishingSource struct {
	// Inner is the source whose tweets are published. Required.
	Inner Source
	// Client is the Redis client. Required; the caller closes it.
	Client redis.UniversalClient
	// Stream is the stream; "" means DefaultRedisStream.
	Stream string
	// StreamLen is about how many entries the stream keeps; 0 means
	// DefaultStreamLen.
	StreamLen int64
	// Ready is RedisConfig.Ready.
	Ready func()
	// Logger receives what a Redis source's logger does, and the publish
	// outages. The zero value logs nothing.
	Logger zerolog.Logger
}

// Run reads the stream, then runs Inner publishing its tweets, and emits
// every status read, until ctx is done (it then returns nil) or Inner
// fails.
func (p *PublishingSource) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	if p.Inner == nil {
		return errors.New("source: PublishingSource needs an Inner source")
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	defer wg.Wait()
	stream := cmp.Or(p.Stream, DefaultRedisStream)
	pub := &publisher{client: p.Client, stream: stream, maxLen: cmp.Or(p.StreamLen, DefaultStreamLen),
		log: p.Logger.With().Str("redis_stream", stream).Logger()}
	ready := func() {
		// Inner starts once this instance knows where the stream ends, so
		// that it receives its own first tweets (a synthetic backfill).
		wg.Go(func() {
			if err := p.Inner.Run(runCtx, func(t *tweet.Tweet) { pub.publish(runCtx, t) }); err != nil {
				cancel(fmt.Errorf("source: published source: %w", err))
			}
		})
		if p.Ready != nil {
			p.Ready()
		}
	}
	r, err := NewRedis(RedisConfig{Client: p.Client, Stream: stream, Ready: ready, Logger: p.Logger})
	if err != nil {
		return err
	}
	_, _ = r.RunStats(runCtx, emit)
	cancel(nil)
	wg.Wait()
	if ctx.Err() == nil {
		if err := context.Cause(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}

// publisher adds tweets to the stream, dropping them while Redis is
// unreachable.
type publisher struct {
	client redis.UniversalClient
	stream string
	maxLen int64
	log    zerolog.Logger

	down    bool          // the last XADD failed
	backoff time.Duration // wait after the last failure
	retryAt time.Time     // no XADD before this while down
	dropped int           // tweets dropped in this outage
}

func (p *publisher) publish(ctx context.Context, t *tweet.Tweet) {
	data, err := t.MarshalJSON()
	if err != nil {
		p.log.Warn().Err(err).Str("id", t.IDStr).Msg("tweet not encodable, not published")
		return
	}
	if p.down && time.Now().Before(p.retryAt) {
		p.dropped++
		return
	}
	err = p.client.XAdd(ctx, &redis.XAddArgs{Stream: p.stream, MaxLen: p.maxLen, Approx: true, Values: []string{"tweet", string(data)}}).Err()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		p.dropped++
		if !p.down {
			p.down, p.backoff = true, redisMinBackoff
			p.log.Warn().Err(err).Msg("redis unreachable, dropping tweets until it returns")
		} else {
			p.backoff = min(2*p.backoff, redisMaxBackoff)
		}
		p.retryAt = time.Now().Add(p.backoff)
		return
	}
	if p.down {
		p.log.Info().Int("dropped", p.dropped).Msg("redis reachable again, publishing tweets")
		p.down, p.dropped = false, 0
	}
}
