package hub

import (
	"context"
	"sync"

	"github.com/sente-go/sente/server/query"
)

// request is a history request: a :cmd/query, or a :cmd/missing when
// idStr is set.
type request struct {
	uid     string
	idStr   string       // :cmd/missing: the tweet asked for
	q       *query.Query // :cmd/query: nil when it does not parse
	from, n int
	reply   func(any) error // the client's callback, or nil: push the answer
}

// historyPool queues the history requests for a fixed set of workers,
// fairly: each uid has a FIFO of its requests, served one at a time and
// in order, and the uids with a waiting request take turns (round-robin).
// A uid that floods waits for its own requests: another uid's request
// waits at most for the requests running and one of each other uid with
// requests waiting. A uid holds at most perUID requests, waiting or
// running; add refuses more, without blocking.
type historyPool struct {
	perUID int
	// wake holds a signal for each request a worker may find, at most
	// one per worker.
	wake chan struct{}

	mu    sync.Mutex
	uids  map[string]*uidRequests // uids with requests waiting or running
	turns []*uidRequests          // uids with a request waiting and none running, in turn
}

// uidRequests are one uid's requests in the pool.
type uidRequests struct {
	uid     string
	waiting []request
	running bool
}

func newHistoryPool(workers, perUID int) *historyPool {
	return &historyPool{perUID: perUID, wake: make(chan struct{}, workers), uids: map[string]*uidRequests{}}
}

// room reports whether uid may add a request: it holds fewer than
// perUID. Only add makes the answer false, so that the goroutine that
// adds (the hub's event loop) can trust it.
func (p *historyPool) room(uid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.uids[uid].held() < p.perUID
}

// held returns how many requests u holds, waiting or running.
func (u *uidRequests) held() int {
	if u == nil {
		return 0
	}
	n := len(u.waiting)
	if u.running {
		n++
	}
	return n
}

// add queues r, unless its uid holds perUID requests already.
func (p *historyPool) add(r request) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := p.uids[r.uid]
	if u.held() >= p.perUID {
		return false
	}
	if u == nil {
		u = &uidRequests{uid: r.uid}
		p.uids[r.uid] = u
	}
	u.waiting = append(u.waiting, r)
	if !u.running && len(u.waiting) == 1 {
		p.turns = append(p.turns, u)
		p.signal()
	}
	return true
}

// signal wakes a worker, unless every worker has a signal pending.
func (p *historyPool) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// take returns the first request of the uid whose turn it is, marking the
// uid running; ok is false when no request waits.
func (p *historyPool) take() (r request, u *uidRequests, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.turns) == 0 {
		return request{}, nil, false
	}
	u = p.turns[0]
	p.turns[0] = nil
	p.turns = p.turns[1:]
	r = u.waiting[0]
	u.waiting[0] = request{}
	u.waiting = u.waiting[1:]
	u.running = true
	if len(p.turns) > 0 {
		p.signal() // another worker may take the next
	}
	return r, u, true
}

// done ends u's running request: u takes its place at the back of the
// turns if it has more, or leaves the pool.
func (p *historyPool) done(u *uidRequests) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u.running = false
	if len(u.waiting) > 0 {
		p.turns = append(p.turns, u)
		p.signal()
		return
	}
	delete(p.uids, u.uid)
}

// work serves requests until ctx is done; the requests still waiting then
// are dropped with the pool.
func (p *historyPool) work(ctx context.Context, serve func(context.Context, request)) {
	for ctx.Err() == nil {
		r, u, ok := p.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			}
			continue
		}
		serve(ctx, r)
		p.done(u)
	}
}
