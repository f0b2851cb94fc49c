package web

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// Defaults of RedisClusterConfig.
const (
	// DefaultRedisPrefix starts every key and channel of a RedisCluster
	// when RedisClusterConfig.Prefix is empty. Its hash tag, {sente},
	// puts every key in one Redis Cluster slot.
	DefaultRedisPrefix = "{sente}:"
	defaultHeartbeat   = time.Second
	defaultPresenceTTL = 5 * time.Second
	defaultMailboxLen  = 1024
	defaultMailboxTTL  = 15 * time.Minute
	defaultClientTTL   = time.Hour
)

// RedisClusterConfig configures a RedisCluster.
type RedisClusterConfig struct {
	// Client is the Redis client the cluster keeps its state with: the
	// process's one client, shared with the RedisBroker and the
	// application, which closes it after the cluster. A client that does
	// not retry (MaxRetries -1) and has short timeouts lets the cluster
	// notice an outage at once and serve its own clients meanwhile.
	Client redis.UniversalClient
	// Addr is a Redis server, host:port, for a cluster that builds and
	// closes a client of its own: a convenience when Client is nil. One
	// of the two is required.
	Addr string
	// Prefix starts every key and channel; DefaultRedisPrefix when empty.
	// Servers of one cluster share it. It must have a Redis Cluster hash
	// tag, such as "{sente}:" or "app:{sente}:", so that all the keys
	// live in one slot, as the cluster's transactions and script need
	// (RedisCluster, "Keys").
	Prefix string
	// InstanceID names this server in the cluster; it must differ between
	// servers. Random when empty.
	InstanceID string
	// Heartbeat is how often the server renews its presence and reads the
	// others'; one second when zero.
	Heartbeat time.Duration
	// PresenceTTL is how long a server's presence outlives its last
	// heartbeat: a server that dies without warning drops out of every
	// other's ConnectedUIDs after at most PresenceTTL plus one Heartbeat.
	// Five seconds when zero; at least two Heartbeats.
	PresenceTTL time.Duration
	// MailboxLen bounds an Ajax client's mailbox; the oldest events are
	// dropped beyond it. 1024 when zero.
	MailboxLen int
	// QueueLen bounds the pushes waiting to be written to mailboxes;
	// DefaultRedisQueueLen when zero.
	QueueLen int
	// Logger receives the cluster's log entries. Its zero value logs
	// nothing.
	Logger zerolog.Logger
}

// RedisCluster is the Cluster on Redis, the companion of RedisBroker.
//
// Keys. Every key starts with the prefix (RedisClusterConfig.Prefix),
// whose hash tag puts them all in one slot: on Redis Cluster the
// cluster's state lives on one shard (and its replicas), and the
// transactions and the Lua script, which touch several keys, run there.
// The wake-up channel is classic pub/sub, which Redis Cluster relays to
// every node. That is the whole of Redis Cluster support: failover is
// Redis's, and the cluster's state is small (presence, client records,
// mailboxes).
//
// Presence: each server keeps a hash of its connected uids
// (PREFIXpresence:ID, uid → transports), written as they change, and an
// entry in PREFIXinstances (ID → expiry and version) renewed every
// Heartbeat; each heartbeat also reads the other servers' entries and the
// hashes whose version changed. A server whose entry expired is dropped.
//
// Clients: PREFIXclient:CID holds a client-id's uid (bound with HSETNX,
// so two servers binding at once agree) and what its frames told; it
// expires an hour after it was last written or polled for.
//
// Ajax: PREFIXajax:UID and PREFIXajax: (sorted sets, client-id → expiry)
// list the Ajax clients of each uid and of all; each poll renews its
// client's entries before it is answered. A push is added to the mailbox
// (PREFIXmbox:CID, a list of Transit events) of each of them by one Lua
// script, which then PUBLISHes the client-ids on PREFIXwake; a poll takes
// the whole mailbox with LRANGE and DEL in one transaction.
//
// When Redis is unreachable, calls fail fast (the Server falls back to
// serving its own clients), the outage is logged once, pushes waiting for
// the mailboxes are dropped, the other servers' presence expires as it
// would for dead servers, and the heartbeat probes Redis every Heartbeat.
// When Redis returns, each server writes its presence again; when it finds
// that Redis lost its data (its presence hash is gone), it also restores
// the records of the clients it knows and their Ajax routes, without
// overwriting what another server restored first. It is safe for
// concurrent use; Close stops its goroutines.
type RedisCluster struct {
	cfg    RedisClusterConfig
	log    zerolog.Logger
	conn   redisConn
	client redis.UniversalClient // conn.client
	pubsub *redis.PubSub
	pushes chan Publication
	kick   chan struct{} // cap 1: writes are pending
	up     atomic.Bool   // Redis answers (the heartbeat decides; a failed call may say no)
	warned atomic.Bool   // the outage was logged
	// settling is, in Unix nanoseconds, the end of the PresenceTTL after
	// this server found Redis emptied, while the other servers restore
	// what they know: a client-id missing from Redis then may be one they
	// are about to restore.
	settling atomic.Int64
	dropped  atomic.Uint64 // pushes not written to mailboxes

	// handlerMu guards handler; a call to it holds the read lock, so that
	// the stop function of Watch returns only once no call is running.
	handlerMu sync.RWMutex
	handler   ClusterHandler

	mu      sync.Mutex              // guards the fields below
	local   map[string]TransportSet // this server's presence
	dirty   map[string]struct{}     // uids whose presence is not written yet
	rewrite bool                    // the presence hash must be written whole
	started bool                    // the presence hash was written once
	version uint64                  // bumped by each presence write
	clients map[string]*clusterClient
	secret  string // the token secret TokenSecret returned, written again after a data loss

	// instances is the sorted ids of the servers alive in the view, this
	// one included (Instances).
	instances atomic.Pointer[[]string]

	// Owned by the heartbeat goroutine.
	view     map[string]remoteInstance
	lastSent map[string]TransportSet

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

var _ Cluster = (*RedisCluster)(nil)

// clusterClient is what a RedisCluster remembers of a client-id it bound,
// saved or joined, to restore it when Redis lost it.
type clusterClient struct {
	rec      ClientRecord  // UID empty: unknown
	used     time.Time     // last bound, saved or joined
	joinUID  string        // the uid of its Ajax route, "" if none
	joinTill time.Time     // when its Ajax route expires
	joinTTL  time.Duration // the route's TTL
}

// errClusterDown is returned while Redis is unreachable.
var errClusterDown = errors.New("web: redis cluster unreachable")

// errClusterSettling is returned for an unknown client-id while the
// servers restore their state into an emptied Redis.
var errClusterSettling = errors.New("web: redis cluster settling after a data loss")

// NewRedisCluster subscribes to the wake-up channel and starts the
// cluster's goroutines (a heartbeat, a mailbox writer and a subscriber).
// Redis must be reachable until the subscription is confirmed or ctx is
// done; afterwards outages are tolerated.
func NewRedisCluster(ctx context.Context, cfg RedisClusterConfig) (*RedisCluster, error) {
	if cfg.Heartbeat < 0 || cfg.PresenceTTL < 0 || cfg.MailboxLen < 0 || cfg.QueueLen < 0 {
		return nil, errors.New("web: RedisClusterConfig has a negative duration or length")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultRedisPrefix
	}
	if !hasHashTag(cfg.Prefix) {
		return nil, fmt.Errorf("web: RedisClusterConfig.Prefix %q has no hash tag, such as {sente}", cfg.Prefix)
	}
	if cfg.InstanceID == "" {
		cfg.InstanceID = randomInstanceID()
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = defaultHeartbeat
	}
	if cfg.PresenceTTL == 0 {
		cfg.PresenceTTL = max(defaultPresenceTTL, 2*cfg.Heartbeat)
	}
	if cfg.PresenceTTL < 2*cfg.Heartbeat {
		return nil, fmt.Errorf("web: RedisClusterConfig.PresenceTTL %v is below two heartbeats (%v)", cfg.PresenceTTL, cfg.Heartbeat)
	}
	if cfg.MailboxLen == 0 {
		cfg.MailboxLen = defaultMailboxLen
	}
	if cfg.QueueLen == 0 {
		cfg.QueueLen = DefaultRedisQueueLen
	}
	conn, err := newRedisConn("RedisClusterConfig", cfg.Client, cfg.Addr, 20)
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{
		cfg: cfg,
		log: cfg.Logger.With().Str("redis_addr", conn.addr).Str("redis_prefix", cfg.Prefix).
			Str("instance_id", cfg.InstanceID).Logger(),
		conn:     conn,
		client:   conn.client,
		pushes:   make(chan Publication, cfg.QueueLen),
		kick:     make(chan struct{}, 1),
		local:    make(map[string]TransportSet),
		dirty:    make(map[string]struct{}),
		rewrite:  true,
		clients:  make(map[string]*clusterClient),
		view:     make(map[string]remoteInstance),
		lastSent: map[string]TransportSet{},
		done:     make(chan struct{}),
	}
	c.pubsub = conn.client.Subscribe(ctx, c.key("wake"))
	if err := awaitSubscription(ctx, c.pubsub); err != nil {
		c.pubsub.Close()
		conn.close()
		return nil, fmt.Errorf("web: subscribing to redis channel %q at %s: %w", c.key("wake"), conn.addr, err)
	}
	c.up.Store(true)
	c.wg.Add(3)
	go c.heartbeatLoop()
	go c.pushLoop()
	go func() {
		defer c.wg.Done()
		receiveLoop(c.pubsub, c.done, c.log, "ajax polls served from this instance only until it returns", c.wake)
	}()
	c.log.Info().Msg("redis cluster started")
	return c, nil
}

// key returns the cluster's key or channel named name.
func (c *RedisCluster) key(name string) string { return c.cfg.Prefix + name }

// TokenSecret returns the client-token secret of the servers on this
// Redis: the first server's random secret, kept without expiry (SET NX),
// so that a client token verifies on every server; see Cluster.
func (c *RedisCluster) TokenSecret(ctx context.Context) ([]byte, error) {
	key := c.key("token-secret")
	if err := c.client.SetNX(ctx, key, hex.EncodeToString(newTokenSecret()), 0).Err(); err != nil {
		return nil, fmt.Errorf("web: redis token secret: %w", err)
	}
	v, err := c.client.Get(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("web: redis token secret: %w", err)
	}
	c.mu.Lock()
	c.secret = v
	c.mu.Unlock()
	return []byte(v), nil
}

// Mailboxes returns c: a RedisCluster keeps the Ajax clients' pushes in
// mailboxes in Redis (JoinAjax, PushAjax, TakeAjax).
func (c *RedisCluster) Mailboxes() Mailboxes { return c }

// InstanceID returns the id of this server in the cluster.
func (c *RedisCluster) InstanceID() string { return c.cfg.InstanceID }

// Instances returns the ids of the servers this one counts as alive, itself
// included, sorted: those whose heartbeat it read within their
// PresenceTTL. While Redis is unreachable the others expire, as dead
// servers would, and it counts itself alone. Servers agree on it within
// one Heartbeat of a change. The slice is the caller's.
func (c *RedisCluster) Instances() []string {
	if p := c.instances.Load(); p != nil {
		return slices.Clone(*p)
	}
	return []string{c.cfg.InstanceID}
}

// Dropped returns how many pushes were not written to the Ajax mailboxes
// (Redis unreachable, or failing).
func (c *RedisCluster) Dropped() uint64 { return c.dropped.Load() }

// Close stops the cluster's goroutines and closes its subscription, and
// its client if it built it (Addr). This server's entry is marked expired if Redis answers promptly, so that
// the others drop its presence at their next heartbeat. It is idempotent
// and returns nil.
func (c *RedisCluster) Close() error {
	c.stop(true)
	return nil
}

// stop stops the goroutines and closes the connections; with leave, it
// first marks this server's entry expired. A crash is stop(false).
func (c *RedisCluster) stop(leave bool) {
	c.closeOnce.Do(func() {
		close(c.done)
		c.pubsub.Close()
		c.wg.Wait()
		if leave {
			ctx, cancel := context.WithTimeout(context.Background(), redisDrainTimeout)
			pipe := c.client.Pipeline()
			pipe.HSet(ctx, c.key("instances"), c.cfg.InstanceID, "0 left")
			pipe.Del(ctx, c.key("presence:"+c.cfg.InstanceID))
			_, _ = pipe.Exec(ctx) // best effort: the entry expires anyway
			cancel()
		}
		c.conn.close()
	})
}

// Watch sets the handler; see Cluster. Only one handler is served.
func (c *RedisCluster) Watch(h ClusterHandler) (func(), error) {
	if h == nil {
		return nil, errNilHandler
	}
	c.handlerMu.Lock()
	defer c.handlerMu.Unlock()
	if c.handler != nil {
		return nil, errors.New("web: RedisCluster already watched by a Server")
	}
	c.handler = h
	var once sync.Once
	return func() {
		once.Do(func() {
			c.handlerMu.Lock()
			c.handler = nil
			c.handlerMu.Unlock()
		})
	}, nil
}

// withHandler calls f with the handler, if any, holding the read lock.
func (c *RedisCluster) withHandler(f func(ClusterHandler)) {
	c.handlerMu.RLock()
	defer c.handlerMu.RUnlock()
	if c.handler != nil {
		f(c.handler)
	}
}

// BindClient returns cid's record, binding it to newUID() when Redis has
// none (or, without newUID, returning ErrUnknownClient); see Cluster.
//
// While Redis is unreachable, or when it lost the record, the record this
// server last bound or saved is used, if it has one: a client that polled
// here before keeps its uid and dialect through an outage.
func (c *RedisCluster) BindClient(ctx context.Context, cid string, newUID func() string, existing bool) (ClientRecord, error) {
	c.mu.Lock()
	var mem ClientRecord
	if cc := c.clients[cid]; cc != nil {
		mem = cc.rec
	}
	c.mu.Unlock()
	if !c.up.Load() {
		if mem.UID != "" {
			return mem, nil
		}
		return ClientRecord{}, errClusterDown
	}
	key := c.key("client:" + cid)
	fields, err := c.client.HGetAll(ctx, key).Result()
	if err != nil {
		c.failed(err)
		if mem.UID != "" {
			return mem, nil
		}
		return ClientRecord{}, err
	}
	rec, ok := parseClientRecord(fields)
	if !ok && mem.UID != "" {
		// Redis lost it: restore it, unless another server just did.
		if err := c.writeRecord(ctx, cid, mem, true); err != nil {
			c.failed(err)
		}
		return mem, nil
	}
	if !ok && existing && time.Now().UnixNano() < c.settling.Load() {
		return ClientRecord{}, errClusterSettling
	}
	if !ok && newUID == nil {
		return ClientRecord{}, c.unknown(ctx)
	}
	if !ok {
		uid := newUID()
		pipe := c.client.TxPipeline()
		pipe.HSetNX(ctx, key, "uid", uid)
		pipe.PExpire(ctx, key, defaultClientTTL)
		all := pipe.HGetAll(ctx, key)
		if _, err := pipe.Exec(ctx); err != nil {
			c.failed(err)
			return ClientRecord{}, err
		}
		if rec, ok = parseClientRecord(all.Val()); !ok {
			return ClientRecord{}, fmt.Errorf("web: redis client record %q unreadable", key)
		}
	}
	c.remember(cid, func(cc *clusterClient) { cc.rec = rec })
	return rec, nil
}

// unknown returns ErrUnknownClient for a client-id that Redis does not
// know, unless Redis lost its data and this server has not noticed yet
// (its presence hash is gone): the binding may be restored in a moment,
// and the caller gets errClusterSettling.
func (c *RedisCluster) unknown(ctx context.Context) error {
	n, err := c.client.Exists(ctx, c.key("presence:"+c.cfg.InstanceID)).Result()
	switch {
	case err != nil:
		c.failed(err)
		return err
	case n == 0:
		return errClusterSettling
	}
	return ErrUnknownClient
}

// remember updates the memory of cid with f, creating it.
func (c *RedisCluster) remember(cid string, f func(*clusterClient)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cc := c.clients[cid]
	if cc == nil {
		cc = &clusterClient{}
		c.clients[cid] = cc
	}
	cc.used = time.Now()
	f(cc)
}

// writeRecord writes rec as cid's record: the uid only if the record has
// none (HSETNX: a binding is never replaced), the other fields too, or,
// with restore, every field only where missing.
func (c *RedisCluster) writeRecord(ctx context.Context, cid string, rec ClientRecord, restore bool) error {
	key := c.key("client:" + cid)
	fields := clientRecordFields(rec)
	pipe := c.client.Pipeline()
	for i := 0; i+1 < len(fields); i += 2 {
		name := fields[i].(string)
		if restore || name == "uid" {
			pipe.HSetNX(ctx, key, name, fields[i+1])
		} else {
			pipe.HSet(ctx, key, name, fields[i+1])
		}
	}
	pipe.PExpire(ctx, key, defaultClientTTL)
	_, err := pipe.Exec(ctx)
	return err
}

// SaveClient writes cid's record; see Cluster. The uid of an existing
// record is kept (a server that bound the client alone during an outage
// does not replace the cluster's binding).
func (c *RedisCluster) SaveClient(ctx context.Context, cid string, rec ClientRecord) error {
	c.remember(cid, func(cc *clusterClient) { cc.rec = rec })
	if !c.up.Load() {
		return errClusterDown
	}
	if err := c.writeRecord(ctx, cid, rec, false); err != nil {
		c.failed(err)
		return err
	}
	return nil
}

// failed records a failed command: the first failure of an outage is
// logged, and calls fail fast until the heartbeat reaches Redis again. A
// command that ran out of its caller's time says nothing of Redis.
func (c *RedisCluster) failed(err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return
	}
	c.up.Store(false)
	if !c.warned.Swap(true) {
		c.log.Warn().Err(err).Msg("redis unreachable: serving this instance's clients only until it returns")
	}
}

// clientRecordFields returns the hash fields of rec.
func clientRecordFields(rec ClientRecord) []any {
	f := -1
	if rec.FormatKnown {
		f = int(rec.Format)
	}
	hs := 0
	if rec.AjaxHandshake {
		hs = 1
	}
	return []any{"uid", rec.UID, "g", int(rec.Generation), "f", f, "h", int(rec.Hint), "hs", hs, "tok", rec.TokenIssued}
}

// parseClientRecord reads a client hash; ok is false without a uid.
// Unreadable fields are ignored.
func parseClientRecord(fields map[string]string) (rec ClientRecord, ok bool) {
	uid, ok := fields["uid"]
	if !ok {
		return ClientRecord{}, false
	}
	rec.UID = uid
	num := func(name string) int {
		n, err := strconv.Atoi(fields[name])
		if err != nil {
			return -1
		}
		return n
	}
	if g := protocol.Generation(num("g")); num("g") >= 0 && g.Valid() {
		rec.Generation = g
	}
	if f := num("f"); f >= 0 && protocol.Format(f).Valid() {
		rec.Format, rec.FormatKnown = protocol.Format(f), true
	}
	if h := num("h"); h > 0 {
		rec.Hint = protocol.GenerationSet(h) & protocol.AllGenerations
	}
	rec.AjaxHandshake = num("hs") == 1
	if t, err := strconv.ParseInt(fields["tok"], 10, 64); err == nil && t > 0 {
		rec.TokenIssued = t
	}
	return rec, true
}
