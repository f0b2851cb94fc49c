package web

import (
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// Bad input is logged on a budget, so that a client sending garbage cannot
// make the server write more log than it sends (issue 13, "Logs as a
// weapon"): each WebSocket logs at most wsBadLogLines lines about its bad
// frames per badInputWindow, and all of them together at most
// wsServerBadLogLines (a client that reconnects gets a fresh budget); the
// Server logs at most postBadLogLines about refused Ajax POSTs (which have
// no connection to charge) per window. The first line logged after some
// were not carries their count ("not_logged"); a WebSocket's lines left out
// and not counted by a later line are counted by one line when it closes.
// A WebSocket that sends more than badFrameLimit bad frames in a window is
// disconnected (closeBadFrames).
const (
	badInputWindow      = 10 * time.Second
	wsBadLogLines       = 5
	wsServerBadLogLines = 50
	postBadLogLines     = 20
	badFrameLimit       = 50
)

// logBudget counts events of one kind (bad frames of one connection, bad
// POSTs of a server) in fixed windows of badInputWindow and tells which
// ones may be logged: the first lines of each window. It has no timer and
// no goroutine; a window begins with the first event after the previous
// one ended. The zero value is an empty budget at the start of a window.
// It is not safe for concurrent use.
type logBudget struct {
	start      time.Time // of the current window
	seen       int       // events in the current window
	suppressed int       // events not logged since the last line logged
}

// note records one event at now and reports whether a line may be logged
// about it (at most lines per window), the number of events not logged
// before it (to report in that line; reset when a line is allowed), and
// the number of events in the current window, this one included.
func (b *logBudget) note(now time.Time, lines int) (log bool, notLogged, seen int) {
	if b.seen == 0 || now.Sub(b.start) >= badInputWindow || now.Before(b.start) {
		b.start, b.seen = now, 0
	}
	b.seen++
	if b.seen > lines {
		b.suppressed++
		return false, 0, b.seen
	}
	notLogged, b.suppressed = b.suppressed, 0
	return true, notLogged, b.seen
}

// maxLoggedInput bounds the text of a client's input put in a log field
// (clipInput).
const maxLoggedInput = 256

// clipInput returns s if it has at most maxLoggedInput bytes, else its
// first maxLoggedInput bytes (cut on a rune boundary), an ellipsis and its
// length.
func clipInput(s string) string {
	if len(s) <= maxLoggedInput {
		return s
	}
	i := maxLoggedInput
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "… (" + strconv.Itoa(len(s)) + " bytes)"
}

// logEnabled reports whether l writes lines of level.
func logEnabled(l zerolog.Logger, level zerolog.Level) bool {
	return level >= l.GetLevel() && level >= zerolog.GlobalLevel()
}

// sharedBudget is a logBudget safe for concurrent use: the Server's for
// refused Ajax POSTs, which run on their request goroutines, and for the
// bad frames of all its WebSockets.
type sharedBudget struct {
	mu sync.Mutex
	b  logBudget
}

// note is logBudget.note under the lock.
func (sb *sharedBudget) note(now time.Time, lines int) (log bool, notLogged int) {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	log, notLogged, _ = sb.b.note(now, lines)
	return log, notLogged
}

// badPost returns a log event at level about a refused Ajax POST, or nil
// (on which zerolog's methods do nothing) when the level is off or the
// server's budget for such lines is spent this window.
func (s *Server) badPost(level zerolog.Level) *zerolog.Event {
	if !logEnabled(s.log, level) {
		return nil
	}
	ok, notLogged := s.badPosts.note(time.Now(), postBadLogLines)
	if !ok {
		return nil
	}
	e := s.log.WithLevel(level)
	if notLogged > 0 {
		e = e.Int("not_logged", notLogged)
	}
	return e
}

// badFrame accounts for one bad frame the reader drops. It returns a warn
// event for the line about it, or nil (on which zerolog's methods do
// nothing) when the connection's budget or the server's is spent this
// window. Past
// badFrameLimit bad frames in a window it logs one line and disconnects
// the client, without a close frame (closeBadFrames), and returns nil.
// Only the reader calls it.
func (c *wsConn) badFrame() *zerolog.Event {
	now := time.Now()
	if c.bad == nil {
		c.bad = new(logBudget)
	}
	ok, notLogged, seen := c.bad.note(now, wsBadLogLines)
	if seen > badFrameLimit {
		// Once: the frames the reader still has buffered after the cut
		// are dropped silently. The line is charged to the server's
		// budget, so that clients reconnecting in a loop cannot flood it.
		if seen == badFrameLimit+1 {
			if ok, _ := c.s.badFrames.note(now, wsServerBadLogLines); ok {
				c.logged(c.s.log.Warn()).Int("bad_frames", seen).Dur("window", badInputWindow).Msg("client sending bad frames disconnected")
			}
			c.abort(closeBadFrames)
		}
		c.bad.suppressed = 0 // counted in bad_frames, or past the cut
		return nil
	}
	if !ok || !logEnabled(c.s.log, zerolog.WarnLevel) {
		return nil
	}
	if ok, _ := c.s.badFrames.note(now, wsServerBadLogLines); !ok {
		// Counted by the connection's next line, or when it closes.
		c.bad.suppressed += notLogged + 1
		return nil
	}
	e := c.logged(c.s.log.Warn())
	if n := int64(notLogged) + c.s.badCarry.Swap(0); n > 0 {
		e = e.Int64("not_logged", n)
	}
	return e
}
