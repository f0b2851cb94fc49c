package hub

import (
	"sync"
	"time"
)

// logWindow is how often a line that a client can trigger again and again
// is logged for one uid at most.
const logWindow = time.Minute

// onceLog bounds the log lines that clients can trigger at will: a line
// of one key (a uid and what the line says) is written at most once per
// window, and the events left out since are counted in the key's next
// line. Keys older than the window are swept as the map grows, so that
// its size follows the keys seen within the window.
type onceLog struct {
	window time.Duration

	mu      sync.Mutex
	last    map[string]logEntry
	sweepAt int // sweep when last has this many entries
}

type logEntry struct {
	at      time.Time // when the key's last line was written
	leftOut int       // events not logged since
}

func newOnceLog(window time.Duration) *onceLog {
	return &onceLog{window: window, last: map[string]logEntry{}, sweepAt: 64}
}

// allow reports whether key's line is to be written at now, and how many
// of its events were left out since its previous line.
func (l *onceLog) allow(key string, now time.Time) (ok bool, leftOut int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, seen := l.last[key]
	if seen && now.Sub(e.at) < l.window {
		e.leftOut++
		l.last[key] = e
		return false, 0
	}
	l.last[key] = logEntry{at: now}
	if len(l.last) >= l.sweepAt {
		for k, e := range l.last {
			if now.Sub(e.at) >= l.window {
				delete(l.last, k)
			}
		}
		l.sweepAt = max(64, 2*len(l.last))
	}
	return true, e.leftOut
}
