package testsupport

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeTB records a helper's failure instead of failing the test. Fatal
// and Fatalf end the goroutine, as they do for a real test, so the helper
// must run in its own goroutine (see run).
type fakeTB struct {
	testing.TB // nil: any other method panics
	failure    string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatal(args ...any) {
	f.failure = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls helper with a fakeTB on a goroutine of its own and returns
// the failure it recorded ("" for none).
func run(helper func(t testing.TB)) string {
	f := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		helper(f)
	}()
	<-done
	return f.failure
}

func TestBufferConcurrentWrites(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if _, err := b.Write([]byte("x")); err != nil {
					t.Error(err)
				}
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Errorf("the buffer holds %d bytes, want 800", len(got))
	}
}

func TestAwaitContainsWakesOnWrite(t *testing.T) {
	var b Buffer
	b.Write([]byte("starting\n"))
	written := make(chan struct{})
	go func() {
		defer close(written)
		b.Write([]byte("first line\n"))
		b.Write([]byte("ready\n"))
	}()
	if failure := run(func(tb testing.TB) { b.AwaitContains(tb, 10*time.Second, "ready") }); failure != "" {
		t.Fatalf("AwaitContains failed: %s", failure)
	}
	<-written
	// Already there: no wait.
	if failure := run(func(tb testing.TB) { b.AwaitContains(tb, 0, "starting") }); failure != "" {
		t.Fatalf("AwaitContains of what the buffer holds failed: %s", failure)
	}
}

func TestAwaitContainsFailsShowingTheBuffer(t *testing.T) {
	var b Buffer
	b.Write([]byte("something else\n"))
	failure := run(func(tb testing.TB) { b.AwaitContains(tb, 20*time.Millisecond, "ready") })
	if !strings.Contains(failure, `"ready" not written within 20ms`) || !strings.Contains(failure, "something else") {
		t.Errorf("failure %q, want one naming the string, the time and the buffer's contents", failure)
	}
}

func TestPoll(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int32
	err := Poll(ctx, 10*time.Second, time.Millisecond, "third call", func() (bool, error) { return calls.Add(1) == 3, nil })
	if err != nil || calls.Load() != 3 {
		t.Errorf("Poll = %v after %d calls, want nil after 3", err, calls.Load())
	}

	errBoom := errors.New("boom")
	err = Poll(ctx, 10*time.Second, time.Millisecond, "the page", func() (bool, error) { return false, errBoom })
	if !errors.Is(err, errBoom) || !strings.HasPrefix(err.Error(), "the page: ") {
		t.Errorf("Poll with a failing cond = %v, want %v wrapped with what", err, errBoom)
	}

	err = Poll(ctx, 20*time.Millisecond, time.Millisecond, "never", func() (bool, error) { return false, nil })
	if err == nil || err.Error() != "never: not within 20ms" {
		t.Errorf("Poll past its deadline = %v, want %q", err, "never: not within 20ms")
	}

	canceled, cancel := context.WithCancel(ctx)
	cancel()
	err = Poll(canceled, 10*time.Second, time.Hour, "canceled", func() (bool, error) { return false, nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Poll with a canceled context = %v, want context.Canceled", err)
	}
}

func TestPollLooksOnceMoreAtTheDeadline(t *testing.T) {
	// The interval is longer than the deadline: cond is checked at once
	// and at the deadline, not in between.
	var calls atomic.Int32
	err := Poll(context.Background(), 20*time.Millisecond, time.Hour, "second look", func() (bool, error) { return calls.Add(1) == 2, nil })
	if err != nil || calls.Load() != 2 {
		t.Errorf("Poll = %v after %d calls, want nil after 2", err, calls.Load())
	}
}

func TestAwait(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	if failure := run(func(tb testing.TB) { Await(tb, 10*time.Second, "three", func() bool { return n.Load() == 3 }) }); failure != "" {
		t.Fatalf("Await failed: %s", failure)
	}
	failure := run(func(tb testing.TB) { Await(tb, 20*time.Millisecond, "the impossible", func() bool { return false }) })
	if failure != "the impossible: not within 20ms" {
		t.Errorf("failure %q, want %q", failure, "the impossible: not within 20ms")
	}
}

func TestEventually(t *testing.T) {
	if !Eventually(10*time.Second, func() bool { return true }) {
		t.Error("Eventually(true) = false")
	}
	if Eventually(20*time.Millisecond, func() bool { return false }) {
		t.Error("Eventually(false) = true")
	}
}
