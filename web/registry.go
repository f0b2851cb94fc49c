package web

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sente-go/sente/protocol"
)

// maxBatchEvents caps a push buffer: a buffer that reaches it is flushed at
// once instead of at the end of its batch window, so that a burst of Send
// calls cannot grow it without bound.
const maxBatchEvents = 1024

// registry is the server's table of clients (sente-protocol.md §7): uid →
// client-id → one connection per transport, the uid bound to each
// client-id, the connected-uids sets, the per-uid and broadcast push
// buffers, and the uidport notices. It is safe for concurrent use.
//
// Lock order: flushMu, then mu, then a notifier's or a queue's mutex. No
// I/O and no blocking send happens under mu.
type registry struct {
	s *Server

	// flushMu serializes flushes, from taking a buffer to the end of its
	// delivery, so that batches of one buffer reach queues in order.
	flushMu sync.Mutex

	mu       sync.Mutex                 // guards every field below and the reg.mu fields of client and user
	clients  map[string]*client         // by client-id
	users    map[string]*user           // by uid
	bcast    [numTransports]pendingBuf  // broadcast buffers
	live     [numTransports]int         // live connections by transport
	watchers map[chan struct{}]struct{} // WatchUIDs subscribers
	closed   bool                       // Server.Close began: no more connections
	// remote is the presence of the other servers of a Cluster: uids
	// connected elsewhere and their transports. A uid's uidport events
	// follow the union of its local and remote presence.
	remote map[string]TransportSet
}

// client is one client-id: a browser tab, bound to one uid.
type client struct {
	id, uid string
	user    *user // immutable

	// dialect is the client's pinned dialect (packDialect), shared by its
	// transports: the protocol.Generation its frames revealed (GenUnknown
	// until then) and its protocol.Format, known from the start under a
	// fixed Config.Packer and from its first frame under PackerAuto.
	// Atomic: read by connections without the registry lock.
	dialect atomic.Uint32
	// hint is the protocol.GenerationSet the client's Ajax polls told
	// (AllGenerations until one did), kept when its Ajax connection is
	// dropped, so that a poll without the handshake flag is answered in a
	// generation the client reads. Atomic, like gen.
	hint atomic.Uint32

	// ajaxHandshake tells that the client had its Ajax handshake, here
	// or, in a Cluster, on another server.
	ajaxHandshake atomic.Bool
	// tokenIssued is when the client token of its last Ajax handshake was
	// issued (unix seconds; 0: none), here or on another server.
	tokenIssued atomic.Int64

	conns [numTransports]transport // reg.mu: the live connection of each transport
	epoch uint64                   // reg.mu: bumped at each attach and detach
}

// packDialect packs a pinned generation (bits 0–7) and, when known, one
// more than the pinned format (bits 8–15) into client.dialect.
func packDialect(g protocol.Generation, f protocol.Format, known bool) uint32 {
	v := uint32(g)
	if known {
		v |= (uint32(f) + 1) << 8
	}
	return v
}

// unpackDialect is packDialect's inverse.
func unpackDialect(v uint32) (g protocol.Generation, f protocol.Format, known bool) {
	g = protocol.Generation(v & 0xff)
	if k := v >> 8; k != 0 {
		return g, protocol.Format(k - 1), true
	}
	return g, protocol.FormatTransit, false
}

// pinned returns the generation the client's frames revealed, or
// GenUnknown.
func (c *client) pinned() protocol.Generation {
	g, _, _ := unpackDialect(c.dialect.Load())
	return g
}

// format returns the client's format; known is false while no frame told
// it (PackerAuto only).
func (c *client) format() (f protocol.Format, known bool) {
	_, f, known = unpackDialect(c.dialect.Load())
	return f, known
}

// pinGeneration records the generation a frame or an Ajax poll's
// parameters revealed (protocol.Generation.Refine) and returns the client's
// generation now.
func (c *client) pinGeneration(g protocol.Generation) protocol.Generation {
	for {
		old := c.dialect.Load()
		cur, f, known := unpackDialect(old)
		next := packDialect(cur.Refine(g), f, known)
		if next == old || c.dialect.CompareAndSwap(old, next) {
			g, _, _ := unpackDialect(next)
			return g
		}
	}
}

// pinFormat records the format a frame of the client revealed, if the
// client's format is not known yet, and returns the client's format. ok is
// false, and nothing is recorded, when f is not the client's format: the
// frame is refused.
func (c *client) pinFormat(f protocol.Format) (protocol.Format, bool) {
	for {
		old := c.dialect.Load()
		g, cur, known := unpackDialect(old)
		if known {
			return cur, cur == f
		}
		if c.dialect.CompareAndSwap(old, packDialect(g, f, true)) {
			return f, true
		}
	}
}

// narrow intersects the client's hint with what a request told (or
// replaces it if they contradict each other) and returns the result.
func (c *client) narrow(s protocol.GenerationSet) protocol.GenerationSet {
	for {
		old := c.hint.Load()
		next := protocol.GenerationSet(old) & s
		if next == 0 {
			next = s
		}
		if uint32(next) == old || c.hint.CompareAndSwap(old, uint32(next)) {
			return next
		}
	}
}

// user is one uid.
type user struct {
	uid     string
	members []*client                 // reg.mu: clients bound to uid
	live    [numTransports]int        // reg.mu: live connections by transport
	in      [numTransports]bool       // reg.mu: member of the connected-uids set of the transport
	epoch   [numTransports]uint64     // reg.mu: bumped when live changes; a grace task carries it
	pending [numTransports]pendingBuf // reg.mu: pushes waiting for their batch window
}

// connected reports whether u is in connected-uids :any.
func (u *user) connected() bool { return u.in[0] || u.in[1] }

// set returns the transports of u's connected sets.
func (u *user) set() TransportSet {
	var s TransportSet
	for i, in := range u.in {
		if in {
			s |= 1 << i
		}
	}
	return s
}

// pendingBuf collects pushes during a batch window.
type pendingBuf struct {
	events []protocol.Event
	epoch  uint64 // bumped by each flush; a flush task carries the epoch it was armed in
}

// notice is a uidport event for the notifier; done, if not nil, is closed
// once the event was handed to the application (or dropped at shutdown).
type notice struct {
	msg  Message
	done chan struct{}
}

func newRegistry(s *Server) *registry {
	return &registry{
		s:        s,
		clients:  make(map[string]*client),
		users:    make(map[string]*user),
		watchers: make(map[chan struct{}]struct{}),
	}
}

// errRegistryClosed is returned by attach once Server.Close has begun.
var errRegistryClosed = ErrServerClosed

// errClusterUnavailable is returned by bind when the Cluster cannot tell
// whether a client-id it is strict about is known.
var errClusterUnavailable = errors.New("web: cluster unavailable")

// bind returns the client record of cid, creating it with uid() when the
// client-id is new, or in a Cluster with the uid and state the cluster
// keeps for it. When the cluster cannot answer, the client is bound here
// alone, unless strict: then bind fails with errClusterUnavailable, for a
// request that only a client already bound elsewhere sends (a poll
// without the handshake flag, a POST), which must not get a new uid. uid
// and the cluster are called without the lock. A record without
// connections expires after DisconnectGrace.
func (r *registry) bind(cid string, uid func() string, strict bool) (*client, error) {
	r.mu.Lock()
	cl := r.clients[cid]
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, errRegistryClosed
	}
	if cl != nil {
		return cl, nil
	}
	var rec ClientRecord
	clustered := false
	if c := r.s.cfg.Cluster; c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		var err error
		rec, err = c.BindClient(ctx, cid, uid, strict)
		cancel()
		switch {
		case err != nil && strict:
			r.s.log.Debug().Err(err).Str("client_id", cid).Msg("request of an unknown client refused: cluster unavailable")
			return nil, errClusterUnavailable
		case err != nil:
			r.s.log.Debug().Err(err).Str("client_id", cid).Msg("client bound locally: cluster unavailable")
		default:
			clustered = true
		}
	}
	if !clustered {
		rec = ClientRecord{UID: uid()}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errRegistryClosed
	}
	if cl = r.clients[cid]; cl == nil {
		cl = r.newClientLocked(cid, rec.UID)
		if clustered {
			cl.restore(rec)
		}
	}
	return cl, nil
}

// newClientLocked creates the record of client cid bound to uid.
func (r *registry) newClientLocked(cid, uid string) *client {
	u := r.users[uid]
	if u == nil {
		u = &user{uid: uid}
		r.users[uid] = u
	}
	cl := &client{id: cid, uid: uid, user: u}
	if f, ok := r.s.cfg.Packer.fixed(); ok {
		cl.dialect.Store(packDialect(protocol.GenUnknown, f, true))
	}
	cl.hint.Store(uint32(protocol.AllGenerations))
	r.clients[cid] = cl
	u.members = append(u.members, cl)
	r.expireClientLocked(cl)
	return cl
}

// attach binds cid (see bind) and sets its connection of transport k to
// build(cl, cur), where cur is the current one (nil if none); build runs
// under the lock and may return cur to keep it. It returns the client, the
// connection now registered, the one it replaced (to be closed by the
// caller), and a notice to wait for if the uid just connected (so that
// :chsk/uidport-open reaches the application before any event of the new
// connection).
func (r *registry) attach(cid string, k Transport, uid func() string, strict bool, build func(cl *client, cur transport) transport) (cl *client, t, old transport, open *notice, err error) {
	for {
		cl, err = r.bind(cid, uid, strict)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return nil, nil, nil, nil, errRegistryClosed
		}
		if r.clients[cid] == cl {
			break
		}
		// The record expired between bind and here: bind again.
		r.mu.Unlock()
	}
	defer r.mu.Unlock()
	i := k.index()
	cur := cl.conns[i]
	t = build(cl, cur)
	if t == cur {
		return cl, t, nil, nil, nil
	}
	cl.conns[i] = t
	cl.epoch++
	if cur != nil {
		return cl, t, cur, nil, nil
	}
	u := cl.user
	u.live[i]++
	u.epoch[i]++
	r.live[i]++
	if !u.in[i] {
		wasConnected := u.connected()
		u.in[i] = true
		r.changedLocked()
		r.presenceLocked(u)
		if !wasConnected && r.remote[u.uid] == 0 {
			open = &notice{msg: uidportEvent(u.uid, true), done: make(chan struct{})}
			r.s.notes.add(open)
		}
	}
	return cl, t, nil, open, nil
}

// detach removes t, the connection of transport k of cl, unless another
// has replaced it. With grace, the uid stays in the transport's connected
// set for DisconnectGrace (a WebSocket that may reconnect); without, it
// leaves at once (an Ajax client, dropped after its grace already).
func (r *registry) detach(cl *client, k Transport, t transport, grace bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := k.index()
	if cl.conns[i] != t {
		return
	}
	cl.conns[i] = nil
	cl.epoch++
	u := cl.user
	u.live[i]--
	u.epoch[i]++
	r.live[i]--
	if r.closed {
		return // Server.Close: no uidport-close, nothing scheduled
	}
	if u.live[i] == 0 {
		if grace {
			epoch := u.epoch[i]
			r.s.sched.after(delayGrace, func() { r.graceOver(u, i, epoch) })
		} else {
			r.leaveLocked(u, i)
		}
	}
	if cl.conns == [numTransports]transport{} {
		r.expireClientLocked(cl)
	}
}

// lookup returns the client bound to cid on this server, or nil.
func (r *registry) lookup(cid string) *client {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clients[cid]
}

// disconnect forgets the client-ids bound to uid and returns their live
// connections, which the caller aborts (Server.Disconnect).
func (r *registry) disconnect(uid string) []transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.users[uid]
	if u == nil {
		return nil
	}
	var conns []transport
	for _, cl := range u.members {
		for _, t := range cl.conns {
			if t != nil {
				conns = append(conns, t)
			}
		}
		if r.clients[cl.id] == cl {
			delete(r.clients, cl.id)
		}
	}
	// The records leave u now; their connections leave it as they end.
	u.members = nil
	r.maybeDropUserLocked(u)
	return conns
}

// expireClientLocked schedules the removal of cl's record if it still has
// no connection after DisconnectGrace.
func (r *registry) expireClientLocked(cl *client) {
	epoch := cl.epoch
	r.s.sched.after(delayGrace, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.clients[cl.id] != cl || cl.epoch != epoch || cl.conns != [numTransports]transport{} {
			return
		}
		delete(r.clients, cl.id)
		u := cl.user
		if i := slices.Index(u.members, cl); i >= 0 {
			u.members = slices.Delete(u.members, i, i+1)
		}
		r.maybeDropUserLocked(u)
	})
}

// graceOver ends the grace period of transport i of u, armed at epoch.
func (r *registry) graceOver(u *user, i int, epoch uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.users[u.uid] != u || u.epoch[i] != epoch || u.live[i] > 0 {
		return
	}
	r.leaveLocked(u, i)
}

// leaveLocked removes u from the connected set of transport i, delivering
// :chsk/uidport-close if it was its last.
func (r *registry) leaveLocked(u *user, i int) {
	if !u.in[i] {
		return
	}
	u.in[i] = false
	r.changedLocked()
	r.presenceLocked(u)
	if !u.connected() && r.remote[u.uid] == 0 {
		r.s.notes.add(&notice{msg: uidportEvent(u.uid, false)})
	}
	r.maybeDropUserLocked(u)
}

// maybeDropUserLocked forgets u once nothing refers to it.
func (r *registry) maybeDropUserLocked(u *user) {
	if len(u.members) == 0 && !u.connected() && r.users[u.uid] == u {
		delete(r.users, u.uid)
	}
}

// presenceLocked tells the Cluster, if any, u's connected sets.
func (r *registry) presenceLocked(u *user) {
	if c := r.s.cfg.Cluster; c != nil {
		c.SetPresence(u.uid, u.set())
	}
}

// setRemote replaces the presence of the other servers of the Cluster,
// delivering the uidport events of the uids it connects or disconnects
// cluster-wide.
func (r *registry) setRemote(next map[string]TransportSet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	old := r.remote
	r.remote = next
	changed := false
	visit := func(uid string) {
		o, n := old[uid], next[uid]
		if o == n {
			return
		}
		changed = true
		if u := r.users[uid]; u != nil && u.connected() {
			return // connected here: no cluster-wide change
		}
		if o == 0 || n == 0 {
			r.s.notes.add(&notice{msg: uidportEvent(uid, n != 0)})
		}
	}
	for uid := range old {
		visit(uid)
	}
	for uid := range next {
		if _, ok := old[uid]; !ok {
			visit(uid)
		}
	}
	if changed {
		r.changedLocked()
	}
}

// changedLocked wakes the WatchUIDs subscribers.
func (r *registry) changedLocked() {
	for ch := range r.watchers {
		signal(ch)
	}
}

// watch registers a WatchUIDs subscriber.
func (r *registry) watch() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	r.watchers[ch] = struct{}{}
	r.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.watchers, ch)
			r.mu.Unlock()
		})
	}
}

// connectedUIDs returns the snapshot of the connected sets: this
// server's, and in a Cluster the other servers' too.
func (r *registry) connectedUIDs() ConnectedUIDs {
	var c ConnectedUIDs
	add := func(uid string, set TransportSet) {
		if set.Has(TransportWS) {
			c.WS = append(c.WS, uid)
		}
		if set.Has(TransportAjax) {
			c.Ajax = append(c.Ajax, uid)
		}
		if set != 0 {
			c.Any = append(c.Any, uid)
		}
	}
	r.mu.Lock()
	for uid, u := range r.users {
		add(uid, u.set()|r.remote[uid])
	}
	for uid, set := range r.remote {
		if _, ok := r.users[uid]; !ok {
			add(uid, set)
		}
	}
	r.mu.Unlock()
	slices.Sort(c.WS)
	slices.Sort(c.Ajax)
	slices.Sort(c.Any)
	return c
}

// localUIDs returns the uids connected to this server.
func (r *registry) localUIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var uids []string
	for uid, u := range r.users {
		if u.connected() {
			uids = append(uids, uid)
		}
	}
	return uids
}

// batch is a taken buffer, the connections it goes to and the formats
// their clients are answered in.
type batch struct {
	events  []protocol.Event
	targets []transport
	formats formatSet
	gens    protocol.GenerationSet // of the targets (transport.generations)
}

// publish buffers a publication for the transports that have a live
// connection for it (WebSockets only when p.WSOnly); it is the broker's
// subscriber.
func (r *registry) publish(p Publication) {
	set := TransportSetOf(TransportWS, TransportAjax)
	if p.WSOnly {
		set = TransportSetOf(TransportWS)
	}
	r.publishTo(p, set)
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

// close marks the registry closed (no more connections, no more pushes,
// no uidport-close) and returns every live connection.
func (r *registry) close() []transport {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.all()
}

// all returns every live connection.
func (r *registry) all() []transport {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []transport
	for _, cl := range r.clients {
		for _, t := range cl.conns {
			if t != nil {
				all = append(all, t)
			}
		}
	}
	return all
}
