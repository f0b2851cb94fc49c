package store

import "math"

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

// postingIter walks a sorted (ascending) slice of ids from its end,
// galloping backwards to a target.
type postingIter struct {
	ids []int64
	i   int // the largest index still possible
}

func newPostingIter(ids []int64) *postingIter { return &postingIter{ids: ids, i: len(ids) - 1} }

func (p *postingIter) advance(t int64) int64 {
	if p.i < 0 {
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

// orIter is the union of its.
type orIter struct {
	its []iterator
	cur []int64 // each iterator's last answer; valid while ≤ the target
	ok  []bool
}

func newOrIter(its []iterator) *orIter {
	return &orIter{its: its, cur: make([]int64, len(its)), ok: make([]bool, len(its))}
}

func (o *orIter) advance(t int64) int64 {
	best := int64(none)
	for i, it := range o.its {
		if !o.ok[i] || o.cur[i] > t {
			o.cur[i], o.ok[i] = it.advance(t), true
		}
		best = max(best, o.cur[i])
	}
	return best
}

// filterIter keeps the ids of it for which keep returns true.
type filterIter struct {
	it   iterator
	keep func(id int64) bool
}

func (f *filterIter) advance(t int64) int64 {
	for {
		x := f.it.advance(t)
		if x == none || f.keep(x) {
			return x
		}
		t = x - 1
	}
}
