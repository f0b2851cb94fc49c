package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// Defaults of RedisBrokerConfig.
const (
	// DefaultRedisChannel is the Redis pub/sub channel publications
	// travel on when RedisBrokerConfig.Channel is empty.
	DefaultRedisChannel = "sente:publications"
	// DefaultRedisQueueLen is the publish queue length when
	// RedisBrokerConfig.QueueLen is zero.
	DefaultRedisQueueLen = 4096
)

// Timing of the Redis connections.
const (
	redisMinBackoff   = 50 * time.Millisecond // first wait after a failure
	redisMaxBackoff   = 2 * time.Second       // longest wait between attempts
	redisDialTimeout  = 2 * time.Second
	redisIOTimeout    = 3 * time.Second
	redisIdleCheck    = 15 * time.Second // PING the subscription after this long without a message
	redisDrainTimeout = 2 * time.Second  // Close's bound on sending what is still queued
)

// redisEnvelopeTag opens every envelope; a message without it is not
// ours (or from an incompatible version) and is dropped.
const redisEnvelopeTag = "sente-pub/3"

// RedisBrokerConfig configures a RedisBroker.
type RedisBrokerConfig struct {
	// Addr is the Redis server, host:port. Required.
	Addr string
	// Channel is the pub/sub channel shared by every instance;
	// DefaultRedisChannel when empty.
	Channel string
	// InstanceID tells this broker's publications from those of other
	// instances; it must differ between instances. Random when empty.
	InstanceID string
	// QueueLen bounds the publications waiting to be sent to Redis;
	// DefaultRedisQueueLen when zero. A publication that finds the queue
	// full is not sent to other instances (it is still delivered locally).
	QueueLen int
	// Logger receives the broker's log entries. Its zero value logs
	// nothing.
	Logger zerolog.Logger
}

// RedisBroker is the Broker that connects several server instances
// through Redis pub/sub (style.md pattern 8).
//
// Publish delivers to the local subscribers directly, on the publisher's
// goroutine, as MemoryBroker does, so that an instance keeps serving its
// own clients while Redis is unreachable. It then queues the publication
// (bounded; see RedisBrokerConfig.QueueLen) for a publisher goroutine that
// PUBLISHes it, tagged with the instance id, on the channel. A subscriber
// goroutine receives the channel and delivers the publications of the
// other instances to the local subscribers, one at a time, in the order
// Redis relays them; its own are skipped.
//
// When Redis goes away the broker logs once at warn level, keeps
// delivering locally, and retries with backoff (publications queued
// meanwhile are sent when it returns; those that overflow the queue are
// dropped, counted and logged once per outage). When Redis returns, the
// subscription is renewed and cross-instance delivery resumes. Pub/sub is
// fire-and-forget: publications made by other instances while this one is
// not subscribed are lost.
//
// It is safe for concurrent use. Build it with NewRedisBroker; Close stops
// its goroutines.
type RedisBroker struct {
	cfg    RedisBrokerConfig
	log    zerolog.Logger
	local  *MemoryBroker // the local subscribers
	client *redis.Client
	pubsub *redis.PubSub
	queue  chan Publication

	done      chan struct{} // closed by Close
	ctx       context.Context
	cancel    context.CancelFunc // cancels ctx: interrupts a PUBLISH in progress at Close
	closeOnce sync.Once
	wg        sync.WaitGroup

	dropped  atomic.Uint64 // publications dropped because the queue was full
	dropping atomic.Bool   // a drop was logged since the publisher last succeeded
}

var _ Broker = (*RedisBroker)(nil)

// NewRedisBroker connects to Redis, subscribes to the channel and starts
// the broker's goroutines. Redis must be reachable until the
// subscription is confirmed or ctx is done, whichever comes first (with
// a bound of a few seconds when ctx has no deadline); afterwards outages
// are tolerated.
func NewRedisBroker(ctx context.Context, cfg RedisBrokerConfig) (*RedisBroker, error) {
	if cfg.Addr == "" {
		return nil, errors.New("web: RedisBrokerConfig.Addr is empty")
	}
	if cfg.QueueLen < 0 {
		return nil, fmt.Errorf("web: RedisBrokerConfig.QueueLen %d is negative", cfg.QueueLen)
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultRedisChannel
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = randomInstanceID()
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = DefaultRedisQueueLen
	}
	client := redis.NewClient(&redis.Options{
		Addr:            cfg.Addr,
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     redisDialTimeout,
		ReadTimeout:     redisIOTimeout,
		WriteTimeout:    redisIOTimeout,
		MaxRetries:      -1, // the publisher loop retries, with its own backoff
		PoolSize:        10,
	})
	b := &RedisBroker{
		cfg: cfg,
		log: cfg.Logger.With().Str("redis_addr", cfg.Addr).Str("redis_channel", cfg.Channel).
			Str("instance_id", cfg.InstanceID).Logger(),
		local:  NewMemoryBroker(),
		client: client,
		queue:  make(chan Publication, cfg.QueueLen),
		done:   make(chan struct{}),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.pubsub = client.Subscribe(ctx, cfg.Channel)
	if err := b.awaitSubscription(ctx); err != nil {
		b.cancel()
		b.pubsub.Close()
		client.Close()
		return nil, fmt.Errorf("web: subscribing to redis channel %q at %s: %w", cfg.Channel, cfg.Addr, err)
	}
	b.wg.Add(2)
	go b.publishLoop()
	go b.subscribeLoop()
	b.log.Info().Msg("redis broker started")
	return b, nil
}

// awaitSubscription waits for Redis to confirm the subscription.
func (b *RedisBroker) awaitSubscription(ctx context.Context) error {
	return awaitSubscription(ctx, b.pubsub)
}

// awaitSubscription waits for Redis to confirm the subscription of ps,
// at most a few seconds when ctx has no deadline.
func awaitSubscription(ctx context.Context, ps *redis.PubSub) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, redisDialTimeout+redisIOTimeout)
		defer cancel()
	}
	for {
		msg, err := ps.ReceiveTimeout(ctx, redisDialTimeout+redisIOTimeout)
		if err != nil {
			return err
		}
		if _, ok := msg.(*redis.Subscription); ok {
			return nil
		}
	}
}

func randomInstanceID() string {
	var p [8]byte
	rand.Read(p[:])
	return hex.EncodeToString(p[:])
}

// InstanceID returns the id that tags this broker's publications.
func (b *RedisBroker) InstanceID() string { return b.cfg.InstanceID }

// Dropped returns how many publications were not sent to Redis because
// the queue was full.
func (b *RedisBroker) Dropped() uint64 { return b.dropped.Load() }

// Publish delivers p to the local subscribers and queues it for the other
// instances; see Broker and RedisBroker. It never waits for Redis.
func (b *RedisBroker) Publish(p Publication) error {
	if err := b.local.Publish(p); err != nil {
		return err
	}
	select {
	case b.queue <- p:
	default:
		n := b.dropped.Add(1)
		if b.dropping.CompareAndSwap(false, true) {
			b.log.Warn().Int("queue_len", b.cfg.QueueLen).Uint64("dropped_total", n).
				Msg("redis publish queue full, dropping publications for other instances")
		}
	}
	return nil
}

// Subscribe registers h for the publications of this instance and of the
// others; see Broker. h is called on the publisher's goroutine for local
// publications and on the broker's subscriber goroutine for remote ones.
func (b *RedisBroker) Subscribe(h func(Publication)) (func(), error) {
	return b.local.Subscribe(h)
}

// Close stops delivery (later Publish and Subscribe calls return
// ErrBrokerClosed), sends what is still queued if Redis answers promptly,
// stops the broker's goroutines, waits for them and closes the Redis
// connections. It is idempotent and returns nil.
func (b *RedisBroker) Close() error {
	b.closeOnce.Do(func() {
		b.local.Close()
		close(b.done)
		b.cancel()
		b.pubsub.Close() // ends a Receive in progress
		b.wg.Wait()
		b.client.Close()
		if n := b.dropped.Load(); n > 0 {
			b.log.Info().Uint64("dropped_total", n).Msg("redis broker closed")
		}
	})
	return nil
}

// publishLoop sends the queued publications to Redis, in order. A
// publication that fails is retried with backoff until it is sent or the
// broker closes, so an outage delays the other instances' copies but does
// not reorder them.
func (b *RedisBroker) publishLoop() {
	defer b.wg.Done()
	ctx := b.ctx // Close cancels it; drain uses its own context
	down := false
	for {
		var p Publication
		select {
		case <-b.done:
			b.drain()
			return
		case p = <-b.queue:
		}
		msg, err := encodeRedisEnvelope(b.cfg.InstanceID, p)
		if err != nil {
			b.log.Error().Err(err).Str("event_id", string(p.Event.ID)).Msg("redis publication not encodable, dropped")
			continue
		}
		backoff := redisMinBackoff
		for {
			err := b.client.Publish(ctx, b.cfg.Channel, msg).Err()
			if err == nil {
				if down {
					down = false
					b.log.Info().Msg("redis reachable again, publishing")
				}
				if b.dropping.Swap(false) {
					b.log.Info().Uint64("dropped_total", b.dropped.Load()).Msg("redis publish queue drained")
				}
				break
			}
			if b.closed() {
				return // Close cancelled the PUBLISH
			}
			if !down {
				down = true
				b.log.Warn().Err(err).Msg("redis unreachable, publishing locally only until it returns")
			}
			if !b.sleep(backoff) {
				return // closed while Redis is down: nothing left can be sent
			}
			backoff = min(2*backoff, redisMaxBackoff)
		}
	}
}

// drain sends what is left in the queue at Close, stopping at the first
// error or after redisDrainTimeout.
func (b *RedisBroker) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), redisDrainTimeout)
	defer cancel()
	for {
		select {
		case p := <-b.queue:
			msg, err := encodeRedisEnvelope(b.cfg.InstanceID, p)
			if err != nil {
				continue
			}
			if err := b.client.Publish(ctx, b.cfg.Channel, msg).Err(); err != nil {
				b.log.Debug().Err(err).Int("left", len(b.queue)+1).Msg("redis publications unsent at close")
				return
			}
		default:
			return
		}
	}
}

// subscribeLoop receives the channel and delivers the other instances'
// publications locally.
func (b *RedisBroker) subscribeLoop() {
	defer b.wg.Done()
	receiveLoop(b.pubsub, b.done, b.log, "delivering local publications only until it returns", b.deliver)
}

// receiveLoop hands every message of ps to deliver until done is closed.
// go-redis reconnects and resubscribes on the Receive that follows a
// connection failure; the loop checks an idle connection with PING, backs
// off between failed attempts, and logs each outage once (at warn, with
// lost telling what the instance does meanwhile) and each recovery.
func receiveLoop(ps *redis.PubSub, done <-chan struct{}, log zerolog.Logger, lost string, deliver func(payload string)) {
	ctx := context.Background()
	down := false
	backoff := redisMinBackoff
	closed := func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	}
	for {
		msg, err := ps.ReceiveTimeout(ctx, redisIdleCheck)
		if closed() {
			return
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !down {
				// Idle: check the connection. A failed PING makes
				// go-redis drop it, so the next Receive reconnects.
				if err := ps.Ping(ctx); err == nil {
					continue
				}
			}
			if !down {
				down = true
				log.Warn().Err(err).Msg("redis subscription lost, " + lost)
			}
			if !sleepOrDone(backoff, done) {
				return
			}
			backoff = min(2*backoff, redisMaxBackoff)
			continue
		}
		backoff = redisMinBackoff
		switch m := msg.(type) {
		case *redis.Subscription:
			if down && m.Kind == "subscribe" {
				down = false
				log.Info().Msg("redis subscription renewed")
			}
		case *redis.Message:
			if down {
				down = false
				log.Info().Msg("redis subscription renewed")
			}
			deliver(m.Payload)
		}
	}
}

// deliver decodes one message and hands it to the local subscribers
// unless this instance published it.
func (b *RedisBroker) deliver(payload string) {
	from, p, err := decodeRedisEnvelope([]byte(payload))
	if err != nil {
		b.log.Warn().Err(err).Int("bytes", len(payload)).Msg("bad redis publication dropped")
		return
	}
	if from == b.cfg.InstanceID {
		return
	}
	if err := b.local.Publish(p); err != nil {
		return // closed
	}
}

// sleep waits d, or until Close; it reports whether the broker is open.
func (b *RedisBroker) sleep(d time.Duration) bool { return sleepOrDone(d, b.done) }

// sleepOrDone waits d, or until done is closed; it reports whether done
// is still open.
func sleepOrDone(d time.Duration, done <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-done:
		return false
	}
}

func (b *RedisBroker) closed() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// encodeRedisEnvelope writes a publication as the Transit vector
// ["sente-pub/3" instance-id uid broadcast event], event being the Sente
// event vector [id] or [id data].
func encodeRedisEnvelope(instance string, p Publication) ([]byte, error) {
	return transit.Marshal([]any{redisEnvelopeTag, instance, p.UID, p.Broadcast, p.Event.Value()})
}

// errRedisEnvelope reports a message on the channel that is not an
// envelope encodeRedisEnvelope wrote.
var errRedisEnvelope = errors.New("web: not a sente publication envelope")

// decodeRedisEnvelope reads what encodeRedisEnvelope wrote: the sending
// instance and the publication.
func decodeRedisEnvelope(data []byte) (string, Publication, error) {
	v, err := transit.Unmarshal(data)
	if err != nil {
		return "", Publication{}, fmt.Errorf("%w: %w", errRedisEnvelope, err)
	}
	vec, ok := v.([]any)
	if !ok || len(vec) != 5 {
		return "", Publication{}, errRedisEnvelope
	}
	tag, _ := vec[0].(string)
	instance, ok1 := vec[1].(string)
	uid, ok2 := vec[2].(string)
	broadcast, ok3 := vec[3].(bool)
	if tag != redisEnvelopeTag || !ok1 || !ok2 || !ok3 || instance == "" {
		return "", Publication{}, errRedisEnvelope
	}
	ev, err := protocol.EventFromValue(vec[4])
	if err != nil {
		return "", Publication{}, fmt.Errorf("%w: %w", errRedisEnvelope, err)
	}
	if !broadcast && uid == "" {
		return "", Publication{}, fmt.Errorf("%w: no uid", errRedisEnvelope)
	}
	return instance, Publication{UID: uid, Broadcast: broadcast, Event: ev}, nil
}
