package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// The Redis side of the backplane (RedisBroker, RedisCluster) is thin: it
// keeps its state in plain Redis structures, with one Lua script, and
// leaves replication and failover to Redis (a replica with Sentinel, or
// Redis Cluster). Both take the process's one go-redis client
// (redis.UniversalClient: a *redis.Client, a failover client or a
// *redis.ClusterClient), which the application shares with its own uses,
// or build their own from an address.

// Timing of the Redis connections.
const (
	redisMinBackoff   = 50 * time.Millisecond // first wait after a failure
	redisMaxBackoff   = 2 * time.Second       // longest wait between attempts
	redisDialTimeout  = 2 * time.Second
	redisIOTimeout    = 3 * time.Second
	redisIdleCheck    = 15 * time.Second // PING the subscription after this long without a message
	redisDrainTimeout = 2 * time.Second  // Close's bound on sending what is still queued
)

// redisConn is the Redis client of a backplane component: the caller's,
// which the component never closes, or one it built from an address and
// closes (close).
type redisConn struct {
	client redis.UniversalClient
	owned  bool
	addr   string // for the logs
}

// newRedisConn returns client, or when it is nil a client of its own for
// addr with poolSize connections. what names the config in errors.
func newRedisConn(what string, client redis.UniversalClient, addr string, poolSize int) (redisConn, error) {
	switch {
	case client != nil && addr != "":
		return redisConn{}, fmt.Errorf("web: %s has both Client and Addr", what)
	case client != nil:
		return redisConn{client: client, addr: clientAddr(client)}, nil
	case addr == "":
		return redisConn{}, fmt.Errorf("web: %s has neither Client nor Addr", what)
	}
	return redisConn{client: redis.NewClient(&redis.Options{
		Addr:            addr,
		Protocol:        2,
		DisableIdentity: true,
		DialTimeout:     redisDialTimeout,
		ReadTimeout:     redisIOTimeout,
		WriteTimeout:    redisIOTimeout,
		MaxRetries:      -1, // the components retry, with their own backoff
		PoolSize:        poolSize,
	}), owned: true, addr: addr}, nil
}

// close closes the client if the component built it.
func (c redisConn) close() {
	if c.owned {
		_ = c.client.Close() // nothing to do about it
	}
}

// clientAddr names the server(s) of a client for the logs.
func clientAddr(c redis.UniversalClient) string {
	switch c := c.(type) {
	case *redis.Client:
		return c.Options().Addr
	case *redis.ClusterClient:
		return strings.Join(c.Options().Addrs, ",")
	}
	return fmt.Sprintf("%T", c)
}

// hasHashTag reports whether every key that starts with prefix hashes to
// the slot of the prefix's hash tag in Redis Cluster: the prefix has a
// "{…}" with something between the braces, its first "{" and the first
// "}" after it.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(prefix[i+1:], '}')
	return j > 0
}

func randomInstanceID() string {
	var p [8]byte
	_, _ = rand.Read(p[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(p[:])
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

// receiveLoop hands every message of ps to deliver until done is closed.
// go-redis reconnects and resubscribes on the Receive that follows a
// connection failure; the loop checks an idle connection with PING, backs
// off between failed attempts, and logs each outage once (at warn, with
// lost telling what the instance does meanwhile) and each recovery.
func receiveLoop(ps *redis.PubSub, done <-chan struct{}, log zerolog.Logger, lost string, deliver func(payload string)) {
	ctx := context.Background()
	down := false
	backoff := redisMinBackoff
	for {
		msg, err := ps.ReceiveTimeout(ctx, redisIdleCheck)
		if isDone(done) {
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

// isDone reports whether done is closed.
func isDone(done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
		return false
	}
}

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
