package web

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
)

// TestLogBudget checks the windows of a logBudget: the first lines of a
// window are allowed, the rest counted, and the first line allowed after
// them carries their count.
func TestLogBudget(t *testing.T) {
	var b logBudget
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 3; i++ {
		if ok, n, seen := b.note(t0, 3); !ok || n != 0 || seen != i {
			t.Fatalf("event %d: note = %t, %d, %d; want true, 0, %d", i, ok, n, seen, i)
		}
	}
	for i := 4; i <= 10; i++ {
		if ok, _, seen := b.note(t0.Add(time.Second), 3); ok || seen != i {
			t.Fatalf("event %d: note = %t, seen %d; want false, %d", i, ok, seen, i)
		}
	}
	// A new window: allowed again, with the count of the 7 not logged.
	if ok, n, seen := b.note(t0.Add(badInputWindow), 3); !ok || n != 7 || seen != 1 {
		t.Fatalf("next window: note = %t, %d, %d; want true, 7, 1", ok, n, seen)
	}
	if ok, n, _ := b.note(t0.Add(badInputWindow), 3); !ok || n != 0 {
		t.Fatalf("next line: note = %t, %d; want true, 0", ok, n)
	}
	// A clock that goes back starts a window rather than extending one.
	if _, _, seen := b.note(t0, 3); seen != 1 {
		t.Fatalf("clock back: seen %d, want 1", seen)
	}
}

// TestClipInput checks the clipping of client input in log fields.
func TestClipInput(t *testing.T) {
	if got := clipInput("chsk/x"); got != "chsk/x" {
		t.Errorf("clipInput(short) = %q", got)
	}
	got := clipInput("chsk/" + strings.Repeat("é", 1000))
	if len(got) > maxLoggedInput+32 || !utf8.ValidString(got) || !strings.HasSuffix(got, "… (2005 bytes)") {
		t.Errorf("clipInput(2005 bytes) = %q", got)
	}
}

// countingWriter counts the bytes and lines logged through it and signals
// the lines that contain mark.
type countingWriter struct {
	bytes atomic.Int64
	mu    sync.Mutex
	lines []string
	mark  string
	hit   chan string // cap 1 per expected hit; lines with mark
}

func newCountingWriter(mark string) *countingWriter {
	return &countingWriter{mark: mark, hit: make(chan string, 64)}
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.bytes.Add(int64(len(p)))
	w.mu.Lock()
	w.lines = append(w.lines, string(p))
	w.mu.Unlock()
	if w.mark != "" && bytes.Contains(p, []byte(w.mark)) {
		select {
		case w.hit <- string(p):
		default:
		}
	}
	return len(p), nil
}

// count returns the number of lines logged that contain every one of subs.
func (w *countingWriter) count(subs ...string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
lines:
	for _, l := range w.lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue lines
			}
		}
		n++
	}
	return n
}

func (w *countingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "")
}

// garbageFrames returns bad frames of every kind the reader drops: short
// garbage, a reserved event with a long id, frames near ReadLimit whose
// Transit is malformed over their whole length, and EDN frames a Transit
// server refuses.
func garbageFrames(readLimit int) [][]byte {
	bigX := strings.Repeat("x", readLimit-64)
	return [][]byte{
		[]byte("garbage"),
		[]byte(`[["~:chsk/` + bigX + `"]]`), // a reserved event
		[]byte(`[["~:a/b","~f` + bigX + `"]]`),
		[]byte(`[["~:a/b",` + strings.Repeat("1", readLimit-64) + `.e]]`),
		[]byte(`["~#` + bigX + `"]`),
		[]byte(`+[:a/b "` + bigX + `"]`),
		[]byte("[" + bigX),
	}
}

// TestWebSocketGarbageFlood floods one WebSocket with bad frames, small and
// near ReadLimit, and checks that the server logs a bounded number of
// bytes about them, cuts the connection after badFrameLimit of them
// (once, at warn, without a close frame), and still serves a well-behaved
// client, whose own bad frame is logged on its own budget.
func TestWebSocketGarbageFlood(t *testing.T) {
	t.Parallel()
	logw := newCountingWriter("client sending bad frames disconnected")
	cfg := testConfig()
	cfg.DisconnectGrace = time.Minute // no uidport-close during the test
	cfg.Logger = zerolog.New(logw).Level(zerolog.DebugLevel)
	ts := newTestServer(t, cfg)
	p := profileNamed(t, "v2")
	good := ts.dialWS(t, "G", p, "good-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	good.expectHandshake()
	bad := ts.dialWS(t, "B", p, "flood-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	bad.expectHandshake()
	before := logw.bytes.Load()

	frames := garbageFrames(int(defaultReadLimit))
	const sent = 3 * badFrameLimit
	var sentBytes int64
	writeErr := make(chan error, 1)
	go func() {
		for i := 0; i < sent; i++ {
			f := frames[i%len(frames)]
			_ = bad.conn.SetWriteDeadline(time.Now().Add(waitFor))
			if err := bad.conn.WriteMessage(websocket.TextMessage, f); err != nil {
				writeErr <- err // the server has cut the connection
				return
			}
			atomic.AddInt64(&sentBytes, int64(len(f)))
		}
		writeErr <- nil
	}()
	// (b) the connection is cut: the line is logged before the socket
	// closes, and the client's read ends without a close frame.
	select {
	case <-logw.hit:
	case <-time.After(waitFor):
		t.Fatalf("flooding client not disconnected after %d bad frames; log:\n%.4000s", sent, logw.String())
	}
	_ = bad.conn.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, _, err := bad.conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
			t.Fatalf("flooding client got close frame %d, want none (1006)", ce.Code)
		case errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("flooding client still connected: %v", err)
		}
		break
	}
	<-writeErr

	// (c) the well-behaved client is served: its events reach the
	// application and pushes reach it; one bad frame of its own is logged.
	good.sendRaw([]byte("garbage from a good client"))
	good.send(helloEvent(1), "")
	if m := ts.expectEvent(t, "test/hello"); m.ClientID != "good-tab1" {
		t.Fatalf("event from %s, want good-tab1", m.ClientID)
	}
	ts.send(t, "u-good", tweetEvent(1))
	good.expectBatch(1)
	if n := logw.count(`"level":"warn"`, `"client_id":"good-tab1"`, `"message":"bad frame dropped"`); n != 1 {
		t.Errorf("the good client's bad frame logged %d times, want once:\n%.4000s", n, logw.String())
	}

	// (a) the log stayed small: a handful of lines, none of them quoting a
	// big frame, and the disconnect logged once.
	logged := logw.bytes.Load() - before
	const maxLogged = 8 << 10
	if logged > maxLogged {
		t.Errorf("%d bytes logged for %d bytes of %d bad frames, want at most %d:\n%s", logged, atomic.LoadInt64(&sentBytes), sent, maxLogged, logw.String())
	}
	if n := logw.count(`"level":"warn"`, `"client_id":"flood-tab1"`); n > wsBadLogLines+1 {
		t.Errorf("%d warn lines about the flooding client, want at most %d", n, wsBadLogLines+1)
	}
	if n := logw.count("client sending bad frames disconnected"); n != 1 {
		t.Errorf("disconnect logged %d times, want once", n)
	}
	t.Logf("%d bytes logged for %d bytes of bad frames", logged, atomic.LoadInt64(&sentBytes))
}

// TestWebSocketServerLogBudget checks that the WebSockets of a server log
// at most wsServerBadLogLines lines about bad frames per window together,
// each within its own budget, and that each connection counts those it
// left out when it closes.
func TestWebSocketServerLogBudget(t *testing.T) {
	t.Parallel()
	logw := newCountingWriter("")
	cfg := testConfig()
	cfg.DisconnectGrace = time.Minute
	cfg.Logger = zerolog.New(logw).Level(zerolog.WarnLevel)
	ts := newTestServer(t, cfg)
	p := profileNamed(t, "v2")
	const conns, perConn = 2 * wsServerBadLogLines / wsBadLogLines, wsBadLogLines + 2
	var clients []*wsClient
	for i := 0; i < conns; i++ {
		c := ts.dialWS(t, "C", p, fmt.Sprintf("many%d-tab1", i))
		ts.expectEvent(t, IDUIDPortOpen)
		c.expectHandshake()
		clients = append(clients, c)
	}
	for _, c := range clients {
		for j := 0; j < perConn; j++ {
			c.sendRaw([]byte("garbage"))
		}
		c.send(helloEvent(1), "")
	}
	// Each connection's reader has handled its bad frames once its hello
	// is out.
	for i := 0; i < conns; i++ {
		ts.expectEvent(t, "test/hello")
	}
	if n := logw.count(`"message":"bad frame dropped"`); n != wsServerBadLogLines {
		t.Errorf("%d lines about %d bad frames on %d connections, want %d", n, conns*perConn, conns, wsServerBadLogLines)
	}
	for _, c := range clients {
		c.close()
	}
	ts.close(t)
	// Every bad frame is in a line or counted by one.
	total := logw.count(`"message":"bad frame dropped"`)
	for _, l := range strings.Split(logw.String(), "\n") {
		if i := strings.Index(l, `"not_logged":`); i >= 0 {
			var n int
			fmt.Sscanf(l[i+len(`"not_logged":`):], "%d", &n)
			total += n
		}
	}
	if total != conns*perConn {
		t.Errorf("%d bad frames logged or counted, want %d:\n%s", total, conns*perConn, logw.String())
	}
}

// TestAjaxBadPostLogBudget floods the server with bad Ajax POSTs and
// checks that each is refused with 400 while the lines logged about them
// stay within the server's budget, the first of the next window
// reporting the count of those not logged.
func TestAjaxBadPostLogBudget(t *testing.T) {
	t.Parallel()
	logw := newCountingWriter("")
	cfg := testConfig()
	cfg.Logger = zerolog.New(logw).Level(zerolog.DebugLevel)
	ts := newTestServer(t, cfg)
	a := ts.ajax(t, "A", profileNamed(t, "v2"), "post-tab1")
	a.expectHandshake()
	big := []byte(`[["~:a/b","~f` + strings.Repeat("x", 32<<10) + `"]]`)
	const n = 3 * postBadLogLines
	for i := 0; i < n; i++ {
		r, _ := a.postRaw(big, testToken, nil)
		if r.err != nil || r.status != http.StatusBadRequest {
			t.Fatalf("POST %d: %d %v, want 400", i, r.status, r.err)
		}
	}
	if got := logw.count("bad ajax post"); got != postBadLogLines {
		t.Errorf("%d lines about %d bad POSTs, want %d", got, n, postBadLogLines)
	}
	if logw.bytes.Load() > postBadLogLines*1024+4096 {
		t.Errorf("%d bytes logged:\n%s", logw.bytes.Load(), logw.String())
	}
	// The next window's first line reports the POSTs not logged.
	ts.s.badPosts.mu.Lock()
	ts.s.badPosts.b.start = ts.s.badPosts.b.start.Add(-badInputWindow)
	ts.s.badPosts.mu.Unlock()
	if r, _ := a.postRaw([]byte("garbage"), testToken, nil); r.status != http.StatusBadRequest {
		t.Fatalf("POST: %d, want 400", r.status)
	}
	if logw.count(`"not_logged":40,`) != 1 {
		t.Errorf("no line reports the %d POSTs not logged:\n%s", n-postBadLogLines, logw.String())
	}
}

// BenchmarkGarbageFlood measures what a client sending garbage costs in
// log: one WebSocket writes b.N bad frames (small ones and ones near
// ReadLimit, garbageFrames), reconnecting whenever the server cuts it, and
// the benchmark reports the log bytes written per second and per frame
// written, with the server logging at debug and at info level.
func BenchmarkGarbageFlood(b *testing.B) {
	for _, level := range []zerolog.Level{zerolog.DebugLevel, zerolog.InfoLevel} {
		b.Run(level.String(), func(b *testing.B) { benchGarbageFlood(b, level) })
	}
}

func benchGarbageFlood(b *testing.B, level zerolog.Level) {
	logw := newCountingWriter("")
	cfg := testConfig()
	cfg.DisconnectGrace = time.Minute
	cfg.Logger = zerolog.New(logw).Level(level)
	ts := newTestServer(b, cfg)
	go func() {
		for range ts.s.Events() {
		}
	}()
	frames := garbageFrames(int(defaultReadLimit))
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "?client-id=bench-tab1&csrf-token=" + testToken
	var conn *websocket.Conn
	dial := func() {
		// The server's few frames (handshake, probe) wait in the socket
		// buffers until the end.
		c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {testOrigin}})
		if err != nil {
			b.Fatal(err)
		}
		conn = c
	}
	dial()
	var sent int64
	b.ResetTimer()
	start := time.Now()
	before := logw.bytes.Load()
	for i := 0; i < b.N; i++ {
		f := frames[i%len(frames)]
		for conn.WriteMessage(websocket.TextMessage, f) != nil {
			conn.Close()
			dial()
		}
		sent += int64(len(f))
	}
	// Wait until the server has read what was written: the answer to a
	// ping on the last connection, or its cut.
	if conn.WriteMessage(websocket.TextMessage, pingFrame(b)) == nil {
		_ = conn.SetReadDeadline(time.Now().Add(waitFor))
		for {
			_, data, err := conn.ReadMessage()
			if err != nil || bytes.Contains(data, []byte(`"bench-cb"`)) {
				break
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	conn.Close()
	logged := logw.bytes.Load() - before
	b.ReportMetric(float64(logged)/elapsed.Seconds(), "logB/s")
	b.ReportMetric(float64(logged)/float64(b.N), "logB/frame")
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "inB/s")
}

// BenchmarkBadPostFlood is BenchmarkGarbageFlood for Ajax: one client
// POSTs b.N bad events of 32 KiB, with the server logging at info level.
func BenchmarkBadPostFlood(b *testing.B) {
	logw := newCountingWriter("")
	cfg := testConfig()
	cfg.Logger = zerolog.New(logw).Level(zerolog.InfoLevel)
	ts := newTestServer(b, cfg)
	body := "udt=1&client-id=post-tab1&ppstr=" + url.QueryEscape(`[["~:a/b","~f`+strings.Repeat("x", 32<<10)+`"]]`)
	client := ts.hs.Client()
	b.ResetTimer()
	start := time.Now()
	before := logw.bytes.Load()
	for i := 0; i < b.N; i++ {
		req, err := http.NewRequest(http.MethodPost, ts.url, strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Origin", testOrigin)
		req.Header.Set(headerCSRF, testToken)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r := do(client, req)
		if r.err != nil || r.status != http.StatusBadRequest {
			b.Fatalf("POST: %d %v, want 400", r.status, r.err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	logged := logw.bytes.Load() - before
	b.ReportMetric(float64(logged)/elapsed.Seconds(), "logB/s")
	b.ReportMetric(float64(logged)/float64(b.N), "logB/post")
}

// pingFrame returns a Sente 1.21 ping with callback "bench-cb", which the
// server answers with "pong".
func pingFrame(b *testing.B) []byte {
	f, err := protocol.Dialect{Generation: protocol.GenV2}.ClientFrame(protocol.Event{ID: protocol.IDWSPing}, protocol.Callback{ID: "bench-cb"})
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// TestGarbageCutLoggedOnce checks that the cut of a garbage sender is
// logged once, not again for each bad frame its reader still had buffered.
func TestGarbageCutLoggedOnce(t *testing.T) {
	t.Parallel()
	logw := newCountingWriter("")
	cfg := testConfig()
	cfg.Logger = zerolog.New(logw).Level(zerolog.WarnLevel)
	ts := newTestServer(t, cfg)
	c := ts.dialWS(t, "C", profileNamed(t, "v2"), "cut-tab1")
	ts.expectEvent(t, IDUIDPortOpen)
	c.expectHandshake()
	for i := 0; i < 4*badFrameLimit; i++ {
		if err := c.conn.WriteMessage(websocket.TextMessage, []byte("g")); err != nil {
			break // cut
		}
	}
	// The uid leaves once the socket is gone and its grace is over.
	ts.expectEvent(t, IDUIDPortClose)
	if n := logw.count("client sending bad frames disconnected"); n != 1 {
		t.Errorf("the cut logged %d times, want once:\n%s", n, logw.String())
	}
}
