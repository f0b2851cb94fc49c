package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// clusterTimeout bounds a Cluster call made while a request waits.
const clusterTimeout = 2 * time.Second

// backplane is a Server's side of its Broker and Cluster (doc.go,
// "Backplane"), and the registry's one way to them: the transports talk to
// the registry, the registry to the backplane. It subscribes the registry
// to the Broker, routes each publication (the Ajax part through the
// Cluster's mailboxes, when it has some), binds, reloads and saves client
// records, writes presence, and is the Cluster's handler. A call that
// waits for the Cluster is bounded by clusterTimeout; what its failure
// means is the caller's to say.
type backplane struct {
	reg     *registry
	log     *zerolog.Logger // the Server's
	broker  Broker
	cluster Cluster
	// mail is the Cluster's Ajax mailboxes; nil when each server keeps
	// its Ajax clients' pushes in their connections' queues.
	mail Mailboxes
	// viaBroker is the transports a publication from the Broker goes to
	// here: WebSockets only when the mailboxes carry the Ajax clients'.
	viaBroker TransportSet
	// ajaxTTL is how long an Ajax client stays in the mailboxes' routing
	// after a poll: the longest a client may go between two polls (a
	// held poll, then the grace) and some slack.
	ajaxTTL time.Duration

	ownBroker   *MemoryBroker // the default Broker, closed by closeOwn; nil if given
	unsubscribe func()
	unwatch     func()

	mu      sync.Mutex                            // guards waiting
	waiting map[string]map[chan struct{}]struct{} // client-id → held polls' mailbox wake-ups
}

var _ ClusterHandler = (*backplane)(nil)

// openBackplane connects reg to cfg's Broker and Cluster, or to a
// MemoryBroker and a MemoryCluster of its own, and returns the secret
// that signs client tokens: cfg's, or else the cluster's.
func openBackplane(cfg *Config, reg *registry, log *zerolog.Logger) (*backplane, []byte, error) {
	b := &backplane{reg: reg, log: log, broker: cfg.Broker, cluster: cfg.Cluster,
		viaBroker: allTransports, ajaxTTL: cfg.PollTimeout + cfg.DisconnectGrace + 5*time.Second}
	if b.broker == nil {
		b.ownBroker = NewMemoryBroker()
		b.broker = b.ownBroker
	}
	if b.cluster == nil {
		b.cluster = NewMemoryCluster()
	}
	if b.mail = b.cluster.Mailboxes(); b.mail != nil {
		b.viaBroker = TransportSetOf(TransportWS)
	}
	secret, err := b.tokenSecret(cfg.TokenSecret)
	if err == nil {
		b.unwatch, err = b.cluster.Watch(b)
	}
	if err == nil {
		if b.unsubscribe, err = b.broker.Subscribe(b.fromBroker); err != nil {
			b.unwatch()
		}
	}
	if err != nil {
		b.closeOwn()
		return nil, nil, err
	}
	reg.bp = b
	return b, secret, nil
}

// tokenSecret returns configured, or when it is empty the cluster's
// secret.
func (b *backplane) tokenSecret(configured []byte) ([]byte, error) {
	if len(configured) > 0 {
		return configured, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	secret, err := b.cluster.TokenSecret(ctx)
	if err == nil && len(secret) < minTokenSecretLen {
		err = fmt.Errorf("it has %d bytes", len(secret))
	}
	if err != nil {
		return nil, fmt.Errorf("web: token secret of the cluster: %w", err)
	}
	return secret, nil
}

// leave stops the Broker's and the Cluster's calls to this Server and
// takes uids, its connected uids, out of the cluster's presence, even if
// the application keeps its Cluster running (Server.Close).
func (b *backplane) leave(uids []string) {
	b.unsubscribe()
	b.unwatch()
	for _, uid := range uids {
		b.cluster.SetPresence(uid, 0)
	}
}

// closeOwn closes the default Broker, if the backplane made it.
func (b *backplane) closeOwn() {
	if b.ownBroker != nil {
		_ = b.ownBroker.Close() // always nil
	}
}

// fromBroker is the registry's subscription to the Broker.
func (b *backplane) fromBroker(p Publication) { b.reg.publishTo(p, b.viaBroker) }

// publish hands p to the Broker, which carries it to every server's
// registry; with mailboxes, their Ajax clients get it from the mailboxes
// instead, or from this server's own queues when the mailboxes cannot
// take it (never from the other servers).
func (b *backplane) publish(p Publication) error {
	if b.mail == nil {
		return b.broker.Publish(p)
	}
	mailed := b.mail.PushAjax(p)
	if err := b.broker.Publish(p); err != nil {
		return err
	}
	if !mailed {
		b.reg.publishTo(p, TransportSetOf(TransportAjax))
	}
	return nil
}

// bind asks the cluster for the record of cid; see Cluster.BindClient.
func (b *backplane) bind(ctx context.Context, cid string, newUID func() string, existing bool) (ClientRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, clusterTimeout)
	defer cancel()
	return b.cluster.BindClient(ctx, cid, newUID, existing)
}

// save hands cid's record to the cluster; a failure is the cluster's to
// retry.
func (b *backplane) save(cid string, rec ClientRecord) {
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	if err := b.cluster.SaveClient(ctx, cid, rec); err != nil {
		b.log.Debug().Err(err).Str("client_id", cid).Msg("client record not saved in the cluster yet")
	}
}

// presence tells the cluster uid's transports on this server.
func (b *backplane) presence(uid string, set TransportSet) { b.cluster.SetPresence(uid, set) }

// route makes the client cid of uid, whose connection of transport k is
// being attached, reachable in the mailboxes, if any: an Ajax client is
// joined (or renewed) before its poll is attached, so that every push
// published once it polls (from its uidport-open on) reaches its mailbox.
func (b *backplane) route(ctx context.Context, cid, uid string, k Transport) {
	if b.mail == nil || k != TransportAjax {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, clusterTimeout)
	defer cancel()
	if err := b.mail.JoinAjax(ctx, cid, uid, b.ajaxTTL); err != nil {
		b.log.Debug().Err(err).Str("client_id", cid).Msg("ajax route not written")
	}
}

// RemotePresence hands the other servers' presence to the registry.
func (b *backplane) RemotePresence(uids map[string]TransportSet) { b.reg.setRemote(uids) }

// AjaxReady wakes the polls of cid held here.
func (b *backplane) AjaxReady(cid string) {
	b.mu.Lock()
	for ch := range b.waiting[cid] {
		signal(ch)
	}
	b.mu.Unlock()
}

// mailbox is a held poll's side of its client's mailbox: the wake-ups
// AjaxReady gives, and the events to take. Without mailboxes it is never
// ready and always empty, and costs nothing.
type mailbox struct {
	b     *backplane
	cid   string
	ready chan struct{} // signalled when the mailbox got events; nil: never
	due   bool          // take the mailbox before the next answer
}

// openMailbox returns the mailbox of a poll of cid, due at once; close
// releases it.
func (b *backplane) openMailbox(cid string) mailbox {
	m := mailbox{b: b, cid: cid}
	if b.mail == nil {
		return m
	}
	m.ready, m.due = make(chan struct{}, 1), true
	b.mu.Lock()
	if b.waiting == nil {
		b.waiting = make(map[string]map[chan struct{}]struct{})
	}
	w := b.waiting[cid]
	if w == nil {
		w = make(map[chan struct{}]struct{}, 1)
		b.waiting[cid] = w
	}
	w[m.ready] = struct{}{}
	b.mu.Unlock()
	return m
}

// close stops the wake-ups of m.
func (m *mailbox) close() {
	if m.ready == nil {
		return
	}
	b := m.b
	b.mu.Lock()
	// m.ready is in the current map of cid: a map leaves waiting only
	// once empty.
	delete(b.waiting[m.cid], m.ready)
	if len(b.waiting[m.cid]) == 0 {
		delete(b.waiting, m.cid)
	}
	b.mu.Unlock()
}

// take returns the events waiting in the mailbox when it is due (once
// opened, then after each wake-up), oldest first; none when the cluster
// cannot be reached (it logs the outage).
func (m *mailbox) take() []protocol.Event {
	if !m.due {
		return nil
	}
	m.due = false
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	events, err := m.b.mail.TakeAjax(ctx, m.cid)
	if err != nil {
		m.b.log.Debug().Err(err).Str("client_id", m.cid).Msg("ajax mailbox not read")
	}
	return events
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

// errClusterUnavailable is returned by registry.bind when the Cluster
// cannot tell whether a client-id that only a bound client sends is known.
var errClusterUnavailable = errors.New("web: cluster unavailable")

// errBindingEnded is returned by registry.bindToken when the cluster
// knows that the binding a client token names has ended.
var errBindingEnded = errors.New("web: the client token's binding has ended")
