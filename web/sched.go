package web

import (
	"sync"
	"sync/atomic"
	"time"
)

// delayKind names one of the scheduler's fixed delays.
type delayKind uint8

const (
	delayFlushWS   delayKind = iota // Config.WSBatchWindow: flush a WebSocket push buffer
	delayFlushAjax                  // Config.AjaxBatchWindow: flush an Ajax push buffer
	delayGrace                      // Config.DisconnectGrace: uid, client and idle Ajax expiry
	delayDetect                     // Config.DetectTimeout: end of a WebSocket's probe window
	delayPing                       // Config.PingInterval: a WebSocket's next RFC 6455 ping
	numDelays
)

// task is a function due at a time: fn, or the function of h when h is
// not nil.
type task struct {
	at time.Time
	fn func()
	h  *handle
}

// dueTask is a task taken from its queue to run: fn, or h's function with
// the delay kind k.
type dueTask struct {
	fn func()
	h  *handle
	k  delayKind
}

// handle stands for the owner of some tasks (a WebSocket) in the queues, so
// that the queues do not keep the owner alive: its tasks hold the handle,
// the handle holds the owner's function until cancel, and a task whose
// handle was cancelled does nothing. A closed connection, and what it
// refers to, is then freed at once instead of when its last task falls due
// (its next ping, PingInterval later); what is left in the queues until
// then is the handle, a few bytes.
type handle struct {
	fn atomic.Pointer[func(delayKind)] // nil once cancelled
}

// newHandle returns a handle whose tasks call fn with their delay kind.
func newHandle(fn func(delayKind)) *handle {
	h := &handle{}
	h.fn.Store(&fn)
	return h
}

// cancel drops the handle's function: its pending tasks, and those added
// later, do nothing. Safe for concurrent use, idempotent.
func (h *handle) cancel() { h.fn.Store(nil) }

// scheduler runs short functions after one of a few fixed delays, all on
// one goroutine: the server's timers (batch windows, grace periods, probe
// windows) without a timer or goroutine per connection. Because each delay
// is fixed, tasks of one kind fall due in the order they were added, so each
// kind is a FIFO and no heap is needed. Tasks must not block; a task that is
// no longer wanted is not removed but finds, when it runs, that its epoch
// has passed, or does nothing because its handle was cancelled (afterHandle).
type scheduler struct {
	delays [numDelays]time.Duration
	wake   chan struct{} // cap 1: a task was added to an empty queue

	mu     sync.Mutex        // guards queues and heads
	queues [numDelays][]task // pending tasks, oldest first from heads[k]
	heads  [numDelays]int    // index of the oldest pending task of each kind
}

func newScheduler(delays [numDelays]time.Duration) *scheduler {
	return &scheduler{delays: delays, wake: make(chan struct{}, 1)}
}

// after runs fn on the scheduler goroutine once the delay of kind k has
// passed. Safe for concurrent use.
func (s *scheduler) after(k delayKind, fn func()) {
	s.add(k, task{at: time.Now().Add(s.delays[k]), fn: fn})
}

// afterHandle calls h's function with k on the scheduler goroutine once
// the delay of kind k has passed, unless h has been cancelled by then. The
// queue holds h, not the function. Safe for concurrent use.
func (s *scheduler) afterHandle(k delayKind, h *handle) {
	s.add(k, task{at: time.Now().Add(s.delays[k]), h: h})
}

// add queues t as a task of kind k.
func (s *scheduler) add(k delayKind, t task) {
	s.mu.Lock()
	empty := s.heads[k] == len(s.queues[k])
	s.queues[k] = append(s.queues[k], t)
	s.mu.Unlock()
	if empty {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// run runs one task taken from its queue.
func (t dueTask) run() {
	if t.h == nil {
		t.fn()
		return
	}
	if fn := t.h.fn.Load(); fn != nil {
		(*fn)(t.k)
	}
}

// run executes due tasks until stop is closed. Pending tasks are dropped.
func (s *scheduler) run(stop <-chan struct{}) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []dueTask
	for {
		next, ok := s.popDue(time.Now(), &due)
		for i, t := range due {
			t.run()
			due[i] = dueTask{}
		}
		due = due[:0]
		wait := time.Hour
		if ok {
			wait = time.Until(next)
		}
		timer.Reset(wait)
		select {
		case <-stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// popDue appends the tasks due at now to due and returns the time of the
// earliest task left, if any.
func (s *scheduler) popDue(now time.Time, due *[]dueTask) (next time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.queues {
		q, h := s.queues[k], s.heads[k]
		for h < len(q) && !q[h].at.After(now) {
			*due = append(*due, dueTask{fn: q[h].fn, h: q[h].h, k: delayKind(k)})
			q[h] = task{}
			h++
		}
		switch {
		case h == len(q):
			// Empty: drop a large backing array, keep a small one.
			if cap(q) > 1024 {
				q = nil
			} else {
				q = q[:0]
			}
			h = 0
		case h > len(q)/2:
			n := copy(q, q[h:])
			clear(q[n:])
			q, h = q[:n], 0
		}
		s.queues[k], s.heads[k] = q, h
		if h < len(q) && (!ok || q[h].at.Before(next)) {
			next, ok = q[h].at, true
		}
	}
	return next, ok
}
