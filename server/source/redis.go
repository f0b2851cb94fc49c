package source

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/tweet"
)

// DefaultRedisChannel is the Redis channel RedisConfig uses when Channel
// is empty.
const DefaultRedisChannel = "birdwatch:tweets"

// Timing of the Redis sources; the same as web.RedisBroker's.
const (
	redisMinBackoff  = 50 * time.Millisecond // first wait after a failure
	redisMaxBackoff  = 2 * time.Second       // longest wait between attempts
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = 3 * time.Second
	redisIdleCheck   = 15 * time.Second // PING the subscription after this long without a message
)

// Source is what every source of this package implements, and what the
// hub consumes (hub.TweetSource); see the package documentation.
type Source interface {
	Run(ctx context.Context, emit func(*tweet.Tweet)) error
}

// RedisConfig configures a Redis source.
type RedisConfig struct {
	// Addr is the Redis server, host:port. Required.
	Addr string
	// Channel is the pub/sub channel the tweets are published on; ""
	// means DefaultRedisChannel.
	Channel string
	// Logger receives the outages (once each, and once when the
	// subscription is renewed) and a warning for the first malformed
	// message and the first message that is not a status (no "text") of
	// each Run; the next ones are logged at debug. The zero value logs
	// nothing.
	Logger zerolog.Logger
}

// Redis emits the tweets any producer PUBLISHes on a Redis channel, each
// message one Twitter v1.1 status as JSON (as the original BirdWatch's
// instances shared its "matches" channel). Messages that are malformed or
// are not statuses (delete and limit notices) are skipped.
//
// Pub/sub is fire-and-forget: tweets published while Run is not
// subscribed (before it starts, during an outage) are not received. When
// Redis goes away Run logs it once and resubscribes with backoff until
// its context is done. Safe for concurrent use; each Run has its own
// connection, closed when it returns.
type Redis struct {
	cfg RedisConfig
}

// NewRedis validates cfg and returns the source. Redis is first contacted
// by Run, so that it may start later.
func NewRedis(cfg RedisConfig) (*Redis, error) {
	if cfg.Addr == "" {
		return nil, errors.New("source: redis needs an address")
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultRedisChannel
	}
	return &Redis{cfg: cfg}, nil
}

// RedisStats counts what one Run did.
type RedisStats struct {
	Emitted   int // statuses passed to emit
	NotStatus int // messages without text: delete and limit notices
	Malformed int // messages that are not valid statuses
}

// Run subscribes to the channel and emits the statuses published on it
// until ctx is done; then it returns nil. It returns no other error: Redis
// outages are waited out.
func (r *Redis) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	_, err := r.RunStats(ctx, emit)
	return err
}

// RunStats is Run, and also reports what it did.
func (r *Redis) RunStats(ctx context.Context, emit func(*tweet.Tweet)) (RedisStats, error) {
	client := newRedisClient(r.cfg.Addr)
	defer client.Close()
	return r.subscribe(ctx, client, emit, nil)
}

// newRedisClient returns a client whose commands fail fast: the callers
// retry with their own backoff.
func newRedisClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr:            addr,
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     redisDialTimeout,
		ReadTimeout:     redisIOTimeout,
		WriteTimeout:    redisIOTimeout,
		MaxRetries:      -1,
		PoolSize:        2,
	})
}

// subscribe receives the channel on client and emits its statuses until
// ctx is done. subscribed, when not nil, is called once, on this
// goroutine, when Redis first confirms the subscription.
func (r *Redis) subscribe(ctx context.Context, client *redis.Client, emit func(*tweet.Tweet), subscribed func()) (RedisStats, error) {
	var st RedisStats
	log := r.cfg.Logger.With().Str("redis_addr", r.cfg.Addr).Str("redis_channel", r.cfg.Channel).Logger()
	pubsub := client.Subscribe(ctx, r.cfg.Channel) // an error here is retried by Receive
	// Closing the subscription is what interrupts a Receive at ctx's end;
	// closed makes sure that close has finished before Run returns.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(closed)
		pubsub.Close()
	})
	defer func() {
		if stop() {
			pubsub.Close()
		} else {
			<-closed
		}
	}()

	down := false
	backoff := redisMinBackoff
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		msg, err := pubsub.ReceiveTimeout(ctx, redisIdleCheck)
		if ctx.Err() != nil {
			return st, nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !down {
				// Idle: check the connection. A failed PING makes
				// go-redis drop it, so the next Receive reconnects.
				if err := pubsub.Ping(ctx); err == nil {
					continue
				}
			}
			if !down {
				down = true
				log.Warn().Err(err).Msg("redis tweet subscription lost, resubscribing until it returns")
			}
			if timer == nil {
				timer = time.NewTimer(backoff)
			} else {
				timer.Reset(backoff)
			}
			select {
			case <-ctx.Done():
				return st, nil
			case <-timer.C:
			}
			backoff = min(2*backoff, redisMaxBackoff)
			continue
		}
		backoff = redisMinBackoff
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "subscribe" {
				break
			}
			if down {
				down = false
				log.Info().Msg("redis tweet subscription renewed")
			}
			if subscribed != nil {
				subscribed()
				subscribed = nil
			}
		case *redis.Message:
			if down {
				down = false
				log.Info().Msg("redis tweet subscription renewed")
			}
			t, perr := tweet.Parse([]byte(m.Payload))
			switch {
			case errors.Is(perr, tweet.ErrNoText):
				st.NotStatus++
				ev := log.Debug()
				if st.NotStatus == 1 {
					ev = log.Warn().Str("later", "logged at debug")
				}
				ev.Int("bytes", len(m.Payload)).Msg("redis message is not a status (no text), skipped")
			case perr != nil:
				st.Malformed++
				ev := log.Debug()
				if st.Malformed == 1 {
					ev = log.Warn().Str("later", "logged at debug")
				}
				ev.Err(perr).Int("bytes", len(m.Payload)).Msg("malformed redis tweet message skipped")
			default:
				emit(t)
				st.Emitted++
			}
		}
	}
}

// PublishingSource runs another source and PUBLISHes its tweets on a
// Redis channel instead of emitting them directly, so that every instance
// subscribed to the channel (a Redis source, or a PublishingSource)
// receives them, this one included: its Run subscribes to the channel
// first and emits what the subscription receives, as a Redis source with
// the same Addr and Channel would. Run one PublishingSource per channel;
// the other instances run a Redis source.
//
// Each tweet is published as its JSON (tweet.Tweet.MarshalJSON: the
// status it was read from, or its modelled fields). While Redis is
// unreachable the tweets of Inner are dropped, with one warning per
// outage: consumers could not receive them anyway.
//
// Run starts one goroutine, for Inner, and waits for it before returning.
// When Inner returns (a replay at its end) Run goes on receiving; an
// error of Inner ends Run with that error.
type PublishingSource struct {
	// Inner is the source whose tweets are published. Required.
	Inner Source
	// Addr is the Redis server, host:port. Required.
	Addr string
	// Channel is the pub/sub channel; "" means DefaultRedisChannel.
	Channel string
	// Logger receives what a Redis source's logger does, and the publish
	// outages. The zero value logs nothing.
	Logger zerolog.Logger
}

// Run subscribes to the channel, then runs Inner publishing its tweets,
// and emits every status received on the channel, until ctx is done (it
// then returns nil) or Inner fails.
func (p *PublishingSource) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	if p.Inner == nil {
		return errors.New("source: PublishingSource needs an Inner source")
	}
	r, err := NewRedis(RedisConfig{Addr: p.Addr, Channel: p.Channel, Logger: p.Logger})
	if err != nil {
		return err
	}
	client := newRedisClient(r.cfg.Addr)
	defer client.Close()

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	defer wg.Wait()
	pub := &publisher{client: client, channel: r.cfg.Channel,
		log: p.Logger.With().Str("redis_addr", r.cfg.Addr).Str("redis_channel", r.cfg.Channel).Logger()}
	startInner := func() {
		// Inner starts once this instance is subscribed, so that it
		// receives its own first tweets (a synthetic backfill).
		wg.Go(func() {
			if err := p.Inner.Run(runCtx, func(t *tweet.Tweet) { pub.publish(runCtx, t) }); err != nil {
				cancel(fmt.Errorf("source: published source: %w", err))
			}
		})
	}
	_, _ = r.subscribe(runCtx, client, emit, startInner)
	cancel(nil)
	wg.Wait()
	if ctx.Err() == nil {
		if err := context.Cause(runCtx); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return nil
}

// publisher PUBLISHes tweets, dropping them while Redis is unreachable.
type publisher struct {
	client  *redis.Client
	channel string
	log     zerolog.Logger

	down    bool          // the last PUBLISH failed
	backoff time.Duration // wait after the last failure
	retryAt time.Time     // no PUBLISH before this while down
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
	if err := p.client.Publish(ctx, p.channel, data).Err(); err != nil {
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
