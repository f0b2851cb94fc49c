package web

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/internal/testsupport"
	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/web/redistest"
)

// clusterInstance is one server of a test cluster, as operators run it:
// a Server on its own RedisBroker and RedisCluster, which share the
// process's one Redis client, with the events it delivered.
type clusterInstance struct {
	name    string
	ts      *testServer
	client  *redis.Client
	broker  *RedisBroker
	cluster *RedisCluster
	events  *eventLog
}

// eventLog records the events a Server delivers.
type eventLog struct {
	mu  sync.Mutex
	all []Message
}

func (l *eventLog) count(id kw, uid string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.all {
		if m.Event.ID == id && m.UID == uid {
			n++
		}
	}
	return n
}

// find returns the messages carrying ev.
func (l *eventLog) find(ev protocol.Event) []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Message
	for _, m := range l.all {
		if show(m.Event.Value()) == show(ev.Value()) {
			out = append(out, m)
		}
	}
	return out
}

// Test timing of the cluster: a dead server drops out within a second
// and a few heartbeats.
const (
	testHeartbeat   = 100 * time.Millisecond
	testPresenceTTL = time.Second
)

// clusterOption changes the configuration of a test instance.
type clusterOption func(*Config, *RedisClusterConfig)

// withConfig changes the Server's configuration.
func withConfig(f func(*Config)) clusterOption {
	return func(c *Config, _ *RedisClusterConfig) { f(c) }
}

// withClusterConfig changes the RedisCluster's configuration.
func withClusterConfig(f func(*RedisClusterConfig)) clusterOption {
	return func(_ *Config, rc *RedisClusterConfig) { f(rc) }
}

func newClusterInstance(t testing.TB, rs *redistest.Server, name string, opts ...clusterOption) *clusterInstance {
	t.Helper()
	client := rs.Client()
	t.Cleanup(func() { client.Close() }) // after the broker and the cluster
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(testLogLevel(t))
	cfg := testConfig()
	ccfg := RedisClusterConfig{
		Client: client, Prefix: "{test}:cl:", InstanceID: name,
		Heartbeat: testHeartbeat, PresenceTTL: testPresenceTTL, Logger: log,
	}
	for _, o := range opts {
		o(&cfg, &ccfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	b, err := NewRedisBroker(ctx, RedisBrokerConfig{Client: client, Channel: "test:cluster", InstanceID: name, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	cl, err := NewRedisCluster(ctx, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	cfg.Broker, cfg.Cluster = b, cl
	in := &clusterInstance{name: name, client: client, broker: b, cluster: cl, events: &eventLog{}}
	in.ts = newTestServer(t, cfg)
	go func() {
		for m := range in.ts.s.Events() {
			in.events.mu.Lock()
			in.events.all = append(in.events.all, m)
			in.events.mu.Unlock()
		}
	}()
	return in
}

// testLogLevel is the level of the Redis components' logs: info in
// tests, warn in benchmarks, whose output they would clutter.
func testLogLevel(t testing.TB) zerolog.Level {
	if _, ok := t.(*testing.B); ok {
		return zerolog.WarnLevel
	}
	return zerolog.InfoLevel
}

// waitInstances waits until every server of of counts exactly the
// servers of want as alive (RedisCluster.Instances).
func waitInstances(t *testing.T, of, want []*clusterInstance) {
	t.Helper()
	var ids []string
	for _, in := range want {
		ids = append(ids, in.cluster.InstanceID())
	}
	slices.Sort(ids)
	for _, in := range of {
		testsupport.Await(t, waitFor, fmt.Sprintf("%s counts %d servers alive", in.name, len(ids)), func() bool {
			return slices.Equal(in.cluster.Instances(), ids)
		})
	}
}

// crash stops the instance as a killed process would: its presence is
// left in Redis to expire, its connections drop.
func (in *clusterInstance) crash() {
	in.cluster.stop(false)
	in.broker.Close()
	in.client.Close()
	in.ts.hs.CloseClientConnections()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no graceful close
	in.ts.s.Close(ctx)
}

// hosts reports whether the instance holds a connection of transport k
// of client-id cid.
func (in *clusterInstance) hosts(cid string, k Transport) bool {
	r := in.ts.s.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	cl := r.clients[cid]
	return cl != nil && cl.conns[k.index()] != nil
}

// heldBy waits until one of insts holds a poll of client-id cid and
// returns it.
func heldBy(t *testing.T, insts []*clusterInstance, cid string) *clusterInstance {
	t.Helper()
	deadline := time.After(waitFor)
	for _, in := range insts { // forget the polls held before
		for len(in.ts.held) > 0 {
			<-in.ts.held
		}
	}
	for {
		for _, in := range insts {
			select {
			case got := <-in.ts.held:
				if got == cid {
					return in
				}
			default:
			}
		}
		select {
		case <-deadline:
			t.Fatalf("no server holds a poll of %s", cid)
		case <-time.After(time.Millisecond): // polling several channels, bounded by the deadline
		}
	}
}

// roundRobin is the load balancer of the tests: each request to the next
// live backend, no stickiness.
type roundRobin struct {
	mu       sync.Mutex
	backends []*url.URL
	next     int
}

func (rr *roundRobin) pick() *url.URL {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	u := rr.backends[rr.next%len(rr.backends)]
	rr.next++
	return u
}

// remove takes a backend out, as a health check would.
func (rr *roundRobin) remove(raw string) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.backends = slices.DeleteFunc(rr.backends, func(u *url.URL) bool { return u.String() == raw })
}

// newFront starts the round-robin proxy in front of insts and returns it
// as a testServer for the test clients.
func newFront(t testing.TB, insts []*testServer) (*testServer, *roundRobin) {
	rr := &roundRobin{}
	for _, ts := range insts {
		u, err := url.Parse(ts.hs.URL)
		if err != nil {
			t.Fatal(err)
		}
		rr.backends = append(rr.backends, u)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(rr.pick()) },
		FlushInterval: -1,
		ErrorLog:      nil,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	hs := httptest.NewServer(proxy)
	t.Cleanup(hs.Close)
	return &testServer{hs: hs, url: hs.URL + "/chsk", tr: &transcript{}, held: make(chan string, 16), clock: 1418300000000}, rr
}

// poller keeps an Ajax client polling through the front, on its own
// goroutine, and collects the events of the answers.
type poller struct {
	a      *ajaxClient
	clock  atomic.Int64
	mu     sync.Mutex
	got    map[string]int // shown event → times received
	errs   []string
	stop   chan struct{}
	exited chan struct{}
}

func startPoller(t *testing.T, a *ajaxClient, clock int64) *poller {
	p := &poller{a: a, got: map[string]int{}, stop: make(chan struct{}), exited: make(chan struct{})}
	p.clock.Store(clock)
	go p.run()
	t.Cleanup(p.halt)
	return p
}

func (p *poller) halt() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.exited
}

func (p *poller) run() {
	defer close(p.exited)
	client := &http.Client{Timeout: waitFor}
	defer client.CloseIdleConnections()
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		q := fmt.Sprintf("%s=%d&client-id=%s", p.a.p.clock, p.clock.Add(1), url.QueryEscape(p.a.cid))
		req, _ := http.NewRequest(http.MethodGet, p.a.ts.url+"?"+q, nil)
		p.a.header(req)
		r := do(client, req)
		if r.err != nil || r.status != http.StatusOK {
			// An instance died under the poll, or could not vouch for
			// the client in an outage: the client polls again.
			continue
		}
		sf, err := p.a.p.dialect().ParseServerFrame([]byte(r.body))
		p.mu.Lock()
		if err != nil {
			p.errs = append(p.errs, fmt.Sprintf("%q: %v", r.body, err))
		} else if evs, ok := sf.Value.([]any); ok {
			for _, ev := range evs {
				p.got[show(ev)]++
			}
		} else if _, err := protocol.HandshakeFromValue(sf.Value); err == nil {
			p.errs = append(p.errs, "a second handshake: "+r.body)
		}
		p.mu.Unlock()
	}
}

// has reports whether every event of want was received.
func (p *poller) has(want []protocol.Event) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range want {
		if p.got[show(ev.Value())] == 0 {
			return false
		}
	}
	return true
}

// check fails on errors and on events of want received more than once.
func (p *poller) check(t *testing.T, want []protocol.Event) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errs {
		t.Errorf("%s: %s", p.a.label, e)
	}
	for _, ev := range want {
		if n := p.got[show(ev.Value())]; n != 1 {
			t.Errorf("%s: %s received %d times, want once", p.a.label, show(ev.Value()), n)
		}
	}
}

// collectWS reads the client's pushes until every event of want came,
// failing on a duplicate.
func collectWS(t *testing.T, c *wsClient, want []protocol.Event) {
	t.Helper()
	got := map[string]int{}
	missing := func() bool {
		for _, ev := range want {
			if got[show(ev.Value())] == 0 {
				return true
			}
		}
		return false
	}
	for missing() {
		sf := c.expectValue()
		evs, ok := sf.Value.([]any)
		if !ok {
			continue
		}
		for _, ev := range evs {
			if got[show(ev)]++; got[show(ev)] > 1 {
				t.Errorf("%s: %s received twice", c.label, show(ev))
			}
		}
	}
}

// Three servers on Redis behind a round-robin proxy serve clients of
// every generation over WebSocket and Ajax as one: pushes from any
// server reach every client exactly once, Ajax polls and POSTs land
// anywhere, the connected uids are the cluster's, a crashed server drops
// out, and a Redis restart interrupts only cross-server delivery.
func TestCluster(t *testing.T) {
	rs := redistest.Start(t)
	insts := []*clusterInstance{
		newClusterInstance(t, rs, "i1"), newClusterInstance(t, rs, "i2"), newClusterInstance(t, rs, "i3"),
	}
	front, rr := newFront(t, []*testServer{insts[0].ts, insts[1].ts, insts[2].ts})

	ws := map[string]*wsClient{}
	var pollers []*poller
	var uids []string
	for i, p := range profiles {
		c := front.dialWS(t, "ws-"+p.name, p, "ws-"+p.name+"-tab1")
		if h := c.expectHandshake(); h.UID != "u-ws-"+p.name {
			t.Fatalf("%s: handshake uid %q", c.label, h.UID)
		}
		if p.answersServerPing {
			c.expectProbe() // and its pong pins the client
		}
		ws[p.name] = c
		a := front.ajax(t, "ajax-"+p.name, p, "ajax-"+p.name+"-tab1")
		a.expectHandshake()
		pollers = append(pollers, startPoller(t, a, int64(1e15)+int64(i)*1e9))
		uids = append(uids, "u-ws-"+p.name, "u-ajax-"+p.name)
	}
	slices.Sort(uids)

	// Every server counts every server alive ...
	waitInstances(t, insts, insts)
	// ... and every user, and delivered one uidport-open for each
	// WebSocket user, wherever it connected.
	for _, in := range insts {
		testsupport.Await(t, waitFor, in.name+" counts the cluster's users", func() bool {
			return slices.Equal(in.ts.s.ConnectedUIDs().Any, uids)
		})
	}
	for _, in := range insts {
		for _, p := range profiles {
			testsupport.Await(t, waitFor, in.name+" delivers uidport-open", func() bool {
				return in.events.count(IDUIDPortOpen, "u-ws-"+p.name) > 0
			})
			if n := in.events.count(IDUIDPortOpen, "u-ws-"+p.name); n != 1 {
				t.Errorf("%s: %d uidport-open for u-ws-%s, want 1", in.name, n, p.name)
			}
		}
	}

	// Pushes from every server to every user, and a broadcast.
	wantWS := map[string][]protocol.Event{}
	wantAjax := make([][]protocol.Event, len(profiles))
	n := 0
	for k := range 3 {
		for i, p := range profiles {
			n++
			ev := tweetEvent(n)
			if err := insts[(k+i)%3].ts.s.Send("u-ws-"+p.name, ev); err != nil {
				t.Fatal(err)
			}
			wantWS[p.name] = append(wantWS[p.name], ev)
			n++
			ev = tweetEvent(n)
			if err := insts[(k+i+1)%3].ts.s.Send("u-ajax-"+p.name, ev); err != nil {
				t.Fatal(err)
			}
			wantAjax[i] = append(wantAjax[i], ev)
		}
	}
	bcast := echoEvent("to everyone")
	if err := insts[1].ts.s.Broadcast(bcast); err != nil {
		t.Fatal(err)
	}
	for i, p := range profiles {
		collectWS(t, ws[p.name], append(wantWS[p.name], bcast))
		wantAjax[i] = append(wantAjax[i], bcast)
	}
	for i, pl := range pollers {
		if !testsupport.Eventually(waitFor, func() bool { return pl.has(wantAjax[i]) }) {
			pl.mu.Lock()
			got := maps.Clone(pl.got)
			pl.mu.Unlock()
			t.Fatalf("%s did not receive its pushes %v: got %v", pl.a.label, wantAjax[i], got)
		}
	}

	// POSTs land on any server, with the client's uid.
	for i, p := range profiles {
		if !p.postClientID {
			continue // a 1.3 POST carries no client-id
		}
		a := pollers[i].a
		for j := range 3 {
			ev := helloEvent(100*i + j)
			if r := a.postAsync(ev, false)(); r.status != http.StatusOK {
				t.Fatalf("%s: POST answered %d %s", a.label, r.status, r.body)
			}
			var got []Message
			testsupport.Await(t, waitFor, a.label+"'s POST reaches the application", func() bool {
				got = got[:0]
				for _, in := range insts {
					got = append(got, in.events.find(ev)...)
				}
				return len(got) > 0
			})
			if len(got) != 1 || got[0].UID != "u-ajax-"+p.name {
				t.Fatalf("%s: POST delivered %d times (%v), want once for u-ajax-%s", a.label, len(got), got, p.name)
			}
		}
	}

	// A crash: the server holding the v2 WebSocket dies; the others drop
	// its users (those that are nowhere else) within the presence TTL.
	victim := slices.IndexFunc(insts, func(in *clusterInstance) bool { return in.hosts("ws-v2-tab1", TransportWS) })
	if victim < 0 {
		t.Fatal("no server holds ws-v2-tab1")
	}
	var orphans []string
	for _, p := range profiles {
		if insts[victim].hosts("ws-"+p.name+"-tab1", TransportWS) {
			orphans = append(orphans, p.name)
		}
	}
	dead := insts[victim]
	rr.remove(dead.ts.hs.URL)
	dead.crash()
	alive := slices.Delete(slices.Clone(insts), victim, victim+1)
	for _, in := range alive {
		took := testsupport.Await(t, 10*time.Second, in.name+" drops the dead server's users", func() bool {
			return !slices.Contains(in.ts.s.ConnectedUIDs().Any, "u-ws-v2")
		})
		t.Logf("%s dropped the users of crashed %s after %v", in.name, dead.name, took)
		testsupport.Await(t, waitFor, in.name+" delivers uidport-close", func() bool {
			return in.events.count(IDUIDPortClose, "u-ws-v2") > 0
		})
		if n := in.events.count(IDUIDPortClose, "u-ws-v2"); n != 1 {
			t.Errorf("%s: %d uidport-close for u-ws-v2, want 1", in.name, n)
		}
	}
	waitInstances(t, alive, alive)
	// Its WebSocket clients reconnect through the proxy, with their uid.
	for _, name := range orphans {
		old := ws[name]
		c := front.dialWS(t, old.label+"'", old.p, old.cid)
		if h := c.expectHandshake(); h.UID != "u-ws-"+name {
			t.Fatalf("%s: reconnected with uid %q", c.label, h.UID)
		}
		ws[name] = c
	}
	for _, in := range alive {
		testsupport.Await(t, waitFor, in.name+" counts the reconnected users", func() bool {
			return slices.Equal(in.ts.s.ConnectedUIDs().Any, uids)
		})
	}

	// Redis stops: each server still serves its own WebSocket clients.
	rs.Kill()
	for _, p := range profiles {
		c := ws[p.name]
		home := slices.IndexFunc(alive, func(in *clusterInstance) bool { return in.hosts(c.cid, TransportWS) })
		if home < 0 {
			t.Fatalf("%s is on no live server", c.label)
		}
		n++
		ev := tweetEvent(n)
		if err := alive[home].ts.s.Send("u-ws-"+p.name, ev); err != nil {
			t.Fatal(err)
		}
		collectWS(t, c, []protocol.Event{ev})
	}
	// ... and the Ajax clients polling it. (A push to a client the round
	// robin takes away from the server waits there, for the client's next
	// poll on it within DisconnectGrace: only Redis can hand it over.)
	for _, in := range alive {
		testsupport.Await(t, waitFor, in.name+" notices the outage", func() bool { return !in.cluster.up.Load() })
		waitInstances(t, []*clusterInstance{in}, []*clusterInstance{in}) // it counts itself alone
	}
	for i, pl := range pollers {
		home := heldBy(t, alive, pl.a.cid)
		n++
		ev := tweetEvent(n)
		if err := home.ts.s.Send("u-ajax-"+profiles[i].name, ev); err != nil {
			t.Fatal(err)
		}
		testsupport.Await(t, waitFor, pl.a.label+" gets a push during the outage", func() bool { return pl.has([]protocol.Event{ev}) })
	}
	// Redis returns empty: cross-server delivery resumes, to WebSocket
	// and Ajax clients, and the count is whole again.
	rs.Restart()
	for _, p := range profiles {
		c := ws[p.name]
		home := slices.IndexFunc(alive, func(in *clusterInstance) bool { return in.hosts(c.cid, TransportWS) })
		other := alive[1-home]
		stop := make(chan struct{})
		sent := make(chan struct{})
		go func() { // the other server pushes until one arrives
			defer close(sent)
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				_ = other.ts.s.Send("u-ws-"+p.name, echoEvent(fmt.Sprintf("resumed %d", k)))
			}
		}()
		for resumed := false; !resumed; {
			evs, _ := c.expectValue().Value.([]any)
			for _, ev := range evs {
				resumed = resumed || strings.Contains(show(ev), "resumed")
			}
		}
		close(stop)
		<-sent
	}
	for i, pl := range pollers {
		testsupport.Await(t, waitFor, pl.a.label+" gets pushes again", func() bool {
			n++
			ev := tweetEvent(n)
			if err := alive[n%2].ts.s.Send("u-ajax-"+profiles[i].name, ev); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(time.Second)
			for time.Now().Before(deadline) {
				if pl.has([]protocol.Event{ev}) {
					return true
				}
				time.Sleep(5 * time.Millisecond) // as testsupport.Await
			}
			return false
		})
	}
	waitInstances(t, alive, alive)
	for _, in := range alive {
		testsupport.Await(t, waitFor, in.name+" counts every user after the restart", func() bool {
			got := in.ts.s.ConnectedUIDs()
			if time.Now().Second()%3 == 0 {
				t.Logf("%s: %v", in.name, got)
			}
			return slices.Equal(got.Any, uids)
		})
	}
	for i, pl := range pollers {
		pl.halt()
		pl.check(t, wantAjax[i])
	}
}

// With the default timing (a heartbeat a second, five seconds of TTL) a
// server that dies without warning drops out of the others' connected
// uids within ten seconds.
func TestClusterCrashDefaultTiming(t *testing.T) {
	rs := redistest.Start(t)
	defaults := func(c *RedisClusterConfig) { c.Heartbeat, c.PresenceTTL = 0, 0 }
	a := newClusterInstance(t, rs, "a", withClusterConfig(defaults))
	b := newClusterInstance(t, rs, "b", withClusterConfig(defaults))
	c := b.ts.dialWS(t, "B", profileNamed(t, "v2"), "crash-tab1")
	c.expectHandshake()
	testsupport.Await(t, waitFor, "a counts b's user", func() bool {
		return slices.Contains(a.ts.s.ConnectedUIDs().Any, "u-crash")
	})
	b.crash()
	took := testsupport.Await(t, 10*time.Second, "a drops the crashed server's user", func() bool {
		return !slices.Contains(a.ts.s.ConnectedUIDs().Any, "u-crash")
	})
	t.Logf("dropped %v after the crash", took)
	testsupport.Await(t, waitFor, "a delivers uidport-close", func() bool { return a.events.count(IDUIDPortClose, "u-crash") == 1 })
}

// TestClusterClientTokens checks the client tokens of Sente 1.3 Ajax
// clients across servers: without Config.TokenSecret the servers share the
// cluster's secret, so a POST whose token was issued by one is the event
// of that client on another; and a token past half its life is renewed by
// one handshake, not by one on each server the client's polls reach.
func TestClusterClientTokens(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	shared := func(cfg *Config, _ *RedisClusterConfig) {
		cfg.TokenSecret = nil
		cfg.TokenMaxAge = time.Hour
		cfg.PollTimeout = 5 * time.Second
	}
	i1, i2 := newClusterInstance(t, rs, "i1", shared), newClusterInstance(t, rs, "i2", shared)
	var clock atomic.Int64
	clock.Store(testNow.Unix())
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	i1.ts.s.hooks.now, i2.ts.s.hooks.now = now, now
	if !bytes.Equal(i1.ts.s.tokenSecret, i2.ts.s.tokenSecret) || len(i1.ts.s.tokenSecret) < minTokenSecretLen {
		t.Fatal("the servers do not share the cluster's token secret")
	}

	p := profileNamed(t, "flexi")
	a1 := i1.ts.ajax(t, "A1", p, "ctok-tab1")
	a1.expectHandshake()
	a2 := i2.ts.ajax(t, "A2", p, "ctok-tab1") // the same client, its requests on i2
	a2.csrf, a2.open = a1.csrf, true
	if r := a2.postAsync(helloEvent(1), false)(); r.status != http.StatusOK {
		t.Fatalf("POST on i2 with i1's token: %d %q", r.status, r.body)
	}
	testsupport.Await(t, waitFor, "i2 delivers the POST with the client's uid", func() bool {
		return i2.events.count("test/hello", "u-ctok") == 1
	})

	clock.Add(int64(31 * time.Minute / time.Second))
	a1.expectHandshake() // renewed on i1
	if err := i1.ts.s.Send("u-ctok", tweetEvent(1)); err != nil {
		t.Fatal(err)
	}
	i1.ts.s.Flush()
	r := a2.poll()
	if _, err := protocol.HandshakeFromValue(a2.parse(r).Value); err == nil {
		t.Fatalf("i2 renewed the token again: %q", r.body)
	}
	a2.csrf = a1.csrf
	if r := a2.postAsync(helloEvent(2), false)(); r.status != http.StatusOK {
		t.Fatalf("POST on i2 with the renewed token: %d %q", r.status, r.body)
	}
}
