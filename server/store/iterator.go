package store

import (
	"math"
	"math/bits"
)

// Query evaluation walks sets of tweet ids from the newest (largest id)
// down, so that the first results found are the ones a history query
// returns. Every set is an iterator over ids in descending order.

// none is what advance returns when no id is left.
const none = math.MinInt64

// iterator is a set of ids visited in descending order.
type iterator interface {
	// advance returns the largest id ≤ target in the set, or none. The
	// targets of successive calls never increase.
	advance(target int64) int64
}

// Every iterator that does work spends it from the search's budget (one
// unit per call, filterIter more) and returns none once the budget is
// exhausted; the search then reports the budget's error, so the ids an
// iterator cut short may have let through are never used.

// postingIter walks a sorted (ascending) slice of ids from its end,
// galloping backwards to a target.
type postingIter struct {
	ids []int64
	i   int // the largest index still possible
	b   *budget
}

func newPostingIter(ids []int64, b *budget) *postingIter {
	return &postingIter{ids: ids, i: len(ids) - 1, b: b}
}

func (p *postingIter) advance(t int64) int64 {
	if p.i < 0 || !p.b.spend(1) {
		return none
	}
	ids := p.ids
	if ids[p.i] <= t {
		return ids[p.i]
	}
	// Gallop: double the step until ids[lo] ≤ t (or lo falls off).
	hi, step := p.i, 1
	lo := hi - step
	for lo >= 0 && ids[lo] > t {
		hi = lo
		step <<= 1
		lo = hi - step
	}
	lo = max(lo, -1)
	// Invariant: ids[lo] ≤ t (or lo = -1), ids[hi] > t.
	for hi-lo > 1 {
		m := int(uint(lo+hi) >> 1)
		if ids[m] <= t {
			lo = m
		} else {
			hi = m
		}
	}
	p.i = lo
	if lo < 0 {
		return none
	}
	return ids[lo]
}

// emptyIter is the empty set.
type emptyIter struct{}

func (emptyIter) advance(int64) int64 { return none }

// andIter is the intersection of its (the rarest first, which leads) minus
// the union of not.
type andIter struct {
	its []iterator
	not []iterator
}

func (a *andIter) advance(t int64) int64 {
	for {
		x := a.its[0].advance(t)
		if x == none {
			return none
		}
		agreed := true
		for _, it := range a.its[1:] {
			y := it.advance(x)
			if y == none {
				return none
			}
			if y != x {
				t, agreed = y, false
				break
			}
		}
		if !agreed {
			continue
		}
		excluded := false
		for _, it := range a.not {
			if it.advance(x) == x {
				excluded = true
				break
			}
		}
		if !excluded {
			return x
		}
		t = x - 1
	}
}

// unionIter is the union of its: a heap of the iterators by their last
// answer, largest on top, so that an advance moves only the iterators
// whose answer is above the target. It serves disjunctions and the terms a
// wildcard expands to, thousands of them, without merging their lists.
type unionIter struct {
	heap    []unionEntry
	started bool
	b       *budget
}

type unionEntry struct {
	cur int64 // the iterator's last answer
	it  iterator
}

func newUnionIter(its []iterator, b *budget) *unionIter {
	u := &unionIter{heap: make([]unionEntry, len(its)), b: b}
	for i, it := range its {
		u.heap[i].it = it
	}
	return u
}

func (u *unionIter) advance(t int64) int64 {
	h := u.heap
	if !u.started {
		u.started = true
		n := 0
		for _, e := range h {
			if e.cur = e.it.advance(t); e.cur != none {
				h[n] = e
				n++
			}
		}
		clear(h[n:])
		h = h[:n]
		for i := n/2 - 1; i >= 0; i-- {
			siftDown(h, i)
		}
	}
	// A step costs the child's advance and one unit per 4 levels of heap.
	step := int64(1 + bits.Len(uint(len(h)))/4)
	for len(h) > 0 && h[0].cur > t {
		if !u.b.spend(step) {
			return none
		}
		if h[0].cur = h[0].it.advance(t); h[0].cur == none {
			last := len(h) - 1
			h[0] = h[last]
			h[last] = unionEntry{}
			h = h[:last]
		}
		siftDown(h, 0)
	}
	u.heap = h
	if len(h) == 0 {
		return none
	}
	return h[0].cur
}

// siftDown restores the heap order below i.
func siftDown(h []unionEntry, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && h[r].cur > h[l].cur {
			m = r
		}
		if h[i].cur >= h[m].cur {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// filterIter keeps the ids of it for which keep returns true; keep
// spends the work of checking from the budget and returns false once it
// is exhausted.
type filterIter struct {
	it   iterator
	keep func(id int64) bool
	b    *budget
}

func (f *filterIter) advance(t int64) int64 {
	for {
		x := f.it.advance(t)
		if x == none {
			return none
		}
		if f.keep(x) {
			return x
		}
		if !f.b.ok() {
			return none
		}
		t = x - 1
	}
}
