package web

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/transit"
)

// Test values. Client-ids and uids are deterministic so that transcripts
// are stable: the uid of client-id "<name>-tab<n>" is "u-<name>".
const (
	testToken = "tok-123"
	// testSecret signs the client tokens of 1.3–1.13 clients.
	testSecret = "test-secret-0123456789"
	testOrigin = "http://app.example"
	evilOrigin = "http://evil.example"
	// waitFor bounds every wait for a frame, a response or an event.
	waitFor = 10 * time.Second
	// transcriptDir holds the golden transcripts.
	transcriptDir = "../testdata/web"
)

type kw = transit.Keyword

// testNow is the clock of the test servers' client tokens, so that the
// tokens in transcripts are stable.
var testNow = time.Date(2014, 12, 11, 12, 0, 0, 0, time.UTC)

// testUID is the Config.UserID of the tests.
func testUID(_ *http.Request, cid string) string {
	if cid == "" {
		return "" // a 1.3 POST, as with the default UserID
	}
	if i := strings.LastIndex(cid, "-tab"); i >= 0 {
		return "u-" + cid[:i]
	}
	return "u-" + cid
}

// testConfig is the configuration of the conversation tests: CSRF and an
// origin allow-list on, short timeouts.
func testConfig() Config {
	return Config{
		UserID:          testUID,
		CSRFToken:       func(*http.Request) string { return testToken },
		TokenSecret:     []byte(testSecret),
		AllowedOrigins:  []string{testOrigin},
		PollTimeout:     300 * time.Millisecond,
		CallbackTimeout: 2 * time.Second,
		DisconnectGrace: time.Second,
		DetectTimeout:   5 * time.Second,
	}
}

// profile is how one Sente client release talks (docs/protocol.md §2.2,
// §13): the tests emulate one release per generation.
type profile struct {
	name    string              // transcript and client-id prefix
	version string              // the emulated release
	gen     protocol.Generation // its wire generation
	// format is its packer: Transit, or EDN (Sente's default packer; the
	// flexi packer configured for EDN for 1.3–1.8).
	format protocol.Format
	// csrfOnRequests: 1.14+ send the page's token on the WebSocket URL and
	// as X-CSRF-Token on every Ajax request.
	csrfOnRequests bool
	// clock is the cache-buster parameter of Ajax requests: "_" or "udt".
	clock string
	// handshakeFlag is the value of "handshake?" on polls while not open
	// ("" for 1.3, which sends none).
	handshakeFlag string
	// postCSRFField: the POST body carries csrf-token (≤1.20).
	postCSRFField bool
	// postClientID: the POST body carries client-id (1.7+).
	postClientID bool
	// pingCallback: the client's keep-alive ping carries a callback (1.18+).
	pingCallback bool
	// answersServerPing: the client answers :chsk/ws-ping with
	// [:chsk/ws-pong] (1.19+).
	answersServerPing bool
}

var profiles = []profile{
	{name: "flexi", version: "1.3.0", gen: protocol.GenFlexi, clock: "_"},
	{name: "v1", version: "1.16.2", gen: protocol.GenV1, csrfOnRequests: true, clock: "udt", handshakeFlag: "true",
		postCSRFField: true, postClientID: true},
	{name: "v2mixed", version: "1.19.2", gen: protocol.GenV2Mixed, csrfOnRequests: true, clock: "udt", handshakeFlag: "true",
		postCSRFField: true, postClientID: true, pingCallback: true, answersServerPing: true},
	{name: "v2", version: "1.21.0", gen: protocol.GenV2, csrfOnRequests: true, clock: "udt", handshakeFlag: "1",
		postClientID: true, pingCallback: true, answersServerPing: true},
}

// ednProfiles are the same releases with Sente's default EDN packer: they
// write and read plain EDN bodies in their generation's envelope (a 1.3
// client the frames of 1.9–1.17, "+[…]" and "-[…]", no flexi marker).
var ednProfiles = func() []profile {
	var ps []profile
	for _, p := range profiles {
		p.name += "-edn"
		p.format = protocol.FormatEDN
		ps = append(ps, p)
	}
	return ps
}()

// ednAjaxOnly are releases whose Ajax conversation differs from their
// generation's profile: Sente 1.6.0 with its default EDN packer polls with
// "_" and the handshake flag, and POSTs without client-id.
var ednAjaxOnly = []profile{
	{name: "flexi16-edn", version: "1.6.0", gen: protocol.GenFlexi, format: protocol.FormatEDN, clock: "_", handshakeFlag: "true"},
}

// dialect is the wire variant the client writes and reads.
func (p profile) dialect() protocol.Dialect {
	return protocol.Dialect{Generation: p.gen, Format: p.format}
}

// config returns the configuration of a conversation with a client of
// p: testConfig, with the client's packer.
func (p profile) config() Config {
	cfg := testConfig()
	if p.format == protocol.FormatEDN {
		cfg.Packer = PackerEDN
	}
	return cfg
}

// describe names the client in a transcript title.
func (p profile) describe() string {
	if p.format == protocol.FormatTransit {
		return p.gen.String()
	}
	return p.dialect().String()
}

func profileNamed(t *testing.T, name string) profile {
	t.Helper()
	for _, p := range slices.Concat(profiles, ednProfiles, ednAjaxOnly) {
		if p.name == name {
			return p
		}
	}
	t.Fatalf("no profile %q", name)
	return profile{}
}

// transcript records a conversation, one line per request, response,
// frame and application event, for a golden file.
type transcript struct {
	mu sync.Mutex
	b  strings.Builder
}

func (tr *transcript) linef(format string, args ...any) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	fmt.Fprintf(&tr.b, format, args...)
	tr.b.WriteByte('\n')
}

func (tr *transcript) section(name string) { tr.linef("\n## %s", name) }

func (tr *transcript) String() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.b.String()
}

// checkGolden compares got with testdata/web/<name>.golden, or rewrites
// the file under -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(transcriptDir, name+".golden")
	if *update {
		if err := os.MkdirAll(transcriptDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("transcript %s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// testServer is a Server behind httptest.NewServer at /chsk.
type testServer struct {
	s     *Server
	hs    *httptest.Server
	url   string // http://127.0.0.1:port/chsk
	tr    *transcript
	held  chan string // client-ids of polls the server now holds
	clock int64
}

// newTestServer starts a Server with cfg and stops it when the test ends.
// noPark runs the tests with WebSockets that are never parked, as on a
// system without a poller: `go test ./web -args -nopark`.
var noPark = flag.Bool("nopark", false, "never park WebSockets (their readers wait as on a system without a poller)")

func newTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{s: s, tr: &transcript{}, held: make(chan string, 16), clock: 1418300000000}
	s.hooks.now = func() time.Time { return testNow }
	s.hooks.noPark = *noPark
	s.hooks.pollHeld = func(cid string) {
		select {
		case ts.held <- cid:
		default:
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/chsk", s.Handler())
	ts.hs = httptest.NewServer(mux)
	ts.url = ts.hs.URL + "/chsk"
	t.Cleanup(func() { ts.close(t) })
	return ts
}

// close stops the server (draining Events meanwhile) and the listener.
func (ts *testServer) close(t testing.TB) {
	go func() {
		for range ts.s.Events() {
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := ts.s.Close(ctx); err != nil && err != ErrServerClosed {
		t.Errorf("Close: %v", err)
	}
	ts.hs.Close()
}

// nextClock returns the next value of the clients' cache-buster parameter.
func (ts *testServer) nextClock() int64 {
	ts.clock++
	return ts.clock
}

// event returns the next application event.
func (ts *testServer) event(t *testing.T) Message {
	t.Helper()
	select {
	case m, ok := <-ts.s.Events():
		if !ok {
			t.Fatal("Events closed")
		}
		return m
	case <-time.After(waitFor):
		t.Fatal("no event")
	}
	return Message{}
}

// expectEvent returns the next application event, which must have id, and
// records it.
func (ts *testServer) expectEvent(t *testing.T, id kw) Message {
	t.Helper()
	m := ts.event(t)
	if m.Event.ID != id {
		t.Fatalf("event %s, want %s", show(m.Event.Value()), id)
	}
	ts.tr.linef("%s", describeMessage(m))
	return m
}

// describeMessage renders an application event for a transcript.
func describeMessage(m Message) string {
	if m.Transport == 0 {
		return fmt.Sprintf("app< %s", show(m.Event.Value()))
	}
	cb := ""
	if m.Reply != nil {
		cb = " reply-fn"
	}
	gen := m.Generation.String()
	if m.Format != protocol.FormatTransit {
		gen = protocol.Dialect{Generation: m.Generation, Format: m.Format}.String()
	}
	return fmt.Sprintf("app< %s uid=%q client-id=%q via %s, %s%s", show(m.Event.Value()), m.UID, m.ClientID, m.Transport, gen, cb)
}

// reply answers m with v and records it.
func (ts *testServer) reply(t *testing.T, m Message, v any) {
	t.Helper()
	ts.tr.linef("app> reply %s", show(v))
	if err := m.Reply(v); err != nil {
		t.Fatalf("Reply: %v", err)
	}
}

// send pushes ev to uid and records it.
func (ts *testServer) send(t *testing.T, uid string, ev protocol.Event) {
	t.Helper()
	ts.tr.linef("app> send %s %s", uid, show(ev.Value()))
	if err := ts.s.Send(uid, ev); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// flush flushes the push buffers and records it.
func (ts *testServer) flush() {
	ts.tr.linef("app> flush")
	ts.s.Flush()
}

// show renders a value as Transit JSON.
func show(v any) string {
	b, err := transit.Marshal(v)
	if err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return string(b)
}

// Events used by the conversations.
func helloEvent(n int) protocol.Event {
	return protocol.Event{ID: "test/hello", Data: transit.NewMap(kw("n"), n)}
}

func echoEvent(s string) protocol.Event {
	return protocol.Event{ID: "test/echo", Data: transit.NewMap(kw("text"), s)}
}

func tweetEvent(id int) protocol.Event {
	return protocol.Event{ID: "tweet/new", Data: transit.NewMap(kw("id"), id, kw("text"), fmt.Sprintf("tweet %d", id))}
}

var pingEvent = protocol.Event{ID: protocol.IDWSPing}

// ---- WebSocket client ----

// wsClient is a WebSocket client emulating one Sente release: it reads
// frames as that release does (unreadable ones are logged and dropped, as
// the real clients do) and answers server pings if the release does.
type wsClient struct {
	t     *testing.T
	ts    *testServer
	p     profile
	label string
	cid   string
	conn  *websocket.Conn
}

// wsQuery returns the query of the profile's WebSocket URL.
func (p profile) wsQuery(cid, token string) string {
	q := "client-id=" + url.QueryEscape(cid)
	if p.csrfOnRequests {
		q += "&csrf-token=" + url.QueryEscape(token)
	}
	return q
}

// dialWSRaw opens a WebSocket to query with header and records the
// request and the answer.
func (ts *testServer) dialWSRaw(t *testing.T, label, query string, header http.Header) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ts.tr.linef("%s> GET /chsk?%s (websocket upgrade, Origin: %s)", label, query, header.Get("Origin"))
	d := websocket.Dialer{HandshakeTimeout: waitFor}
	u := "ws" + strings.TrimPrefix(ts.url, "http") + "?" + query
	conn, resp, err := d.Dial(u, header)
	if resp != nil {
		body, _ := io.ReadAll(resp.Body) // a failed read shows as an empty body in the transcript
		resp.Body.Close()
		if err != nil {
			ts.tr.linef("%s< %d %s", label, resp.StatusCode, body)
		} else {
			ts.tr.linef("%s< %d", label, resp.StatusCode)
		}
	}
	return conn, resp, err
}

// dialWS connects a client of profile p as client-id cid, from a page of
// testOrigin.
func (ts *testServer) dialWS(t *testing.T, label string, p profile, cid string) *wsClient {
	t.Helper()
	return ts.dialWSOrigin(t, label, p, cid, testOrigin)
}

// dialWSOrigin is dialWS from a page of origin.
func (ts *testServer) dialWSOrigin(t *testing.T, label string, p profile, cid, origin string) *wsClient {
	t.Helper()
	conn, _, err := ts.dialWSRaw(t, label, p.wsQuery(cid, testToken), http.Header{"Origin": {origin}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsClient{t: t, ts: ts, p: p, label: label, cid: cid, conn: conn}
}

// next reads one frame, records it, parses it as the client would, and
// answers a server ping when the client does. ok is false for a frame the
// client cannot read.
func (c *wsClient) next() (sf protocol.ServerFrame, ok bool) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(waitFor))
	typ, data, err := c.conn.ReadMessage()
	if err != nil {
		c.t.Fatalf("%s: read: %v", c.label, err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("%s: frame type %d", c.label, typ)
	}
	sf, err = c.p.dialect().ParseServerFrame(data)
	if err != nil {
		c.ts.tr.linef("%s< %s    (unreadable by %s: dropped)", c.label, data, c.p.version)
		return sf, false
	}
	c.ts.tr.linef("%s< %s", c.label, data)
	if sf.Value == protocol.IDWSPing && sf.CallbackID == "" && c.p.answersServerPing {
		c.send(protocol.Event{ID: protocol.IDWSPong}, "")
	}
	return sf, true
}

// expectHandshake reads frames up to the first handshake the client reads.
func (c *wsClient) expectHandshake() protocol.Handshake {
	c.t.Helper()
	for {
		sf, ok := c.next()
		if !ok {
			continue
		}
		h, err := protocol.HandshakeFromValue(sf.Value)
		if err != nil {
			c.t.Fatalf("%s: want a handshake, got %s", c.label, show(sf.Value))
		}
		return h
	}
}

// expectProbe reads frames up to the server's ping (the probe that follows
// the handshake of a client whose generation the URL left open), which
// next answers for 1.19+ clients as a browser does at once: a test that
// reads its client's frames only later would otherwise leave the probe
// unanswered past DetectTimeout.
func (c *wsClient) expectProbe() {
	c.t.Helper()
	for {
		if sf, ok := c.next(); ok && sf.Value == protocol.IDWSPing {
			return
		}
	}
}

// expectValue reads frames up to the next one the client reads that is
// not a handshake or a server ping, and returns it.
func (c *wsClient) expectValue() protocol.ServerFrame {
	c.t.Helper()
	for {
		sf, ok := c.next()
		if !ok || sf.Value == protocol.IDWSPing {
			continue
		}
		if _, err := protocol.HandshakeFromValue(sf.Value); err == nil {
			continue
		}
		return sf
	}
}

// expectBatch reads the next push and checks it holds n events.
func (c *wsClient) expectBatch(n int) {
	c.t.Helper()
	sf := c.expectValue()
	checkBatch(c.t, c.label, sf, n)
}

func checkBatch(t *testing.T, label string, sf protocol.ServerFrame, n int) {
	t.Helper()
	evs, ok := sf.Value.([]any)
	if !ok || sf.CallbackID != "" || len(evs) != n {
		t.Fatalf("%s: want a batch of %d events, got %s (cb %q)", label, n, show(sf.Value), sf.CallbackID)
	}
	for _, ev := range evs {
		if _, err := protocol.EventFromValue(ev); err != nil {
			t.Fatalf("%s: batch element %s: %v", label, show(ev), err)
		}
	}
}

// expectReply reads the next reply, which must answer callback cb.
func (c *wsClient) expectReply(cb string) any {
	c.t.Helper()
	sf := c.expectValue()
	if sf.CallbackID != cb {
		c.t.Fatalf("%s: want the reply to %q, got %s (cb %q)", c.label, cb, show(sf.Value), sf.CallbackID)
	}
	return sf.Value
}

// send writes ev as the client does, with callback cb if not empty.
func (c *wsClient) send(ev protocol.Event, cb string) {
	c.t.Helper()
	frame, err := c.p.dialect().ClientFrame(ev, protocol.Callback{ID: cb})
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(frame)
}

// sendRaw writes a text frame as is.
func (c *wsClient) sendRaw(frame []byte) {
	c.t.Helper()
	c.ts.tr.linef("%s> %s", c.label, frame)
	if err := c.conn.WriteMessage(websocket.TextMessage, frame); err != nil {
		c.t.Fatalf("%s: write: %v", c.label, err)
	}
}

// close closes the socket as a browser tab that goes away does.
func (c *wsClient) close() {
	c.ts.tr.linef("%s> (close 1001)", c.label)
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "")
	_ = c.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second)) // the socket closes next anyway
	c.conn.Close()
}

// readAll reads and drops frames on a goroutine of its own, gorilla
// answering pings meanwhile, until reading fails; the channel gets the
// error then.
func (c *wsClient) readAll() <-chan error {
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := c.conn.ReadMessage(); err != nil {
				readErr <- err
				return
			}
		}
	}()
	return readErr
}

// readClose reads until the connection ends and returns the close code the
// client sees: the close frame's status, or 1006 without one.
func (c *wsClient) readClose() int {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(waitFor))
	for {
		_, _, err := c.conn.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok {
			return ce.Code
		}
		c.t.Fatalf("%s: read ended with %v, not a close", c.label, err)
	}
}

// ---- Ajax client ----

// ajaxClient is an Ajax client emulating one Sente release.
type ajaxClient struct {
	t     *testing.T
	ts    *testServer
	p     profile
	label string
	cid   string
	csrf  string // the token a 1.3–1.13 client got in its handshake
	open  bool   // handshake received: polls stop sending the flag
}

func (ts *testServer) ajax(t *testing.T, label string, p profile, cid string) *ajaxClient {
	return &ajaxClient{t: t, ts: ts, p: p, label: label, cid: cid}
}

// pollRequest builds the client's next poll.
func (a *ajaxClient) pollRequest() (*http.Request, string) {
	q := fmt.Sprintf("%s=%d&client-id=%s", a.p.clock, a.ts.nextClock(), url.QueryEscape(a.cid))
	if !a.open && a.p.handshakeFlag != "" {
		q += "&handshake%3F=" + a.p.handshakeFlag
	}
	req, err := http.NewRequest(http.MethodGet, a.ts.url+"?"+q, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	a.header(req)
	return req, "GET /chsk?" + q
}

func (a *ajaxClient) header(req *http.Request) {
	req.Header.Set("Origin", testOrigin)
	req.Header.Set("X-Requested-With", "XMLHTTPRequest")
	if a.p.csrfOnRequests {
		req.Header.Set(headerCSRF, testToken)
	}
}

// response is a finished HTTP exchange.
type response struct {
	status int
	body   string
	err    error
}

func do(client *http.Client, req *http.Request) response {
	resp, err := client.Do(req)
	if err != nil {
		return response{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(body), err: err}
}

// record writes the answer to the transcript.
func (a *ajaxClient) record(r response) {
	a.t.Helper()
	if r.err != nil {
		a.t.Fatalf("%s: %v", a.label, r.err)
	}
	a.ts.tr.linef("%s< %d %s", a.label, r.status, r.body)
}

// poll polls and waits for the answer.
func (a *ajaxClient) poll() response {
	a.t.Helper()
	return a.pollAsync()()
}

// pollAsync starts a poll; the function returned waits for its answer and
// records it.
func (a *ajaxClient) pollAsync() func() response {
	a.t.Helper()
	req, line := a.pollRequest()
	a.ts.tr.linef("%s> %s", a.label, line)
	ch := make(chan response, 1)
	go func() { ch <- do(a.ts.hs.Client(), req) }()
	return func() response {
		a.t.Helper()
		var r response
		select {
		case r = <-ch:
		case <-time.After(waitFor):
			a.t.Fatalf("%s: no answer to the poll", a.label)
		}
		a.record(r)
		a.parse(r)
		return r
	}
}

// parse reads a 200 answer as the client does, noting a handshake.
func (a *ajaxClient) parse(r response) protocol.ServerFrame {
	a.t.Helper()
	if r.status != http.StatusOK {
		return protocol.ServerFrame{}
	}
	sf, err := a.p.dialect().ParseServerFrame([]byte(r.body))
	if err != nil {
		a.t.Fatalf("%s: %s cannot read %q: %v", a.label, a.p.version, r.body, err)
	}
	if h, err := protocol.HandshakeFromValue(sf.Value); err == nil {
		a.open = true
		if !a.p.csrfOnRequests {
			// A 1.3–1.13 client takes the token of every handshake.
			a.csrf = h.CSRFToken
		}
	}
	return sf
}

// expectHandshake polls and checks the answer is a handshake.
func (a *ajaxClient) expectHandshake() {
	a.t.Helper()
	r := a.poll()
	sf := a.parse(r)
	if _, err := protocol.HandshakeFromValue(sf.Value); err != nil {
		a.t.Fatalf("%s: want a handshake, got %q", a.label, r.body)
	}
}

// expectBatch checks a poll answer is a batch of n events.
func (a *ajaxClient) expectBatch(r response, n int) {
	a.t.Helper()
	checkBatch(a.t, a.label, a.parse(r), n)
}

// postBody builds the body of a POST of ppstr as the client does, with
// token as its CSRF field.
func (a *ajaxClient) postBody(ppstr []byte, token string) (body, shown string) {
	parts := []string{fmt.Sprintf("%s=%d", a.p.clock, a.ts.nextClock())}
	if a.p.postCSRFField || a.p.gen == protocol.GenFlexi {
		parts = append(parts, "csrf-token="+url.QueryEscape(token))
	}
	if a.p.postClientID {
		parts = append(parts, "client-id="+url.QueryEscape(a.cid))
	}
	shown = strings.Join(append(parts, "ppstr="+string(ppstr)), "&")
	body = strings.Join(append(parts, "ppstr="+url.QueryEscape(string(ppstr))), "&")
	return body, shown
}

// postRaw POSTs ppstr with token and header and returns the answer; not
// recorded.
func (a *ajaxClient) postRaw(ppstr []byte, token string, header http.Header) (response, string) {
	body, shown := a.postBody(ppstr, token)
	req, err := http.NewRequest(http.MethodPost, a.ts.url, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	a.header(req)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	return do(a.ts.hs.Client(), req), shown
}

// postAsync POSTs ev (with the Ajax callback marker if cb) as the client
// does; the function returned waits for the answer and records it.
func (a *ajaxClient) postAsync(ev protocol.Event, cb bool) func() response {
	a.t.Helper()
	frame, err := a.p.dialect().ClientFrame(ev, protocol.Callback{Ajax: cb})
	if err != nil {
		a.t.Fatal(err)
	}
	token := testToken
	if !a.p.csrfOnRequests {
		token = a.csrf
	}
	_, shown := a.postBody(frame, token)
	a.ts.clock-- // postRaw takes the same clock value again
	a.ts.tr.linef("%s> POST /chsk %s", a.label, shown)
	ch := make(chan response, 1)
	go func() {
		r, _ := a.postRaw(frame, token, nil)
		ch <- r
	}()
	return func() response {
		a.t.Helper()
		var r response
		select {
		case r = <-ch:
		case <-time.After(waitFor):
			a.t.Fatalf("%s: no answer to the POST", a.label)
		}
		a.record(r)
		return r
	}
}

// rawRequest sends a request that the test builds and records it.
func (ts *testServer) rawRequest(t *testing.T, label, method, query, body string, header http.Header) response {
	t.Helper()
	u := ts.url
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header.Clone()
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	}
	line := method + " /chsk"
	if query != "" {
		line += "?" + query
	}
	if body != "" {
		line += " " + body
	}
	if o := header.Get("Origin"); o != "" {
		line += " (Origin: " + o + ")"
	}
	ts.tr.linef("%s> %s", label, line)
	r := do(ts.hs.Client(), req)
	if r.err != nil {
		t.Fatal(r.err)
	}
	ts.tr.linef("%s< %d %s", label, r.status, r.body)
	return r
}

// waitHeld waits until the server holds a poll of client-id cid.
func (ts *testServer) waitHeld(t *testing.T, cid string) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case got := <-ts.held:
			if got == cid {
				return
			}
		case <-deadline:
			t.Fatalf("the poll of %s was not held", cid)
		}
	}
}
