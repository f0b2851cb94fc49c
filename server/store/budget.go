package store

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrOverBudget is returned by Search and SearchTweets for a query that
// costs more than the store's limits allow (Config.MaxExpansions,
// MaxClauses, MaxWork, SearchTimeout). The error wrapping it says which
// limit the query reached. Check with errors.Is.
var ErrOverBudget = errors.New("store: query over budget")

// Default limits of Config. A BirdWatch search stays far below them: a
// few words cost 1,000–20,000 units of work (the tenth page of results
// included); a two-letter prefix ("pr*") matches a few hundred terms of
// 100,000 synthetic tweets (about 800 of 1,000,000), "a*" about 1,400
// (10,000); a fuzzy term or a leading wildcard scans the whole dictionary,
// 56,000 terms (about 1,000,000 units), or 320,000 at 1,000,000 tweets
// (5,000,000 units).
const (
	// DefaultMaxExpansions is the default Config.MaxExpansions. "*e*"
	// matches 20,000 terms of 100,000 tweets.
	DefaultMaxExpansions = 10_000
	// DefaultMaxClauses is the default Config.MaxClauses: about 2 MB of
	// iterators.
	DefaultMaxClauses = 20_000
	// DefaultMaxWork is the default Config.MaxWork: at most about 60 ms of
	// one core of the machine the units were measured on, whatever the
	// query (BenchmarkAdversarial), 20–40 ms for most kinds of work. A
	// search of a field that is not indexed checks tweets one by one: at
	// 100,000 tweets, one that few of them match costs 7,000,000 units or
	// more, and is refused.
	DefaultMaxWork = 6_000_000
	// DefaultSearchTimeout is the default Config.SearchTimeout: several
	// times what DefaultMaxWork takes, so that only a misjudged query
	// reaches it, even on a busy machine.
	DefaultSearchTimeout = 250 * time.Millisecond
)

// Units of work, in which Config.MaxWork is counted. One unit is about
// 10 ns of one core of the machine the weights were measured on: about
// one step along a posting list. The other steps are weighed against it
// from measurements of the slowest queries of their kind.
const (
	// A step along a posting list costs one unit; a step of a union of k
	// lists one more per 4 levels of its heap (log2 k).
	//
	// termUnits is visiting one term of the index's dictionary when
	// scanning it for a wildcard, fuzzy term, regular expression or range
	// (a cache miss, mostly); matching it costs its length times the
	// node's MatchCost times the weight of its kind, in eighths of a unit;
	// a term that matches costs expansionUnits more (a posting list to
	// walk: allocated and heaped).
	termUnits      = 8
	expansionUnits = 16
	// The weights: about 5 ns for a wildcard (one part tried at one byte),
	// 1 ns for a fuzzy term (one cell of the edit-distance table), 5 ns
	// for a regular expression (one instruction at one byte: most patterns
	// take a tenth of that, the worst seen 7 ns), 5 ns for a range (two
	// string comparisons).
	wildcardWeight = 4
	fuzzyWeight    = 1
	regexpWeight   = 4
	rangeWeight    = 4
	// Checking a candidate tweet with query.Node.Match costs checkUnits,
	// plus one unit per leaf of the query, plus fieldUnits per field
	// loaded, valueUnits per value found in them and byteUnits per byte of
	// text analysed.
	checkUnits = 12
	fieldUnits = 2
	valueUnits = 8
	byteUnits  = 2
	// clockEvery is how much work passes between two readings of the
	// clock, for the timeout.
	clockEvery = 4096
)

// budget is the cost account of one search: every step of planning and
// iterating spends from it, and once it is exhausted the search stops
// with err.
type budget struct {
	work, limit   int64
	next          int64 // the work at which check runs next
	nextClock     int64
	deadline      time.Time // when timeout > 0
	timeout       time.Duration
	clauses       int
	maxClauses    int
	maxExpansions int
	err           error // why the search stopped; nil while within budget
}

func newBudget(l limits) *budget {
	b := &budget{limit: l.maxWork, maxClauses: l.maxClauses, maxExpansions: l.maxExpansions, nextClock: math.MaxInt64}
	if l.timeout > 0 {
		b.deadline, b.timeout = time.Now().Add(l.timeout), l.timeout
		b.nextClock = clockEvery
	}
	b.next = min(b.limit, b.nextClock)
	return b
}

// spend adds n units of work; false means the budget is exhausted (and
// err says why): the caller stops.
func (b *budget) spend(n int64) bool {
	b.work += n
	if b.work <= b.next {
		return true
	}
	return b.check()
}

// ok reports whether the budget is not exhausted.
func (b *budget) ok() bool { return b.err == nil }

func (b *budget) check() bool {
	if b.err != nil {
		return false
	}
	if b.work > b.limit {
		return b.fail(fmt.Errorf("%w: more than %d units of work", ErrOverBudget, b.limit))
	}
	if b.work >= b.nextClock {
		if time.Now().After(b.deadline) {
			return b.fail(fmt.Errorf("%w: still running after %v", ErrOverBudget, b.timeout))
		}
		b.nextClock = b.work + clockEvery
	}
	b.next = min(b.limit, b.nextClock)
	return true
}

// fail stops the search with err and returns false.
func (b *budget) fail(err error) bool {
	if b.err == nil {
		b.err = err
	}
	b.next = math.MinInt64
	return false
}

// addClauses counts n more posting lists; false means the query combines
// too many.
func (b *budget) addClauses(n int) bool {
	b.clauses += n
	if b.clauses > b.maxClauses {
		return b.fail(fmt.Errorf("%w: more than %d terms, expansions included", ErrOverBudget, b.maxClauses))
	}
	return b.ok()
}

// limits are the resolved limits of Config.
type limits struct {
	maxExpansions int
	maxClauses    int
	maxWork       int64
	timeout       time.Duration // ≤ 0 for none
}
