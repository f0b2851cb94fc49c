package percolator

import "github.com/sente-go/sente/server/query"

// matcher is a compiled query: it reads the tweet's marked terms from the
// scratch, and the tweet itself (scratch.doc) for what terms cannot decide.
type matcher interface {
	match(s *scratch) bool
}

// termMatcher: the tweet has the term.
type termMatcher struct{ id int32 }

func (m termMatcher) match(s *scratch) bool { return s.termStamp[m.id] == s.epoch }

// boolMatcher has query.Bool's semantics.
type boolMatcher struct {
	must, should, not []matcher
}

func (m *boolMatcher) match(s *scratch) bool {
	for _, c := range m.must {
		if !c.match(s) {
			return false
		}
	}
	for _, c := range m.not {
		if c.match(s) {
			return false
		}
	}
	if len(m.must) > 0 || len(m.should) == 0 {
		return true
	}
	for _, c := range m.should {
		if c.match(s) {
			return true
		}
	}
	return false
}

// constMatcher is MatchAll or MatchNone.
type constMatcher bool

func (m constMatcher) match(*scratch) bool { return bool(m) }

// nodeMatcher evaluates any other node on the tweet.
type nodeMatcher struct{ n query.Node }

func (m nodeMatcher) match(s *scratch) bool { return m.n.Match(s.doc) }

// compiler builds an entry's matcher, interning its terms.
type compiler struct {
	p *Percolator
	e *entry
}

func (c *compiler) intern(f query.Field, term string) int32 {
	id := c.p.intern(f, term)
	c.e.terms = append(c.e.terms, id)
	return id
}

func (c *compiler) compile(n query.Node) matcher {
	switch n := n.(type) {
	case *query.MatchAll:
		return constMatcher(true)
	case *query.MatchNone:
		return constMatcher(false)
	case *query.Term:
		return termMatcher{c.intern(n.Field, n.Value)}
	case *query.Bool:
		m := &boolMatcher{}
		for _, x := range n.Must {
			m.must = append(m.must, c.compile(x))
		}
		for _, x := range n.Should {
			m.should = append(m.should, c.compile(x))
		}
		for _, x := range n.MustNot {
			m.not = append(m.not, c.compile(x))
		}
		return m
	}
	return nodeMatcher{n}
}
