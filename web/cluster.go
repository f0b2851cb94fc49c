package web

import (
	"context"
	"sync"
	"time"

	"github.com/sente-go/sente/protocol"
)

// Cluster shares a Server's clients with the other Servers of a cluster,
// so that several processes behind a plain round-robin load balancer,
// without sticky sessions, serve one set of clients (Config.Cluster; the
// Broker carries the pushes between them). It shares three things:
//
//   - presence: the uids connected to each server, so that ConnectedUIDs
//     and the uidport events are cluster-wide (a server that dies without
//     warning drops out after a TTL);
//   - clients: the uid bound to each client-id and what its frames told
//     (generation, format, whether it had its Ajax handshake), so that a
//     request of a client may land on any server;
//   - Ajax mailboxes: the pushes for an Ajax client wait in one shared
//     queue, which a poll takes on whatever server it lands on.
//
// RedisCluster is the implementation. The methods that return nothing
// must not block: they queue the work. Implementations must be safe for
// concurrent use.
type Cluster interface {
	// Watch starts delivering to h: the presence of the other servers and
	// the wake-ups of Ajax mailboxes. A Server calls it once, in New, and
	// stop (idempotent) in Close; once stop returns, h is not called again.
	Watch(h ClusterHandler) (stop func(), err error)

	// SetPresence records that uid is connected to this server through
	// the transports in set (empty: no longer connected).
	SetPresence(uid string, set TransportSet)

	// BindClient returns the record of client-id cid, binding it to
	// newUID() when the cluster does not know it. existing tells that the
	// request is one only a client bound before sends (an Ajax poll
	// without the handshake flag, a POST): while the cluster restores its
	// state after an outage, such a client-id may be missing only for a
	// moment, and BindClient may fail rather than bind it anew. It fails
	// when the cluster cannot answer promptly; the Server then binds the
	// client locally, or refuses the request (503) when existing.
	BindClient(ctx context.Context, cid string, newUID func() string, existing bool) (ClientRecord, error)
	// SaveClient records what the client's frames told since it was
	// bound, before the Server answers the request that told it: the
	// client's next request may reach another server. It returns an error
	// when the cluster could not write it promptly; it then retries on its
	// own.
	SaveClient(ctx context.Context, cid string, rec ClientRecord) error

	// JoinAjax makes cid, a client of uid, an Ajax client for ttl: pushes
	// to uid, and broadcasts, go to its mailbox. Each poll renews it
	// before it is answered (or its uidport-open delivered), so that no
	// push published after that misses it.
	JoinAjax(ctx context.Context, cid, uid string, ttl time.Duration) error
	// PushAjax queues p for the mailboxes of the Ajax clients it
	// addresses, on every server. It reports false when it cannot take it
	// (the cluster is unreachable, or its queue is full): the Server that
	// published p then delivers it to the Ajax clients it holds itself
	// (the others never deliver a publication to their Ajax clients).
	PushAjax(p Publication) bool
	// TakeAjax removes and returns the events waiting in cid's mailbox,
	// oldest first.
	TakeAjax(ctx context.Context, cid string) ([]protocol.Event, error)

	// TokenSecret returns the secret every server of the cluster signs
	// client tokens with (Config.TokenSecret), at least 16 random bytes,
	// made by the first server that asks. A Server asks once, in New.
	TokenSecret(ctx context.Context) ([]byte, error)
}

// ClusterHandler receives what a Cluster learns from the other servers.
// Its methods must return quickly.
type ClusterHandler interface {
	// RemotePresence replaces the presence of the other servers: each uid
	// connected to at least one of them, with the union of its
	// transports. The map is the handler's to keep.
	RemotePresence(uids map[string]TransportSet)
	// AjaxReady tells that events were added to the mailbox of cid.
	AjaxReady(cid string)
}

// TransportSet is a set of Transports.
type TransportSet uint8

// TransportSetOf returns the set of ts.
func TransportSetOf(ts ...Transport) TransportSet {
	var s TransportSet
	for _, t := range ts {
		s |= 1 << t.index()
	}
	return s
}

// Has reports whether t is in s.
func (s TransportSet) Has(t Transport) bool { return s&(1<<t.index()) != 0 }

// ClientRecord is what a Cluster keeps of one client-id.
type ClientRecord struct {
	// UID is the uid the client-id is bound to.
	UID string
	// Generation is the client generation its frames revealed, or
	// protocol.GenUnknown.
	Generation protocol.Generation
	// Format is the packer format of its frames, when FormatKnown.
	Format      protocol.Format
	FormatKnown bool
	// Hint is the set of generations its Ajax polls allowed; zero when
	// none told.
	Hint protocol.GenerationSet
	// AjaxHandshake tells that it had its Ajax handshake: a poll on
	// another server must not answer with a new one.
	AjaxHandshake bool
	// TokenIssued is when the client token of its last Ajax handshake
	// was issued (unix seconds; 0: none), so that any server renews it in
	// time (Config.TokenMaxAge).
	TokenIssued int64
}

// record returns what cl's frames told, for Cluster.SaveClient.
func (c *client) record() ClientRecord {
	g, f, known := unpackDialect(c.dialect.Load())
	hint := protocol.GenerationSet(c.hint.Load())
	if hint == protocol.AllGenerations {
		hint = 0
	}
	return ClientRecord{UID: c.uid, Generation: g, Format: f, FormatKnown: known,
		Hint: hint, AjaxHandshake: c.ajaxHandshake.Load(), TokenIssued: c.tokenIssued.Load()}
}

// restore takes over what another server learnt of cl.
func (c *client) restore(rec ClientRecord) {
	if rec.Generation.Valid() {
		c.pinGeneration(rec.Generation)
	}
	if rec.FormatKnown && rec.Format.Valid() {
		c.pinFormat(rec.Format)
	}
	if rec.Hint != 0 {
		c.narrow(rec.Hint)
	}
	if rec.AjaxHandshake {
		c.ajaxHandshake.Store(true)
	}
	if rec.TokenIssued > c.tokenIssued.Load() {
		c.tokenIssued.Store(rec.TokenIssued)
	}
}

// clusterTimeout bounds a Cluster call made while a request waits.
const clusterTimeout = 2 * time.Second

// clusterLink is a Server's side of its Cluster: the handler the cluster
// calls, and the Ajax polls waiting for their mailbox.
type clusterLink struct {
	s *Server

	mu      sync.Mutex                            // guards waiting
	waiting map[string]map[chan struct{}]struct{} // client-id → held polls' mailbox wake-ups
}

var _ ClusterHandler = (*clusterLink)(nil)

// RemotePresence hands the other servers' presence to the registry.
func (l *clusterLink) RemotePresence(uids map[string]TransportSet) {
	l.s.reg.setRemote(uids)
}

// AjaxReady wakes the polls of cid held here.
func (l *clusterLink) AjaxReady(cid string) {
	l.mu.Lock()
	for ch := range l.waiting[cid] {
		signal(ch)
	}
	l.mu.Unlock()
}

// wait registers a held poll of cid; the returned channel is signalled
// when its mailbox gets events, until done is called.
func (l *clusterLink) wait(cid string) (ch chan struct{}, done func()) {
	ch = make(chan struct{}, 1)
	l.mu.Lock()
	if l.waiting == nil {
		l.waiting = make(map[string]map[chan struct{}]struct{})
	}
	m := l.waiting[cid]
	if m == nil {
		m = make(map[chan struct{}]struct{}, 1)
		l.waiting[cid] = m
	}
	m[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		// ch is in the current map of cid: a map leaves waiting only
		// once empty.
		delete(l.waiting[cid], ch)
		if len(l.waiting[cid]) == 0 {
			delete(l.waiting, cid)
		}
		l.mu.Unlock()
	}
}

// ajaxTTL is how long an Ajax client stays in the cluster's mailbox
// routing after a poll: the longest a client may go between two polls
// (a held poll, then the grace) and some slack.
func (s *Server) ajaxTTL() time.Duration {
	return s.cfg.PollTimeout + s.cfg.DisconnectGrace + 5*time.Second
}

// reloadClient takes over what the cluster's record of cl says now (it
// was read when this server first bound cl); on failure cl is left as is.
func (s *Server) reloadClient(cl *client) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	rec, err := s.cfg.Cluster.BindClient(ctx, cl.id, func() string { return cl.uid }, true)
	if err == nil && rec.UID == cl.uid {
		cl.restore(rec)
	}
}

// saveClient hands cl's record to the cluster when it changed since
// *saved (a record() taken earlier), and makes it the new *saved.
func (s *Server) saveClient(cl *client, saved *ClientRecord) {
	if s.cfg.Cluster == nil {
		return
	}
	rec := cl.record()
	if rec == *saved {
		return
	}
	*saved = rec
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := s.cfg.Cluster.SaveClient(ctx, cl.id, rec); err != nil {
		s.log.Debug().Err(err).Str("client_id", cl.id).Msg("client record not saved in the cluster yet")
	}
}
