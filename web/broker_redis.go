package web

import (
	"context"
	"errors"
	"fmt"
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

// redisEnvelopeTag opens every envelope; a message without it is not
// ours (or from an incompatible version) and is dropped.
const redisEnvelopeTag = "sente-pub/3"

// RedisBrokerConfig configures a RedisBroker.
type RedisBrokerConfig struct {
	// Client is the Redis client the broker publishes and subscribes
	// with: the process's one client, shared with the RedisCluster and
	// the application, which closes it after the broker. A client that
	// does not retry (MaxRetries -1) and has short timeouts lets the
	// broker notice an outage at once. The publications travel on
	// classic pub/sub, which Redis Cluster carries to every node.
	Client redis.UniversalClient
	// Addr is a Redis server, host:port, for a broker that builds and
	// closes a client of its own: a convenience when Client is nil. One
	// of the two is required.
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
// through Redis pub/sub (docs/design.md §5.4).
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
	conn   redisConn
	pubsub *redis.PubSub
	queue  chan Publication

	done      chan struct{} // closed by Close
	ctx       context.Context
	cancel    context.CancelFunc // cancels ctx: interrupts a PUBLISH in progress at Close
	closeOnce sync.Once
	wg        sync.WaitGroup

	dropped  atomic.Uint64 // publications dropped because the queue was full
	dropping atomic.Bool   // a drop was logged since the publisher last succeeded
	pubErrs  atomic.Uint64 // PUBLISH commands that failed (PublishErrors)
	down     atomic.Bool   // the last PUBLISH failed (Reachable)
}

var _ Broker = (*RedisBroker)(nil)

// NewRedisBroker subscribes to the channel and starts the broker's
// goroutines. Redis must be reachable until the subscription is confirmed
// or ctx is done, whichever comes first (with a bound of a few seconds
// when ctx has no deadline); afterwards outages are tolerated.
func NewRedisBroker(ctx context.Context, cfg RedisBrokerConfig) (*RedisBroker, error) {
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
	conn, err := newRedisConn("RedisBrokerConfig", cfg.Client, cfg.Addr, 10)
	if err != nil {
		return nil, err
	}
	b := &RedisBroker{
		cfg: cfg,
		log: cfg.Logger.With().Str("redis_addr", conn.addr).Str("redis_channel", cfg.Channel).
			Str("instance_id", cfg.InstanceID).Logger(),
		local: NewMemoryBroker(),
		conn:  conn,
		queue: make(chan Publication, cfg.QueueLen),
		done:  make(chan struct{}),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.pubsub = conn.client.Subscribe(ctx, cfg.Channel)
	if err := awaitSubscription(ctx, b.pubsub); err != nil {
		b.cancel()
		b.pubsub.Close()
		conn.close()
		return nil, fmt.Errorf("web: subscribing to redis channel %q at %s: %w", cfg.Channel, conn.addr, err)
	}
	b.wg.Add(2)
	go b.publishLoop()
	go b.subscribeLoop()
	b.log.Info().Msg("redis broker started")
	return b, nil
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
// stops the broker's goroutines, waits for them and closes its
// subscription, and its client if it built it (Addr). It is idempotent
// and returns nil.
func (b *RedisBroker) Close() error {
	b.closeOnce.Do(func() {
		b.local.Close()
		close(b.done)
		b.cancel()
		b.pubsub.Close() // ends a Receive in progress
		b.wg.Wait()
		b.conn.close()
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
			err := b.conn.client.Publish(ctx, b.cfg.Channel, msg).Err()
			if err == nil {
				if down {
					down = false
					b.down.Store(false)
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
			b.pubErrs.Add(1)
			if !down {
				down = true
				b.down.Store(true)
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
			if err := b.conn.client.Publish(ctx, b.cfg.Channel, msg).Err(); err != nil {
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

func (b *RedisBroker) closed() bool { return isDone(b.done) }

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
