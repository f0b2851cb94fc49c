// Package peers shares the live queries of BirdWatch instances that share
// one Redis (hub.Peers): each uid's latest :cmd/percolate, whichever
// instance it reached (an Ajax client's requests land on any instance
// behind a round-robin proxy), so that exactly one instance percolates it
// and another takes it over when that one dies (see server/hub/live.go).
//
// In Redis, the hash KEY holds one field per uid: "AT INSTANCE DATA",
// where AT is the entry's time in Unix nanoseconds on 20 digits (so that
// a Lua script compares two as strings), INSTANCE the id of the instance
// it reached and DATA its Transit [query tag]. A field "\x00" marks the
// hash as complete: when it is missing, Redis lost the hash, and every
// instance writes back what it holds. Each change is published on the
// channel KEY, as JSON, by the Lua script that makes it, so that no
// instance misses a change it did not read from the hash.
package peers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/hub"
)

// Defaults of Config.
const (
	// DefaultKey is the Redis hash, and channel, of the live queries.
	DefaultKey = "birdwatch:live"
	// DefaultResyncEvery is how often an instance reads the whole hash.
	DefaultResyncEvery = 30 * time.Second
	// DefaultSettleAfter is how long Redis must have answered before the
	// cluster's presence is trusted again (Settled): longer than the
	// presence TTL of web.RedisCluster (five seconds and a heartbeat).
	DefaultSettleAfter = 10 * time.Second
)

// queueLen bounds the changes waiting for Redis; more are dropped
// (logged once): the next resync writes back those of this instance.
const queueLen = 4096

// complete is the field that marks the hash as complete.
const complete = "\x00"

// probeEvery is how often Redis is pinged, so that an outage is noticed
// before the cluster's presence expires.
const probeEvery = time.Second

// Config configures a Redis.
type Config struct {
	// Client is the Redis client, shared with the process's other uses
	// (server/internal/redisconn). Required; the caller closes it.
	Client redis.UniversalClient
	// Key names the hash and the channel; DefaultKey when empty.
	Key string
	// Instance is this instance's id (no spaces). Required.
	Instance string
	// Instances returns the ids of the instances alive, Instance
	// included, sorted (web.RedisCluster.Instances). Required.
	Instances func() []string
	// ResyncEvery is how often the whole hash is read and merged, besides
	// after each (re)connection; DefaultResyncEvery when zero.
	ResyncEvery time.Duration
	// SettleAfter is how long Redis must have answered before Settled
	// reports true; DefaultSettleAfter when zero.
	SettleAfter time.Duration
	// Logger receives the log entries; the zero value logs nothing.
	Logger zerolog.Logger
}

// Replica is what Run keeps up to date: the hub (hub.Hub).
type Replica interface {
	Apply(e hub.LiveEntry)
	Drop(uid string, at time.Time)
	Reconcile(all map[string]hub.LiveEntry, lost bool) []hub.LiveEntry
}

// Redis shares live queries through Redis. It implements hub.Peers. Build
// it with New, then Run it.
type Redis struct {
	cfg   Config
	queue chan change
	kick  chan struct{} // cap 1: resync now

	up      atomic.Bool
	upSince atomic.Int64 // Unix nanoseconds; valid while up
	dropped atomic.Bool  // a full queue was logged since the last success
}

var _ hub.Peers = (*Redis)(nil)

// change is a Set (del false) or a Delete.
type change struct {
	del bool
	e   hub.LiveEntry
}

// New returns a Redis for cfg; it connects when Run.
func New(cfg Config) (*Redis, error) {
	switch {
	case cfg.Client == nil:
		return nil, errors.New("peers: Config.Client is nil")
	case cfg.Instance == "" || strings.ContainsAny(cfg.Instance, " \n"):
		return nil, fmt.Errorf("peers: Config.Instance %q is empty or has spaces", cfg.Instance)
	case cfg.Instances == nil:
		return nil, errors.New("peers: Config.Instances is nil")
	case cfg.ResyncEvery < 0 || cfg.SettleAfter < 0:
		return nil, errors.New("peers: negative duration in Config")
	}
	if cfg.Key == "" {
		cfg.Key = DefaultKey
	}
	if cfg.ResyncEvery == 0 {
		cfg.ResyncEvery = DefaultResyncEvery
	}
	if cfg.SettleAfter == 0 {
		cfg.SettleAfter = DefaultSettleAfter
	}
	return &Redis{cfg: cfg, queue: make(chan change, queueLen), kick: make(chan struct{}, 1)}, nil
}

// Instance returns this instance's id.
func (r *Redis) Instance() string { return r.cfg.Instance }

// Instances returns the instances alive (Config.Instances).
func (r *Redis) Instances() []string { return r.cfg.Instances() }

// Settled reports whether Redis has answered for SettleAfter.
func (r *Redis) Settled() bool {
	return r.up.Load() && time.Since(time.Unix(0, r.upSince.Load())) >= r.cfg.SettleAfter
}

// Reachable reports whether Redis answered the last command or probe
// (Run pings it every second): false before Run first reaches it and
// during an outage.
func (r *Redis) Reachable() bool { return r.up.Load() }

// Set queues e for the hash and the other instances. It never blocks.
func (r *Redis) Set(e hub.LiveEntry) { r.enqueue(change{e: e}) }

// Delete queues the removal of uid's entry of time at, or an earlier one.
// It never blocks.
func (r *Redis) Delete(uid string, at time.Time) {
	r.enqueue(change{del: true, e: hub.LiveEntry{UID: uid, At: at}})
}

func (r *Redis) enqueue(c change) {
	select {
	case r.queue <- c:
	default:
		if !r.dropped.Swap(true) {
			r.cfg.Logger.Warn().Msg("live query changes queue full: dropping some until the next resync")
		}
	}
}

// setScript writes an entry unless the hash holds one as recent or
// later, and publishes it. KEYS: hash, channel; ARGV: uid, value, message.
var setScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.sub(cur, 1, 20) >= string.sub(ARGV[2], 1, 20) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1`)

// delScript removes an entry of the given time or earlier (not a later
// search of the uid), and publishes the removal. KEYS: hash, channel;
// ARGV: uid, time, message.
var delScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and string.sub(cur, 1, 20) <= ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1`)

// message is what the channel carries: an entry set, or removed.
type message struct {
	UID   string `json:"uid"`
	Value string `json:"v,omitempty"`   // set: the hash value
	Del   string `json:"del,omitempty"` // removed: the entry's time, 20 digits
}

// formatTime writes t as 20 digits of Unix nanoseconds.
func formatTime(t time.Time) string { return fmt.Sprintf("%020d", t.UnixNano()) }

// formatValue returns the hash value of e.
func formatValue(e hub.LiveEntry) string {
	return formatTime(e.At) + " " + e.Instance + " " + string(e.Data)
}

// parseValue reads what formatValue wrote, for uid.
func parseValue(uid, v string) (hub.LiveEntry, bool) {
	at, rest, ok1 := strings.Cut(v, " ")
	inst, data, ok2 := strings.Cut(rest, " ")
	n, err := strconv.ParseInt(at, 10, 64)
	if !ok1 || !ok2 || err != nil || len(at) != 20 || n < 0 || inst == "" || data == "" || uid == "" || uid == complete {
		return hub.LiveEntry{}, false
	}
	return hub.LiveEntry{UID: uid, At: time.Unix(0, n), Instance: inst, Data: []byte(data)}, true
}

// formatMessage returns the channel message of e set.
func formatMessage(e hub.LiveEntry) (string, error) {
	b, err := json.Marshal(message{UID: e.UID, Value: formatValue(e)})
	if err != nil {
		return "", fmt.Errorf("peers: %w", err)
	}
	return string(b), nil
}

// parseMessage reads a channel message: an entry (del false) or a
// removal (e.UID and e.At).
func parseMessage(payload string) (e hub.LiveEntry, del, ok bool) {
	var m message
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.UID == "" {
		return hub.LiveEntry{}, false, false
	}
	if m.Del != "" {
		n, err := strconv.ParseInt(m.Del, 10, 64)
		if err != nil || len(m.Del) != 20 || n < 0 {
			return hub.LiveEntry{}, false, false
		}
		return hub.LiveEntry{UID: m.UID, At: time.Unix(0, n)}, true, true
	}
	e, ok = parseValue(m.UID, m.Value)
	return e, false, ok
}

// Run shares this instance's changes and applies the others' to replica
// until ctx is done; it returns nil then. It reads and merges the whole
// hash after each (re)connection and every ResyncEvery. Outages are
// waited out: go-redis reconnects, and a change that failed is logged
// once and left to the next resync.
func (r *Redis) Run(ctx context.Context, replica Replica) error {
	client := r.cfg.Client
	ps := client.Subscribe(ctx, r.cfg.Key)
	defer ps.Close()
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelHealthCheckInterval(15 * time.Second))
	resync := time.NewTicker(r.cfg.ResyncEvery)
	defer resync.Stop()
	probe := time.NewTicker(probeEvery)
	defer probe.Stop()
	badLogged := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			switch m := m.(type) {
			case *redis.Subscription: // (re)subscribed: what was published meanwhile is lost
				r.resync(ctx, client, replica)
			case *redis.Message:
				e, del, ok := parseMessage(m.Payload)
				switch {
				case !ok:
					if !badLogged {
						badLogged = true
						r.cfg.Logger.Warn().Int("bytes", len(m.Payload)).Msg("bad live query message dropped (logged once)")
					}
				case del:
					replica.Drop(e.UID, e.At)
				default:
					replica.Apply(e)
				}
			}
		case <-resync.C:
			r.resync(ctx, client, replica)
		case <-probe.C:
			if wasDown := !r.up.Load(); r.result(ctx, client.Ping(ctx).Err()) && wasDown {
				r.resync(ctx, client, replica)
			}
		case c := <-r.queue:
			r.result(ctx, r.write(ctx, client, c))
		}
	}
}

// write runs c's script.
func (r *Redis) write(ctx context.Context, client redis.UniversalClient, c change) error {
	keys := []string{r.cfg.Key, r.cfg.Key}
	if c.del {
		at := formatTime(c.e.At)
		msg, _ := json.Marshal(message{UID: c.e.UID, Del: at})
		return delScript.Run(ctx, client, keys, c.e.UID, at, msg).Err()
	}
	msg, err := formatMessage(c.e)
	if err != nil {
		return err
	}
	return setScript.Run(ctx, client, keys, c.e.UID, formatValue(c.e), msg).Err()
}

// result records whether Redis answered (err == nil), logging the
// transitions, and reports it.
func (r *Redis) result(ctx context.Context, err error) bool {
	if err != nil && !errors.Is(err, redis.Nil) {
		if ctx.Err() == nil && r.up.Swap(false) {
			r.cfg.Logger.Warn().Err(err).Msg("redis unreachable: live queries are not shared until it returns")
		}
		return false
	}
	if !r.up.Load() {
		r.upSince.Store(time.Now().UnixNano())
		r.up.Store(true)
		r.cfg.Logger.Info().Msg("redis reachable: sharing live queries")
	}
	r.dropped.Store(false)
	return true
}

// resync reads the hash, merges it into replica and writes back what the
// replica says the hash lacks.
func (r *Redis) resync(ctx context.Context, client redis.UniversalClient, replica Replica) {
	fields, err := client.HGetAll(ctx, r.cfg.Key).Result()
	if !r.result(ctx, err) {
		return
	}
	_, whole := fields[complete]
	all := make(map[string]hub.LiveEntry, len(fields))
	bad := 0
	for uid, v := range fields {
		if uid == complete {
			continue
		}
		e, ok := parseValue(uid, v)
		if !ok {
			bad++
			continue
		}
		all[uid] = e
	}
	if bad > 0 {
		r.cfg.Logger.Warn().Int("fields", bad).Msg("unreadable live query entries ignored")
	}
	missing := replica.Reconcile(all, !whole)
	if !whole {
		r.cfg.Logger.Warn().Int("entries", len(missing)).Msg("redis lost the live queries: writing back this instance's")
	}
	pipe := client.Pipeline()
	for _, e := range missing {
		msg, err := formatMessage(e)
		if err != nil {
			continue // not JSON-encodable: cannot happen with strings
		}
		// Eval, not Run: a pipeline cannot fall back from EVALSHA when an
		// emptied Redis lost the script.
		setScript.Eval(ctx, pipe, []string{r.cfg.Key, r.cfg.Key}, e.UID, formatValue(e), msg)
	}
	pipe.HSet(ctx, r.cfg.Key, complete, "1")
	_, err = pipe.Exec(ctx)
	r.result(ctx, err)
}
