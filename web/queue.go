package web

import (
	"sync"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// numGenerations indexes per-generation arrays by protocol.Generation.
const numGenerations = int(protocol.GenV2) + 1

// push is one push batch on its way to connections: the events, packed once
// for every generation (protocol.PackBatch), shared by every connection it
// was flushed to. It is immutable once built, except for the lazily built
// prepared messages, which sync.Once guards.
type push struct {
	events []protocol.Event     // for Ajax clients, which may merge several pushes into one answer
	batch  protocol.PackedBatch // the frame of each generation
	size   int                  // bytes charged to a queue: the longest frame
	// shared says the push goes to several WebSockets: they write it as a
	// websocket.PreparedMessage, framed once per generation.
	shared   bool
	prepared [numGenerations]preparedFrame
}

// preparedFrame is the PreparedMessage of one generation, built on first use.
type preparedFrame struct {
	once sync.Once
	pm   *websocket.PreparedMessage
	err  error
}

// newPush packs events for every generation. An event that cannot be packed
// (its data has a value Transit cannot write) is logged and left out rather
// than failing the whole batch; nil is returned when nothing is left.
func newPush(events []protocol.Event, shared bool, log *zerolog.Logger) *push {
	batch, err := protocol.PackBatch(events, protocol.AllGenerations)
	if err != nil {
		good := events[:0:0]
		for _, ev := range events {
			if _, err := protocol.PackBatch([]protocol.Event{ev}, protocol.SetOf(protocol.GenV2)); err != nil {
				log.Error().Err(err).Str("event_id", string(ev.ID)).Msg("push dropped: cannot pack event")
				continue
			}
			good = append(good, ev)
		}
		if len(good) == 0 {
			return nil
		}
		events = good
		if batch, err = protocol.PackBatch(events, protocol.AllGenerations); err != nil {
			log.Error().Err(err).Msg("push dropped: cannot pack batch")
			return nil
		}
	}
	p := &push{events: events, batch: batch, shared: shared}
	for _, g := range generations {
		p.size = max(p.size, len(batch.Frame(g)))
	}
	return p
}

// preparedMessage returns the PreparedMessage of the frame of generation g.
func (p *push) preparedMessage(g protocol.Generation) (*websocket.PreparedMessage, error) {
	f := &p.prepared[g]
	f.once.Do(func() {
		f.pm, f.err = websocket.NewPreparedMessage(websocket.TextMessage, p.batch.Frame(g))
	})
	return f.pm, f.err
}

// outItem is one entry of a connection's send queue: a shared push, or a
// frame for this connection alone (a callback reply or a pong).
type outItem struct {
	push  *push  // nil for a direct frame
	frame []byte // the direct frame, in the connection's pinned generation
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
