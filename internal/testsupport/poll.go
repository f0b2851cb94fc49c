package testsupport

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// PollInterval is how often Await and Eventually check their condition.
const PollInterval = 5 * time.Millisecond

// Poll calls cond, at once and then every interval, until it returns true
// or an error. It returns nil when cond held, cond's error wrapped with
// what, or an error naming what when within passes or ctx ends first.
//
// Poll is for state that changes on other goroutines or in other processes
// without an event to wait on (a count in another server, a Redis key, a
// page in a browser); when there is an event, wait on it instead.
func Poll(ctx context.Context, within, interval time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			// A last look: cond may have come true while we waited.
			if ok, err := cond(); err != nil {
				return fmt.Errorf("%s: %w", what, err)
			} else if ok {
				return nil
			}
			return fmt.Errorf("%s: not within %v", what, within)
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, ctx.Err())
		}
	}
}

// Await waits until cond holds, checking it every PollInterval, and returns
// how long that took. It fails t, naming what, when within passes first.
func Await(t testing.TB, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	if err := Poll(context.Background(), within, PollInterval, what, func() (bool, error) { return cond(), nil }); err != nil {
		t.Fatal(err)
	}
	return time.Since(start)
}

// Eventually reports whether cond holds within within, checking it every
// PollInterval, without failing anything: for a test that says itself
// what a condition that never came means.
func Eventually(within time.Duration, cond func() bool) bool {
	return Poll(context.Background(), within, PollInterval, "", func() (bool, error) { return cond(), nil }) == nil
}
