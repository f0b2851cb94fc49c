package roundrobin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
)

// testTimeout bounds every request and read of a test.
const testTimeout = 5 * time.Second

// newBackend starts a backend named name: "/" answers name and the
// request body, "/ws" is a WebSocket that echoes each message prefixed
// with name, and "/poll" answers name after 300 ms, then holds the
// response open until release is closed or the client leaves. The poll's
// Content-Length is set, so that the reverse proxy does not take it for a
// stream that it flushes anyway.
func newBackend(t *testing.T, name string, release <-chan struct{}) *httptest.Server {
	t.Helper()
	var up websocket.Upgrader
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%s %s", name, b)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered
		}
		defer c.Close()
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, append([]byte(name+":"), msg...)); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/poll", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(name)+1))
		io.WriteString(w, name)
		w.(http.Flusher).Flush()
		select {
		case <-release:
			io.WriteString(w, "\n")
		case <-r.Context().Done():
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// deadURL returns the URL of a loopback port that nothing listens on.
func deadURL(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return &url.URL{Scheme: "http", Host: addr}
}

func mustURL(t *testing.T, s *httptest.Server) *url.URL {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newFront starts the proxy in front of backends and returns its server
// and log.
func newFront(t *testing.T, backends []*url.URL) (*httptest.Server, *Proxy, *testsupport.Buffer) {
	t.Helper()
	var logs testsupport.Buffer
	p, err := New(backends, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(p)
	t.Cleanup(func() {
		front.Close()
		p.CloseIdleConnections()
	})
	return front, p, &logs
}

// do sends a request through front: a GET without body, else a POST of
// body. It returns the status and the response body.
func do(t *testing.T, front *httptest.Server, body string) (int, string) {
	t.Helper()
	if body == "" {
		return send(t, front, http.MethodGet, nil)
	}
	return send(t, front, http.MethodPost, strings.NewReader(body))
}

// send sends a request with method and body rd through front and returns
// the status and the response body.
func send(t *testing.T, front *httptest.Server, method string, rd io.Reader) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, front.URL+"/", rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: reading the body: %v", method, err)
	}
	return resp.StatusCode, string(b)
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		backends []*url.URL
	}{
		{"none", nil},
		{"nil URL", []*url.URL{nil}},
		{"no host", []*url.URL{{Scheme: "http"}}},
		{"bad scheme", []*url.URL{{Scheme: "ftp", Host: "localhost:21"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.backends, zerolog.Nop()); err == nil {
				t.Errorf("New(%v) = nil error, want one", tc.backends)
			}
		})
	}
}

func TestRoundRobin(t *testing.T) {
	var urls []*url.URL
	for _, name := range []string{"b0", "b1", "b2"} {
		urls = append(urls, mustURL(t, newBackend(t, name, nil)))
	}
	front, _, _ := newFront(t, urls)
	for i, body := range []string{"", "post-1", "", "post-3", "", ""} {
		want := fmt.Sprintf("b%d %s", i%3, body)
		if status, got := do(t, front, body); status != http.StatusOK || got != want {
			t.Errorf("request %d (body %q) = %d %q, want 200 %q", i, body, status, got, want)
		}
	}
}

func TestWebSocket(t *testing.T) {
	front, _, _ := newFront(t, []*url.URL{
		mustURL(t, newBackend(t, "b0", nil)),
		mustURL(t, newBackend(t, "b1", nil)),
	})
	wsURL := "ws" + strings.TrimPrefix(front.URL, "http") + "/ws"
	for i := range 2 { // two upgrades, one per backend
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		c, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL, nil)
		cancel()
		if err != nil {
			t.Fatalf("dial %d: %v (response %v)", i, err, resp)
		}
		c.SetReadDeadline(time.Now().Add(testTimeout))
		for _, msg := range []string{"hello", "again"} {
			if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
				t.Fatalf("socket %d: write: %v", i, err)
			}
			_, got, err := c.ReadMessage()
			if want := fmt.Sprintf("b%d:%s", i, msg); err != nil || string(got) != want {
				t.Errorf("socket %d: read %q, %v; want %q", i, got, err, want)
			}
		}
		c.Close()
	}
}

func TestDeadBackendSkipped(t *testing.T) {
	front, _, logs := newFront(t, []*url.URL{
		mustURL(t, newBackend(t, "b0", nil)),
		deadURL(t),
		mustURL(t, newBackend(t, "b2", nil)),
	})
	// Request 1 dials the dead backend, fails, and is retried on b2 (the
	// POST with its buffered body); request 4 skips it.
	for i, tc := range []struct{ body, want string }{
		{"", "b0 "}, {"post-1", "b2 post-1"}, {"", "b2 "},
		{"", "b0 "}, {"post-4", "b2 post-4"}, {"", "b2 "},
	} {
		if status, got := do(t, front, tc.body); status != http.StatusOK || got != tc.want {
			t.Errorf("request %d (body %q) = %d %q, want 200 %q", i, tc.body, status, got, tc.want)
		}
	}
	if n := strings.Count(logs.String(), `"message":"backend down"`); n != 1 {
		t.Errorf("logged %d backend down, want 1; log:\n%s", n, logs)
	}
}

func TestLargeBodyNotRetried(t *testing.T) {
	large := strings.Repeat("x", maxRetryBody+1)
	for _, tc := range []struct {
		name string
		body func() io.Reader
	}{
		{"with length", func() io.Reader { return strings.NewReader(large) }},
		{"chunked", func() io.Reader { return io.MultiReader(strings.NewReader(large)) }}, // length unknown to the client
	} {
		t.Run(tc.name, func(t *testing.T) {
			front, _, _ := newFront(t, []*url.URL{deadURL(t), mustURL(t, newBackend(t, "b1", nil))})
			if status, _ := send(t, front, http.MethodPost, tc.body()); status != http.StatusBadGateway {
				t.Errorf("POST of %d bytes to a dead backend = %d, want 502 (it cannot be retried)", len(large), status)
			}
			// The next one goes to b1, which gets the whole body.
			if status, got := send(t, front, http.MethodPost, tc.body()); status != http.StatusOK || got != "b1 "+large {
				t.Errorf("POST of %d bytes = %d, %d bytes; want 200, %d bytes", len(large), status, len(got), len("b1 "+large))
			}
		})
	}
}

func TestAllDown(t *testing.T) {
	front, _, _ := newFront(t, []*url.URL{deadURL(t), deadURL(t), deadURL(t)})
	for i := range 2 { // the first dials all three, the second finds them all down
		status, body := do(t, front, "")
		if status != http.StatusBadGateway || !strings.Contains(body, "no backend available") {
			t.Errorf("request %d = %d %q, want 502 no backend available", i, status, body)
		}
	}
}

func TestBackendComesBack(t *testing.T) {
	dead := deadURL(t)
	front, p, logs := newFront(t, []*url.URL{dead, mustURL(t, newBackend(t, "b1", nil))})
	p.downFor = 0 // try the dead backend again at once
	if status, got := do(t, front, ""); status != http.StatusOK || got != "b1 " {
		t.Fatalf("request to a dead backend = %d %q, want 200 %q from the next", status, got, "b1 ")
	}
	ln, err := net.Listen("tcp", dead.Host)
	if err != nil {
		t.Skipf("cannot listen on %s again: %v", dead.Host, err)
	}
	back := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "back")
	}))
	back.Listener.Close()
	back.Listener = ln
	back.Start()
	t.Cleanup(back.Close)
	do(t, front, "") // b1
	if status, got := do(t, front, ""); status != http.StatusOK || got != "back" {
		t.Errorf("request to the revived backend = %d %q, want 200 %q", status, got, "back")
	}
	log := logs.String()
	if !strings.Contains(log, `"message":"backend down"`) || !strings.Contains(log, `"message":"backend up"`) {
		t.Errorf("log lacks backend down then up:\n%s", log)
	}
}

func TestLongPollNotBuffered(t *testing.T) {
	release := make(chan struct{})
	front, _, _ := newFront(t, []*url.URL{mustURL(t, newBackend(t, "b0", release))})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/poll", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The backend answers after 300 ms and then keeps the response open:
	// its first bytes arrive only if the proxy flushes them.
	got := make([]byte, len("b0"))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != "b0" {
		t.Errorf("long poll read %q, %v; want %q before the backend finishes", got, err, "b0")
	}
}

func TestServeShutdown(t *testing.T) {
	release := make(chan struct{}) // never closed: the poll stays open until the proxy cuts it
	var logs testsupport.Buffer
	p, err := New([]*url.URL{mustURL(t, newBackend(t, "b0", release))}, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()

	base := "http://" + ln.Addr().String()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	pollCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace+testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pollCtx, http.MethodGet, base+"/poll", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()

	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want nil after its context is done", err)
		}
	case <-time.After(shutdownGrace + testTimeout):
		t.Fatal("Serve did not return after its context was done")
	}
	c.SetReadDeadline(time.Now().Add(testTimeout))
	var ne net.Error
	if _, _, err := c.ReadMessage(); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("WebSocket read after shutdown = %v, want the connection closed", err)
	}
	if _, err := io.ReadAll(resp.Body); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("long poll read after shutdown = %v, want it cut", err)
	}
}
