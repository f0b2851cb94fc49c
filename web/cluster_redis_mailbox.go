package web

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// The Ajax mailboxes of RedisCluster (Mailboxes).

// JoinAjax writes cid's Ajax route; see Cluster.
func (c *RedisCluster) JoinAjax(ctx context.Context, cid, uid string, ttl time.Duration) error {
	if strings.ContainsRune(cid, '\n') {
		return errors.New("web: client-id with a newline: not routable") // cannot travel on the wake-up channel
	}
	now := time.Now()
	c.remember(cid, func(cc *clusterClient) {
		cc.joinUID, cc.joinTill, cc.joinTTL = uid, now.Add(ttl), ttl
	})
	if !c.up.Load() {
		return errClusterDown
	}
	pipe := c.client.Pipeline()
	c.joinLocked(ctx, pipe, cid, uid, now, now.Add(ttl), ttl)
	if _, err := pipe.Exec(ctx); err != nil {
		c.failed(err)
		return err
	}
	return nil
}

// joinLocked adds to pipe the commands that put cid on its routes until
// till and drop the expired members.
func (c *RedisCluster) joinLocked(ctx context.Context, pipe redis.Pipeliner, cid, uid string, now, till time.Time, ttl time.Duration) {
	expired := strconv.FormatInt(now.UnixMilli(), 10)
	for _, route := range []string{c.key("ajax:" + uid), c.key("ajax:")} {
		pipe.ZAdd(ctx, route, redis.Z{Score: float64(till.UnixMilli()), Member: cid})
		pipe.ZRemRangeByScore(ctx, route, "-inf", expired)
		// Every member's expiry is at most now+ttl: servers of one cluster
		// share their configuration.
		pipe.PExpire(ctx, route, ttl)
	}
	pipe.PExpire(ctx, c.key("client:"+cid), defaultClientTTL) // a polling client's record lives on
}

// PushAjax queues p for the mailboxes; see Cluster.
func (c *RedisCluster) PushAjax(p Publication) bool {
	if !c.up.Load() {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
	}
	select {
	case c.pushes <- p:
		return true
	default:
		c.log.Debug().Msg("ajax mailbox queue full: push delivered locally")
		return false
	}
}

// TakeAjax empties cid's mailbox; see Cluster.
func (c *RedisCluster) TakeAjax(ctx context.Context, cid string) ([]protocol.Event, error) {
	if !c.up.Load() {
		return nil, errClusterDown
	}
	key := c.key("mbox:" + cid)
	pipe := c.client.TxPipeline()
	lr := pipe.LRange(ctx, key, 0, -1)
	pipe.Del(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil {
		c.failed(err)
		return nil, err
	}
	var events []protocol.Event
	for _, s := range lr.Val() {
		v, err := transit.Unmarshal([]byte(s))
		if err == nil {
			var ev protocol.Event
			if ev, err = protocol.EventFromValue(v); err == nil {
				events = append(events, ev)
				continue
			}
		}
		c.log.Warn().Err(err).Str("client_id", cid).Msg("bad event in ajax mailbox dropped")
	}
	return events, nil
}

// wake hands a wake-up message (client-ids, one per line) to the handler.
func (c *RedisCluster) wake(payload string) {
	c.withHandler(func(h ClusterHandler) {
		for cid := range strings.SplitSeq(payload, "\n") {
			if cid != "" {
				h.AjaxReady(cid)
			}
		}
	})
}

// pushScript adds an event to the mailbox of every live member of an
// Ajax route (KEYS[1]) and publishes their client-ids. ARGV: now (ms),
// event, key prefix, mailbox TTL (ms), mailbox length, wake channel. The
// mailboxes are keys the script finds in the route, so it cannot declare
// them; they have the prefix, and so the slot, of KEYS[1], which Redis
// Cluster requires of the keys a script touches.
var pushScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local cids = redis.call('ZRANGE', KEYS[1], 0, -1)
local max = tonumber(ARGV[5])
for _, cid in ipairs(cids) do
  local k = ARGV[3] .. 'mbox:' .. cid
  if redis.call('RPUSH', k, ARGV[2]) > max then
    redis.call('LTRIM', k, -max, -1)
  end
  redis.call('PEXPIRE', k, ARGV[4])
end
if #cids > 0 then
  redis.call('PUBLISH', ARGV[6], table.concat(cids, '\n'))
end
return #cids
`)

// pushLoop writes queued pushes to the mailboxes, in order. While Redis
// is unreachable the queue is dropped (counted): its Ajax clients miss
// those pushes, which would come late anyway.
func (c *RedisCluster) pushLoop() {
	defer c.wg.Done()
	ctx := context.Background()
	for {
		var p Publication
		select {
		case <-c.done:
			return
		case p = <-c.pushes:
		}
		if !c.up.Load() {
			c.dropped.Add(1)
			continue
		}
		ev, err := transit.Marshal(p.Event.Value())
		if err != nil {
			c.log.Error().Err(err).Str("event_id", string(p.Event.ID)).Msg("push not encodable for ajax mailboxes, dropped")
			continue
		}
		route := c.key("ajax:")
		if !p.Broadcast {
			route = c.key("ajax:" + p.UID)
		}
		err = pushScript.Run(ctx, c.client, []string{route},
			time.Now().UnixMilli(), ev, c.cfg.Prefix, defaultMailboxTTL.Milliseconds(),
			c.cfg.MailboxLen, c.key("wake")).Err()
		if err != nil {
			c.dropped.Add(1)
			c.failed(err)
		}
	}
}
