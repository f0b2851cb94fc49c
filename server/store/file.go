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
	// flushInterval is the longest a written tweet waits in the buffer
	// while tweets keep arriving; Flush and Close write it at once.
	flushInterval = time.Second
	// compactFactor: the file is rewritten when it holds this many times
	// the capacity in lines.
	compactFactor = 2
	// maxLineBytes bounds a line read back from the file.
	maxLineBytes = 4 << 20
)

// file is a store's append-only JSONL file. Its methods are safe for
// concurrent use; mu is taken before the store's mu, never after.
type file struct {
	store *Memory
	path  string
	log   zerolog.Logger

	mu        sync.Mutex // guards everything below
	f         *os.File
	w         *bufio.Writer
	lines     int // lines in the file, tweets and otherwise
	lastFlush time.Time
	closed    bool
}

// openFile loads path into s (creating the file if it does not exist),
// compacts it if it holds more than s keeps, and opens it for appending.
func openFile(s *Memory, path string, log zerolog.Logger) (*file, error) {
	fl := &file{store: s, path: path, log: log}
	lines, err := fl.load()
	if err != nil {
		return nil, err
	}
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if lines != s.Count() {
		// Evicted, replaced or unreadable lines: rewrite what we keep.
		if err := fl.compactLocked(); err != nil {
			return nil, err
		}
		return fl, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	fl.f, fl.w, fl.lines, fl.lastFlush = f, bufio.NewWriterSize(f, 64<<10), lines, time.Now()
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

// append writes t as one line.
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
	if fl.w == nil {
		return fmt.Errorf("store: %s is not open (an earlier error)", fl.path)
	}
	if _, err := fl.w.Write(b); err != nil {
		return fmt.Errorf("store: writing %s: %w", fl.path, err)
	}
	if err := fl.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("store: writing %s: %w", fl.path, err)
	}
	fl.lines++
	if fl.lines > compactFactor*fl.store.capacity {
		return fl.compactLocked()
	}
	if time.Since(fl.lastFlush) >= flushInterval {
		fl.lastFlush = time.Now()
		if err := fl.w.Flush(); err != nil {
			return fmt.Errorf("store: writing %s: %w", fl.path, err)
		}
	}
	return nil
}

// compactLocked rewrites the file with exactly the stored tweets, through
// a temporary file renamed over it, and reopens it for appending. If that
// fails, appending continues on the old file when it can be reopened.
// Callers hold mu.
func (fl *file) compactLocked() error {
	if fl.w != nil {
		// Whatever is buffered is also in the store, which is rewritten.
		fl.w.Reset(io.Discard)
		fl.f.Close()
		fl.f, fl.w = nil, nil
	}
	n, err := fl.rewrite()
	if err != nil {
		err = fmt.Errorf("store: compacting %s: %w", fl.path, err)
	} else {
		fl.lines = n
	}
	f, oerr := os.OpenFile(fl.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if oerr != nil {
		return errors.Join(err, fmt.Errorf("store: %w", oerr))
	}
	fl.f, fl.w, fl.lastFlush = f, bufio.NewWriterSize(f, 64<<10), time.Now()
	return err
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

// flush writes the buffer and syncs the file.
func (fl *file) flush() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed || fl.w == nil {
		return nil
	}
	fl.lastFlush = time.Now()
	if err := fl.w.Flush(); err != nil {
		return fmt.Errorf("store: writing %s: %w", fl.path, err)
	}
	if err := fl.f.Sync(); err != nil {
		return fmt.Errorf("store: syncing %s: %w", fl.path, err)
	}
	return nil
}

// close flushes and closes the file.
func (fl *file) close() error {
	err := fl.flush()
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.closed {
		return err
	}
	fl.closed = true
	if fl.f != nil {
		if cerr := fl.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("store: closing %s: %w", fl.path, cerr)
		}
	}
	return err
}
