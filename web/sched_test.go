package web

import (
	"sync"
	"testing"
	"time"
)

// TestSchedulerOrder checks that tasks run after their delay, in order per
// kind, and that a stopped scheduler exits.
func TestSchedulerOrder(t *testing.T) {
	s := newScheduler([numDelays]time.Duration{
		delayFlushWS:   5 * time.Millisecond,
		delayFlushAjax: 20 * time.Millisecond,
		delayGrace:     time.Millisecond,
		delayDetect:    time.Hour,
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run(stop)
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()

	type ran struct {
		name string
		at   time.Time
	}
	got := make(chan ran, 16)
	// When each task became due: between due[name][0] and due[name][1],
	// the times around the call that scheduled it.
	due := map[string][2]time.Time{}
	add := func(k delayKind, name string, d time.Duration) {
		lo := time.Now().Add(d)
		s.after(k, func() { got <- ran{name, time.Now()} })
		due[name] = [2]time.Time{lo, time.Now().Add(d)}
	}
	add(delayFlushAjax, "ajax1", 20*time.Millisecond)
	add(delayFlushWS, "ws1", 5*time.Millisecond)
	add(delayFlushWS, "ws2", 5*time.Millisecond)
	add(delayGrace, "grace", time.Millisecond)
	add(delayDetect, "never", time.Hour)
	add(delayFlushAjax, "ajax2", 20*time.Millisecond)

	// Each task runs once due, and tasks run in the order they became due
	// (which is the order of the delays unless this goroutine stalled
	// while adding them).
	var prev time.Time // the earliest the previous task can have been due
	for range 5 {
		select {
		case r := <-got:
			d, ok := due[r.name]
			if !ok || r.name == "never" {
				t.Fatalf("ran %s", r.name)
			}
			if r.at.Before(d[0]) {
				t.Fatalf("ran %s %v before it was due", r.name, d[0].Sub(r.at))
			}
			if d[1].Before(prev) {
				t.Fatalf("ran %s (due by %v) after a task due from %v", r.name, d[1], prev)
			}
			prev = d[0]
			delete(due, r.name)
		case <-time.After(waitFor):
			t.Fatalf("tasks %v did not run", due)
		}
	}
}

// TestSchedulerCompacts checks that a long FIFO does not keep growing.
func TestSchedulerCompacts(t *testing.T) {
	s := newScheduler([numDelays]time.Duration{})
	var due []func()
	n := 0
	for range 5000 {
		s.after(delayGrace, func() { n++ })
	}
	if _, ok := s.popDue(time.Now().Add(time.Second), &due); ok {
		t.Fatal("tasks left")
	}
	for _, fn := range due {
		fn()
	}
	if n != 5000 || s.queues[delayGrace] != nil || s.heads[delayGrace] != 0 {
		t.Fatalf("ran %d; queue len %d cap %d head %d", n, len(s.queues[delayGrace]), cap(s.queues[delayGrace]), s.heads[delayGrace])
	}
}
