package store

import "strings"

// terms is the dictionary of one indexed field: term → posting. It is
// split by the term's first byte, so that a wildcard, regular expression or
// range with a literal prefix scans only the terms that start like it; in
// a real tweet stream most terms are rare (t.co codes, typos, truncated
// words), and a field has hundreds of thousands of them.
type terms struct {
	buckets [256]map[string]*posting
}

func newTerms() *terms { return &terms{} }

func (ts *terms) get(term string) *posting {
	if term == "" {
		return nil
	}
	return ts.buckets[term[0]][term]
}

func (ts *terms) put(term string, p *posting) {
	m := ts.buckets[term[0]]
	if m == nil {
		m = make(map[string]*posting)
		ts.buckets[term[0]] = m
	}
	m[term] = p
}

func (ts *terms) delete(term string) { delete(ts.buckets[term[0]], term) }

// scan calls fn for every term that starts with prefix, until fn returns
// false. Visiting the terms of a bucket is charged to b before the visit,
// termUnits each, which stops the scan once b is exhausted.
func (ts *terms) scan(prefix string, b *budget, fn func(term string, p *posting) bool) {
	visit := func(m map[string]*posting) bool {
		if !b.spend(int64(len(m) * termUnits)) {
			return false
		}
		for t, p := range m {
			if strings.HasPrefix(t, prefix) && !fn(t, p) {
				return false
			}
		}
		return true
	}
	if prefix != "" {
		visit(ts.buckets[prefix[0]])
		return
	}
	for _, m := range ts.buckets {
		if !visit(m) {
			return
		}
	}
}
