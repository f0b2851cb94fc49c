package source

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/tweet"
)

// Defaults of ReplayConfig.
const (
	// DefaultMaxDelay caps the pause between two replayed tweets.
	DefaultMaxDelay = 10 * time.Second
	// DefaultMaxLineBytes is the longest line Replay reads; Twitter's
	// statuses are a few kilobytes.
	DefaultMaxLineBytes = 1 << 20
)

// ReplayConfig configures a Replay source.
type ReplayConfig struct {
	// Path is the file to replay: one Twitter v1.1 status as JSON per line,
	// gzip-compressed when the name ends in ".gz". Required.
	Path string
	// Speed is how much faster than real time to replay: the pause before
	// each tweet is its created_at (or timestamp_ms) distance from the
	// previous tweet divided by Speed. 0 means as fast as possible; must
	// not be negative.
	Speed float64
	// MaxDelay caps each pause, so that a gap in the archive does not
	// stall the replay. 0 means DefaultMaxDelay; must not be negative.
	MaxDelay time.Duration
	// MaxLineBytes is the longest line read; longer lines are skipped.
	// 0 means DefaultMaxLineBytes.
	MaxLineBytes int
	// Logger receives a warning for every line that is skipped because it
	// is malformed or too long (lines without "text", such as delete
	// notices, are skipped silently). The zero value logs nothing.
	Logger zerolog.Logger
}

// Replay emits archived statuses from a JSONL file in file order, skipping
// lines that are not statuses (no "text"), as BirdWatch's TwitterClient
// did. Safe for concurrent use; each Run reads the file anew.
type Replay struct {
	cfg ReplayConfig
}

// NewReplay validates cfg and returns the source. The file is opened by
// Run, so that it may appear later.
func NewReplay(cfg ReplayConfig) (*Replay, error) {
	if cfg.Path == "" {
		return nil, errors.New("source: replay needs a path")
	}
	if cfg.Speed < 0 || math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0) {
		return nil, fmt.Errorf("source: replay speed %v must be finite and not negative", cfg.Speed)
	}
	if cfg.MaxDelay < 0 || cfg.MaxLineBytes < 0 {
		return nil, errors.New("source: negative replay limit")
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxLineBytes == 0 {
		cfg.MaxLineBytes = DefaultMaxLineBytes
	}
	return &Replay{cfg: cfg}, nil
}

// ReplayStats counts what one Run did.
type ReplayStats struct {
	Emitted   int // statuses passed to emit
	NotStatus int // lines without text: delete and limit notices, blank lines
	Malformed int // lines that are not valid statuses, or too long
}

// Run replays the file once and returns nil at its end or when ctx is
// done; it returns an error when the file cannot be opened or read.
func (r *Replay) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	_, err := r.RunStats(ctx, emit)
	return err
}

// RunStats is Run, and also reports what it did.
func (r *Replay) RunStats(ctx context.Context, emit func(*tweet.Tweet)) (ReplayStats, error) {
	var st ReplayStats
	f, err := os.Open(r.cfg.Path)
	if err != nil {
		return st, fmt.Errorf("source: replay: %w", err)
	}
	defer f.Close()
	var in io.Reader = f
	if strings.HasSuffix(r.cfg.Path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return st, fmt.Errorf("source: replay %s: %w", r.cfg.Path, err)
		}
		defer gz.Close()
		in = gz
	}
	br := bufio.NewReaderSize(in, 64<<10)
	log := r.cfg.Logger

	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var prevTime, prevDue time.Time
	for lineNo := 1; ; lineNo++ {
		if ctx.Err() != nil {
			return st, nil
		}
		line, tooLong, err := readLine(br, r.cfg.MaxLineBytes)
		if err != nil && !errors.Is(err, io.EOF) {
			return st, fmt.Errorf("source: replay %s line %d: %w", r.cfg.Path, lineNo, err)
		}
		atEOF := err != nil
		switch {
		case tooLong:
			st.Malformed++
			log.Warn().Str("path", r.cfg.Path).Int("line", lineNo).Msg("replay line too long, skipped")
		case len(bytes.TrimSpace(line)) == 0:
			if !atEOF || len(line) > 0 { // not the nothing after a final newline
				st.NotStatus++
			}
		default:
			t, perr := tweet.Parse(line)
			switch {
			case errors.Is(perr, tweet.ErrNoText):
				st.NotStatus++
			case perr != nil:
				st.Malformed++
				log.Warn().Str("path", r.cfg.Path).Int("line", lineNo).Err(perr).Msg("replay line skipped")
			default:
				if r.cfg.Speed > 0 {
					if !r.wait(ctx, t, &prevTime, &prevDue, &timer) {
						return st, nil
					}
				}
				emit(t)
				st.Emitted++
			}
		}
		if atEOF {
			return st, nil
		}
	}
}

// wait sleeps until t is due: the previous tweet's due time plus the
// distance of their timestamps divided by Speed, at most MaxDelay and at
// least zero. It returns false when ctx is done first.
func (r *Replay) wait(ctx context.Context, t *tweet.Tweet, prevTime, prevDue *time.Time, timer **time.Timer) bool {
	tt, ok := t.Time()
	now := time.Now()
	if !ok || prevTime.IsZero() {
		if ok {
			*prevTime = tt
		}
		*prevDue = now
		return true
	}
	gap := time.Duration(float64(tt.Sub(*prevTime)) / r.cfg.Speed)
	gap = min(max(gap, 0), r.cfg.MaxDelay)
	due := prevDue.Add(gap)
	if due.Before(now.Add(-r.cfg.MaxDelay)) {
		// Far behind (a slow emit): do not race to catch up.
		due = now
	}
	*prevTime, *prevDue = tt, due
	wait := due.Sub(now)
	if wait <= time.Millisecond {
		return true
	}
	if *timer == nil {
		*timer = time.NewTimer(wait)
	} else {
		(*timer).Reset(wait)
	}
	select {
	case <-ctx.Done():
		return false
	case <-(*timer).C:
		return true
	}
}

// readLine returns the next line without its newline (a "\r" before it
// stays; JSON ignores it). tooLong reports a
// line longer than max, which is consumed and not returned. err is io.EOF
// at the end of the input (line may then hold a last line without newline).
func readLine(br *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimSuffix(buf, []byte("\n")), tooLong, err
	}
}
