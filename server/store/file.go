package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/tweet"
)

const (
	// flushInterval is the longest a tweet added to a persistent store
	// waits in the buffer before it is written to the file (and so
	// survives the process being killed), whether or not more tweets
	// follow. Flush and Close write and sync at once.
	flushInterval = time.Second
	// retryInterval is how often a file that could not be written is
	// rewritten from the store, until that succeeds.
	retryInterval = 10 * time.Second
	// compactFactor: the file is rewritten when it holds this many times
	// the capacity in lines.
	compactFactor = 2
	// maxLineBytes bounds a line read back from the file.
	maxLineBytes = 4 << 20
	// bufferBytes is the size of the append buffer.
	bufferBytes = 64 << 10
)

// file is a store's append-only JSONL file. Its methods are safe for
// concurrent use; mu is taken before the store's mu, never after.
//
// Add appends a line to the buffer; a timer (owned by the file, stopped by
// close) writes the buffer flushInterval after the first line it holds.
// When writing fails, the file is failed: the error is logged once, lines
// are no longer appended (the tweets stay in the store), and every
// retryInterval, and at Flush and Close, the file is rewritten from the
// store, which ends the failure when it succeeds.
type file struct {
	store    *Memory
	path     string
	log      zerolog.Logger
	interval time.Duration // flushInterval; tests shorten it
	retry    time.Duration // retryInterval; tests shorten it

	mu      sync.Mutex // guards everything below
	f       *os.File   // nil while failed
	w       *bufio.Writer
	lines   int         // lines in the file, tweets and otherwise
	timer   *time.Timer // runs tick; nil until first armed
	armed   bool        // timer is set and tick has not started
	failed  error       // why the file is not written; nil when it is
	retryAt time.Time   // next rewrite of a failed file
	closed  bool
}

// openFile loads path into s (creating the file if it does not exist),
// compacts it if it holds more than s keeps, and opens it for appending.
func openFile(s *Memory, path string, log zerolog.Logger) (*file, error) {
	fl := &file{store: s, path: path, log: log, interval: flushInterval, retry: retryInterval}
	lines, err := fl.load()
	if err != nil {
		return nil, err
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if lines != s.Count() {
		// Evicted, replaced or unreadable lines: rewrite what we keep.
		if err := fl.rewriteLocked(); err != nil {
			return nil, err
		}
		return fl, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	fl.f, fl.w, fl.lines = f, bufio.NewWriterSize(f, bufferBytes), lines
	return fl, nil
}

// load adds the tweets of the file to the store and returns the number of
// lines read.
func (fl *file) load() (int, error) {
	f, err := os.Open(fl.path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	s := fl.store
	lines := 0
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			lines++
			line = bytes.TrimSpace(line)
			var t *tweet.Tweet
			var perr error
			if len(line) > maxLineBytes {
				perr = errors.New("line too long")
			} else if len(line) > 0 {
				t, perr = tweet.Parse(line)
			}
			switch {
			case perr != nil:
				// A torn last line after a crash lands here too.
				fl.log.Warn().Str("path", fl.path).Int("line", lines).Err(perr).Msg("store file line skipped")
			case t != nil && t.ID > 0:
				s.mu.Lock()
				s.insertLocked(t.Slim())
				s.mu.Unlock()
			}
		}
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return 0, fmt.Errorf("store: reading %s: %w", fl.path, err)
		}
	}
}

// append writes t as one line to the buffer, which the timer writes to
// the file within the flush interval. It returns ErrClosed after close and
// an error if t cannot be encoded; the file's own errors are handled (and
// logged) here, not returned, since the tweet is stored all the same.
func (fl *file) append(t *tweet.Tweet) error {
	b, err := t.MarshalJSON()
	if err != nil {
		return fmt.Errorf("store: encoding tweet %d: %w", t.ID, err)
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return ErrClosed
	}
	if fl.failed != nil {
		return nil // the rewrite that ends the failure includes t
	}
	if _, err := fl.w.Write(b); err != nil {
		fl.failLocked(fmt.Errorf("store: writing %s: %w", fl.path, err))
		return nil
	}
	if err := fl.w.WriteByte('\n'); err != nil {
		fl.failLocked(fmt.Errorf("store: writing %s: %w", fl.path, err))
		return nil
	}
	fl.lines++
	if fl.lines > compactFactor*fl.store.capacity {
		if err := fl.rewriteLocked(); err != nil {
			fl.failLocked(err)
		}
		return nil
	}
	fl.armLocked(fl.interval)
	return nil
}

// armLocked sets the timer to run tick after d, unless it is set already
// or the file is closed. Callers hold mu.
func (fl *file) armLocked(d time.Duration) {
	if fl.armed || fl.closed {
		return
	}
	fl.armed = true
	if fl.timer == nil {
		fl.timer = time.AfterFunc(d, fl.tick)
		return
	}
	fl.timer.Reset(d)
}

// tick is the timer's: it writes the buffer to the file, or, when the file
// is failed and the retry is due, rewrites it.
func (fl *file) tick() {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.armed = false
	if fl.closed {
		return
	}
	if fl.failed != nil {
		if wait := time.Until(fl.retryAt); wait > 0 {
			fl.armLocked(wait)
			return
		}
		if err := fl.rewriteLocked(); err != nil {
			fl.failLocked(err)
		}
		return
	}
	if err := fl.w.Flush(); err != nil {
		fl.failLocked(fmt.Errorf("store: writing %s: %w", fl.path, err))
	}
}

// failLocked makes the file failed with err: it logs err if the file was
// not failed already, drops the buffer and closes the file, and sets the
// timer for the next rewrite. Callers hold mu.
func (fl *file) failLocked(err error) {
	if fl.w != nil {
		fl.w.Reset(io.Discard)
		fl.f.Close() // the error that matters is err
		fl.f, fl.w = nil, nil
	}
	if fl.failed == nil {
		fl.log.Error().Err(err).Str("path", fl.path).Dur("retry_every", fl.retry).
			Msg("store file not written: new tweets are kept in memory only until the file can be rewritten")
	} else {
		fl.log.Debug().Err(err).Str("path", fl.path).Msg("store file still not written")
	}
	fl.failed = err
	fl.retryAt = time.Now().Add(fl.retry)
	fl.armLocked(fl.retry)
}

// rewriteLocked rewrites the file with exactly the stored tweets, through
// a temporary file renamed over it, and reopens it for appending; that
// ends a failure. On error the file is left as it was, and closed: the
// caller makes it failed, or gives up. Callers hold mu.
func (fl *file) rewriteLocked() error {
	if fl.w != nil {
		// Whatever is buffered is also in the store, which is rewritten.
		fl.w.Reset(io.Discard)
		fl.f.Close()
		fl.f, fl.w = nil, nil
	}
	n, err := fl.rewrite()
	if err != nil {
		return fmt.Errorf("store: compacting %s: %w", fl.path, err)
	}
	f, err := os.OpenFile(fl.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	fl.f, fl.w, fl.lines = f, bufio.NewWriterSize(f, bufferBytes), n
	if fl.failed != nil {
		fl.log.Info().Str("path", fl.path).Int("tweets", n).Msg("store file rewritten: written again")
		fl.failed = nil
	}
	return nil
}

// rewrite writes the stored tweets to a temporary file, syncs it and
// renames it over the file. It returns the number of lines written.
func (fl *file) rewrite() (n int, err error) {
	docs := fl.store.snapshot()
	tmp := fl.path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	w := bufio.NewWriterSize(f, 256<<10)
	for _, t := range docs {
		b, err := t.MarshalJSON()
		if err != nil {
			return 0, err
		}
		if _, err := w.Write(b); err != nil {
			return 0, err
		}
		if err := w.WriteByte('\n'); err != nil {
			return 0, err
		}
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	return len(docs), os.Rename(tmp, fl.path)
}

// flush writes the buffer and syncs the file; a failed file is rewritten
// first, and its error returned if that fails again.
func (fl *file) flush() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return nil
	}
	return fl.flushLocked()
}

// flushLocked is flush. Callers hold mu.
func (fl *file) flushLocked() error {
	if fl.failed != nil {
		if err := fl.rewriteLocked(); err != nil {
			fl.failLocked(err)
			return err
		}
	}
	if err := fl.w.Flush(); err != nil {
		err = fmt.Errorf("store: writing %s: %w", fl.path, err)
		fl.failLocked(err)
		return err
	}
	if err := fl.f.Sync(); err != nil {
		err = fmt.Errorf("store: syncing %s: %w", fl.path, err)
		fl.failLocked(err)
		return err
	}
	return nil
}

// close stops the timer, flushes and closes the file.
func (fl *file) close() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return nil
	}
	err := fl.flushLocked()
	fl.closed = true
	if fl.timer != nil {
		fl.timer.Stop() // a tick already started finds the file closed
	}
	if fl.f != nil {
		if cerr := fl.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("store: closing %s: %w", fl.path, cerr)
		}
		fl.f, fl.w = nil, nil
	}
	return err
}
