// Package percolator matches each new tweet against the live queries of
// BirdWatch's users (the :cmd/percolate registrations) and says which uids
// receive it as :tweet/new (docs/birdwatch.md §6).
//
// Each uid has at most one live query; registering a new one replaces it.
// Identical queries (equal query.Query.String) are stored once, with the
// set of their uids. Queries are indexed by their anchor terms
// (query.Anchors): for a new tweet only the queries anchored on one of its
// terms are evaluated, plus a short list of queries that have no anchor
// (such as "*" or a bare wildcard), so the cost of a tweet grows with the
// number of queries that could match it, not with the number registered.
//
// The queries checked for nearly every tweet, those without anchors and
// those anchored only on low-cardinality fields (lang:en, which every
// BirdWatch search carries), are the scan list; its cost is bounded. Each
// query has an estimated cost per tweet (Cost); Register refuses, with
// ErrTooCostly, a query over the per-query limit, and a scanned query
// that would take the scan list's total over its budget unless the query
// is cheap (Config.FreeScanCost: "*", a bare wildcard, any search of
// plain words). The defaults are DefaultMaxQueryCost, DefaultMaxScanCost
// and DefaultFreeScanCost.
//
// Query evaluation is compiled: terms become small integers, and a tweet's
// terms are marked in an array, so a candidate query costs a few array
// reads. Phrases, wildcards, ranges and the like fall back to
// query.Node.Match on the tweet.
package percolator

import (
	"fmt"
	"slices"
	"sync"

	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/tweet"
)

// Config configures a Percolator. The zero value works.
type Config struct {
	// DocFreq estimates how many tweets contain a term (for example the
	// store's document frequency). When a query has several possible
	// anchors (the required words of "(clojure java) AND lang:en"), the
	// rarest is chosen, so that the query is checked for as few tweets as
	// possible. It is called while registering, with the percolator's lock
	// held, so it must not call the percolator. ok false means unknown.
	// nil means a heuristic: low-cardinality fields such as lang are
	// avoided, and longer words are preferred.
	DocFreq func(f query.Field, term string) (n int, ok bool)
	// MaxQueryCost bounds the estimated cost (Cost) of one live query;
	// Register refuses a costlier one. Zero means DefaultMaxQueryCost,
	// a negative value no limit.
	MaxQueryCost int
	// MaxScanCost bounds the total cost of the distinct queries checked
	// for nearly every tweet (the scan list: queries without anchors, or
	// anchored only on low-cardinality fields such as lang): Register
	// refuses such a query if it would take the total over it, unless
	// the query costs at most FreeScanCost. Zero means
	// DefaultMaxScanCost, a negative value no limit.
	MaxScanCost int
	// FreeScanCost is the cost up to which a scanned query is accepted
	// whatever the scan list holds, so that the cheap searches everyone
	// makes ("*", a bare wildcard) are never refused. Zero means
	// DefaultFreeScanCost, a negative value none.
	FreeScanCost int
}

// Percolator holds the live queries. All methods are safe for concurrent
// use: Match takes a read lock (tweets are matched in parallel if the
// caller wishes), Register and Remove the write lock.
type Percolator struct {
	docFreq func(f query.Field, term string) (int, bool)
	limits  limits

	mu      sync.RWMutex // guards everything below
	byUID   map[string]*entry
	byQuery map[string]*entry // by query.Query.String
	entries []*entry          // by entry.slot; nil for free slots
	free    []int32           // free slots
	// dict interns the terms that registered queries use: per field,
	// term → id. Ids index postings and refs.
	dict     []map[string]int32
	postings [][]*entry // by term id: the entries anchored on the term
	refs     []int32    // by term id: how many references entries hold
	termKeys []termKey  // by term id: what the term is
	freeIDs  []int32
	always   []*entry // entries without anchors, checked for every tweet
	fields   []int32  // by field: how many dict terms it has (analysed only if > 0)
	// scanned and scanCost count the entries checked for nearly every
	// tweet (see Config.MaxScanCost) and their total cost.
	scanned, scanCost int

	scratch sync.Pool // of *scratch
}

// entry is one distinct query and the uids that registered it.
type entry struct {
	q       *query.Query
	prog    matcher
	uids    []string
	uidPos  map[string]int // index of each uid in uids
	slot    int32          // index in entries
	terms   []int32        // term ids the entry holds a reference to
	anchors []int32        // term ids it is indexed under (nil: always)
	pos     []int          // its index in postings[anchors[i]], or in always
	cost    int            // Cost(q)
	scanned bool           // checked for nearly every tweet
}

// New returns an empty percolator.
func New(cfg Config) *Percolator {
	return &Percolator{
		docFreq: cfg.DocFreq,
		limits:  newLimits(cfg),
		byUID:   map[string]*entry{},
		byQuery: map[string]*entry{},
		dict:    make([]map[string]int32, query.NumFields),
		fields:  make([]int32, query.NumFields),
	}
}

// Register makes q (not nil) the live query of uid, replacing its
// previous one. Registering a query with the same String again does
// nothing. A query too costly to percolate (see Config) is refused with
// an error wrapping ErrTooCostly, and nothing changes: uid keeps its
// previous query, if any. A query that another uid registered already
// costs nothing more and is always accepted.
func (p *Percolator) Register(uid string, q *query.Query) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := p.byUID[uid]
	if old != nil && old.q.String() == q.String() {
		return nil
	}
	e := p.byQuery[q.String()]
	var pl plan
	if e == nil {
		pl = p.planLocked(q)
		if err := p.admitLocked(pl, old); err != nil {
			return err
		}
	}
	if old != nil {
		p.removeLocked(uid, old)
	}
	if e == nil {
		e = p.addEntryLocked(q, pl)
	}
	e.uidPos[uid] = len(e.uids)
	e.uids = append(e.uids, uid)
	p.byUID[uid] = e
	return nil
}

// plan is what indexing a new query needs and what the limits weigh.
type plan struct {
	cost     int
	anchors  []query.Term
	anchored bool // false: no anchor set, the always list
	scanned  bool
}

func (p *Percolator) planLocked(q *query.Query) plan {
	anchors, ok := query.Anchors(q.Root(), p.cost)
	return plan{cost: Cost(q), anchors: anchors, anchored: ok, scanned: scanned(anchors, ok)}
}

// admitLocked checks a new entry's plan against the limits; old is the
// entry the registering uid leaves, if any (its cost is freed if the uid
// was its last).
func (p *Percolator) admitLocked(pl plan, old *entry) error {
	l := p.limits
	if l.maxQuery >= 0 && pl.cost > l.maxQuery {
		return fmt.Errorf("percolator: %w: estimated cost %d per tweet, over the limit of %d for one query",
			ErrTooCostly, pl.cost, l.maxQuery)
	}
	if !pl.scanned || l.maxScan < 0 || pl.cost <= l.freeScan {
		return nil
	}
	total := p.scanCost + pl.cost
	if old != nil && old.scanned && len(old.uids) == 1 {
		total -= old.cost
	}
	if total > l.maxScan {
		return fmt.Errorf("percolator: %w: checked for every tweet, its estimated cost %d would take the total of such queries to %d, over the limit of %d",
			ErrTooCostly, pl.cost, total, l.maxScan)
	}
	return nil
}

// Remove drops the live query of uid, if any.
func (p *Percolator) Remove(uid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.byUID[uid]; e != nil {
		p.removeLocked(uid, e)
	}
}

// Lookup returns the live query of uid.
func (p *Percolator) Lookup(uid string) (*query.Query, bool) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if e := p.byUID[uid]; e != nil {
		return e.q, true
	}
	return nil, false
}

// Len returns the number of uids with a live query.
func (p *Percolator) Len() int {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return len(p.byUID)
}

// Stats describes the percolator's index, for logs and tests.
type Stats struct {
	UIDs    int // uids with a live query
	Queries int // distinct queries
	Always  int // distinct queries without anchors, checked for every tweet
	// Scanned counts the distinct queries checked for nearly every tweet:
	// Always and those anchored only on low-cardinality fields; ScanCost
	// is the total of their Cost (see Config.MaxScanCost).
	Scanned, ScanCost int
	Terms             int // distinct terms the queries use
}

// Stats returns the current counts.
func (p *Percolator) Stats() Stats {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return Stats{UIDs: len(p.byUID), Queries: len(p.byQuery), Always: len(p.always),
		Scanned: p.scanned, ScanCost: p.scanCost, Terms: len(p.refs) - len(p.freeIDs)}
}

func (p *Percolator) removeLocked(uid string, e *entry) {
	delete(p.byUID, uid)
	i := e.uidPos[uid]
	last := len(e.uids) - 1
	if i != last {
		moved := e.uids[last]
		e.uids[i] = moved
		e.uidPos[moved] = i
	}
	e.uids = e.uids[:last]
	delete(e.uidPos, uid)
	if len(e.uids) == 0 {
		p.removeEntryLocked(e)
	}
}

// addEntryLocked compiles q, interns its terms and indexes it as pl says.
func (p *Percolator) addEntryLocked(q *query.Query, pl plan) *entry {
	e := &entry{q: q, uidPos: map[string]int{}, cost: pl.cost, scanned: pl.scanned}
	if e.scanned {
		p.scanned++
		p.scanCost += e.cost
	}
	c := compiler{p: p, e: e}
	e.prog = c.compile(q.Root())
	if pl.anchored {
		e.anchors = make([]int32, 0, len(pl.anchors))
		for _, t := range pl.anchors {
			e.anchors = append(e.anchors, c.intern(t.Field, t.Value))
		}
		e.pos = make([]int, len(e.anchors))
		for i, id := range e.anchors {
			e.pos[i] = len(p.postings[id])
			p.postings[id] = append(p.postings[id], e)
		}
		// An empty anchor set (a query that matches nothing) is indexed
		// nowhere and never checked.
	} else {
		e.pos = []int{len(p.always)}
		p.always = append(p.always, e)
	}
	if n := len(p.free); n > 0 {
		e.slot = p.free[n-1]
		p.free = p.free[:n-1]
		p.entries[e.slot] = e
	} else {
		e.slot = int32(len(p.entries))
		p.entries = append(p.entries, e)
	}
	p.byQuery[q.String()] = e
	return e
}

func (p *Percolator) removeEntryLocked(e *entry) {
	delete(p.byQuery, e.q.String())
	if e.scanned {
		p.scanned--
		p.scanCost -= e.cost
	}
	if e.anchors == nil {
		p.always = removeAt(p.always, e.pos[0], func(moved *entry) *int { return &moved.pos[0] })
	} else {
		for i, id := range e.anchors {
			p.postings[id] = removeAt(p.postings[id], e.pos[i], func(moved *entry) *int {
				return &moved.pos[slices.Index(moved.anchors, id)]
			})
		}
	}
	for _, id := range e.terms {
		p.release(id)
	}
	p.entries[e.slot] = nil
	p.free = append(p.free, e.slot)
}

// removeAt swap-removes list[i], fixing the moved entry's position through
// posOf.
func removeAt(list []*entry, i int, posOf func(moved *entry) *int) []*entry {
	last := len(list) - 1
	if i != last {
		moved := list[last]
		list[i] = moved
		*posOf(moved) = i
	}
	list[last] = nil
	return list[:last]
}

// intern returns the id of (f, term), creating it with one reference, or
// adding a reference to the existing one.
func (p *Percolator) intern(f query.Field, term string) int32 {
	m := p.dict[f]
	if m == nil {
		m = map[string]int32{}
		p.dict[f] = m
	}
	if id, ok := m[term]; ok {
		p.refs[id]++
		return id
	}
	var id int32
	if n := len(p.freeIDs); n > 0 {
		id = p.freeIDs[n-1]
		p.freeIDs = p.freeIDs[:n-1]
	} else {
		id = int32(len(p.refs))
		p.refs = append(p.refs, 0)
		p.postings = append(p.postings, nil)
		p.termKeys = append(p.termKeys, termKey{})
	}
	m[term] = id
	p.refs[id] = 1
	p.termKeys[id] = termKey{f, term}
	p.fields[f]++
	return id
}

// termKey is the field and text of an interned term.
type termKey struct {
	f    query.Field
	term string
}

// release drops one reference to a term id, freeing it at zero.
func (p *Percolator) release(id int32) {
	p.refs[id]--
	if p.refs[id] > 0 {
		return
	}
	k := p.termKeys[id]
	delete(p.dict[k.f], k.term)
	p.fields[k.f]--
	p.termKeys[id] = termKey{}
	p.postings[id] = nil
	p.freeIDs = append(p.freeIDs, id)
}

// cost estimates how many tweets contain t, to choose anchors.
func (p *Percolator) cost(t query.Term) float64 {
	if p.docFreq != nil {
		if n, ok := p.docFreq(t.Field, t.Value); ok {
			// Ties (unseen terms) go to the longer word.
			return float64(n) + 1/float64(len(t.Value)+1)
		}
	}
	if t.Field.LowCardinality() {
		return 1e9
	}
	// Shorter words tend to be more frequent.
	return 1e6 / float64(len(t.Value)+1)
}

// Match returns the uids whose live query matches t, in no particular
// order; nil when there are none. Each matching query's uids are included
// once. t must not be modified during the call.
func (p *Percolator) Match(t *tweet.Tweet) []string {
	s := p.getScratch(t)
	defer p.scratch.Put(s)
	p.mu.RLock()
	defer p.mu.RUnlock()
	s.prepare(len(p.refs), len(p.entries))

	// Mark the tweet's terms that some query uses.
	for f, n := range p.fields {
		if n == 0 {
			continue
		}
		m := p.dict[f]
		for _, tok := range s.doc.Tokens(query.Field(f)) {
			if id, ok := m[tok.Text]; ok && s.termStamp[id] != s.epoch {
				s.termStamp[id] = s.epoch
				s.terms = append(s.terms, id)
			}
		}
	}
	s.matched = s.matched[:0]
	total := 0
	check := func(e *entry) {
		if s.entryStamp[e.slot] == s.epoch {
			return
		}
		s.entryStamp[e.slot] = s.epoch
		if e.prog.match(s) {
			s.matched = append(s.matched, e)
			total += len(e.uids)
		}
	}
	for _, id := range s.terms {
		for _, e := range p.postings[id] {
			check(e)
		}
	}
	for _, e := range p.always {
		check(e)
	}
	if total == 0 {
		return nil
	}
	out := make([]string, 0, total)
	for _, e := range s.matched {
		out = append(out, e.uids...)
	}
	clear(s.matched)
	return out
}

// scratch is the per-call state of Match, pooled.
type scratch struct {
	doc        *query.Doc
	epoch      uint32
	termStamp  []uint32 // by term id: epoch when the tweet has the term
	entryStamp []uint32 // by entry slot: epoch when already checked
	terms      []int32  // the tweet's marked terms
	matched    []*entry // the entries that matched
}

func (p *Percolator) getScratch(t *tweet.Tweet) *scratch {
	s, _ := p.scratch.Get().(*scratch)
	if s == nil {
		s = &scratch{doc: query.NewDoc(nil)}
	}
	s.doc.Reset(t)
	return s
}

// prepare sizes the stamp arrays and starts a new epoch.
func (s *scratch) prepare(terms, entries int) {
	if len(s.termStamp) < terms {
		s.termStamp = append(s.termStamp, make([]uint32, terms-len(s.termStamp))...)
	}
	if len(s.entryStamp) < entries {
		s.entryStamp = append(s.entryStamp, make([]uint32, entries-len(s.entryStamp))...)
	}
	s.terms = s.terms[:0]
	s.epoch++
	if s.epoch == 0 { // wrapped: old stamps could collide
		clear(s.termStamp)
		clear(s.entryStamp)
		s.epoch = 1
	}
}
