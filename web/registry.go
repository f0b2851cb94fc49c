package web

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sente-go/sente/protocol"
)

// registry is the server's table of clients (docs/protocol.md §7): uid →
// client-id → one connection per transport, the uid bound to each
// client-id, the connected-uids sets, the per-uid and broadcast push
// buffers (fanout.go), and the uidport notices. The transports go through
// it for everything the cluster shares, and it goes through the
// backplane (backplane.go). It is safe for concurrent use.
//
// Lock order: flushMu, then mu, then a notifier's or a queue's mutex. No
// I/O and no blocking send happens under mu.
type registry struct {
	s  *Server
	bp *backplane // set by openBackplane

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
	// remote is the presence of the other servers of the Cluster: uids
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
	// or on another server of the Cluster.
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

// bind returns the client of cid: the one this server holds, or else one
// made from the cluster's record of cid (Cluster.BindClient, which binds
// a new client-id to uid()). When the cluster cannot answer, the client
// is bound here alone, unless existing: then bind fails with
// errClusterUnavailable, for a request that only a client already bound
// elsewhere sends (a poll without the handshake flag, a POST), which must
// not get a new uid. uid and the cluster are called without the lock. A
// client without connections is forgotten after DisconnectGrace.
func (r *registry) bind(ctx context.Context, cid string, uid func() string, existing bool) (*client, error) {
	if cl, err := r.held(cid); cl != nil || err != nil {
		return cl, err
	}
	rec, err := r.bp.bind(ctx, cid, uid, existing)
	switch {
	case err != nil && existing:
		r.s.log.Debug().Err(err).Str("client_id", cid).Msg("request of an unknown client refused: cluster unavailable")
		return nil, errClusterUnavailable
	case err != nil:
		r.s.log.Debug().Err(err).Str("client_id", cid).Msg("client bound locally: cluster unavailable")
		rec = ClientRecord{UID: uid()}
	}
	return r.add(cid, rec)
}

// bindToken returns the client of cid for a POST whose client token names
// cid and uid: the one this server holds, or the binding the cluster
// keeps. It fails with errBindingEnded when the cluster knows the binding
// ended (this server's, or the cluster's, forgot the client, and the
// token with it); when the cluster cannot answer, the token, signed by a
// server of the cluster, vouches for the binding. The caller checks that
// the client's uid is the token's.
func (r *registry) bindToken(ctx context.Context, cid, uid string) (*client, error) {
	if cl, err := r.held(cid); cl != nil || err != nil {
		return cl, err
	}
	rec, err := r.bp.bind(ctx, cid, nil, true)
	switch {
	case errors.Is(err, ErrUnknownClient):
		return nil, errBindingEnded
	case err != nil:
		r.s.log.Debug().Err(err).Str("client_id", cid).Msg("client token bound locally: cluster unavailable")
		rec = ClientRecord{UID: uid}
	}
	return r.add(cid, rec)
}

// held returns the client of cid this server holds, if any, or
// errRegistryClosed once Server.Close has begun.
func (r *registry) held(cid string) (*client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errRegistryClosed
	}
	return r.clients[cid], nil
}

// add returns the client of cid, made from rec unless another request
// made it first.
func (r *registry) add(cid string, rec ClientRecord) (*client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errRegistryClosed
	}
	cl := r.clients[cid]
	if cl == nil {
		cl = r.newClientLocked(cid, rec.UID)
		cl.restore(rec)
	}
	return cl, nil
}

// reloadClient takes over what the cluster's record of cl says now (it
// was read when this server first bound cl); on failure, or when the
// cluster keeps no record, cl is left as is.
func (r *registry) reloadClient(cl *client) {
	rec, err := r.bp.bind(context.Background(), cl.id, nil, true)
	if err == nil && rec.UID == cl.uid {
		cl.restore(rec)
	}
}

// saveClient hands cl's record to the cluster when it changed since
// *saved (a record() taken earlier), and makes it the new *saved.
func (r *registry) saveClient(cl *client, saved *ClientRecord) {
	rec := cl.record()
	if rec == *saved {
		return
	}
	*saved = rec
	r.bp.save(cl.id, rec)
}

// resumesAjax reports whether a new Ajax connection of cl carries on
// where its client left off, without a handshake: when it had its Ajax
// handshake, on this server or another, and its pushes waited in the
// cluster's mailboxes. Without mailboxes, they waited in the Ajax
// connection this server dropped, and the client starts over.
func (r *registry) resumesAjax(cl *client) bool {
	return r.bp.mail != nil && cl.ajaxHandshake.Load()
}

// mailbox returns the mailbox of a poll of cid (backplane.openMailbox).
func (r *registry) mailbox(cid string) mailbox { return r.bp.openMailbox(cid) }

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

// attach binds cid (see bind), routes it in the backplane
// (backplane.route), and sets its connection of transport k to
// build(cl, cur), where cur is the current one (nil if none); build runs
// under the lock and may return cur to keep it. It returns the client, the
// connection now registered, the one it replaced (to be closed by the
// caller), and a notice to wait for if the uid just connected (so that
// :chsk/uidport-open reaches the application before any event of the new
// connection).
func (r *registry) attach(ctx context.Context, cid string, k Transport, uid func() string, existing bool, build func(cl *client, cur transport) transport) (cl *client, t, old transport, open *notice, err error) {
	for {
		cl, err = r.bind(ctx, cid, uid, existing)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		r.bp.route(ctx, cid, cl.uid, k)
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

// presenceLocked tells the Cluster u's connected sets.
func (r *registry) presenceLocked(u *user) { r.bp.presence(u.uid, u.set()) }

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
// server's, and the other servers' of the Cluster too.
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
