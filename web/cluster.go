package web

import (
	"context"
	"time"

	"github.com/sente-go/sente/protocol"
)

// Cluster is the part of a Server's backplane that shares its clients
// with the other Servers of a cluster, as the Broker shares its pushes
// (doc.go, "Backplane"). Every Server goes through one: a Server alone
// through a MemoryCluster (the default), several processes behind a plain
// round-robin load balancer, without sticky sessions, through a
// RedisCluster each (Config.Cluster). It shares:
//
//   - presence: the uids connected to each server, so that ConnectedUIDs
//     and the uidport events are cluster-wide (a server that dies without
//     warning drops out after a TTL);
//   - clients: the uid bound to each client-id and what its frames told
//     (generation, format, whether it had its Ajax handshake), so that a
//     request of a client may land on any server;
//   - the secret that signs client tokens;
//   - optionally, Ajax mailboxes (Mailboxes): the pushes for an Ajax
//     client wait in one shared queue, which a poll takes on whatever
//     server it lands on.
//
// The methods that return nothing must not block: they queue the work.
// Implementations must be safe for concurrent use; the conformance suite
// every implementation passes is testCluster (cluster_shared_test.go).
type Cluster interface {
	// Watch starts delivering to h: the presence of the other servers and
	// the wake-ups of Ajax mailboxes. A Server calls it once, in New, and
	// stop (idempotent) in Close; once stop returns, h is not called
	// again. A Cluster serves one Server: a second Watch while one is
	// watching fails.
	Watch(h ClusterHandler) (stop func(), err error)

	// SetPresence records that uid is connected to this server through
	// the transports in set (empty: no longer connected).
	SetPresence(uid string, set TransportSet)

	// BindClient returns the record of client-id cid, binding it to
	// newUID() when the cluster does not know it. existing tells that the
	// request is one only a client bound before sends (an Ajax poll
	// without the handshake flag, a POST): while the cluster restores its
	// state after an outage, such a client-id may be missing only for a
	// moment, and BindClient may fail rather than bind it anew. A nil
	// newUID asks for a binding that must exist (the client presents a
	// client token naming it; existing is then true): BindClient returns
	// ErrUnknownClient, wrapped or not, when it knows that the client-id
	// is not bound, rather than binding it. It fails otherwise when the
	// cluster cannot answer promptly; the Server then binds the client
	// locally, or refuses the request (503) when existing.
	BindClient(ctx context.Context, cid string, newUID func() string, existing bool) (ClientRecord, error)
	// SaveClient records what the client's frames told since it was
	// bound, before the Server answers the request that told it: the
	// client's next request may reach another server. It returns an error
	// when the cluster could not write it promptly; it then retries on its
	// own.
	SaveClient(ctx context.Context, cid string, rec ClientRecord) error

	// TokenSecret returns the secret every server of the cluster signs
	// client tokens with (Config.TokenSecret), at least 16 random bytes,
	// made by the first server that asks. A Server asks once, in New.
	TokenSecret(ctx context.Context) ([]byte, error)

	// Mailboxes returns the cluster's Ajax mailboxes, or nil when it has
	// none: each server then keeps the pushes of the Ajax clients that
	// poll it in their connections' queues, and delivers every publication
	// of the Broker to them (a Server alone, or servers whose load
	// balancer sends each Ajax client to one server).
	Mailboxes() Mailboxes
}

// Mailboxes are the shared Ajax mailboxes of a Cluster: with them, a
// publication reaches the Ajax clients through the mailboxes alone (the
// Broker carries it to WebSockets), put there once, by the server that
// published it.
type Mailboxes interface {
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

// allTransports is the set of every Transport.
const allTransports = TransportSet(1<<numTransports - 1)

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
