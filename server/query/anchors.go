package query

// Anchors returns terms of which every document that n matches contains at
// least one, for indexing queries by their terms (a percolator's candidate
// index): a document containing none of them cannot match. ok is false when
// no such set exists: n can match a document without any particular term
// (MatchAll, a pure exclusion, a wildcard, a range, …). An empty set with
// ok true means n matches nothing.
//
// Where a choice exists (the required clauses of a conjunction, the words
// of a phrase), Anchors picks the set of smallest total cost; cost should
// estimate how many documents contain the term (its document frequency),
// so that the query is checked for as few documents as possible. Only Text
// and Boolean fields give anchors.
func Anchors(n Node, cost func(t Term) float64) (terms []Term, ok bool) {
	switch n := n.(type) {
	case *MatchNone:
		return nil, true
	case *Term:
		return []Term{*n}, true
	case *Phrase:
		best := Term{Field: n.Field, Value: n.Terms[0]}
		bestCost := cost(best)
		for _, v := range n.Terms[1:] {
			t := Term{Field: n.Field, Value: v}
			if c := cost(t); c < bestCost {
				best, bestCost = t, c
			}
		}
		return []Term{best}, true
	case *Bool:
		return boolAnchors(n, cost)
	}
	return nil, false
}

func boolAnchors(n *Bool, cost func(t Term) float64) ([]Term, bool) {
	if len(n.Must) > 0 {
		var best []Term
		bestCost, found := 0.0, false
		for _, c := range n.Must {
			ts, ok := Anchors(c, cost)
			if !ok {
				continue
			}
			if len(ts) == 0 {
				return nil, true
			}
			total := 0.0
			for _, t := range ts {
				total += cost(t)
			}
			if !found || total < bestCost {
				best, bestCost, found = ts, total, true
			}
		}
		return best, found
	}
	if len(n.Should) == 0 {
		return nil, false
	}
	var all []Term
	for _, c := range n.Should {
		ts, ok := Anchors(c, cost)
		if !ok {
			return nil, false
		}
		all = append(all, ts...)
	}
	return dedupe(all), true
}

func dedupe(ts []Term) []Term {
	seen := make(map[Term]bool, len(ts))
	out := ts[:0]
	for _, t := range ts {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
