package store

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/internal/corpus"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/tweet"
)

// fileIDs reads path as another process would after this one was killed
// (the page cache survives it) and returns the ids of its tweets, in file
// order; a missing file has none.
func fileIDs(t *testing.T, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for line := range bytes.Lines(b) {
		tw, err := tweet.Parse(line)
		if err != nil {
			continue // a line being written
		}
		ids = append(ids, tw.ID)
	}
	return ids
}

// waitFile waits until the tweets of path are want, for at most within.
func waitFile(t *testing.T, path string, want []int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := fileIDs(t, path)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v the file holds %d tweets, want %d", within, len(got), len(want))
		}
		time.Sleep(5 * time.Millisecond) // polling the file: no event to wait on
	}
}

// addGenerated adds n synthetic tweets to s and returns their ids.
func addGenerated(t *testing.T, s *Memory, g *source.Generator, n int) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		tw := g.Next()
		if err := s.Add(tw); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tw.ID)
	}
	return ids
}

func newGenerator(t *testing.T, seed uint64) *source.Generator {
	t.Helper()
	g, err := source.NewGenerator(source.GeneratorConfig{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// setIntervals shortens the flush and retry intervals of s's file.
func setIntervals(s *Memory, flush, retry time.Duration) {
	s.file.mu.Lock()
	s.file.interval, s.file.retry = flush, retry
	s.file.mu.Unlock()
}

// TestFlushQuietSource checks that the last tweets of a source that went
// quiet reach the file without any later Add, Flush or Close: with the
// interval the binary uses, then with a short one, several times.
func TestFlushQuietSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tweets.jsonl")
	s := openStore(t, Config{Path: path})
	defer s.Close()
	if s.file.interval != time.Second {
		t.Fatalf("flush interval %v, want 1s", s.file.interval)
	}
	g := newGenerator(t, 3)
	want := addGenerated(t, s, g, 10)
	waitFile(t, path, want, 5*time.Second)

	setIntervals(s, 20*time.Millisecond, retryInterval)
	for range 5 {
		want = append(want, addGenerated(t, s, g, 3)...)
		waitFile(t, path, want, 5*time.Second)
	}
}

// TestFlushOnClose checks that Close writes what the timer has not yet,
// and stops the timer (TestMain checks that no goroutine is left).
func TestFlushOnClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tweets.jsonl")
	s := openStore(t, Config{Path: path})
	setIntervals(s, time.Hour, time.Hour)
	want := addGenerated(t, s, newGenerator(t, 4), 10)
	if got := fileIDs(t, path); len(got) != 0 {
		t.Fatalf("%d tweets written before the interval", len(got))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileIDs(t, path); !slices.Equal(got, want) {
		t.Errorf("after Close the file holds %d tweets, want %d", len(got), len(want))
	}
}

// TestFlushRacesClose runs the timer's writes against Close (for the race
// detector) and checks every tweet is in the file after Close.
func TestFlushRacesClose(t *testing.T) {
	dir := t.TempDir()
	g := newGenerator(t, 5)
	for i := range 20 {
		path := filepath.Join(dir, "tweets.jsonl")
		os.Remove(path)
		s := openStore(t, Config{Path: path})
		setIntervals(s, time.Duration(i)*50*time.Microsecond, time.Hour)
		want := addGenerated(t, s, g, 3)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got := fileIDs(t, path); !slices.Equal(got, want) {
			t.Fatalf("round %d: after Close the file holds %d tweets, want %d", i, len(got), len(want))
		}
	}
}

// logBuffer collects a logger's lines, written by several goroutines, and
// lets a test wait for one.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // receives after a write, if nobody has yet
}

func newLogBuffer() *logBuffer { return &logBuffer{written: make(chan struct{}, 1)} }

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case b.written <- struct{}{}:
	default:
	}
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) count(s string) int { return strings.Count(b.String(), s) }

// wait waits until s occurs n times in the log, for at most within.
func (b *logBuffer) wait(t *testing.T, s string, n int, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for b.count(s) < n {
		select {
		case <-b.written:
		case <-timeout:
			t.Fatalf("%q not logged %d times within %v:\n%s", s, n, within, b)
		}
	}
}

// TestWriteErrorLoggedOnce makes the file fail (writes fail, and so does
// the rewrite, the directory being gone) while tweets keep coming: Add
// still succeeds, the failure is logged once at error level, the retries
// at debug; once the directory is back, a retry rewrites the file with
// every stored tweet and appending resumes.
func TestWriteErrorLoggedOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tweets.jsonl")
	logs := newLogBuffer()
	s := openStore(t, Config{Path: path, Logger: zerolog.New(logs)})
	defer s.Close()
	setIntervals(s, 5*time.Millisecond, 20*time.Millisecond)
	g := newGenerator(t, 6)
	want := addGenerated(t, s, g, 5)
	waitFile(t, path, want, 5*time.Second)

	// Writes to the open file fail from now on, and so does a rewrite.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	closed, err := os.CreateTemp(t.TempDir(), "closed")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	s.file.mu.Lock()
	s.file.f.Close()
	s.file.f = closed
	s.file.w.Reset(closed)
	s.file.mu.Unlock()

	want = append(want, addGenerated(t, s, g, 500)...) // > the 64 kB buffer: Add writes
	logs.wait(t, "store file still not written", 3, 5*time.Second)
	want = append(want, addGenerated(t, s, g, 500)...)
	if n := logs.count(`"level":"error"`); n != 1 {
		t.Errorf("%d error lines for one failure, want 1:\n%s", n, logs)
	}
	if err := s.Flush(); err == nil {
		t.Error("Flush of a failed file succeeded")
	}

	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logs.wait(t, "store file rewritten", 1, 5*time.Second)
	waitFile(t, path, want, 5*time.Second)
	if n := logs.count("store file rewritten"); n != 1 {
		t.Errorf("recovery logged %d times, want 1", n)
	}
	want = append(want, addGenerated(t, s, g, 2)...)
	waitFile(t, path, want, 5*time.Second)
	if n := logs.count(`"level":"error"`); n != 1 {
		t.Errorf("%d error lines, want 1:\n%s", n, logs)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// BenchmarkAddFile measures Add into a full persistent store of 10,000
// tweets: indexing, eviction, the line appended to the file's buffer, and
// the amortized share of the writes and of the compactions (every 10,000
// tweets, the file is rewritten).
func BenchmarkAddFile(b *testing.B) {
	if testing.Short() {
		b.Skip("writes a store file of 10,000 tweets")
	}
	const capacity, extra = 10_000, 400_000
	s, err := New(Config{Capacity: capacity, Path: filepath.Join(b.TempDir(), "tweets.jsonl")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	benchAddFull(b, s, capacity, extra)
}

// BenchmarkFileAppend measures the file's share of Add alone: encoding
// (here, parsed tweets: their JSON as read), the lock, the buffer and the
// flush timer, writing to /dev/null so that the disk is out of the
// figure.
func BenchmarkFileAppend(b *testing.B) {
	if _, err := os.Stat(os.DevNull); err != nil {
		b.Skip(err)
	}
	s, err := New(Config{Capacity: MaxCapacity, Path: os.DevNull})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tweets := corpus.MustLoad(b)
	i := 0
	for b.Loop() {
		if err := s.file.append(tweets[i%len(tweets)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
