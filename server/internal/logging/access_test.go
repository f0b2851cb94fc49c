package logging

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines and the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the access log lines written so far.
func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// TestAccessLogLine checks one line per request: method, path without
// the query, status, bytes, duration and remote address, and neither a
// header nor a query value.
func TestAccessLogLine(t *testing.T) {
	var logs lockedBuffer
	h := AccessLog(zerolog.New(&logs).Level(zerolog.DebugLevel))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/created":
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, "hello")
		case "/copy": // io.Copy takes the ReadFrom path
			io.Copy(w, strings.NewReader(strings.Repeat("x", 10000)))
		case "/early-hints":
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusAccepted)
		default: // nothing written: 200
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, p := range []string{"/created?token=QSECRET", "/copy", "/early-hints", "/nothing", "/" + strings.Repeat("é", 300)} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+p, nil)
		req.Header.Set("Authorization", "HSECRET")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	got := logs.lines(t)
	if len(got) != 5 {
		t.Fatalf("%d lines for 5 requests: %v", len(got), got)
	}
	want := []struct {
		path          string
		status, bytes float64
	}{{"/created", 201, 5}, {"/copy", 200, 10000}, {"/early-hints", 202, 0}, {"/nothing", 200, 0}}
	for i, w := range want {
		l := got[i]
		if l["level"] != "debug" || l["message"] != "http request" || l["method"] != "GET" || l["path"] != w.path ||
			l["status"] != w.status || l["bytes"] != w.bytes || l["duration"] == nil || !strings.HasPrefix(fmt.Sprint(l["remote"]), "127.0.0.1:") {
			t.Errorf("line %d = %v, want %s %v %v bytes", i, l, w.path, w.status, w.bytes)
		}
	}
	if long := fmt.Sprint(got[4]["path"]); len(long) > maxPath+len("…") || !strings.HasSuffix(long, "é…") {
		t.Errorf("long path logged as %d bytes: %q", len(long), long)
	}
	all := fmt.Sprint(got)
	for _, secret := range []string{"QSECRET", "token", "HSECRET", "Authorization"} {
		if strings.Contains(all, secret) {
			t.Errorf("the access log holds %q: %v", secret, got)
		}
	}
}

// TestAccessLogOff checks that a logger above debug gets the handler
// unwrapped.
func TestAccessLogOff(t *testing.T) {
	var logs lockedBuffer
	var wrapped bool
	h := AccessLog(zerolog.New(&logs).Level(zerolog.InfoLevel))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, wrapped = w.(*recorder)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if wrapped || len(logs.lines(t)) != 0 {
		t.Errorf("info logger: wrapped %v, logged %v", wrapped, logs.lines(t))
	}
}

// TestAccessLogPassThrough checks that a handler behind the access log
// can flush (a long poll's answer reaches the client while the handler
// still runs), hijack (a WebSocket upgrade: logged as 101), and set
// deadlines through http.ResponseController.
func TestAccessLogPassThrough(t *testing.T) {
	var logs lockedBuffer
	release := make(chan struct{})
	h := AccessLog(zerolog.New(&logs).Level(zerolog.DebugLevel))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/flush":
			if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
				t.Errorf("SetWriteDeadline through the access log: %v", err)
			}
			io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
			<-release // the client read "first" meanwhile
			io.WriteString(w, "second\n")
		case "/upgrade":
			c, brw, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("Hijack through the access log: %v", err)
				return
			}
			defer c.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nhijacked\n")
			brw.Flush()
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL + "/flush")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	if err != nil || first != "first\n" {
		close(release)
		t.Fatalf("flushed part: %q %v", first, err)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	resp.Body.Close()
	if string(rest) != "second\n" {
		t.Errorf("rest: %q", rest)
	}

	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 101 ") || !strings.HasSuffix(string(b), "hijacked\n") {
		t.Errorf("hijacked answer: %q", b)
	}
	// The hijacked handler's line comes after its client has read the
	// answer (httptest's Close does not wait for hijacked handlers).
	testsupport.Await(t, 5*time.Second, "both access lines", func() bool { return len(logs.lines(t)) >= 2 })
	got := logs.lines(t)
	if len(got) != 2 || got[0]["path"] != "/flush" || got[0]["status"] != 200.0 || got[0]["bytes"] != 13.0 ||
		got[1]["path"] != "/upgrade" || got[1]["status"] != 101.0 {
		t.Errorf("lines %v", got)
	}
}

// TestNew checks the logger: JSON lines with a timestamp when out is not
// a terminal, filtered by level; an unknown level is an error.
func TestNew(t *testing.T) {
	var b bytes.Buffer
	log, err := New("warn", &b)
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("dropped")
	log.Warn().Str("k", "v").Msg("kept")
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil || m["message"] != "kept" || m["level"] != "warn" || m["k"] != "v" || m["time"] == nil {
		t.Errorf("log output %q: %v", b.String(), err)
	}
	if _, err := New("loud", io.Discard); err == nil {
		t.Error("New accepted an unknown level")
	}
}
