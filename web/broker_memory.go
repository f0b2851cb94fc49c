package web

import "sync"

// MemoryBroker is the in-process Broker: Publish calls every subscriber
// synchronously, on the publisher's goroutine. Several Servers in one
// process may share one. It is safe for concurrent use; its zero value is
// not usable, build it with NewMemoryBroker.
type MemoryBroker struct {
	// mu guards subs, next and closed. Publish holds it for reading while
	// it calls subscribers, so that unsubscribe, which takes it for
	// writing, returns only after any call in progress has finished.
	mu     sync.RWMutex
	subs   map[uint64]func(Publication)
	next   uint64
	closed bool
}

var _ Broker = (*MemoryBroker)(nil)

// NewMemoryBroker returns an open MemoryBroker without subscribers.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{subs: make(map[uint64]func(Publication))}
}

// Publish calls every subscriber with p, in no particular order, and
// returns when all have returned. It never blocks otherwise.
func (b *MemoryBroker) Publish(p Publication) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return ErrBrokerClosed
	}
	for _, h := range b.subs {
		h(p)
	}
	return nil
}

// Subscribe registers h; see Broker.
func (b *MemoryBroker) Subscribe(h func(Publication)) (func(), error) {
	if h == nil {
		return nil, errNilHandler
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrBrokerClosed
	}
	id := b.next
	b.next++
	b.subs[id] = h
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, id)
			b.mu.Unlock()
		})
	}, nil
}

// Close drops every subscriber; later calls to Publish and Subscribe
// return ErrBrokerClosed. It is idempotent and always returns nil.
func (b *MemoryBroker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	clear(b.subs)
	return nil
}
