package testsupport

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Buffer is a bytes.Buffer safe for concurrent use, typically the
// io.Writer of a logger that the goroutines under test write and the test
// reads. The zero value is an empty buffer ready to use.
type Buffer struct {
	mu      sync.Mutex // guards the fields below
	b       bytes.Buffer
	written chan struct{} // closed by the next Write; nil while nobody waits
}

// Write appends p to the buffer and wakes AwaitContains.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.b.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// contains reports whether the buffer holds s and, when it does not,
// returns a channel closed by the next Write.
func (b *Buffer) contains(s string) (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if strings.Contains(b.b.String(), s) {
		return true, nil
	}
	if b.written == nil {
		b.written = make(chan struct{})
	}
	return false, b.written
}

// AwaitContains waits until the buffer holds s, checking after each Write,
// and fails t, showing what the buffer holds, when within passes first.
func (b *Buffer) AwaitContains(t testing.TB, within time.Duration, s string) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for {
		ok, written := b.contains(s)
		if ok {
			return
		}
		select {
		case <-written:
		case <-deadline.C:
			t.Fatalf("%q not written within %v; the buffer holds:\n%s", s, within, b.String())
			return
		}
	}
}
