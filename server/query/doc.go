// Package query implements Elasticsearch's query_string query over
// BirdWatch tweets: the Lucene query syntax the BirdWatch client sends
// (docs/birdwatch.md §9), parsed into a tree of Nodes and matched against
// a tweet's analysed fields, with the semantics of Elasticsearch 1.x (the
// version the original server ran) except where noted below.
//
// # Building a query
//
// FromMap takes the client's query map, {:query_string {:default_field
// "text", :default_operator "AND", :query "(…) AND lang:en"}} (or
// {:match_all {}}); Parse takes the query text and Options. Both return a
// *Query or an *Error (which wraps ErrInvalid) for anything that does not
// parse or is not supported; the hub logs it and answers with an empty
// chunk.
//
// # Limits
//
// So that parsing and matching a hostile query costs little, Parse
// refuses a query longer than MaxQueryBytes (8 KiB) or 2,048 tokens,
// nested deeper than MaxDepth (32), with more than MaxClauses (4,096)
// leaves once terms are spread over their fields, a regular expression
// longer than 1 KiB or compiled to more than 1,000 instructions, or a
// wildcard term with more than 32 '*' and '?' (matching a token costs up to
// its length times the size of the pattern; MatchCost says how much). A
// clause given twice in one group counts once ("*e* OR *e*" is "*e*").
// What a query costs against an index, how many terms a wildcard matches,
// depends on the index: the store bounds that (store.Config).
//
// # Syntax and semantics
//
// Terms are analysed by Tokens (lower case, split into words as the
// "standard" analyzer does); a term that analyses into several tokens
// becomes their conjunction (default operator AND) or disjunction (OR), as
// in Lucene 4 without auto_generate_phrase_queries; a term that analyses to
// nothing is dropped. Supported: AND, OR, NOT, &&, ||, !, + and -, with
// Lucene's classic rules for mixing them (see Parse); parentheses; quoted
// phrases with an optional ~slop; field:value, field:(…) and field:"…" for
// any tweet field (see Field), including "_all", "*" and wildcard field
// names; * and ? wildcards (not analysed, lower-cased); term~ and term~N
// fuzzy terms (Damerau–Levenshtein, at most 2 edits; a bare ~ uses
// Elasticsearch's AUTO fuzziness); /regular expressions/ (Go's RE2
// syntax, anchored, lower-cased); ranges [a TO b], {a TO b}, mixed, with *
// for an open end, and field:>x, >=x, <x, <=x; _exists_:field and
// _missing_:field; boosts (^2, parsed and ignored: there is no scoring,
// results are ordered by id). A lone * matches every tweet; field:* every
// tweet with a value in field.
//
// Deliberate differences from Elasticsearch 1.x:
//
//   - A group that only excludes, such as (-java) or (NOT java), matches
//     every document except the excluded ones, at every level. Lucene
//     matches nothing there (Elasticsearch fixes only the top level), so
//     the client's "(-java) AND lang:en" would find nothing.
//   - Fuzzy terms match every term within the edit distance, not only the
//     50 closest (fuzzy_max_expansions); fuzzy and wildcard on number and
//     boolean fields are an exact term and no match respectively.
//   - Values of several array elements are 100 positions apart, so a
//     phrase never spans two hashtags (Elasticsearch 1.x used 0).
//   - A sloppy phrase with a repeated word may use one occurrence twice.
//
// # Concurrency
//
// A *Query and its Nodes are immutable and safe for concurrent use. A *Doc
// caches analysed fields and is not: use one per goroutine.
package query

import "github.com/sente-go/sente/server/tweet"

// positionGap separates the values of a multi-valued field, so that a
// phrase does not match across two of them.
const positionGap = 100

// Token is one analysed token of a text field.
type Token struct {
	Text string // the lower-cased word
	Pos  int32  // its position: consecutive words differ by one
}

// Doc is a tweet prepared for matching: its fields are found and analysed
// on first use and cached, so that matching many queries against one tweet
// (the percolator) analyses each field once. A Doc is not safe for
// concurrent use. The zero Doc has no tweet; use NewDoc or Reset.
type Doc struct {
	t      *tweet.Tweet
	vals   []fieldVals // indexed by Field
	loaded []Field     // the fields loaded since Reset
}

type fieldVals struct {
	done   bool
	toks   []Token
	nums   []int64
	values int // strings or numbers found
	bytes  int // of text analysed
}

// NewDoc returns a Doc for t.
func NewDoc(t *tweet.Tweet) *Doc {
	d := &Doc{}
	d.Reset(t)
	return d
}

// Reset makes d a Doc for t, keeping its buffers for reuse.
func (d *Doc) Reset(t *tweet.Tweet) {
	d.t = t
	if d.vals == nil {
		d.vals = make([]fieldVals, NumFields)
		return
	}
	for _, f := range d.loaded {
		v := &d.vals[f]
		v.done = false
		clear(v.toks)
		v.toks = v.toks[:0]
		v.nums = v.nums[:0]
		v.values, v.bytes = 0, 0
	}
	d.loaded = d.loaded[:0]
}

// Analysed returns how many fields d has loaded since it was made or
// Reset, how many values they had and how many bytes of text it analysed
// among them: what matching has cost so far, beyond comparing tokens.
func (d *Doc) Analysed() (fields, values, bytes int) {
	for _, f := range d.loaded {
		values += d.vals[f].values
		bytes += d.vals[f].bytes
	}
	return len(d.loaded), values, bytes
}

// Tweet returns the tweet d was made for.
func (d *Doc) Tweet() *tweet.Tweet { return d.t }

// Tokens returns the analysed tokens of a Text field, in position order, or
// the single token "true"/"false" of a Boolean field. The slice belongs to
// d and is valid until the next Reset.
func (d *Doc) Tokens(f Field) []Token {
	v := d.load(f)
	return v.toks
}

// Numbers returns the values of a Number field. The slice belongs to d.
func (d *Doc) Numbers(f Field) []int64 {
	v := d.load(f)
	return v.nums
}

func (d *Doc) load(f Field) *fieldVals {
	v := &d.vals[f]
	if v.done {
		return v
	}
	v.done = true
	d.loaded = append(d.loaded, f)
	if d.t == nil {
		return v
	}
	def := &fields[f]
	switch def.kind {
	case Text:
		pos := int32(0)
		def.strs(d.t, func(s string) {
			v.values++
			v.bytes += len(s)
			n := len(v.toks)
			tokenize(s, func(tok string) bool {
				v.toks = append(v.toks, Token{Text: tok, Pos: pos})
				pos++
				return true
			})
			if len(v.toks) > n {
				pos += positionGap
			}
		})
	case Boolean:
		def.strs(d.t, func(s string) {
			v.values++
			v.toks = append(v.toks, Token{Text: s, Pos: int32(len(v.toks)) * positionGap})
		})
	case Number:
		def.nums(d.t, func(n int64) {
			v.values++
			v.nums = append(v.nums, n)
		})
	}
	return v
}

// has reports whether f has at least one value in d.
func (d *Doc) has(f Field) bool {
	if fields[f].kind == Number {
		return len(d.Numbers(f)) > 0
	}
	return len(d.Tokens(f)) > 0
}
