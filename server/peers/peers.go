// Package peers connects the hubs of BirdWatch instances that share one
// Redis: when a client's :cmd/percolate reaches one instance, the others
// drop the live query they held for its uid, so that a uid is percolated
// by one instance only (an Ajax client's requests land on any instance
// behind a round-robin proxy).
package peers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// DefaultChannel is the Redis channel of the announcements.
const DefaultChannel = "birdwatch:percolating"

// queueLen bounds the announcements waiting for Redis; more are dropped
// (logged), which leaves a stale query until the client searches again.
const queueLen = 1024

// Config configures a Redis.
type Config struct {
	// Addr is the Redis server, host:port. Required.
	Addr string
	// Channel is the channel shared by the instances; DefaultChannel when
	// empty.
	Channel string
	// Logger receives the log entries; the zero value logs nothing.
	Logger zerolog.Logger
}

// Redis announces this instance's registrations on a Redis channel and
// reports the other instances' ones. It implements hub.Peers. Build it
// with New, then Run it.
type Redis struct {
	cfg      Config
	instance string
	queue    chan announcement

	mu      sync.Mutex
	dropped bool // a full queue was logged since the last success
}

// New returns a Redis for cfg; it connects when Run.
func New(cfg Config) (*Redis, error) {
	if cfg.Addr == "" {
		return nil, fmt.Errorf("peers: Config.Addr is empty")
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	var id [8]byte
	rand.Read(id[:])
	return &Redis{cfg: cfg, instance: hex.EncodeToString(id[:]), queue: make(chan announcement, queueLen)}, nil
}

// announcement is a live query registered here: the message
// "INSTANCE UNIXNANO UID" on the channel.
type announcement struct {
	uid string
	at  time.Time
}

// Registered queues the announcement that this instance holds uid's live
// query since at. It never blocks.
func (r *Redis) Registered(uid string, at time.Time) {
	select {
	case r.queue <- announcement{uid: uid, at: at}:
	default:
		r.mu.Lock()
		first := !r.dropped
		r.dropped = true
		r.mu.Unlock()
		if first {
			r.cfg.Logger.Warn().Msg("percolation announcements queue full: dropping some")
		}
	}
}

// Run publishes the announcements and calls forget with every uid (and
// time) another instance announces, until ctx is done. The instances'
// clocks are taken to agree within the time between two searches of one
// client. Outages are waited out: go-redis
// reconnects the subscription, and a failed announcement is logged and
// dropped.
func (r *Redis) Run(ctx context.Context, forget func(uid string, at time.Time)) error {
	client := redis.NewClient(&redis.Options{Addr: r.cfg.Addr, Protocol: 2, DisableIdentity: true,
		DialTimeout: 2 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second})
	defer client.Close()
	ps := client.Subscribe(ctx, r.cfg.Channel)
	defer ps.Close()
	msgs := ps.Channel(redis.WithChannelHealthCheckInterval(15 * time.Second))
	down := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			from, a, ok := parseAnnouncement(m.Payload)
			if !ok {
				r.cfg.Logger.Warn().Int("bytes", len(m.Payload)).Msg("bad percolation announcement dropped")
				continue
			}
			if from != r.instance {
				forget(a.uid, a.at)
			}
		case a := <-r.queue:
			err := client.Publish(ctx, r.cfg.Channel, formatAnnouncement(r.instance, a)).Err()
			switch {
			case err != nil && ctx.Err() != nil:
				return nil
			case err != nil && !down:
				down = true
				r.cfg.Logger.Warn().Err(err).Msg("redis unreachable: live queries are not announced to the other instances until it returns")
			case err == nil && down:
				down = false
				r.cfg.Logger.Info().Msg("redis reachable again: announcing live queries")
			}
			if err == nil {
				r.mu.Lock()
				r.dropped = false
				r.mu.Unlock()
			}
		}
	}
}

// formatAnnouncement writes a as the message "INSTANCE UNIXNANO UID".
func formatAnnouncement(instance string, a announcement) string {
	return instance + " " + strconv.FormatInt(a.at.UnixNano(), 10) + " " + a.uid
}

// parseAnnouncement reads what formatAnnouncement wrote.
func parseAnnouncement(msg string) (instance string, a announcement, ok bool) {
	instance, rest, ok1 := strings.Cut(msg, " ")
	ns, uid, ok2 := strings.Cut(rest, " ")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok1 || !ok2 || err != nil || instance == "" || uid == "" {
		return "", announcement{}, false
	}
	return instance, announcement{uid: uid, at: time.Unix(0, n)}, true
}
