package web

import (
	"sync"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// numGenerations indexes per-generation arrays by protocol.Generation.
const numGenerations = int(protocol.GenV2) + 1

// formatSet is a set of protocol.Format, bit f for format f.
type formatSet uint8

func formatsOf(f protocol.Format) formatSet { return 1 << f }

func (s formatSet) has(f protocol.Format) bool { return f.Valid() && s&formatsOf(f) != 0 }

// allFormats lists the formats, in packing order.
var allFormats = [...]protocol.Format{protocol.FormatTransit, protocol.FormatEDN}

// numFormats indexes per-format arrays by protocol.Format.
const numFormats = int(protocol.FormatEDN) + 1

// push is one push batch on its way to connections: the events, packed once
// per format for every generation (protocol.Format.PackBatch), shared by
// every connection it was flushed to. The formats of the connections it was
// flushed to are packed when it is built; another one (a WebSocket whose
// client revealed its format meanwhile) is packed on first use. It is
// immutable once built, except for the lazily built packs and prepared
// messages, which sync.Once guards.
type push struct {
	events []protocol.Event // for Ajax clients, which may merge several pushes into one answer
	size   int              // bytes charged to a queue: the longest frame packed when built
	// shared says the push goes to several WebSockets: they write it as a
	// websocket.PreparedMessage, framed once per dialect.
	shared bool
	packs  [numFormats]packedFormat
}

// packedFormat is the push packed in one format, built on first use.
type packedFormat struct {
	once     sync.Once
	batch    protocol.PackedBatch // the frame of each generation
	err      error
	prepared [numGenerations]preparedFrame
}

// preparedFrame is the PreparedMessage of one generation, built on first use.
type preparedFrame struct {
	once sync.Once
	pm   *websocket.PreparedMessage
	err  error
}

// newPush packs events for every generation in each format of formats
// (Transit when empty). An event that cannot be packed in one of them (its
// data has a value the codec cannot write) is logged and left out rather
// than failing the whole batch; nil is returned when nothing is left.
func newPush(events []protocol.Event, formats formatSet, shared bool, log *zerolog.Logger) *push {
	if formats == 0 {
		formats = formatsOf(protocol.FormatTransit)
	}
	packs := func(evs []protocol.Event, gens protocol.GenerationSet) error {
		for _, f := range allFormats {
			if formats.has(f) {
				if _, err := f.PackBatch(evs, gens); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if packs(events, protocol.AllGenerations) != nil {
		good := events[:0:0]
		for _, ev := range events {
			if err := packs([]protocol.Event{ev}, protocol.SetOf(protocol.GenV2)); err != nil {
				log.Error().Err(err).Str("event_id", string(ev.ID)).Msg("push dropped: cannot pack event")
				continue
			}
			good = append(good, ev)
		}
		if len(good) == 0 {
			return nil
		}
		events = good
	}
	p := &push{events: events, shared: shared}
	for _, f := range allFormats {
		if !formats.has(f) {
			continue
		}
		b, err := p.batch(f)
		if err != nil {
			log.Error().Err(err).Msg("push dropped: cannot pack batch")
			return nil
		}
		for _, g := range generations {
			p.size = max(p.size, len(b.Frame(g)))
		}
	}
	return p
}

// batch returns the push packed in format f, packing it on first use.
func (p *push) batch(f protocol.Format) (protocol.PackedBatch, error) {
	if !f.Valid() {
		return protocol.PackedBatch{}, protocol.ErrUnknownFormat
	}
	pf := &p.packs[f]
	pf.once.Do(func() { pf.batch, pf.err = f.PackBatch(p.events, protocol.AllGenerations) })
	return pf.batch, pf.err
}

// frame returns the push's frame in dialect d.
func (p *push) frame(d protocol.Dialect) ([]byte, error) {
	b, err := p.batch(d.Format)
	if err != nil {
		return nil, err
	}
	frame := b.Frame(d.Generation)
	if frame == nil {
		return nil, protocol.ErrUnknownGeneration
	}
	return frame, nil
}

// preparedMessage returns the PreparedMessage of the frame of dialect d.
func (p *push) preparedMessage(d protocol.Dialect) (*websocket.PreparedMessage, error) {
	frame, err := p.frame(d)
	if err != nil {
		return nil, err
	}
	f := &p.packs[d.Format].prepared[d.Generation]
	f.once.Do(func() {
		f.pm, f.err = websocket.NewPreparedMessage(websocket.TextMessage, frame)
	})
	return f.pm, f.err
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

// sendQueue is the bounded FIFO of one connection (style.md pattern 2):
// producers append without blocking and learn when the queue is full; the
// one consumer (a WebSocket's writer, an Ajax poll) takes everything at
// once. An empty queue holds no memory. The zero value is an empty, open
// queue.
type sendQueue struct {
	mu     sync.Mutex // guards items, bytes and closed
	items  []outItem
	bytes  int
	closed bool
}

// queueResult is the outcome of sendQueue.add.
type queueResult uint8

const (
	queued     queueResult = iota // the item was appended
	queueFull                     // a limit would be exceeded: the consumer is too slow
	queueClose                    // the queue is closed: the connection is gone
)

// add appends it unless that would exceed maxLen items or maxBytes bytes.
// It never blocks. A single item larger than maxBytes is accepted into an
// empty queue, so that one large push does not count as a slow consumer.
func (q *sendQueue) add(it outItem, maxLen, maxBytes int) queueResult {
	n := it.size()
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
		return queueClose
	case len(q.items) >= maxLen, len(q.items) > 0 && q.bytes+n > maxBytes:
		return queueFull
	}
	q.items = append(q.items, it)
	q.bytes += n
	return queued
}

// take removes and returns every item, oldest first. spare, an emptied
// slice from an earlier take (or nil), becomes the queue's backing array,
// so that a steady stream of pushes does not allocate.
func (q *sendQueue) take(spare []outItem) []outItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items, q.bytes = spare[:0], 0
	return items
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
