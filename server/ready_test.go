package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/web/redistest"
)

// fetch returns the status and body of a GET of u on a fresh connection,
// or 0 and the error when it fails.
func fetch(u string) (int, string) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(u)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// expectGet fails the test unless a GET of u answers code and body.
func expectGet(t *testing.T, u string, code int, body string) {
	t.Helper()
	if c, b := fetch(u); c != code || b != body {
		t.Errorf("GET %s = %d %q, want %d %q", u, c, b, code, body)
	}
}

// awaitGet waits until a GET of u answers code and body.
func awaitGet(t *testing.T, d time.Duration, u string, code int, body string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		c, b := fetch(u)
		if c == code && b == body {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d %q after %v, want %d %q", u, c, b, d, code, body)
		}
		time.Sleep(20 * time.Millisecond) // polling the endpoint under test, bounded by d
	}
}

// TestReadyzDuringShutdown checks that /readyz answers 503 "shutting
// down" from the first signal on, while /healthz stays 200, for the
// whole -shutdown-delay; that the delay ends the shutdown on its own; and
// that a second signal cuts a long one short.
func TestReadyzDuringShutdown(t *testing.T) {
	t.Run("second signal", func(t *testing.T) {
		ls := startLifetime(t, limits{delay: time.Minute})
		base := "http://" + ls.addr
		expectGet(t, base+"/readyz", http.StatusOK, "ready\n")
		expectGet(t, base+"/healthz", http.StatusOK, "ok\n")
		start := time.Now()
		ls.stop()
		ls.logs.AwaitContains(t, 10*time.Second, `"message":"shutting down"`)
		expectGet(t, base+"/readyz", http.StatusServiceUnavailable, "shutting down\n")
		expectGet(t, base+"/healthz", http.StatusOK, "ok\n")
		ls.force()
		took, err := ls.wait(t, start, 5*time.Second)
		t.Logf("second signal during a 1 m shutdown delay: serve returned after %v: %v", took, err)
		if !errors.Is(err, context.Canceled) { // "shutdown cut short" or the HTTP server's "shutdown"
			t.Errorf("serve returned %v, want the shutdown cut short (context canceled)", err)
		}
	})
	t.Run("delay", func(t *testing.T) {
		const delay = 300 * time.Millisecond
		ls := startLifetime(t, limits{delay: delay})
		base := "http://" + ls.addr
		start := time.Now()
		ls.stop()
		ls.logs.AwaitContains(t, 10*time.Second, `"message":"shutting down"`)
		expectGet(t, base+"/readyz", http.StatusServiceUnavailable, "shutting down\n")
		took, err := ls.wait(t, start, 10*time.Second)
		if err != nil || took < delay {
			t.Errorf("serve returned after %v (delay %v): %v", took, delay, err)
		}
	})
}

// TestReadyzRedisOutage checks that /readyz answers 503 "redis
// unreachable" while the instance's Redis is down and 200 again once it
// is back, and that /healthz stays 200 meanwhile.
func TestReadyzRedisOutage(t *testing.T) {
	rs := redistest.Start(t)
	in := startInstance(t, config{source: "none", storeSize: 1000, redisAddr: rs.Addr()}, nil)
	awaitGet(t, 10*time.Second, in.url+"/readyz", http.StatusOK, "ready\n")
	rs.Kill()
	awaitGet(t, 10*time.Second, in.url+"/readyz", http.StatusServiceUnavailable, "redis unreachable\n")
	expectGet(t, in.url+"/healthz", http.StatusOK, "ok\n")
	rs.Restart()
	awaitGet(t, 15*time.Second, in.url+"/readyz", http.StatusOK, "ready\n")
	expectGet(t, in.url+"/healthz", http.StatusOK, "ok\n")
}

// TestSecondSignalExits sends SIGTERM twice to the server in a process of
// its own, with a one-minute -shutdown-delay: after the first /readyz
// answers 503; the second makes the process exit at once, with status 1.
func TestSecondSignalExits(t *testing.T) {
	c := startChild(t, "-source", "none", "-shutdown-delay", "1m")
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	awaitGet(t, 10*time.Second, c.url+"/readyz", http.StatusServiceUnavailable, "shutting down\n")
	expectGet(t, c.url+"/healthz", http.StatusOK, "ok\n")
	start := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the process did not exit within 5 s of the second signal")
	}
	t.Logf("exited %v after the second signal: %v", time.Since(start), c.cmd.ProcessState)
	if code := c.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit status %d, want 1 (shutdown cut short)", code)
	}
}

// logAddr waits for the log line of message and returns its addr.
func logAddr(t *testing.T, logs *watchedLog, message string) string {
	t.Helper()
	logs.AwaitContains(t, 10*time.Second, `"message":"`+message+`"`)
	for _, line := range strings.Split(logs.String(), "\n") {
		var l struct{ Message, Addr string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Message == message {
			return l.Addr
		}
	}
	t.Fatalf("no %q line with an addr:\n%s", message, logs.String())
	return ""
}

// TestPprofOnDebugAddr checks that -debug-addr serves net/http/pprof on
// its own address, that the public address does not, and that the debug
// server closes with the app.
func TestPprofOnDebugAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &watchedLog{wrote: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, context.Background(), ln, config{source: "none", storeSize: 1000, debugAddr: "127.0.0.1:0"}, zerolog.New(logs))
	}()
	debug := "http://" + logAddr(t, logs, "debug server listening")
	public := "http://" + logAddr(t, logs, "listening")
	if !strings.Contains(logs.String(), `"loopback":true`) {
		t.Errorf("the debug server's line does not say it is on loopback:\n%s", logs.String())
	}
	if code, body := fetch(debug + "/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("debug /debug/pprof/ = %d %.200q, want 200 and the profiles", code, body)
	}
	if code, body := fetch(debug + "/debug/pprof/goroutine?debug=1"); code != http.StatusOK || !strings.Contains(body, "goroutine profile:") {
		t.Errorf("debug /debug/pprof/goroutine = %d %.200q", code, body)
	}
	if code, _ := fetch(debug + "/debug/pprof/cmdline"); code != http.StatusNotFound {
		t.Errorf("debug /debug/pprof/cmdline = %d, want 404 (it may show secrets)", code)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/heap", "/debug/pprof/cmdline"} {
		if code, _ := fetch(public + p); code != http.StatusNotFound {
			t.Errorf("public %s = %d, want 404", p, code)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return")
	}
	if c, err := net.Dial("tcp", strings.TrimPrefix(debug, "http://")); err == nil {
		c.Close()
		t.Error("the debug server still accepts connections after serve returned")
	}
}

// TestListenDebug checks -debug-addr's addresses: a port alone listens on
// loopback; a host written out is taken as it is, and logged with a
// warning when it is not loopback.
func TestListenDebug(t *testing.T) {
	ln, err := listenDebug(":0")
	if err != nil {
		t.Fatal(err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf(":0 listens on %v, want loopback", ip)
	}
	ln.Close()
	if ln, err := listenDebug(""); ln != nil || err != nil {
		t.Errorf(`listenDebug("") = %v, %v`, ln, err)
	}
	ln, err = listenDebug("0.0.0.0:0")
	if err != nil {
		t.Skipf("cannot listen on 0.0.0.0: %v", err)
	}
	var logs testsupport.Buffer
	stop := startDebug(ln, zerolog.New(&logs))
	stop()
	if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), `"loopback":false`) {
		t.Errorf("a debug server on 0.0.0.0 is not warned about:\n%s", logs.String())
	}
}

// TestAccessLog checks the access log of a debug-level server: one line
// per request with its method, path, status, bytes, duration and remote
// address, never its query string; a WebSocket upgrade and an Ajax poll
// work through it.
func TestAccessLog(t *testing.T) {
	ls := startLifetime(t, limits{}) // its logger writes debug lines
	base := "http://" + ls.addr
	expectGet(t, base+"/healthz?token=QSECRET1", http.StatusOK, "ok\n")
	// A 1.3 client's WebSocket: the upgrade hijacks the connection.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+ls.addr+"/chsk?client-id=QSECRET2", nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), "chsk/handshake") {
		t.Fatalf("no handshake on the WebSocket: %q %v", msg, err)
	}
	ws.Close()
	// A 1.21 client's handshake poll.
	req, _ := http.NewRequest(http.MethodGet, base+"/chsk?client-id=QSECRET3&handshake%3F=1", nil)
	req.Header.Set("X-CSRF-Token", "tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "chsk/handshake") {
		t.Fatalf("handshake poll = %d %q", resp.StatusCode, body)
	}
	type line struct {
		Level, Message, Method, Path, Remote, Component string
		Status, Bytes                                   int
		Duration                                        *float64
	}
	var got []line
	var raw []string
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 3 {
		got, raw = got[:0], raw[:0]
		sc := bufio.NewScanner(strings.NewReader(ls.logs.String()))
		for sc.Scan() {
			var l line
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.Message == "http request" {
				got, raw = append(got, l), append(raw, sc.Text())
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d access log lines, want 3:\n%s", len(got), ls.logs.String())
		}
		select {
		case <-ls.logs.wrote:
		case <-time.After(100 * time.Millisecond):
		}
	}
	// (Sente's own debug lines name the client-id; the access log does
	// not.)
	if lines := strings.Join(raw, "\n"); strings.Contains(lines, "QSECRET") || strings.Contains(lines, "?") {
		t.Errorf("the access log holds a query:\n%s", lines)
	}
	want := map[string]int{"/healthz": 200, "/chsk": 0} // /chsk: 101 and 200, checked below
	statuses := map[int]bool{}
	for _, l := range got {
		if _, ok := want[l.Path]; !ok || l.Method != "GET" || l.Level != "debug" || l.Component != "http" || l.Duration == nil || !strings.HasPrefix(l.Remote, "127.0.0.1:") {
			t.Errorf("access log line %+v", l)
		}
		if l.Path == "/healthz" && (l.Status != 200 || l.Bytes != 3) {
			t.Errorf("/healthz logged as %d, %d bytes", l.Status, l.Bytes)
		}
		if l.Path == "/chsk" {
			statuses[l.Status] = true
		}
	}
	if len(got) != 3 || !statuses[http.StatusSwitchingProtocols] || !statuses[http.StatusOK] {
		t.Errorf("access log lines %+v, want /healthz 200, /chsk 101 and /chsk 200", got)
	}
}
