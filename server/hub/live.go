package hub

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/transit"
)

// Live queries in a cluster
//
// Every instance keeps a replica of every uid's live query (a LiveEntry),
// shared through Peers, and exactly one instance percolates it: the one
// its :cmd/percolate reached while that one is alive, else the one a
// rendezvous hash of the uid picks among the instances alive. So a live
// query survives the death of its instance (another takes it over within
// the cluster's presence TTL) and a Redis that restarts empty (the
// replicas are written back). It is dropped when its uid has been
// connected nowhere for LiveGrace, by the instance percolating it, and
// never while the cluster cannot tell who is connected (Peers.Settled):
// an instance that loses Redis sees the uids of the others leave.

// LiveEntry is a uid's live query as the instances of a cluster share it:
// what its latest :cmd/percolate carried, and when and where it arrived.
type LiveEntry struct {
	UID string
	// At is when the :cmd/percolate arrived; of two entries of one uid,
	// the later wins.
	At time.Time
	// Instance is the instance it arrived at (Peers.Instance), which
	// percolates it while it is alive.
	Instance string
	// Data is the Transit JSON of [query tag]: the :query and :tag of the
	// :cmd/percolate.
	Data []byte
}

// Peers shares the live queries of a cluster's instances (peers.Redis).
// Its methods must not block. It calls back the hub's Apply, Drop and
// Reconcile with what the other instances shared.
type Peers interface {
	// Instance is this instance's id.
	Instance() string
	// Instances returns the ids of the instances alive, this one
	// included, sorted; the instances agree on it but for moments.
	Instances() []string
	// Set shares e, unless a later entry of its uid is shared already.
	Set(e LiveEntry)
	// Delete removes the entry of uid that arrived at at, or earlier,
	// unless a later one replaced it.
	Delete(uid string, at time.Time)
	// Settled reports whether the cluster tells who is connected
	// (Transport.ConnectedUIDs covers every instance): false while it is
	// unreachable, and for a while after.
	Settled() bool
}

// liveQuery is what an instance keeps of a uid's live query.
type liveQuery struct {
	entry LiveEntry
	q     *query.Query // parsed: when percolated here, or received here
	tag   any          // the :tag of its :cmd/percolate, once parsed
	owned bool         // percolated here (registered in the percolator)
	bad   bool         // Data does not parse: never percolated
	seen  time.Time    // when its uid was last known connected, or registered
}

// ownsLocked reports whether this instance percolates e. Callers hold mu.
func (h *Hub) ownsLocked(e LiveEntry) bool {
	if h.cfg.Peers == nil || e.Instance == h.self {
		return true
	}
	if _, alive := slices.BinarySearch(h.members, e.Instance); alive || !h.settled {
		return false // an instance missing from an unsettled view may be alive
	}
	return rendezvous(e.UID, h.members) == h.self
}

// rendezvous returns the member that scores highest for uid: every
// instance computes the same from the same members, and when a member
// leaves only its own uids move.
func rendezvous(uid string, members []string) string {
	best, bestScore := "", uint64(0)
	for _, m := range members {
		f := fnv.New64a()
		f.Write([]byte(uid))
		f.Write([]byte{0})
		f.Write([]byte(m))
		if s := mix64(f.Sum64()); best == "" || s > bestScore {
			best, bestScore = m, s
		}
	}
	return best
}

// mix64 is a 64-bit finalizer (from splitmix64): it spreads FNV's weak
// low bits over the whole word.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// maxSharedBytes bounds the Data of a LiveEntry: every instance and Redis
// keep one per uid. A larger live query (BirdWatch's are tens of bytes)
// is percolated where it arrived only, and lost with that instance.
const maxSharedBytes = 8 << 10

// encodeLive returns the Data of a LiveEntry.
func encodeLive(rawQuery, tag any) ([]byte, error) {
	b, err := transit.Marshal([]any{rawQuery, tag})
	if err != nil {
		return nil, fmt.Errorf("hub: encoding a live query: %w", err)
	}
	return b, nil
}

// decodeLive reads the Data of a LiveEntry.
func decodeLive(data []byte) (*query.Query, any, error) {
	v, err := transit.Unmarshal(data)
	if err != nil {
		return nil, nil, fmt.Errorf("hub: decoding a live query: %w", err)
	}
	pair, ok := v.([]any)
	if !ok || len(pair) != 2 {
		return nil, nil, fmt.Errorf("hub: a live query is %T, not [query tag]", v)
	}
	q, err := query.FromMap(pair[0])
	if err != nil {
		return nil, nil, fmt.Errorf("hub: a shared live query does not parse: %w", err)
	}
	return q, pair[1], nil
}

// setOwnedLocked makes this instance percolate lq, or stop to. Callers
// hold mu.
func (h *Hub) setOwnedLocked(lq *liveQuery, own bool) {
	switch {
	case own == lq.owned:
	case !own:
		h.cfg.Percolator.Remove(lq.entry.UID)
		lq.owned = false
	case lq.bad:
	default:
		if lq.q == nil {
			q, tag, err := decodeLive(lq.entry.Data)
			if err != nil {
				lq.bad = true
				h.log.Warn().Err(err).Str("uid", lq.entry.UID).Msg("shared live query not percolated")
				return
			}
			lq.q, lq.tag = q, tag
		}
		if err := h.cfg.Percolator.Register(lq.entry.UID, lq.q); err != nil {
			lq.bad = true // this instance's scan list is fuller than where it arrived
			h.log.Warn().Err(err).Str("uid", lq.entry.UID).Msg("shared live query not percolated")
			return
		}
		lq.owned = true
	}
}

// registerLocal makes r's query, which a :cmd/percolate carried here,
// uid's live query, percolated here, and shares it. A query the
// percolator refuses (too costly) removes the uid's previous one all the
// same, here and on the other instances (the user started another
// search, which the old one must not feed); the error is returned.
func (h *Hub) registerLocal(r registration) error {
	var data []byte
	if h.cfg.Peers != nil {
		var err error
		if data, err = encodeLive(r.raw, r.tag); err != nil {
			h.log.Warn().Err(err).Str("uid", r.uid).Msg("live query not shared")
		} else if len(data) > maxSharedBytes {
			h.log.Warn().Str("uid", r.uid).Int("bytes", len(data)).Msg("live query too large to share: percolated here only")
			data = nil
		}
	}
	h.mu.Lock()
	at := time.Now()
	old := h.live[r.uid]
	if old != nil && !at.After(old.entry.At) {
		at = old.entry.At.Add(time.Nanosecond) // a later search wins, whatever the clocks say
	}
	if old != nil {
		delete(h.live, r.uid)
	}
	// Register replaces the uid's previous query in one step: a history
	// query of the previous search never sees the uid without one.
	if err := h.cfg.Percolator.Register(r.uid, r.q); err != nil {
		if old != nil && old.owned {
			h.cfg.Percolator.Remove(r.uid) // a refusal left the previous one
		}
		h.mu.Unlock()
		if old != nil && h.cfg.Peers != nil {
			h.cfg.Peers.Delete(r.uid, old.entry.At)
		}
		return err
	}
	e := LiveEntry{UID: r.uid, At: at, Instance: h.self, Data: data}
	h.live[r.uid] = &liveQuery{entry: e, q: r.q, tag: r.tag, owned: true, seen: at}
	h.mu.Unlock()
	switch {
	case h.cfg.Peers == nil:
	case data != nil:
		h.cfg.Peers.Set(e)
	case old != nil:
		// Not shared: the others must at least drop the previous search.
		h.cfg.Peers.Delete(r.uid, old.entry.At)
	}
	return nil
}

// Apply takes e, shared by another instance (or by this one, echoed), as
// its uid's live query unless a later one is known. Peers calls it; it
// is safe from any goroutine.
func (h *Hub) Apply(e LiveEntry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.applyLocked(e, time.Now())
}

func (h *Hub) applyLocked(e LiveEntry, now time.Time) {
	cur := h.live[e.UID]
	if cur != nil && !cur.entry.At.Before(e.At) {
		return // as recent or later
	}
	if cur != nil {
		h.setOwnedLocked(cur, false)
	}
	lq := &liveQuery{entry: e, seen: now}
	h.live[e.UID] = lq
	h.setOwnedLocked(lq, h.ownsLocked(e))
}

// Drop removes uid's live query if it arrived at at or before: the
// instance percolating it dropped it (its uid left). Peers calls it; it
// is safe from any goroutine.
func (h *Hub) Drop(uid string, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur := h.live[uid]; cur != nil && !cur.entry.At.After(at) {
		h.setOwnedLocked(cur, false)
		delete(h.live, uid)
	}
}

// Reconcile merges all, every live query the cluster shares, into this
// instance's: later entries win. When lost is false, all is complete, and
// an entry missing from it that another instance percolates was dropped
// there. Reconcile returns the entries the cluster lacks or has older
// versions of: every entry held here when lost, only those percolated
// here otherwise. Peers calls it; it is safe from any goroutine.
func (h *Hub) Reconcile(all map[string]LiveEntry, lost bool) []LiveEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	for _, e := range all {
		h.applyLocked(e, now)
	}
	var missing []LiveEntry
	for uid, lq := range h.live {
		shared, ok := all[uid]
		if ok && !shared.At.Before(lq.entry.At) {
			continue
		}
		switch {
		case lq.entry.Data == nil: // not shareable (logged when registered)
		case lost || h.ownsLocked(lq.entry):
			missing = append(missing, lq.entry)
		case !ok:
			h.setOwnedLocked(lq, false)
			delete(h.live, uid)
		}
	}
	return missing
}

// LiveCount returns how many live queries this instance knows, and how
// many of them it percolates.
func (h *Hub) LiveCount() (known, percolated int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, lq := range h.live {
		if lq.owned {
			percolated++
		}
	}
	return len(h.live), percolated
}

// reown takes over the live queries of instances that are gone, and hands
// back those of instances that returned, when the instances alive
// changed or the cluster settled (only a settled cluster's view tells an
// instance is gone: a new instance's, or one that lost Redis, lacks
// instances alive).
func (h *Hub) reown() {
	if h.cfg.Peers == nil {
		return
	}
	members, settled := h.cfg.Peers.Instances(), h.cfg.Peers.Settled()
	h.mu.Lock()
	defer h.mu.Unlock()
	if slices.Equal(members, h.members) && settled == h.settled {
		return
	}
	h.members, h.settled = members, settled
	took, gave := 0, 0
	for _, lq := range h.live {
		was := lq.owned
		h.setOwnedLocked(lq, h.ownsLocked(lq.entry))
		switch {
		case lq.owned && !was:
			took++
		case was && !lq.owned:
			gave++
		}
	}
	h.log.Info().Int("instances", len(members)).Bool("settled", settled).Int("taken_over", took).Int("handed_back", gave).Msg("instances changed: live queries re-homed")
}

// sweep drops the live queries percolated here whose uid has been
// connected nowhere for LiveGrace, unless the cluster cannot tell.
func (h *Hub) sweep(now time.Time) {
	if h.cfg.Peers != nil && !h.cfg.Peers.Settled() {
		return
	}
	connected := h.cfg.Transport.ConnectedUIDs().Any
	var dropped []LiveEntry
	h.mu.Lock()
	for uid, lq := range h.live {
		if _, ok := slices.BinarySearch(connected, uid); ok {
			lq.seen = now
			continue
		}
		if now.Sub(lq.seen) < h.cfg.LiveGrace || !h.ownsLocked(lq.entry) {
			continue // the instance percolating it decides
		}
		h.setOwnedLocked(lq, false)
		delete(h.live, uid)
		dropped = append(dropped, lq.entry)
	}
	h.mu.Unlock()
	if h.cfg.Peers == nil {
		return
	}
	for _, e := range dropped {
		h.cfg.Peers.Delete(e.UID, e.At)
	}
}
