package store

import (
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/sente-go/sente/server/query"
)

// plan is how one query node is evaluated against the index.
type plan struct {
	// it is the candidate set; nil means every document.
	it iterator
	// exact is true when it is exactly the matching set; otherwise it is a
	// superset and every candidate is checked with query.Node.Match.
	exact bool
	// size estimates the candidates (for ordering conjunctions); only
	// meaningful when it is not nil.
	size int
}

var emptyPlan = plan{it: emptyIter{}, exact: true}

// planner plans one search against the store, whose read lock the caller
// holds, spending from the search's budget.
type planner struct {
	s *Memory
	b *budget
	// residual, while planning the root of a conjunction, collects its
	// clauses that the index cannot decide: what is left to check with
	// Match.
	residual *query.Bool
}

// iteratorLocked returns the ids matching q, newest first; it stops (and
// b.err says why) once the budget is exhausted. Callers hold mu (read).
func (s *Memory) iteratorLocked(q *query.Query, b *budget) iterator {
	p := planner{s: s, b: b}
	root := q.Root()
	var pl plan
	if r, ok := root.(*query.Bool); ok && len(r.Must) > 0 {
		// The client's "(…) AND lang:en": the candidates are in every exact
		// clause already; only the others need checking.
		residual := &query.Bool{}
		p.residual = residual
		pl = p.boolPlan(r)
		root = residual
	} else {
		pl = p.plan(root)
	}
	if !b.ok() {
		return emptyIter{}
	}
	it := pl.it
	if it == nil {
		it = newPostingIter(s.docIDs, b)
	}
	if !pl.exact {
		d := query.NewDoc(nil)
		check := int64(checkUnits + leafUnits(root))
		it = &filterIter{it: it, b: b, keep: func(id int64) bool {
			d.Reset(s.byID[id])
			m := root.Match(d)
			fields, values, bytes := d.Analysed()
			return b.spend(check+int64(fields*fieldUnits+values*valueUnits+bytes*byteUnits)) && m
		}}
	}
	return it
}

// leafUnits is the work of matching n against one tweet, beyond analysing
// its fields: one unit per leaf, more for a pattern.
func leafUnits(n query.Node) int {
	switch n := n.(type) {
	case *query.Bool:
		u := 0
		for _, cs := range [][]query.Node{n.Must, n.Should, n.MustNot} {
			for _, c := range cs {
				u += leafUnits(c)
			}
		}
		return u
	case *query.Phrase:
		return 2 + 2*len(n.Terms) // a list of positions per word, and their sweep
	case *query.Wildcard:
		return n.MatchCost()
	case *query.Fuzzy:
		return n.MatchCost()
	case *query.Regexp:
		return n.MatchCost()
	}
	return 1
}

func (p *planner) plan(n query.Node) plan {
	if !p.b.spend(1) {
		return emptyPlan
	}
	s := p.s
	switch n := n.(type) {
	case *query.MatchAll:
		return plan{exact: true}
	case *query.MatchNone:
		return emptyPlan
	case *query.Term:
		if !s.isIndex[n.Field] {
			return plan{}
		}
		return p.termPlan(n.Field, n.Value)
	case *query.Phrase:
		if !s.isIndex[n.Field] {
			return plan{}
		}
		// The words must all be there; positions are checked by Match.
		its := make([]plan, len(n.Terms))
		for i, t := range n.Terms {
			its[i] = p.termPlan(n.Field, t)
		}
		pl := conjunction(its)
		pl.exact = false
		return pl
	case *query.Wildcard:
		return p.expand(n, n.Field, n.Prefix(), n.MatchToken, n.MatchCost()*wildcardWeight)
	case *query.Fuzzy:
		return p.expand(n, n.Field, n.Prefix(), n.MatchToken, n.MatchCost()*fuzzyWeight)
	case *query.Regexp:
		return p.expand(n, n.Field, n.Prefix(), n.MatchToken, n.MatchCost()*regexpWeight)
	case *query.TermRange:
		return p.expand(n, n.Field, n.Prefix(), n.MatchToken, n.MatchCost()*rangeWeight)
	case *query.NumberRange:
		if n.Field.Name() == "id" {
			// Documents are sorted by id: a range of ids is a slice of them.
			lo := sort.Search(len(s.docIDs), func(i int) bool { return s.docIDs[i] >= n.Min })
			hi := sort.Search(len(s.docIDs), func(i int) bool { return s.docIDs[i] > n.Max })
			if lo >= hi {
				return emptyPlan
			}
			return plan{it: newPostingIter(s.docIDs[lo:hi], p.b), exact: true, size: hi - lo}
		}
		return plan{}
	case *query.Bool:
		return p.boolPlan(n)
	}
	return plan{}
}

func (p *planner) termPlan(f query.Field, term string) plan {
	if !p.b.addClauses(1) {
		return emptyPlan
	}
	ps := p.s.postings[f].get(term)
	if ps == nil {
		return emptyPlan
	}
	return plan{it: newPostingIter(ps.ids, p.b), exact: true, size: len(ps.ids)}
}

// expand is the union of the postings of every indexed term of f that
// starts with prefix and that match accepts (wildcards, fuzzy terms,
// regular expressions, ranges); cost is the node's MatchCost times its
// kind's weight, in eighths of a unit per byte of a term. The terms
// scanned are charged to the budget, and the terms found count as clauses,
// at most maxExpansions of them. Their posting lists are not merged but
// walked together (unionIter), so a wildcard of thousands of terms costs
// in proportion to the ids visited, not to all of its postings.
func (p *planner) expand(n query.Node, f query.Field, prefix string, match func(string) bool, cost int) plan {
	if !p.s.isIndex[f] {
		return plan{}
	}
	b := p.b
	var lists []postingIter
	total := 0
	p.s.postings[f].scan(prefix, b, func(term string, ps *posting) bool {
		if !b.spend(int64(len(term) * cost / 8)) {
			return false
		}
		if !match(term) {
			return true
		}
		if !b.spend(expansionUnits) {
			return false
		}
		if len(lists) == b.maxExpansions {
			return b.fail(fmt.Errorf("%w: %s expands to more than %d terms", ErrOverBudget, clip(n.String(), 80), b.maxExpansions))
		}
		lists = append(lists, postingIter{ids: ps.ids, i: len(ps.ids) - 1, b: b})
		total += len(ps.ids)
		return true
	})
	if !b.ok() || !b.addClauses(len(lists)) {
		return emptyPlan
	}
	switch len(lists) {
	case 0:
		return emptyPlan
	case 1:
		return plan{it: &lists[0], exact: true, size: total}
	}
	its := make([]iterator, len(lists))
	for i := range lists {
		its[i] = &lists[i]
	}
	return plan{it: newUnionIter(its, p.b), exact: true, size: total}
}

// clip returns s cut to at most n bytes (at a character boundary), with
// "…" when it was cut: a query's text in an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// conjunction intersects plans; those meaning "all documents" drop out.
func conjunction(ps []plan) plan {
	exact := true
	var its []plan
	for _, p := range ps {
		exact = exact && p.exact
		if p.it != nil {
			its = append(its, p)
		}
	}
	switch len(its) {
	case 0:
		return plan{exact: exact}
	case 1:
		its[0].exact = exact
		return its[0]
	}
	// The rarest set leads; the others are probed.
	sort.SliceStable(its, func(i, j int) bool { return its[i].size < its[j].size })
	a := &andIter{}
	for _, p := range its {
		a.its = append(a.its, p.it)
	}
	return plan{it: a, exact: exact, size: its[0].size}
}

func (p *planner) boolPlan(b *query.Bool) plan {
	residual := p.residual
	p.residual = nil // only the root's clauses
	exact := true
	var nots []iterator
	for _, c := range b.MustNot {
		cp := p.plan(c)
		if residual != nil && !cp.exact {
			residual.MustNot = append(residual.MustNot, c)
		}
		switch {
		case !cp.exact:
			exact = false // cannot exclude a superset: Match decides
		case cp.it == nil:
			return emptyPlan // excludes everything
		default:
			nots = append(nots, cp.it)
		}
	}
	var base plan
	switch {
	case len(b.Must) > 0:
		ps := make([]plan, len(b.Must))
		for i, c := range b.Must {
			ps[i] = p.plan(c)
			if residual != nil && !ps[i].exact {
				residual.Must = append(residual.Must, c)
			}
		}
		base = conjunction(ps)
	case len(b.Should) > 0:
		base.exact = true
		var its []iterator
		all := false
		for _, c := range b.Should {
			cp := p.plan(c)
			base.exact = base.exact && cp.exact
			if cp.it == nil {
				all = true
				continue
			}
			its = append(its, cp.it)
			base.size += cp.size
		}
		switch {
		case all:
		case len(its) == 1:
			base.it = its[0]
		default:
			base.it = newUnionIter(its, p.b)
		}
	default:
		base.exact = true
	}
	base.exact = base.exact && exact
	if len(nots) > 0 {
		lead := base.it
		if lead == nil {
			lead = newPostingIter(p.s.docIDs, p.b)
		}
		base.it = &andIter{its: []iterator{lead}, not: nots}
	}
	return base
}
