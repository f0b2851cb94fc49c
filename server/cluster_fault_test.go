package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/web/redistest"
)

// childEnv, when set in a test binary's environment, makes it the server
// with these arguments (separated by \x1f) instead of running tests: an
// instance the test can kill as a crash would (TestMain).
const childEnv = "SENTE_TEST_SERVE"

// serveChild runs the server of a child process; see childEnv.
func serveChild(args string) int {
	if err := run(strings.Split(args, "\x1f"), os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		return 1
	}
	return 0
}

// child is a server in a process of its own.
type child struct {
	cmd         *exec.Cmd
	url         string
	sourceReady chan struct{} // closed once it logged that it reads its Redis tweet stream
	done        chan struct{} // closed once the process exited and its log was read
}

// startChild runs the server with args in a child process until kill or
// the end of the test, and returns once it listens.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(append([]string{"-addr", "127.0.0.1:0", "-log-level", "info"}, args...), "\x1f"))
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, sourceReady: make(chan struct{}), done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() { // reads the log until the process exits
		defer close(c.done)
		sc := bufio.NewScanner(logs)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct{ Message, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Message {
			case "listening":
				addr <- line.Addr
			case "reading the redis tweet stream":
				close(c.sourceReady)
			}
		}
		io.Copy(io.Discard, logs)
		cmd.Wait()
	}()
	t.Cleanup(c.kill)
	select {
	case a := <-addr:
		c.url = "http://" + a
	case <-c.done:
		t.Fatal("the child server exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("the child server did not listen within 30 s")
	}
	return c
}

// kill kills the process (SIGKILL) and waits for it. Idempotent.
func (c *child) kill() {
	c.cmd.Process.Kill()
	<-c.done
}

// liveLog counts the live tweets a client received, by text.
type liveLog struct {
	mu     sync.Mutex
	counts map[string]int
	errs   []string
}

func (l *liveLog) add(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.counts == nil {
		l.counts = map[string]int{}
	}
	l.counts[text]++
}

func (l *liveLog) count(text string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.counts[text]
}

func (l *liveLog) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) < 10 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

// takeEvents records the :tweet/new of a batch a 1.3 client received, and
// returns the handshake's uid and token if the value is one.
func (l *liveLog) takeEvents(v any) (uid, token string, handshake bool) {
	evs, ok := v.([]any)
	if !ok || len(evs) == 0 {
		return "", "", false
	}
	if evs[0] == protocol.IDHandshake {
		hs, err := protocol.HandshakeFromValue(evs)
		if err != nil {
			l.fail("handshake %v: %v", evs, err)
			return "", "", false
		}
		return hs.UID, hs.CSRFToken, true
	}
	for _, e := range evs {
		ev, err := protocol.EventFromValue(e)
		if err != nil {
			l.fail("bad event %v: %v", e, err)
			continue
		}
		if ev.ID == "tweet/new" {
			m, _ := ev.Data.(*transit.Map)
			text, _ := m.Get(transit.Keyword("text"))
			l.add(fmt.Sprint(text))
		}
	}
	return "", "", false
}

// faultClient is a BirdWatch client (Sente 1.3, flexi Transit) that
// rides out faults as the real one does: a WebSocket client reconnects
// with its client-id, an Ajax client polls again after an error. Neither
// searches again. Its loop runs until the test ends.
type faultClient struct {
	name string
	log  liveLog

	mu         sync.Mutex
	uid, token string
	handshakes int
	ws         *websocket.Conn // WebSocket clients: the current socket
}

func (c *faultClient) session() (uid, token string, handshakes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.uid, c.token, c.handshakes
}

func (c *faultClient) handshake(uid, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uid != "" && uid != c.uid {
		c.log.fail("%s: uid changed from %s to %s", c.name, c.uid, uid)
	}
	c.uid, c.token = uid, token
	c.handshakes++
}

// runLoop runs loop until the test ends, which waits for it.
func runLoop(t *testing.T, loop func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		loop(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// retryPause is how long a client waits before it reconnects or polls
// again after an error (the real clients back off longer).
const retryPause = 50 * time.Millisecond

// startFaultWS connects a WebSocket client through front.
func startFaultWS(t *testing.T, front, name string) *faultClient {
	c := &faultClient{name: name}
	url := "ws" + strings.TrimPrefix(front, "http") + "/chsk?client-id=" + name
	dial := func() *websocket.Conn {
		conn, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			return nil
		}
		c.mu.Lock()
		c.ws = conn
		c.mu.Unlock()
		return conn
	}
	first := dial() // the first dial is the test's: the proxy's turn decides the instance
	if first == nil {
		t.Fatalf("%s: dial failed", name)
	}
	runLoop(t, func(ctx context.Context) {
		conn := first
		stop := context.AfterFunc(ctx, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.ws != nil {
				c.ws.Close()
			}
		})
		defer stop()
		for ctx.Err() == nil {
			if conn == nil {
				select {
				case <-ctx.Done():
					return
				case <-time.After(retryPause):
				}
				if conn = dial(); conn == nil {
					continue
				}
				if ctx.Err() != nil { // AfterFunc may have run before the dial
					conn.Close()
					return
				}
			}
			_, frame, err := conn.ReadMessage()
			if err != nil {
				conn.Close()
				conn = nil
				continue
			}
			sf, err := protocol.GenFlexi.ParseServerFrame(frame)
			if err != nil {
				continue // another generation's frame: the client drops it
			}
			if uid, token, ok := c.log.takeEvents(sf.Value); ok {
				c.handshake(uid, token)
			} else if v, ok := sf.Value.([]any); ok && len(v) > 0 && v[0] == protocol.IDHandshake {
				c.log.fail("%s: unreadable handshake %v", name, v)
			}
		}
	})
	return c
}

// send sends an event on the client's current socket.
func (c *faultClient) sendWS(id transit.Keyword, data any) error {
	frame, err := protocol.GenFlexi.ClientFrame(protocol.NewEvent(id, data), protocol.Callback{})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// startFaultAjax starts an Ajax client polling through front.
func startFaultAjax(t *testing.T, front, name string) (*faultClient, *flexiAjaxClient) {
	c := &faultClient{name: name}
	h := newFlexiAjaxClient(t, front, name, &strings.Builder{})
	runLoop(t, func(ctx context.Context) {
		for ctx.Err() == nil {
			status, body, err := h.do(ctx, http.MethodGet, "/chsk?"+h.encode([]formField{{"_", ""}, {"client-id", name}}), nil)
			if err != nil || status != http.StatusOK {
				if ctx.Err() == nil && err != nil && isTimeout(err) {
					continue
				}
				select { // the proxy's 502 for a dead instance, a 503 while the cluster settles
				case <-ctx.Done():
				case <-time.After(retryPause):
				}
				continue
			}
			sf, err := protocol.GenFlexi.ParseServerFrame([]byte(body))
			if err != nil {
				c.log.fail("%s: unreadable poll answer %q", name, body)
				return // the real client's loop dies here
			}
			if uid, token, ok := c.log.takeEvents(sf.Value); ok {
				c.handshake(uid, token)
			}
		}
	})
	return c, h
}

// postAjax POSTs an event as the 1.3 client does, retrying while the
// cluster refuses it (503 while it settles, 502 from the proxy).
func postAjax(t *testing.T, c *faultClient, h *flexiAjaxClient, id transit.Keyword, data any) {
	t.Helper()
	_, token, _ := c.session()
	fields := []formField{{"_", ""}, {"csrf-token", token}, {"ppstr", h.ppstr(id, data)}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, body, err := h.do(context.Background(), http.MethodPost, "/chsk", fields)
		if err == nil && status == http.StatusOK && body == dummyReply {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: POST %s answered %d %q (%v)", c.name, id, status, body, err)
		}
		time.Sleep(retryPause) // the client's retry, not a wait for an event
	}
}

// A BirdWatch cluster loses no live query to a Redis that restarts empty,
// then to the crash of an instance: every WebSocket and Ajax client gets
// each live tweet of the steady phases after them, once.
func TestClusterLiveQueriesSurviveFaults(t *testing.T) {
	rs := redistest.Start(t)
	rc := rs.Client()
	defer rc.Close()
	cfg := config{source: "redis", storeSize: 1000, redisAddr: rs.Addr(), redisTweets: "test:tweets", packer: "auto"}
	in0, in1 := startInstance(t, cfg, nil), startInstance(t, cfg, nil)
	doomed := startChild(t, "-source", "redis", "-store-size", "1000", "-redis-addr", rs.Addr(), "-redis-tweets", "test:tweets")
	alive := []*instance{in0, in1}
	front := startFront(t, []*instance{in0, in1, {url: doomed.url}})
	awaitSources(t, alive...)
	select {
	case <-doomed.sourceReady:
	case <-time.After(20 * time.Second):
		t.Fatal("the child does not read its tweet stream within 20 s")
	}

	// Three WebSocket clients, one per instance (the proxy's turns), and
	// six Ajax clients, whose requests go round the instances.
	var clients []*faultClient
	ajax := map[*faultClient]*flexiAjaxClient{}
	for i := range 3 {
		clients = append(clients, startFaultWS(t, front.URL, fmt.Sprintf("ws-%d", i)))
	}
	for i := range 6 {
		c, h := startFaultAjax(t, front.URL, fmt.Sprintf("ajax-%d", i))
		clients = append(clients, c)
		ajax[c] = h
	}
	words := map[*faultClient]string{}
	for i, c := range clients {
		testsupport.Await(t, 10*time.Second, c.name+" has its handshake", func() bool { _, _, n := c.session(); return n > 0 })
		words[c] = fmt.Sprintf("word%c", 'a'+i)
		uid, _, _ := c.session()
		data := transit.NewMap(transit.Keyword("query"), birdwatchQuery(words[c]), transit.Keyword("uid"), uid)
		if h := ajax[c]; h != nil {
			postAjax(t, c, h, "cmd/percolate", data)
		} else if err := c.sendWS("cmd/percolate", data); err != nil {
			t.Fatal(err)
		}
	}
	entries := func() map[string]string { // the shared live queries: uid → instance
		m, _ := rc.HGetAll(context.Background(), "birdwatch:live").Result()
		out := map[string]string{}
		for uid, v := range m {
			if f := strings.Fields(v); len(f) > 1 {
				out[uid] = f[1]
			}
		}
		return out
	}
	testsupport.Await(t, 10*time.Second, "every live query is shared", func() bool { return len(entries()) == len(clients) })
	onDoomed := 0
	for _, inst := range entries() {
		if inst != in0.app.cluster.InstanceID() && inst != in1.app.cluster.InstanceID() {
			onDoomed++
		}
	}
	if onDoomed == 0 {
		t.Fatal("no live query was registered on the instance to be killed")
	}

	n := int64(0)
	publish := func(text string) {
		t.Helper()
		n++
		addTweet(t, rc, "test:tweets", testTweet(1000+n, text, "en"))
	}
	// phase publishes one tweet for each client, waits until each has
	// it, then a second one, and checks that each came once.
	phase := func(name string) {
		t.Helper()
		for _, step := range []string{name, name + "-end"} {
			for _, c := range clients {
				publish(words[c] + " " + step)
			}
			for _, c := range clients {
				text := words[c] + " " + step
				testsupport.Await(t, 20*time.Second, c.name+" gets "+text, func() bool { return c.log.count(text) > 0 })
			}
		}
		for _, c := range clients {
			for _, step := range []string{name, name + "-end"} {
				if got := c.log.count(words[c] + " " + step); got != 1 {
					t.Errorf("%s got %q %d times, want once", c.name, words[c]+" "+step, got)
				}
			}
		}
	}
	phase("before")

	// Redis restarts empty.
	rs.Kill()
	wsDoomed, _, _ := clients[2].session() // the third dial reached the doomed instance
	for _, in := range alive {
		testsupport.Await(t, 10*time.Second, "the outage is noticed", func() bool { return !in.app.peers.Settled() })
		// Long enough that each instance counts the others' clients gone
		// (and delivered their :chsk/uidport-close).
		testsupport.Await(t, 20*time.Second, "the other instances' presence expires", func() bool {
			return !slices.Contains(in.app.sente.ConnectedUIDs().Any, wsDoomed)
		})
	}
	rs.Restart() // the instances read on in the new stream
	for _, in := range alive {
		testsupport.Await(t, 30*time.Second, "the instances settle again", func() bool {
			return in.app.peers.Settled() && len(in.app.cluster.Instances()) == 3
		})
	}
	testsupport.Await(t, 10*time.Second, "every live query is shared again", func() bool { return len(entries()) == len(clients) })
	phase("after-redis")

	// An instance crashes: its WebSocket client reconnects elsewhere, and
	// its live queries are taken over.
	doomed.kill()
	for _, in := range alive {
		testsupport.Await(t, 20*time.Second, "the crash is noticed", func() bool { return len(in.app.cluster.Instances()) == 2 })
	}
	testsupport.Await(t, 20*time.Second, "each live query is percolated by one instance alive", func() bool {
		for _, c := range clients {
			uid, _, _ := c.session()
			held := 0
			for _, in := range alive {
				if _, ok := in.app.perc.Lookup(uid); ok {
					held++
				}
			}
			if held != 1 {
				return false
			}
		}
		return true
	})
	phase("after-crash")
	for _, c := range clients {
		c.log.mu.Lock()
		for _, e := range c.log.errs {
			t.Error(e)
		}
		c.log.mu.Unlock()
	}
}
