package web

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The presence side of RedisCluster: the heartbeat that writes this
// server's presence and reads the others', and the restore of what this
// server knows into an emptied Redis.

// presenceSentinel is a field every presence hash has, so that the hash
// exists, and its PEXPIRE tells whether Redis lost it, even when no uid is
// connected.
const presenceSentinel = "\x00"

// remoteInstance is what the heartbeat knows of another server.
type remoteInstance struct {
	expiry  time.Time
	version string
	uids    map[string]TransportSet
}

// SetPresence records uid's local transports, written at once by the
// heartbeat goroutine.
func (c *RedisCluster) SetPresence(uid string, set TransportSet) {
	c.mu.Lock()
	if set == 0 {
		delete(c.local, uid)
	} else {
		c.local[uid] = set
	}
	c.dirty[uid] = struct{}{}
	c.mu.Unlock()
	signal(c.kick)
}

// heartbeatLoop writes this server's presence as it changes, and every
// Heartbeat renews its entry and reads the others'. It alone decides when
// Redis is reachable again.
func (c *RedisCluster) heartbeatLoop() {
	defer c.wg.Done()
	tick := time.NewTicker(c.cfg.Heartbeat)
	defer tick.Stop()
	ctx := context.Background()
	for {
		beat := false
		select {
		case <-c.done:
			return
		case <-c.kick:
		case <-tick.C:
			beat = true
		}
		if !c.up.Load() && !beat {
			continue // down: only the heartbeat probes
		}
		err := c.writePresence(ctx)
		if err == nil && beat {
			err = c.readOthers(ctx)
			c.forgetClients(time.Now())
		}
		if err != nil {
			c.failed(err)
			c.mu.Lock()
			c.rewrite = true // the changes of this attempt may be lost
			c.mu.Unlock()
			c.expireView(time.Now())
			continue
		}
		wasDown := !c.up.Swap(true)
		if wasWarned := c.warned.Swap(false); wasDown || wasWarned {
			c.log.Info().Msg("redis reachable again: cluster resumed")
		}
	}
}

// writePresence writes what changed in this server's presence (all of it
// after a failure) and renews its entry. When it finds that Redis lost
// the hash, it restores everything this server knows.
func (c *RedisCluster) writePresence(ctx context.Context) error {
	presence := c.key("presence:" + c.cfg.InstanceID)
	pipe := c.client.Pipeline()
	// First: whether the hash survived. Later commands recreate it.
	alive := pipe.PExpire(ctx, presence, c.cfg.PresenceTTL)
	c.mu.Lock()
	started := c.started
	if c.rewrite {
		pipe.Del(ctx, presence)
		args := []any{presenceSentinel, 1}
		for uid, set := range c.local {
			args = append(args, uid, int(set))
		}
		pipe.HSet(ctx, presence, args...)
		c.version++
	} else if len(c.dirty) > 0 {
		for uid := range c.dirty {
			if set, ok := c.local[uid]; ok {
				pipe.HSet(ctx, presence, uid, int(set))
			} else {
				pipe.HDel(ctx, presence, uid)
			}
		}
		c.version++
	}
	pipe.PExpire(ctx, presence, c.cfg.PresenceTTL)
	now := time.Now()
	pipe.HSet(ctx, c.key("instances"), c.cfg.InstanceID,
		strconv.FormatInt(now.Add(c.cfg.PresenceTTL).UnixMilli(), 10)+" "+strconv.FormatUint(c.version, 10))
	clear(c.dirty)
	c.rewrite = false
	c.mu.Unlock()
	if _, err := pipe.Exec(ctx); err != nil {
		return err // the caller has the hash written whole next time
	}
	c.mu.Lock()
	c.started = true
	c.mu.Unlock()
	if started && !alive.Val() {
		c.log.Warn().Msg("redis lost the cluster's data: restoring this instance's")
		return c.restore(ctx)
	}
	return nil
}

// restore writes back into an emptied Redis this server's presence, and
// the records and Ajax routes of the clients it knows, where no other
// server restored them first; meanwhile, for one PresenceTTL, requests
// that only known clients send are not bound anew (BindClient).
func (c *RedisCluster) restore(ctx context.Context) error {
	now := time.Now()
	c.settling.Store(now.Add(c.cfg.PresenceTTL).UnixNano())
	c.mu.Lock()
	c.rewrite = true
	type known struct {
		cid string
		cc  clusterClient
	}
	var all []known
	for cid, cc := range c.clients {
		all = append(all, known{cid, *cc})
	}
	secret := c.secret
	c.mu.Unlock()
	if secret != "" {
		// The first server to restore brings back the secret every server
		// signs client tokens with, for servers that join later.
		if err := c.client.SetNX(ctx, c.key("token-secret"), secret, 0).Err(); err != nil {
			return err
		}
	}
	if err := c.writePresenceAgain(ctx); err != nil {
		return err
	}
	for _, k := range all {
		pipe := c.client.Pipeline()
		if k.cc.rec.UID != "" {
			fields := clientRecordFields(k.cc.rec)
			key := c.key("client:" + k.cid)
			for i := 0; i+1 < len(fields); i += 2 {
				pipe.HSetNX(ctx, key, fields[i].(string), fields[i+1])
			}
			pipe.PExpire(ctx, key, defaultClientTTL)
		}
		if k.cc.joinUID != "" && k.cc.joinTill.After(now) {
			c.joinLocked(ctx, pipe, k.cid, k.cc.joinUID, now, k.cc.joinTill, k.cc.joinTTL)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// writePresenceAgain writes the whole presence hash, once.
func (c *RedisCluster) writePresenceAgain(ctx context.Context) error {
	c.mu.Lock()
	c.started = false // a missing hash now is this write's, not a loss
	c.mu.Unlock()
	return c.writePresence(ctx)
}

// forgetClients drops the memory of the client-ids unused for the
// record TTL: Redis forgot them too.
func (c *RedisCluster) forgetClients(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cid, cc := range c.clients {
		if now.Sub(cc.used) > defaultClientTTL {
			delete(c.clients, cid)
		}
	}
}

// readOthers reads the other servers' entries and the presence of those
// whose version changed, drops the expired ones, and tells the handler
// when the union changed. A server whose entry is missing is kept until
// its last known expiry (Redis may have been emptied and not written
// again yet).
func (c *RedisCluster) readOthers(ctx context.Context) error {
	entries, err := c.client.HGetAll(ctx, c.key("instances")).Result()
	if err != nil {
		return err
	}
	now := time.Now()
	type fetch struct {
		id      string
		expiry  time.Time
		version string
		cmd     *redis.MapStringStringCmd
	}
	var fetches []fetch
	for id, v := range entries {
		if id == c.cfg.InstanceID {
			continue
		}
		ms, version, _ := strings.Cut(v, " ")
		n, err := strconv.ParseInt(ms, 10, 64)
		expiry := time.UnixMilli(n)
		if err != nil || expiry.Before(now) {
			// Dead, gone or unreadable: whoever sees it first removes it.
			c.client.HDel(ctx, c.key("instances"), id)
			delete(c.view, id)
			continue
		}
		old, ok := c.view[id]
		if ok && old.version == version {
			old.expiry = expiry
			c.view[id] = old
			continue
		}
		fetches = append(fetches, fetch{id: id, expiry: expiry, version: version})
	}
	if len(fetches) > 0 {
		pipe := c.client.Pipeline()
		for i := range fetches {
			fetches[i].cmd = pipe.HGetAll(ctx, c.key("presence:"+fetches[i].id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err // versions unchanged: fetched again next time
		}
		for _, f := range fetches {
			uids := make(map[string]TransportSet, len(f.cmd.Val()))
			for uid, v := range f.cmd.Val() {
				n, err := strconv.ParseUint(v, 10, 8)
				if uid == presenceSentinel || err != nil || n == 0 {
					continue
				}
				uids[uid] = TransportSet(n) & TransportSetOf(TransportWS, TransportAjax)
			}
			c.view[f.id] = remoteInstance{expiry: f.expiry, version: f.version, uids: uids}
		}
	}
	c.expireView(now)
	return nil
}

// expireView drops the servers whose entry expired and tells the handler
// when the union of the others changed.
func (c *RedisCluster) expireView(now time.Time) {
	for id, in := range c.view {
		if in.expiry.Before(now) {
			delete(c.view, id)
		}
	}
	c.publishView()
}

// publishView hands the union of the view to the handler if it changed,
// and updates Instances.
func (c *RedisCluster) publishView() {
	ids := []string{c.cfg.InstanceID}
	for id := range c.view {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if old := c.instances.Load(); old == nil || !slices.Equal(*old, ids) {
		c.instances.Store(&ids)
	}
	union := make(map[string]TransportSet)
	for _, in := range c.view {
		for uid, set := range in.uids {
			union[uid] |= set
		}
	}
	if maps.Equal(union, c.lastSent) {
		return
	}
	c.lastSent = union
	c.withHandler(func(h ClusterHandler) { h.RemotePresence(maps.Clone(union)) })
}
