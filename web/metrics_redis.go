package web

// The backplane's side of the metrics: what Server.Collector reads of a
// RedisBroker and a RedisCluster (sente_backplane_*).

// PublishErrors returns how many PUBLISH commands to Redis failed (each
// is retried with backoff until it is sent or the broker closes).
func (b *RedisBroker) PublishErrors() uint64 { return b.pubErrs.Load() }

// Reachable reports whether the last PUBLISH to Redis succeeded (true
// before the first): false during an outage, while publications wait
// for Redis.
func (b *RedisBroker) Reachable() bool { return !b.down.Load() }

// Reachable reports whether Redis answers the cluster (its heartbeat
// decides; a failed command may say no first): false during an outage,
// while this server serves its own clients only.
func (c *RedisCluster) Reachable() bool { return c.up.Load() }
