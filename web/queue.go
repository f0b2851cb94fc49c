package web

import (
	"sync"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// formatSet is a set of protocol.Format, bit f for format f.
type formatSet uint8

func formatsOf(f protocol.Format) formatSet { return 1 << f }

func (s formatSet) has(f protocol.Format) bool { return f.Valid() && s&formatsOf(f) != 0 }

// allFormats lists the formats, in packing order.
var allFormats = [...]protocol.Format{protocol.FormatTransit, protocol.FormatEDN}

// numFormats indexes per-format arrays by protocol.Format.
const numFormats = int(protocol.FormatEDN) + 1

// push is one push batch on its way to connections: the events, packed
// once per format and generation its connections are written in
// (protocol.Format.PackBatch), shared by every connection it was flushed
// to. Only the dialects of those connections are packed when it is built;
// another one (a WebSocket whose client revealed its format meanwhile, an
// Ajax client that told another generation) is packed on first use. It is
// immutable once built, except for the lazily built frames and prepared
// messages, which sync.Once guards.
type push struct {
	events []protocol.Event // for Ajax clients, which may merge several pushes into one answer
	size   int              // bytes charged to a queue: the longest frame packed when built
	// shared says the push goes to several WebSockets: they write a small
	// frame as a websocket.PreparedMessage, framed once per dialect.
	shared bool
	// cont marks a part of a split batch after its first (splitPush): a
	// queue that took the first part takes the rest of the batch.
	cont   bool
	frames [numFormats][protocol.NumGenerations]packedFrame
}

// packedFrame is the push's frame in one dialect, built on first use, and
// its PreparedMessage.
type packedFrame struct {
	once  sync.Once
	frame []byte
	err   error

	pmOnce sync.Once
	pm     *websocket.PreparedMessage
	pmErr  error
}

// maxPreparedBytes is the largest frame written as a PreparedMessage: it
// holds a copy of the frame, which is cheap for the small pushes of a
// broadcast to many sockets; a larger frame is written from the shared
// bytes (gorilla copies at most its 4 KiB write buffer of it per socket).
const maxPreparedBytes = 16 << 10

// newPush packs events for the generations gens in each format of formats
// (Transit when empty). An event that cannot be packed in one of them (its
// data has a value the codec cannot write) is logged and left out rather
// than failing the whole batch; nil is returned when nothing is left.
func newPush(events []protocol.Event, formats formatSet, gens protocol.GenerationSet, shared bool, log *zerolog.Logger) *push {
	if formats == 0 {
		formats = formatsOf(protocol.FormatTransit)
	}
	if gens == 0 {
		gens = protocol.SetOf(protocol.GenV2)
	}
	var packed [numFormats]protocol.PackedBatch
	packAll := func(evs []protocol.Event, gens protocol.GenerationSet) error {
		for _, f := range allFormats {
			if formats.has(f) {
				b, err := f.PackBatch(evs, gens)
				if err != nil {
					return err
				}
				packed[f] = b
			}
		}
		return nil
	}
	if packAll(events, gens) != nil {
		good := events[:0:0]
		for _, ev := range events {
			if err := packAll([]protocol.Event{ev}, protocol.SetOf(protocol.GenV2)); err != nil {
				log.Error().Err(err).Str("event_id", string(ev.ID)).Msg("push dropped: cannot pack event")
				continue
			}
			good = append(good, ev)
		}
		if len(good) == 0 {
			return nil
		}
		events = good
		if err := packAll(events, gens); err != nil {
			log.Error().Err(err).Msg("push dropped: cannot pack batch")
			return nil
		}
	}
	p := &push{events: events, shared: shared}
	for _, f := range allFormats {
		if !formats.has(f) {
			continue
		}
		for g := protocol.GenFlexi; g <= protocol.GenV2; g++ {
			if !gens.Has(g) {
				continue
			}
			frame := packed[f].Frame(g)
			pf := &p.frames[f][g]
			pf.once.Do(func() { pf.frame = frame })
			p.size = max(p.size, len(frame))
		}
	}
	return p
}

// frame returns the push's frame in dialect d, packing it on first use.
func (p *push) frame(d protocol.Dialect) ([]byte, error) {
	if !d.Valid() {
		return nil, protocol.ErrUnknownGeneration
	}
	pf := &p.frames[d.Format][d.Generation]
	pf.once.Do(func() { pf.frame, pf.err = d.Batch(p.events...) })
	return pf.frame, pf.err
}

// preparedMessage returns the PreparedMessage of the frame of dialect d,
// or nil when the frame is too large to be worth a copy
// (maxPreparedBytes).
func (p *push) preparedMessage(d protocol.Dialect) (*websocket.PreparedMessage, []byte, error) {
	frame, err := p.frame(d)
	if err != nil || len(frame) > maxPreparedBytes {
		return nil, frame, err
	}
	pf := &p.frames[d.Format][d.Generation]
	pf.pmOnce.Do(func() {
		pf.pm, pf.pmErr = websocket.NewPreparedMessage(websocket.TextMessage, frame)
	})
	return pf.pm, frame, pf.pmErr
}

// splitPush packs events into pushes whose frames each fit in maxBytes,
// but for a single event larger than maxBytes, which goes alone, and hands
// them to emit in order, each part after the first marked cont: a queue
// admits a batch as a unit (sendQueue.add), so a connection holds at most
// maxBytes (Config.SendQueueBytes) and the rest of the one batch it began
// to take within that, while no single frame exceeds maxBytes but for
// such an event. A batch too large is halved until its halves fit. Events
// that cannot be packed are left out (newPush).
func splitPush(events []protocol.Event, formats formatSet, gens protocol.GenerationSet, shared bool, maxBytes int, log *zerolog.Logger, emit func(*push)) {
	first := true
	splitParts(events, formats, gens, shared, maxBytes, log, func(p *push) {
		p.cont = !first
		first = false
		emit(p)
	})
}

// splitParts is splitPush without the marks.
func splitParts(events []protocol.Event, formats formatSet, gens protocol.GenerationSet, shared bool, maxBytes int, log *zerolog.Logger, emit func(*push)) {
	p := newPush(events, formats, gens, shared, log)
	switch {
	case p == nil:
		return
	case p.size <= maxBytes || len(p.events) == 1:
		emit(p)
		return
	}
	evs := p.events
	half := len(evs) / 2
	splitParts(evs[:half], formats, gens, shared, maxBytes, log, emit)
	splitParts(evs[half:], formats, gens, shared, maxBytes, log, emit)
}

// outItem is one entry of a connection's send queue: a shared push, or a
// frame for this connection alone (a callback reply or a pong).
type outItem struct {
	push  *push  // nil for a direct frame
	frame []byte // the direct frame, in the connection's pinned dialect
}

// size is what the item counts against Config.SendQueueBytes.
func (it outItem) size() int {
	if it.push != nil {
		return it.push.size
	}
	return len(it.frame)
}

// sendQueue is the bounded FIFO of one connection (docs/design.md §5.2):
// producers append without blocking and learn when the queue is full; the
// one consumer (a WebSocket's writer, an Ajax poll) takes everything at
// once. Its byte count covers the items queued and those a WebSocket's
// writer took and has not written yet (release), so that what a client
// that stopped reading holds is bounded by Config.SendQueueBytes. An empty
// queue holds no memory. The zero value is an empty, open queue.
type sendQueue struct {
	mu     sync.Mutex // guards items, bytes and closed
	items  []outItem
	bytes  int // of items and of the items taken and not yet released
	closed bool
}

// queueResult is the outcome of sendQueue.add.
type queueResult uint8

const (
	queued     queueResult = iota // the item was appended
	queueFull                     // a limit would be exceeded: the consumer is too slow
	queueClose                    // the queue is closed: the connection is gone
)

// add appends it unless that would exceed maxLen items or maxBytes bytes
// (queued or being written). It never blocks. A single item larger than
// maxBytes (one event too large for the limit: larger batches are split,
// splitPush) is accepted into a queue that holds nothing and writes
// nothing, so that it does not count as a slow consumer; and the parts of
// a split batch after its first are accepted whatever the bytes, since the
// queue took the first (had it not, the connection would be gone): a
// batch is taken whole or not at all.
func (q *sendQueue) add(it outItem, maxLen, maxBytes int) queueResult {
	n := it.size()
	cont := it.push != nil && it.push.cont
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return queueClose
	case !cont && (len(q.items) >= maxLen || q.bytes > 0 && q.bytes+n > maxBytes):
		return queueFull
	}
	q.items = append(q.items, it)
	q.bytes += n
	return queued
}

// take removes and returns every item, oldest first. With held, their
// bytes stay counted until the consumer releases them, once written;
// otherwise the queue is empty afterwards. spare, an emptied slice from an
// earlier take (or nil), becomes the queue's backing array, so that a
// steady stream of pushes does not allocate.
func (q *sendQueue) take(spare []outItem, held bool) []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = spare[:0]
	if !held {
		q.bytes = 0
	}
	return items
}

// release uncounts n bytes of taken items, which have been written.
func (q *sendQueue) release(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.bytes -= n
	}
}

// maxSpare is the largest backing array a consumer hands back to its
// queue: a burst must not pin a large one to an idle connection.
const maxSpare = 8

// closeQueue marks the queue closed and returns what was left in it.
func (q *sendQueue) closeQueue() []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	items := q.items
	q.items, q.bytes = nil, 0
	return items
}

// stats returns the number of items and bytes queued.
func (q *sendQueue) stats() (n, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.bytes
}

// signal does a non-blocking send on a wake-up channel of capacity 1.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
