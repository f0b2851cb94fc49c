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
		at   time.Duration
	}
	got := make(chan ran, 16)
	start := time.Now()
	add := func(k delayKind, name string) {
		s.after(k, func() { got <- ran{name, time.Since(start)} })
	}
	add(delayFlushAjax, "ajax1")
	add(delayFlushWS, "ws1")
	add(delayFlushWS, "ws2")
	add(delayGrace, "grace")
	add(delayDetect, "never")
	add(delayFlushAjax, "ajax2")

	want := []struct {
		name string
		min  time.Duration
	}{{"grace", time.Millisecond}, {"ws1", 5 * time.Millisecond}, {"ws2", 5 * time.Millisecond},
		{"ajax1", 20 * time.Millisecond}, {"ajax2", 20 * time.Millisecond}}
	for _, w := range want {
		select {
		case r := <-got:
			if r.name != w.name || r.at < w.min {
				t.Fatalf("ran %s at %v, want %s after %v", r.name, r.at, w.name, w.min)
			}
		case <-time.After(waitFor):
			t.Fatalf("%s did not run", w.name)
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
