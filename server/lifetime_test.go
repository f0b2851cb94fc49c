package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// lifetimeServer is the binary's serve on a free port with limits lim.
type lifetimeServer struct {
	addr   string
	stop   context.CancelFunc // the first signal
	force  context.CancelFunc // the second signal
	done   chan error         // serve's result
	logs   *watchedLog
	closed bool
}

// startLifetime runs serve with lim and CSRF token "tok" until the test
// ends.
func startLifetime(t *testing.T, lim limits) *lifetimeServer {
	t.Helper()
	return startLimited(t, lim, 0)
}

// startLimited is startLifetime with at most maxConns connections (0:
// the default).
func startLimited(t *testing.T, lim limits, maxConns int) *lifetimeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls := &lifetimeServer{addr: ln.Addr().String(), done: make(chan error, 1), logs: &watchedLog{wrote: make(chan struct{}, 1)}}
	log := zerolog.New(ls.logs)
	ctx, stop := context.WithCancel(context.Background())
	force, forceStop := context.WithCancel(context.Background())
	ls.stop, ls.force = stop, forceStop
	cfg := config{source: "none", storeSize: 1000, csrfToken: "tok", limits: lim, maxConns: maxConns}
	go func() { ls.done <- serve(ctx, force, ln, cfg, log) }()
	t.Cleanup(func() {
		stop()
		forceStop()
		if !ls.closed {
			select {
			case <-ls.done:
			case <-time.After(30 * time.Second):
				t.Error("serve did not return")
			}
		}
	})
	return ls
}

// wait returns how long serve took to return from since, and its result.
func (ls *lifetimeServer) wait(t *testing.T, since time.Time, within time.Duration) (time.Duration, error) {
	t.Helper()
	select {
	case err := <-ls.done:
		ls.closed = true
		return time.Since(since), err
	case <-time.After(within):
		t.Fatalf("serve did not return within %v", within)
	}
	return 0, nil
}

// trickle writes the header of a POST to /chsk announcing n body bytes on
// c, then one byte every interval until the body is sent, a write fails
// or stop is closed. The returned channel is closed when it has stopped.
func trickle(c net.Conn, n int, interval time.Duration, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	fmt.Fprintf(c, "POST /chsk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n", n)
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for range n {
			if _, err := c.Write([]byte("a")); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}()
	return done
}

// TestTricklingPostCut checks that a POST body trickled byte by byte is
// cut when the body bound passes: the client gets 408 and the connection
// ends (the real handler chain: readBodies, the router, the Sente
// endpoint).
func TestTricklingPostCut(t *testing.T) {
	const bound = 300 * time.Millisecond
	ls := startLifetime(t, limits{body: bound})
	c, err := net.Dial("tcp", ls.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	start := time.Now()
	trickled := trickle(c, 1000, 20*time.Millisecond, stop)
	defer func() { close(stop); <-trickled }()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to the trickling POST after %v: %v", time.Since(start), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	cut := time.Since(start)
	t.Logf("trickling POST answered %d after %v (bound %v)", resp.StatusCode, cut, bound)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("trickling POST answered %d, want 408", resp.StatusCode)
	}
	if cut < bound || cut > bound+time.Second {
		t.Errorf("trickling POST cut after %v, want about %v", cut, bound)
	}
	// The server closes the connection: EOF, or a reset when the bytes
	// trickled meanwhile were left unread; not a read timeout.
	var ne net.Error
	if _, err := br.ReadByte(); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("connection after the cut: read %v, want it closed", err)
	}
}

// TestPostWithinBound checks that a POST whose body comes in time reaches
// the Sente endpoint, and that its keep-alive connection then serves a
// long poll held past the body bound (its read deadline was lifted).
func TestPostWithinBound(t *testing.T) {
	const bound = 200 * time.Millisecond
	ls := startLifetime(t, limits{body: bound})
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	base := "http://" + ls.addr + "/chsk"
	frame, err := protocol.Dialect{Generation: protocol.GenV2}.ClientFrame(
		protocol.Event{ID: "test/hello", Data: transit.NewMap(transit.Keyword("n"), 1)}, protocol.Callback{})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"client-id": {"life-tab1"}, "ppstr": {string(frame)}}
	req, _ := http.NewRequest(http.MethodPost, base, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-CSRF-Token", "tok")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST = %d %q, want 200", resp.StatusCode, body)
	}
	// The same connection (MaxConnsPerHost 1): a handshake poll, then a
	// poll held for the PollTimeout (20 s) until the shutdown answers it,
	// well past the body bound.
	poll := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+"?client-id=life-tab1&handshake%3F=1", nil)
		req.Header.Set("X-CSRF-Token", "tok")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, b := poll(); code != http.StatusOK || !strings.Contains(b, "chsk/handshake") {
		t.Fatalf("handshake poll = %d %q", code, b)
	}
	held := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"?client-id=life-tab1", nil)
		req.Header.Set("X-CSRF-Token", "tok")
		resp, err := client.Do(req)
		if err != nil {
			held <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		held <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	select {
	case r := <-held:
		t.Fatalf("the poll ended before the shutdown: %s", r)
	case <-time.After(5 * bound):
		// Held past the bound: nothing cut it. (Waiting here is the
		// assertion: no event to wait for.)
	}
	ls.stop()
	if r := <-held; !strings.HasPrefix(r, "200 ") {
		t.Errorf("the held poll was answered %q at shutdown, want 200 and no data", r)
	}
}

// TestIdleKeepAliveClosed checks that a keep-alive connection idle for
// the idle bound is closed by the server.
func TestIdleKeepAliveClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	ls := startLifetime(t, limits{idle: idle})
	c, err := net.Dial("tcp", ls.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		t.Fatalf("GET /healthz = %d (close %v), want 200 keep-alive", resp.StatusCode, resp.Close)
	}
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("idle connection: read %v after %v, want EOF", err, time.Since(start))
	}
	closed := time.Since(start)
	t.Logf("idle keep-alive connection closed after %v (bound %v)", closed, idle)
	if closed < idle/2 || closed > idle+time.Second {
		t.Errorf("idle connection closed after %v, want about %v", closed, idle)
	}
}

// TestShutdownTricklingClient is the measurement: with a client
// trickling a POST body (whose bound is far away), the shutdown returns
// within its deadline, /readyz stops answering 200 as soon as it begins
// (503 while the Sente server drains, then nothing: the listener is
// closed), and a second signal cuts a longer deadline short. (BirdWatch's
// hub answers every callback, so its drain is short; web's tests cover a
// drain that waits for replies.)
func TestShutdownTricklingClient(t *testing.T) {
	for _, tc := range []struct {
		name     string
		deadline time.Duration
		force    bool // a second signal right after the first
	}{
		{"deadline", time.Second, false},
		{"second signal", time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := startLifetime(t, limits{body: time.Minute, shutdown: tc.deadline})
			c, err := net.Dial("tcp", ls.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			stop := make(chan struct{})
			trickled := trickle(c, 1000, 50*time.Millisecond, stop)
			defer func() { close(stop); <-trickled }()

			readyz := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			if code := get(t, readyz, "http://"+ls.addr+"/readyz"); code != http.StatusOK {
				t.Fatalf("/readyz = %d before the shutdown", code)
			}
			start := time.Now()
			ls.stop()
			if tc.force {
				ls.force()
			}
			ls.logs.AwaitContains(t, 10*time.Second, `"message":"shutting down"`)
			if code := get(t, readyz, "http://"+ls.addr+"/readyz"); code == http.StatusOK {
				t.Errorf("/readyz = 200 after the shutdown began")
			}
			took, err := ls.wait(t, start, tc.deadline+5*time.Second)
			t.Logf("shutdown with a trickling client took %v (deadline %v, second signal %v): %v", took, tc.deadline, tc.force, err)
			if took > tc.deadline+time.Second && !tc.force || tc.force && took > 2*time.Second {
				t.Errorf("shutdown took %v, deadline %v", took, tc.deadline)
			}
		})
	}
}

// get returns the status of a GET of u, or 0 when it fails.
func get(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// watchedLog is a log buffer that tells when it is written to.
type watchedLog struct {
	testsupport.Buffer
	wrote chan struct{} // cap 1: a write happened
}

func (w *watchedLog) Write(p []byte) (int, error) {
	n, err := w.Buffer.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return n, err
}

// TestWatchSignals checks the two signals: the first ends stop (graceful
// shutdown), the second force.
func TestWatchSignals(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	stop, force, release := watchSignals(sigs, zerolog.Nop())
	defer release()
	sigs <- syscall.SIGTERM
	select {
	case <-stop.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the first signal did not end stop")
	}
	if force.Err() != nil {
		t.Fatal("the first signal ended force")
	}
	sigs <- os.Interrupt
	select {
	case <-force.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the second signal did not end force")
	}
}

// TestConnectionLimit checks -max-conns: with two connections open a
// third is not served until one of them closes.
func TestConnectionLimit(t *testing.T) {
	ls := startLimited(t, limits{}, 2)
	healthz := func(c net.Conn, br *bufio.Reader, within time.Duration) (int, error) {
		c.SetReadDeadline(time.Now().Add(within))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var conns []net.Conn
	var readers []*bufio.Reader
	for i := range 3 {
		c, err := net.Dial("tcp", ls.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		conns, readers = append(conns, c), append(readers, bufio.NewReader(c))
		if i < 2 {
			if code, err := healthz(c, readers[i], 5*time.Second); code != http.StatusOK {
				t.Fatalf("connection %d: /healthz = %d, %v", i, code, err)
			}
		}
	}
	// Waiting here is the assertion: the third is not served meanwhile.
	var ne net.Error
	if code, err := healthz(conns[2], readers[2], 300*time.Millisecond); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("third connection served over the limit: %d, %v", code, err)
	}
	conns[0].Close()
	if code, err := healthz(conns[2], readers[2], 5*time.Second); code != http.StatusOK {
		t.Fatalf("third connection after one closed: /healthz = %d, %v", code, err)
	}
}
