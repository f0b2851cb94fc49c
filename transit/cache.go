package transit

import "hash/maphash"

// writeCache is the write cache of docs/transit.md §5.3: emitted string → cache
// index, cleared at every top-level value and on the 1937th distinct
// string. It records where each string was written in the output (offset
// and length of its escaped text) rather than the string itself, so that
// it holds no pointers: recording costs no allocation and no GC write
// barrier, and clearing is a generation bump.
type writeCache struct {
	slots []cacheSlot // open addressing, length a power of two
	gen   uint32      // slots of another generation are empty
	count int         // entries this generation = next cache index
}

type cacheSlot struct {
	gen  uint32
	hash uint32
	n    int32 // length of the escaped text
	idx  int32
	off  int // offset of the escaped text (after the quote) in buf
}

const minCacheSlots = 64

func (c *writeCache) reset() {
	c.count = 0
	c.gen++
	if c.gen == 0 { // wrapped: old generations could look current
		clear(c.slots)
		c.gen = 1
	}
}

// cacheSeed seeds the hash of cached strings. It is set once and never
// changes, so that struct keys can be hashed when their type is first seen.
var cacheSeed = maphash.MakeSeed()

func cacheHash(text []byte) uint64 { return maphash.Bytes(cacheSeed, text) }

// lookup returns the cache index of the string whose escaped text is
// text, or -1. buf is the output the recorded offsets refer to.
func (c *writeCache) lookup(buf []byte, h uint64, text []byte) int {
	if len(c.slots) == 0 {
		return -1
	}
	mask := uint64(len(c.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.gen != c.gen {
			return -1
		}
		if s.hash == uint32(h) && int(s.n) == len(text) && string(buf[s.off:s.off+int(s.n)]) == string(text) {
			return int(s.idx)
		}
	}
}

// insert records the escaped text at buf[off:off+n] as the next index.
func (c *writeCache) insert(h uint64, off, n int) {
	if 2*(c.count+1) > len(c.slots) {
		c.grow()
	}
	mask := uint64(len(c.slots) - 1)
	i := h & mask
	for c.slots[i].gen == c.gen {
		i = (i + 1) & mask
	}
	c.slots[i] = cacheSlot{gen: c.gen, hash: uint32(h), n: int32(n), idx: int32(c.count), off: off}
	c.count++
}

func (c *writeCache) grow() {
	if len(c.slots) == 0 {
		c.slots = make([]cacheSlot, minCacheSlots)
		c.gen = 1
		return
	}
	old := c.slots
	c.slots = make([]cacheSlot, 2*len(old))
	mask := uint64(len(c.slots) - 1)
	for _, s := range old {
		if s.gen != c.gen {
			continue
		}
		i := uint64(s.hash) & mask
		for c.slots[i].gen == c.gen {
			i = (i + 1) & mask
		}
		c.slots[i] = s
	}
}
