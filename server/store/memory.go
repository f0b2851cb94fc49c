package store

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/query"
	"github.com/sente-go/sente/server/tweet"
)

// Defaults and limits of Config.
const (
	// DefaultCapacity is how many tweets a store keeps by default.
	DefaultCapacity = 100_000
	// MaxCapacity bounds Config.Capacity.
	MaxCapacity = 100_000_000
	// MaxPage is the most results one Search returns; the client asks
	// for 500.
	MaxPage = 10_000
)

// Errors returned by Memory.
var (
	// ErrNoID is returned by Add for a tweet without a positive id.
	ErrNoID = errors.New("store: tweet has no id")
	// ErrClosed is returned by Add after Close.
	ErrClosed = errors.New("store: closed")
)

// DefaultIndexedFields returns the fields a store indexes when
// Config.IndexedFields is nil: the ones BirdWatch users search.
func DefaultIndexedFields() []string {
	return []string{
		"text", "lang", "id_str",
		"user.screen_name", "user.name",
		"entities.hashtags.text", "entities.user_mentions.screen_name",
		"retweeted_status.user.screen_name",
	}
}

// Config configures a Memory store. The zero value keeps the newest
// 100,000 tweets in memory only.
type Config struct {
	// Capacity is the most tweets kept; when a tweet is added to a full
	// store, the oldest (smallest id) is evicted. 0 means DefaultCapacity;
	// at most MaxCapacity.
	Capacity int
	// Path, when set, makes the store persistent: an append-only JSONL
	// file of Twitter JSON (one status per line, the format source.Replay
	// reads). New loads it, keeping the newest Capacity tweets; Add
	// appends to it, the line reaching the file (the operating system's
	// cache, which outlives the process) within a second; it is rewritten (compacted) on load when it holds
	// more than the store keeps, and while running when it grows past
	// twice the capacity. "" means memory only.
	Path string
	// IndexedFields are the fields (query.Field names) kept in the
	// inverted index. Queries on other fields still work, by checking
	// candidate tweets one by one, which is slower. nil means
	// DefaultIndexedFields.
	IndexedFields []string
	// Logger receives warnings about lines of the file that cannot be
	// read, and the file's write errors (once per failure, and when the
	// file is written again). The zero value logs nothing.
	Logger zerolog.Logger

	// The cost budget of one search: a query that would exceed it gets
	// ErrOverBudget from Search, so that no query holds the store (whose
	// read lock keeps Add waiting) or its memory for long. The defaults
	// answer or refuse any query the parser accepts within about 60 ms of
	// one core at 100,000 tweets, and are far above what a BirdWatch
	// search costs (see DefaultMaxWork).

	// MaxExpansions is the most index terms one wildcard, fuzzy term,
	// regular expression or term range may match: one more refuses the
	// query (Elasticsearch keeps the 50 closest terms of a fuzzy term;
	// here every term within the distance counts). 0 means
	// DefaultMaxExpansions (10,000).
	MaxExpansions int
	// MaxClauses is the most posting lists one query may combine: its
	// terms (each word of a phrase) and the terms its wildcards, fuzzy
	// terms, regular expressions and ranges match. A search's memory is
	// proportional to them (about 100 bytes each). 0 means
	// DefaultMaxClauses (20,000).
	MaxClauses int
	// MaxWork bounds the work of one search, in units of about one step
	// along a posting list (10 ns): scanning the index's dictionary for
	// the terms of a wildcard, fuzzy term, regular expression or range
	// (8 units per term, more for long terms and complex patterns, 16 per
	// term found), moving along posting lists (one unit per step), and
	// checking a candidate tweet with query.Node.Match where the index
	// cannot decide (12 units, one more per leaf of the query, 8 per value
	// of a field and 2 per byte of text analysed). The count does not
	// depend on the machine or its load: a query is answered or refused
	// the same way every time on the same tweets. 0 means DefaultMaxWork
	// (6,000,000).
	MaxWork int64
	// SearchTimeout is a backstop to MaxWork, should its units misjudge
	// some query: a search still running after it (once the read lock is
	// held) stops with ErrOverBudget. 0 means DefaultSearchTimeout
	// (250 ms); a negative value means none.
	SearchTimeout time.Duration
}

// limits resolves the budget fields of cfg.
func (cfg Config) limits() (limits, error) {
	l := limits{maxExpansions: cfg.MaxExpansions, maxClauses: cfg.MaxClauses, maxWork: cfg.MaxWork, timeout: cfg.SearchTimeout}
	if l.maxExpansions < 0 || l.maxClauses < 0 || l.maxWork < 0 {
		return l, fmt.Errorf("store: negative limit (MaxExpansions %d, MaxClauses %d, MaxWork %d)", cfg.MaxExpansions, cfg.MaxClauses, cfg.MaxWork)
	}
	l.maxExpansions = cmp.Or(l.maxExpansions, DefaultMaxExpansions)
	l.maxClauses = cmp.Or(l.maxClauses, DefaultMaxClauses)
	l.maxWork = cmp.Or(l.maxWork, DefaultMaxWork)
	l.timeout = cmp.Or(l.timeout, DefaultSearchTimeout)
	return l, nil
}

// Memory is the in-memory tweet store: the tweets by id, an inverted index
// of their indexed fields, and optionally a file that keeps them across
// restarts.
//
// Every method is safe for concurrent use. Searches share a read lock and
// run in parallel; Add takes the write lock for the time it takes to index
// one tweet (microseconds) and writes the file after releasing it. Stored
// tweets are slim copies (tweet.Tweet.Slim) and are never modified, so
// results are built outside the lock.
type Memory struct {
	capacity int
	indexed  []query.Field
	isIndex  []bool // by query.Field
	limits   limits

	mu       sync.RWMutex // guards everything below; lock order: file.mu, then mu
	closed   bool
	docs     []*tweet.Tweet // sorted by id, oldest first
	docIDs   []int64        // the ids of docs, for iterating all documents
	byID     map[int64]*tweet.Tweet
	postings []*terms   // by query.Field; nil for fields not indexed
	doc      *query.Doc // reused to analyse the tweet being added or removed
	seen     []string   // reused to drop a document's repeated tokens

	file *file // nil without Config.Path
}

// posting is the sorted (ascending) ids of the tweets containing a term.
type posting struct {
	ids []int64
}

// New returns a store for cfg, loading cfg.Path when it is set. The caller
// must Close a persistent store to flush its file.
func New(cfg Config) (*Memory, error) {
	if cfg.Capacity == 0 {
		cfg.Capacity = DefaultCapacity
	}
	if cfg.Capacity < 0 || cfg.Capacity > MaxCapacity {
		return nil, fmt.Errorf("store: capacity %d outside [1, %d]", cfg.Capacity, MaxCapacity)
	}
	if cfg.IndexedFields == nil {
		cfg.IndexedFields = DefaultIndexedFields()
	}
	lim, err := cfg.limits()
	if err != nil {
		return nil, err
	}
	s := &Memory{
		capacity: cfg.Capacity,
		limits:   lim,
		isIndex:  make([]bool, query.NumFields),
		byID:     make(map[int64]*tweet.Tweet),
		postings: make([]*terms, query.NumFields),
		doc:      query.NewDoc(nil),
	}
	for _, name := range cfg.IndexedFields {
		f, ok := query.LookupField(name)
		if !ok {
			return nil, fmt.Errorf("store: unknown indexed field %q", name)
		}
		if f.Kind() == query.Number {
			return nil, fmt.Errorf("store: number field %q cannot be indexed", name)
		}
		if !s.isIndex[f] {
			s.isIndex[f] = true
			s.indexed = append(s.indexed, f)
			s.postings[f] = newTerms()
		}
	}
	if cfg.Path != "" {
		f, err := openFile(s, cfg.Path, cfg.Logger)
		if err != nil {
			return nil, err
		}
		s.file = f
	}
	return s, nil
}

// Add stores t (a slim copy of it), replacing a stored tweet with the same
// id, and evicts the oldest tweets beyond the capacity; a tweet older than
// every stored one is not kept when the store is full. With a file, t is
// then appended to it (as the JSON it was read from, if any), and written
// within a second. The file's write errors are not Add's: the store logs
// the failure once (Config.Logger), keeps the tweets in memory, rewrites
// the file from them as soon as it can, and Flush and Close return the
// error meanwhile. t must not be modified after Add. Errors: ErrNoID,
// ErrClosed, or the error of encoding t for the file.
func (s *Memory) Add(t *tweet.Tweet) error {
	if t == nil || t.ID <= 0 {
		return ErrNoID
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.insertLocked(t.Slim())
	s.mu.Unlock()
	if s.file != nil {
		return s.file.append(t)
	}
	return nil
}

// insertLocked adds t to the documents and the index. Callers hold mu.
func (s *Memory) insertLocked(t *tweet.Tweet) {
	if old, ok := s.byID[t.ID]; ok {
		s.removeLocked(old)
	}
	n := len(s.docs)
	if n >= s.capacity && t.ID < s.docIDs[0] {
		return
	}
	if n == 0 || s.docIDs[n-1] < t.ID {
		s.docs = append(s.docs, t)
		s.docIDs = append(s.docIDs, t.ID)
	} else {
		i := sort.Search(n, func(i int) bool { return s.docIDs[i] > t.ID })
		s.docs = slices.Insert(s.docs, i, t)
		s.docIDs = slices.Insert(s.docIDs, i, t.ID)
	}
	s.byID[t.ID] = t
	s.eachTerm(t, func(f query.Field, term string) {
		ts := s.postings[f]
		p := ts.get(term)
		if p == nil {
			p = &posting{}
			ts.put(strings.Clone(term), p) // a substring would pin the tweet's text
		}
		p.insert(t.ID)
	})
	for len(s.docs) > s.capacity {
		s.removeLocked(s.docs[0])
	}
}

// removeLocked removes a stored tweet. Callers hold mu.
func (s *Memory) removeLocked(t *tweet.Tweet) {
	i, found := slices.BinarySearch(s.docIDs, t.ID)
	if !found {
		return
	}
	if i == 0 {
		// The common case, eviction of the oldest: drop the front, and the
		// reference, so the tweet can be collected before append copies.
		s.docs[0] = nil
		s.docs, s.docIDs = s.docs[1:], s.docIDs[1:]
	} else {
		s.docs = slices.Delete(s.docs, i, i+1)
		s.docIDs = slices.Delete(s.docIDs, i, i+1)
	}
	delete(s.byID, t.ID)
	s.eachTerm(t, func(f query.Field, term string) {
		ts := s.postings[f]
		if p := ts.get(term); p != nil {
			p.remove(t.ID)
			if len(p.ids) == 0 {
				ts.delete(term)
			}
		}
	})
}

// eachTerm calls fn once for every distinct term of every indexed field of
// t. Callers hold mu (it uses the shared scratch Doc).
func (s *Memory) eachTerm(t *tweet.Tweet, fn func(f query.Field, term string)) {
	s.doc.Reset(t)
	for _, f := range s.indexed {
		s.seen = s.seen[:0]
	tokens:
		for _, tok := range s.doc.Tokens(f) {
			for _, x := range s.seen {
				if x == tok.Text {
					continue tokens
				}
			}
			s.seen = append(s.seen, tok.Text)
			fn(f, tok.Text)
		}
	}
	clear(s.seen)
	s.doc.Reset(nil)
}

func (p *posting) insert(id int64) {
	n := len(p.ids)
	if n == 0 || p.ids[n-1] < id {
		p.ids = append(p.ids, id)
		return
	}
	if i, found := slices.BinarySearch(p.ids, id); !found {
		p.ids = slices.Insert(p.ids, i, id)
	}
}

func (p *posting) remove(id int64) {
	if len(p.ids) > 0 && p.ids[0] == id {
		p.ids = p.ids[1:]
		return
	}
	if i, found := slices.BinarySearch(p.ids, id); found {
		p.ids = slices.Delete(p.ids, i, i+1)
	}
}

// Search returns the tweets matching q, newest (largest id) first,
// skipping the first from matches and returning at most n (at most
// MaxPage), stripped for the client (tweet.Tweet.Strip). A negative from
// counts as 0; n ≤ 0 gives an empty result. The result is never nil
// unless err is; the only error is one wrapping ErrOverBudget, for a
// query that costs more than the Config's limits.
func (s *Memory) Search(q *query.Query, from, n int) ([]tweet.Stripped, error) {
	hits, err := s.SearchTweets(q, from, n)
	if err != nil {
		return nil, err
	}
	out := make([]tweet.Stripped, len(hits))
	for i, t := range hits {
		out[i] = t.Strip()
	}
	return out, nil
}

// SearchTweets is Search returning the stored (slim, read-only) tweets.
func (s *Memory) SearchTweets(q *query.Query, from, n int) ([]*tweet.Tweet, error) {
	from = max(from, 0)
	n = min(n, MaxPage)
	if n <= 0 {
		return []*tweet.Tweet{}, nil
	}
	hits, b := s.search(q, from, n, s.limits)
	if b.err != nil {
		return nil, b.err
	}
	return hits, nil
}

// search is SearchTweets with the given limits, returning the budget
// spent (b.err is its error). n is in [1, MaxPage], from ≥ 0.
func (s *Memory) search(q *query.Query, from, n int, l limits) (hits []*tweet.Tweet, b *budget) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b = newBudget(l)
	it := s.iteratorLocked(q, b)
	hits = make([]*tweet.Tweet, 0, min(n, len(s.docs)))
	for id := it.advance(math.MaxInt64); id != none; id = it.advance(id - 1) {
		if from > 0 {
			from--
			continue
		}
		hits = append(hits, s.byID[id])
		if len(hits) == n {
			break
		}
	}
	return hits, b
}

// Get returns the stored tweet with the given id_str, stripped.
func (s *Memory) Get(idStr string) (tweet.Stripped, bool) {
	t, ok := s.GetTweet(idStr)
	if !ok {
		return tweet.Stripped{}, false
	}
	return t.Strip(), true
}

// GetTweet returns the stored (slim, read-only) tweet with the given id_str.
func (s *Memory) GetTweet(idStr string) (*tweet.Tweet, bool) {
	id, err := strconv.ParseInt(idStr, 10, 64)
	if err != nil {
		return nil, false
	}
	s.mu.RLock()
	t, ok := s.byID[id]
	s.mu.RUnlock()
	return t, ok
}

// Count returns the number of stored tweets.
func (s *Memory) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.docs)
}

// DocFreq returns how many stored tweets contain term in field f. ok is
// false when f is not indexed.
func (s *Memory) DocFreq(f query.Field, term string) (n int, ok bool) {
	if int(f) >= len(s.isIndex) || !s.isIndex[f] {
		return 0, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p := s.postings[f].get(term); p != nil {
		return len(p.ids), true
	}
	return 0, true
}

// Flush writes buffered tweets to the file and syncs it (a file that
// could not be written is rewritten first); without a file it does
// nothing.
func (s *Memory) Flush() error {
	if s.file == nil {
		return nil
	}
	return s.file.flush()
}

// Close flushes and closes the file and stops its flush timer; later Adds
// fail with ErrClosed.
// Searches keep working. Close is idempotent.
func (s *Memory) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already || s.file == nil {
		return nil
	}
	return s.file.close()
}

// snapshot returns the stored tweets, oldest first.
func (s *Memory) snapshot() []*tweet.Tweet {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.docs)
}
