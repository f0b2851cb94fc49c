package percolator

import (
	"errors"

	"github.com/sente-go/sente/server/query"
)

// ErrTooCostly is the error (wrapped) of a Register refused because the
// query would cost too much to check against every new tweet.
var ErrTooCostly = errors.New("query too costly to percolate")

// The limits on the cost of live queries, in the units of Cost (about a
// nanosecond of Match per tweet each). Every search that BirdWatch's
// client and the built-in page send is "(text) AND lang:en", anchored on
// its rarest word, or on lang:en alone when it has no word: "*" costs 1,
// a bare wildcard "foo*" 202, a fuzzy word "hello~" 3002; such searches
// are checked for nearly every tweet and are always accepted
// (DefaultFreeScanCost). A search of plain words costs a few units.
const (
	// DefaultMaxQueryCost bounds the cost of one live query: 16 fuzzy
	// terms, 80 regular expressions or 250 wildcards (about 50 µs per
	// tweet that reaches it).
	DefaultMaxQueryCost = 50_000
	// DefaultMaxScanCost bounds the total cost of the distinct queries
	// checked for nearly every tweet (see Config.MaxScanCost): about 1 ms
	// per tweet, 5 % of a core at 50 tweets a second.
	DefaultMaxScanCost = 1_000_000
	// DefaultFreeScanCost is the cost up to which a query is accepted
	// whatever the scan list holds: a fuzzy word, 19 wildcards, or any
	// search of words, phrases and ranges a person would type.
	DefaultFreeScanCost = 4_000
)

// The estimated cost of evaluating one node of a compiled query on one
// tweet, in units of about a nanosecond, as BenchmarkNodeCost measures
// them on a tweet's text (15 to 20 tokens): terms are array reads; the
// nodes that fall back to query.Node.Match test each token of the field.
// The estimate is an upper bound for fields with fewer tokens.
const (
	costTerm      = 1  // also MatchAll, MatchNone and each Bool
	costNumber    = 10 // NumberRange, and Exists per field
	costPhrase    = 30
	costTermRange = 100
	costWildcard  = 200
	costRegexp    = 600
	costFuzzy     = 3000
)

// Cost estimates what checking q against one tweet costs, at worst (every
// clause evaluated), in units of about a nanosecond: 1 for a term, 200
// for a wildcard, 3000 for a fuzzy term, and so on (see the package's
// limits). It is what Register weighs against Config.MaxQueryCost and
// Config.MaxScanCost.
func Cost(q *query.Query) int { return nodeCost(q.Root()) }

func nodeCost(n query.Node) int {
	switch n := n.(type) {
	case *query.Bool:
		c := costTerm
		for _, list := range [][]query.Node{n.Must, n.Should, n.MustNot} {
			for _, x := range list {
				c += nodeCost(x)
			}
		}
		return c
	case *query.NumberRange:
		return costNumber
	case *query.Exists:
		return costNumber * max(len(n.Fields), 1)
	case *query.Phrase:
		return costPhrase
	case *query.TermRange:
		return costTermRange
	case *query.Wildcard:
		return costWildcard
	case *query.Regexp:
		return costRegexp
	case *query.Fuzzy:
		return costFuzzy
	}
	return costTerm // Term, MatchAll, MatchNone
}

// limits are a Percolator's cost limits, resolved from Config; a negative
// limit means none.
type limits struct {
	maxQuery, maxScan, freeScan int
}

func newLimits(cfg Config) limits {
	orDefault := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	return limits{
		maxQuery: orDefault(cfg.MaxQueryCost, DefaultMaxQueryCost),
		maxScan:  orDefault(cfg.MaxScanCost, DefaultMaxScanCost),
		freeScan: orDefault(cfg.FreeScanCost, DefaultFreeScanCost),
	}
}

// scanned reports whether a query indexed under anchors (nil: none, the
// always list) is checked for nearly every tweet: it has no anchor, or
// only anchors on low-cardinality fields (lang:en).
func scanned(anchors []query.Term, anchored bool) bool {
	if !anchored {
		return true
	}
	if len(anchors) == 0 {
		return false // matches nothing: never checked
	}
	for _, t := range anchors {
		if !t.Field.LowCardinality() {
			return false
		}
	}
	return true
}
