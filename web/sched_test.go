package web

import (
	"runtime"
	"sync"
	"testing"
	"time"
)

// runScheduler returns a scheduler with delays, running until the test
// ends (its cleanup stops it and waits for it to exit).
func runScheduler(t *testing.T, delays [numDelays]time.Duration) *scheduler {
	t.Helper()
	s := newScheduler(delays)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.run(stop)
	}()
	t.Cleanup(func() {
		close(stop)
		wg.Wait()
	})
	return s
}

// TestSchedulerOrder checks that tasks run after their delay, in order per
// kind, and that a stopped scheduler exits.
func TestSchedulerOrder(t *testing.T) {
	s := runScheduler(t, [numDelays]time.Duration{
		delayFlushWS:   5 * time.Millisecond,
		delayFlushAjax: 20 * time.Millisecond,
		delayGrace:     time.Millisecond,
		delayDetect:    time.Hour,
	})

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
	var due []dueTask
	n := 0
	for range 5000 {
		s.after(delayGrace, func() { n++ })
	}
	if _, ok := s.popDue(time.Now().Add(time.Second), &due); ok {
		t.Fatal("tasks left")
	}
	for _, t := range due {
		t.run()
	}
	if n != 5000 || s.queues[delayGrace] != nil || s.heads[delayGrace] != 0 {
		t.Fatalf("ran %d; queue len %d cap %d head %d", n, len(s.queues[delayGrace]), cap(s.queues[delayGrace]), s.heads[delayGrace])
	}
}

// waitFreed runs the garbage collector until freed receives n values (the
// cleanups of n objects ran) or waitFor passes.
func waitFreed(t *testing.T, freed <-chan struct{}, n int, what string) {
	t.Helper()
	deadline := time.After(waitFor)
	for got := 0; got < n; {
		runtime.GC()
		retry := time.NewTimer(20 * time.Millisecond) // a cleanup may need the next cycle
		for again := false; !again && got < n; {
			select {
			case <-freed:
				got++
			case <-retry.C:
				again = true
			case <-deadline:
				t.Fatalf("%d of %d %s freed after %v", got, n, what, waitFor)
			}
		}
		retry.Stop()
	}
}

// TestSchedulerHandle checks that a handle's tasks call its function with
// their kind, that a cancelled handle's tasks do nothing, and that they do
// not keep what the function refers to alive until they are due (a closed
// WebSocket until its next ping).
func TestSchedulerHandle(t *testing.T) {
	s := runScheduler(t, [numDelays]time.Duration{
		delayFlushWS: time.Millisecond,
		delayDetect:  2 * time.Millisecond,
		delayPing:    time.Hour,
	})

	// A live handle runs with the kind of each task.
	kinds := make(chan delayKind, 4)
	live := newHandle(func(k delayKind) { kinds <- k })
	s.afterHandle(delayDetect, live)
	s.afterHandle(delayFlushWS, live)
	for _, want := range []delayKind{delayFlushWS, delayDetect} {
		select {
		case k := <-kinds:
			if k != want {
				t.Fatalf("handle ran with kind %d, want %d", k, want)
			}
		case <-time.After(waitFor):
			t.Fatalf("handle task of kind %d did not run", want)
		}
	}

	// A cancelled handle does nothing; the plain task queued after its
	// task (same kind, so it runs later) tells when it would have run.
	ranCancelled := make(chan struct{}, 1)
	cancelled := newHandle(func(delayKind) { ranCancelled <- struct{}{} })
	s.afterHandle(delayFlushWS, cancelled)
	cancelled.cancel()
	after := make(chan struct{})
	s.after(delayFlushWS, func() { close(after) })
	select {
	case <-after:
	case <-time.After(waitFor):
		t.Fatal("task after the cancelled one did not run")
	}
	select {
	case <-ranCancelled:
		t.Fatal("a cancelled handle's task ran")
	default:
	}

	// What a pending task's function refers to: kept while its handle is
	// live, freed once it is cancelled, long before the task is due.
	type owner struct{ buf [1 << 16]byte }
	freed := make(chan struct{}, 2)
	hold := func() *handle {
		o := &owner{}
		runtime.AddCleanup(o, func(ch chan struct{}) { ch <- struct{}{} }, freed)
		return newHandle(func(delayKind) { o.buf[0]++ })
	}
	kept, dropped := hold(), hold()
	s.afterHandle(delayPing, kept)
	s.afterHandle(delayPing, dropped)
	dropped.cancel()
	waitFreed(t, freed, 1, "owners of a cancelled handle")
	runtime.GC()
	runtime.GC()
	select {
	case <-freed:
		t.Fatal("the owner of a live handle's pending task was freed")
	default:
	}
	kept.cancel()
	waitFreed(t, freed, 1, "owners of a handle cancelled later")
}
