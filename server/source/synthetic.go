package source

import (
	"context"
	"errors"
	"time"

	"github.com/sente-go/sente/server/tweet"
)

// maxBackfill bounds SyntheticConfig.Backfill.
const maxBackfill = 10_000_000

// SyntheticConfig configures a Synthetic source. The zero value emits ten
// realistic tweets per second, dated now.
type SyntheticConfig struct {
	// GeneratorConfig sets the seed, rate and users (see there). When
	// Start is zero, tweets are dated in real time: the first of the
	// backfill lies Backfill/Rate seconds before Run starts.
	GeneratorConfig
	// Backfill is how many tweets, dated before Run started, are emitted
	// at once when Run starts, so that history searches find something
	// right away. 0 means none; at most 10,000,000.
	Backfill int
}

// Synthetic emits generated tweets (see Generator) paced by their
// created_at times: after the backfill, each tweet is emitted when the
// wall clock reaches its created_at (shifted by a constant when Start is
// set explicitly). Safe for concurrent use; each Run has its own generator.
type Synthetic struct {
	cfg SyntheticConfig
}

// NewSynthetic validates cfg and returns the source.
func NewSynthetic(cfg SyntheticConfig) (*Synthetic, error) {
	gc, err := cfg.GeneratorConfig.resolve()
	if err != nil {
		return nil, err
	}
	if cfg.Backfill < 0 || cfg.Backfill > maxBackfill {
		return nil, errors.New("source: backfill outside [0, 10000000]")
	}
	cfg.GeneratorConfig = gc
	return &Synthetic{cfg: cfg}, nil
}

// Run emits tweets until ctx is done, then returns nil. The first
// Backfill tweets are emitted without waiting.
func (s *Synthetic) Run(ctx context.Context, emit func(*tweet.Tweet)) error {
	cfg := s.cfg.GeneratorConfig
	wall0 := time.Now()
	backfillSpan := time.Duration(float64(s.cfg.Backfill) / cfg.Rate * float64(time.Second))
	// shift maps a tweet's created_at to the wall-clock time it is due.
	var shift time.Duration
	if cfg.Start.IsZero() {
		cfg.Start = wall0.Add(-backfillSpan)
	} else {
		shift = wall0.Sub(cfg.Start) - backfillSpan
	}
	g := newGenerator(cfg)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for i := 0; ; i++ {
		if ctx.Err() != nil {
			return nil
		}
		t := g.Next()
		if i >= s.cfg.Backfill {
			if wait := time.Until(g.now.Add(shift)); wait > time.Millisecond {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-timer.C:
				}
			}
		}
		emit(t)
	}
}
