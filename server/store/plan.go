package store

import (
	"slices"
	"sort"

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

// iteratorLocked returns the ids matching q, newest first. Callers hold
// mu (read).
func (s *Memory) iteratorLocked(q *query.Query) iterator {
	p := s.plan(q.Root())
	it := p.it
	if it == nil {
		it = newPostingIter(s.docIDs)
	}
	if !p.exact {
		d := query.NewDoc(nil)
		it = &filterIter{it: it, keep: func(id int64) bool {
			d.Reset(s.byID[id])
			return q.Match(d)
		}}
	}
	return it
}

func (s *Memory) plan(n query.Node) plan {
	switch n := n.(type) {
	case *query.MatchAll:
		return plan{exact: true}
	case *query.MatchNone:
		return emptyPlan
	case *query.Term:
		if !s.isIndex[n.Field] {
			return plan{}
		}
		return s.termPlan(n.Field, n.Value)
	case *query.Phrase:
		if !s.isIndex[n.Field] {
			return plan{}
		}
		// The words must all be there; positions are checked by Match.
		its := make([]plan, len(n.Terms))
		for i, t := range n.Terms {
			its[i] = s.termPlan(n.Field, t)
		}
		p := conjunction(its)
		p.exact = false
		return p
	case *query.Wildcard:
		return s.expand(n.Field, n.Prefix(), n.MatchToken)
	case *query.Fuzzy:
		return s.expand(n.Field, n.Prefix(), n.MatchToken)
	case *query.Regexp:
		return s.expand(n.Field, n.Prefix(), n.MatchToken)
	case *query.TermRange:
		return s.expand(n.Field, n.Prefix(), n.MatchToken)
	case *query.NumberRange:
		if n.Field.Name() == "id" {
			// Documents are sorted by id: a range of ids is a slice of them.
			lo := sort.Search(len(s.docIDs), func(i int) bool { return s.docIDs[i] >= n.Min })
			hi := sort.Search(len(s.docIDs), func(i int) bool { return s.docIDs[i] > n.Max })
			if lo >= hi {
				return emptyPlan
			}
			return plan{it: newPostingIter(s.docIDs[lo:hi]), exact: true, size: hi - lo}
		}
		return plan{}
	case *query.Bool:
		return s.boolPlan(n)
	}
	return plan{}
}

func (s *Memory) termPlan(f query.Field, term string) plan {
	p := s.postings[f].get(term)
	if p == nil {
		return emptyPlan
	}
	return plan{it: newPostingIter(p.ids), exact: true, size: len(p.ids)}
}

// expand is the union of the postings of every indexed term of f that
// starts with prefix and that match accepts (wildcards, fuzzy terms,
// regular expressions, ranges).
func (s *Memory) expand(f query.Field, prefix string, match func(string) bool) plan {
	if !s.isIndex[f] {
		return plan{}
	}
	var lists [][]int64
	total := 0
	s.postings[f].scan(prefix, func(term string, p *posting) {
		if match(term) {
			lists = append(lists, p.ids)
			total += len(p.ids)
		}
	})
	switch len(lists) {
	case 0:
		return emptyPlan
	case 1:
		return plan{it: newPostingIter(lists[0]), exact: true, size: total}
	}
	merged := make([]int64, 0, total)
	for _, l := range lists {
		merged = append(merged, l...)
	}
	slices.Sort(merged)
	merged = slices.Compact(merged)
	return plan{it: newPostingIter(merged), exact: true, size: len(merged)}
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

func (s *Memory) boolPlan(b *query.Bool) plan {
	exact := true
	var nots []iterator
	for _, c := range b.MustNot {
		p := s.plan(c)
		switch {
		case !p.exact:
			exact = false // cannot exclude a superset: Match decides
		case p.it == nil:
			return emptyPlan // excludes everything
		default:
			nots = append(nots, p.it)
		}
	}
	var base plan
	switch {
	case len(b.Must) > 0:
		ps := make([]plan, len(b.Must))
		for i, c := range b.Must {
			ps[i] = s.plan(c)
		}
		base = conjunction(ps)
	case len(b.Should) > 0:
		base.exact = true
		var its []iterator
		all := false
		for _, c := range b.Should {
			p := s.plan(c)
			base.exact = base.exact && p.exact
			if p.it == nil {
				all = true
				continue
			}
			its = append(its, p.it)
			base.size += p.size
		}
		switch {
		case all:
		case len(its) == 1:
			base.it = its[0]
		default:
			base.it = newOrIter(its)
		}
	default:
		base.exact = true
	}
	base.exact = base.exact && exact
	if len(nots) > 0 {
		lead := base.it
		if lead == nil {
			lead = newPostingIter(s.docIDs)
		}
		base.it = &andIter{its: []iterator{lead}, not: nots}
	}
	return base
}
