package web

import "github.com/sente-go/sente/protocol"

// The push buffers of the registry: a publication is buffered per uid (or
// for every connection) and transport during the batch window, then
// packed once per dialect of its connections and queued on each
// (doc.go, "Pushes").

// maxBatchEvents caps a push buffer: a buffer that reaches it is flushed at
// once instead of at the end of its batch window, so that a burst of Send
// calls cannot grow it without bound.
const maxBatchEvents = 1024

// pendingBuf collects pushes during a batch window.
type pendingBuf struct {
	events []protocol.Event
	epoch  uint64 // bumped by each flush; a flush task carries the epoch it was armed in
}

// batch is a taken buffer, the connections it goes to and the formats
// their clients are answered in.
type batch struct {
	events  []protocol.Event
	targets []transport
	formats formatSet
	gens    protocol.GenerationSet // of the targets (transport.generations)
}

// publishTo buffers a publication for the transports of set that have a
// live connection for it; a buffer's first event arms its flush, a full
// buffer is flushed at once.
func (r *registry) publishTo(p Publication, set TransportSet) {
	var full [numTransports]bool
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	var u *user
	if !p.Broadcast {
		if u = r.users[p.UID]; u == nil {
			r.mu.Unlock()
			return // nobody to send to: dropped, as by Sente
		}
	}
	for i := range numTransports {
		if set&(1<<i) == 0 {
			continue
		}
		var buf *pendingBuf
		if p.Broadcast {
			if r.live[i] == 0 {
				continue
			}
			buf = &r.bcast[i]
		} else {
			if u.live[i] == 0 {
				continue
			}
			buf = &u.pending[i]
		}
		buf.events = append(buf.events, p.Event)
		switch len(buf.events) {
		case 1:
			epoch := buf.epoch
			r.s.sched.after(flushDelay(i), func() { r.flushTask(u, i, epoch, false) })
		case maxBatchEvents:
			full[i] = true
		}
	}
	r.mu.Unlock()
	for i, f := range full {
		if f {
			r.flushTask(u, i, 0, true)
		}
	}
}

// flushDelay is the delay kind of the batch window of transport i.
func flushDelay(i int) delayKind {
	if i == TransportWS.index() {
		return delayFlushWS
	}
	return delayFlushAjax
}

// flushTask flushes the buffer of transport i of u (the broadcast buffer
// when u is nil) if it is still the one armed at epoch, or whatever is in
// it with force (a full buffer).
func (r *registry) flushTask(u *user, i int, epoch uint64, force bool) {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	var b batch
	if u == nil {
		if force || r.bcast[i].epoch == epoch {
			b = r.takeLocked(&r.bcast[i], nil, i)
		}
	} else if r.users[u.uid] == u && (force || u.pending[i].epoch == epoch) {
		b = r.takeLocked(&u.pending[i], u, i)
	}
	r.mu.Unlock()
	r.deliver(b)
}

// flushAll flushes every buffer now (Server.Flush, Server.Close).
func (r *registry) flushAll() {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	var batches []batch
	r.mu.Lock()
	for i := range numTransports {
		if len(r.bcast[i].events) > 0 {
			batches = append(batches, r.takeLocked(&r.bcast[i], nil, i))
		}
	}
	for _, u := range r.users {
		batches = r.takeUserLocked(batches, u)
	}
	r.mu.Unlock()
	for _, b := range batches {
		r.deliver(b)
	}
}

// takeUserLocked appends the batches of u's non-empty buffers to batches.
func (r *registry) takeUserLocked(batches []batch, u *user) []batch {
	for i := range numTransports {
		if len(u.pending[i].events) > 0 {
			batches = append(batches, r.takeLocked(&u.pending[i], u, i))
		}
	}
	return batches
}

// flushUser flushes u's buffers now: a callback reply to a client of u
// must not overtake the pushes to u made before it.
func (r *registry) flushUser(u *user) {
	r.mu.Lock()
	pending := u.pending[0].events != nil || u.pending[1].events != nil
	r.mu.Unlock()
	if !pending {
		return // the common case, without the flush lock
	}
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	var batches []batch
	r.mu.Lock()
	if r.users[u.uid] == u {
		batches = r.takeUserLocked(batches, u)
	}
	r.mu.Unlock()
	for _, b := range batches {
		r.deliver(b)
	}
}

// takeLocked empties buf and lists the connections of transport i it goes
// to: those of u, or every one when u is nil.
func (r *registry) takeLocked(buf *pendingBuf, u *user, i int) batch {
	b := batch{events: buf.events}
	buf.events = nil
	buf.epoch++
	if len(b.events) == 0 {
		return b
	}
	if u == nil {
		b.targets = make([]transport, 0, r.live[i])
		for _, cl := range r.clients {
			if t := cl.conns[i]; t != nil {
				b.targets = append(b.targets, t)
				b.formats |= formatsOf(r.s.formatOf(cl))
				b.gens |= t.generations()
			}
		}
	} else {
		for _, cl := range u.members {
			if t := cl.conns[i]; t != nil {
				b.targets = append(b.targets, t)
				b.formats |= formatsOf(r.s.formatOf(cl))
				b.gens |= t.generations()
			}
		}
	}
	if len(b.targets) > 0 {
		r.s.m.batches[i].Observe(float64(len(b.events)))
	}
	return b
}

// formatOf returns the format frames to cl are written in: its own once
// known, else the default of Config.Packer.
func (s *Server) formatOf(cl *client) protocol.Format {
	if f, ok := cl.format(); ok {
		return f
	}
	return s.cfg.Packer.defaultFormat()
}

// deliver packs a batch once per dialect of its targets and queues it on
// every target, split into several pushes when it is larger than
// Config.SendQueueBytes (splitPush).
func (r *registry) deliver(b batch) {
	if len(b.events) == 0 || len(b.targets) == 0 {
		return
	}
	splitPush(b.events, b.formats, b.gens, len(b.targets) > 1, r.s.cfg.SendQueueBytes, &r.s.log, func(p *push) {
		for _, t := range b.targets {
			t.deliver(p)
		}
	})
}
