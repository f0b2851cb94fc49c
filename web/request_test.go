package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// browserUpgrade is a browser's WebSocket upgrade request to a Sente
// endpoint, as a Chromium-based browser sends it: 13 header fields
// besides Host, 5 of them the WebSocket handshake's.
const browserUpgrade = "GET /chsk?client-id=0f4c1a9e-5b7d-4c2e-9a61-3d8e2f7b6c10&csrf-token=Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5 HTTP/1.1\r\n" +
	"Host: birdwatch.example.com\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: https://birdwatch.example.com\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-GB,en;q=0.9,de;q=0.8\r\n" +
	"Cookie: ring-session=4b8e2f0c-7d1a-4e39-b6c5-92a0f3d1e7b4; theme=dark; _pk_id.1.1fff=a1b2c3d4e5f60718.1718000000.\r\n" +
	"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

// serverContext returns a context with the values net/http's server gives
// every request's (http.ServerContextKey), shared by the connections.
func serverContext() context.Context {
	return context.WithValue(context.Background(), http.ServerContextKey, &http.Server{})
}

// readUpgrade parses text as net/http's server parses a request, with a
// context made as the server makes it for each connection (a local
// address value, the connection's context, the request's) on top of
// srvCtx. hijacked ends the request's context as the server does once the
// upgrade handler has returned.
func readUpgrade(tb testing.TB, srvCtx context.Context, text string) (r *http.Request, hijacked context.CancelFunc) {
	tb.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(text)))
	if err != nil {
		tb.Fatal(err)
	}
	r.RemoteAddr = "203.0.113.7:51234"
	ctx := context.WithValue(srvCtx, http.LocalAddrContextKey, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 443})
	ctx, cancelConn := context.WithCancel(ctx)
	ctx, cancelReq := context.WithCancel(ctx)
	_ = cancelReq // ended by cancelConn, as the server's is
	return r.WithContext(ctx), cancelConn
}

// TestKeepRequest checks the request built from a kept browserUpgrade:
// the upgrade request's fields, its header but for the WebSocket
// handshake's fields, no body, a context done from the start (before the
// upgrade request's is) with the upgrade request's values, and a request,
// URL and header of its own for each event.
func TestKeepRequest(t *testing.T) {
	srvCtx := serverContext()
	r, hijacked := readUpgrade(t, srvCtx, browserUpgrade)
	defer hijacked()
	r.TLS = &tls.ConnectionState{ServerName: "birdwatch.example.com"}
	r.Pattern = "/chsk"
	k, dropped := keepRequest(r)
	if dropped != nil {
		t.Errorf("dropped %q", dropped)
	}
	got := k.request()
	if got == r {
		t.Fatal("the upgrade request itself")
	}
	if got.Method != r.Method || got.Proto != r.Proto || got.ProtoMajor != 1 || got.ProtoMinor != 1 ||
		got.Host != r.Host || got.RemoteAddr != r.RemoteAddr || got.RequestURI != r.RequestURI ||
		got.TLS != r.TLS || got.Pattern != "/chsk" || got.Close != r.Close {
		t.Errorf("request %+v, want the fields of %+v", got, r)
	}
	if *got.URL != *r.URL || got.URL == r.URL {
		t.Errorf("URL %#v (%p), want a copy of %#v (%p)", got.URL, got.URL, r.URL, r.URL)
	}
	if got.URL.Query().Get("client-id") != "0f4c1a9e-5b7d-4c2e-9a61-3d8e2f7b6c10" {
		t.Errorf("URL query %q", got.URL.RawQuery)
	}
	want := r.Header.Clone()
	for _, name := range []string{"Connection", "Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions"} {
		if want.Get(name) == "" {
			t.Fatalf("browserUpgrade has no %s", name)
		}
		want.Del(name)
	}
	if !equalHeaders(got.Header, want) {
		t.Errorf("header %q, want %q", got.Header, want)
	}
	if ck, err := got.Cookie("theme"); err != nil || ck.Value != "dark" {
		t.Errorf("cookie theme = %v, %v", ck, err)
	}
	if got.Body != http.NoBody || got.ContentLength != 0 || got.Form != nil || got.Trailer != nil {
		t.Errorf("body %v (%d bytes), form %v, trailer %v", got.Body, got.ContentLength, got.Form, got.Trailer)
	}

	ctx := got.Context()
	if r.Context().Err() != nil {
		t.Fatal("the upgrade request's context is done before its handler returned")
	}
	select {
	case <-ctx.Done():
	default:
		t.Error("context not done")
	}
	if !errors.Is(ctx.Err(), context.Canceled) || !errors.Is(context.Cause(ctx), context.Canceled) {
		t.Errorf("context: Err %v, Cause %v; want context.Canceled", ctx.Err(), context.Cause(ctx))
	}
	if d, ok := ctx.Deadline(); ok {
		t.Errorf("context deadline %v", d)
	}
	if ctx.Value(http.ServerContextKey) == nil || ctx.Value(http.LocalAddrContextKey) == nil {
		t.Error("context lost the upgrade request's values")
	}
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	if child.Err() == nil {
		t.Error("a context made from the request's is not done")
	}

	// An event's handler may change its request: the next event's is its own.
	got.Header.Set("Origin", "https://elsewhere.example")
	got.Header["Cookie"] = append(got.Header["Cookie"], "x=y")
	got.URL.Path = "/elsewhere"
	next := k.request()
	if next == got || next.Header.Get("Origin") != "https://birdwatch.example.com" ||
		len(next.Header["Cookie"]) != 1 || next.URL.Path != "/chsk" {
		t.Errorf("the next event's request has the last one's changes: %v %q", next.URL, next.Header)
	}
}

// TestKeepRequestPathValues checks that the values of a ServeMux
// pattern's wildcards are kept, those a handler set with SetPathValue
// under the same names too, and those it set under other names are not.
func TestKeepRequestPathValues(t *testing.T) {
	mux := http.NewServeMux()
	var k *keptRequest
	mux.HandleFunc("GET /chsk/{room}/{$}", func(_ http.ResponseWriter, r *http.Request) { k, _ = keepRequest(r) })
	mux.HandleFunc("/rest/{tenant}/{path...}", func(_ http.ResponseWriter, r *http.Request) {
		r.SetPathValue("tenant", "changed")
		r.SetPathValue("other", "lost")
		k, _ = keepRequest(r)
	})
	for _, c := range []struct {
		target, pattern string
		values          map[string]string
	}{
		{"/chsk/lobby/", "GET /chsk/{room}/{$}", map[string]string{"room": "lobby", "$": ""}},
		{"/chsk/caf%C3%A9/", "GET /chsk/{room}/{$}", map[string]string{"room": "café"}},
		{"/rest/acme/a/b/c", "/rest/{tenant}/{path...}", map[string]string{"tenant": "changed", "path": "a/b/c", "other": ""}},
		{"/rest/acme/", "/rest/{tenant}/{path...}", map[string]string{"tenant": "changed", "path": ""}},
	} {
		k = nil
		mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, c.target, nil))
		if k == nil {
			t.Fatalf("%s: not served", c.target)
		}
		got := k.request()
		if got.Pattern != c.pattern {
			t.Errorf("%s: pattern %q, want %q", c.target, got.Pattern, c.pattern)
		}
		for name, want := range c.values {
			if v := got.PathValue(name); v != want {
				t.Errorf("%s: PathValue(%q) = %q, want %q", c.target, name, v, want)
			}
		}
	}
}

// TestKeepRequestAbsoluteURL checks that a URL with more than a path and
// a query (an absolute-form request URI) is kept whole, and copied for
// each event, its user information too.
func TestKeepRequestAbsoluteURL(t *testing.T) {
	r, hijacked := readUpgrade(t, serverContext(),
		"GET http://ann:secret@birdwatch.example.com:8080/a%2Fb/chsk?client-id=c1 HTTP/1.1\r\nHost: birdwatch.example.com:8080\r\n\r\n")
	defer hijacked()
	if r.URL.Scheme == "" || r.URL.User == nil || r.URL.RawPath == "" {
		t.Fatalf("request URL %#v: no scheme, user or raw path", r.URL)
	}
	k, _ := keepRequest(r)
	r.URL.Path = "/changed after the upgrade"
	got := k.request()
	if got.URL.String() != "http://ann:secret@birdwatch.example.com:8080/a%2Fb/chsk?client-id=c1" {
		t.Errorf("URL %q", got.URL)
	}
	if got.URL.User == r.URL.User || k.request().URL.User == got.URL.User {
		t.Error("URL user information shared")
	}
	if got.Header == nil || len(got.Header) != 0 {
		t.Errorf("header %q, want an empty one", got.Header)
	}
}

// TestKeptHeaderBound checks the bound of the kept header: fields taken in
// order of their names while they fit, a field too large for what is
// left skipped and reported, the next ones still tried, the WebSocket
// handshake's never kept nor reported.
func TestKeptHeaderBound(t *testing.T) {
	h := http.Header{
		"A":                 {"1", "22"},                       // (1 + 4 + 1) + (1 + 4 + 2) = 13 bytes on the wire
		"B":                 {strings.Repeat("b", 20)},         // 25
		"C":                 {"333"},                           // 8
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="},      // not counted
		"D":                 {strings.Repeat("d", 100)},        // too large for what is left
		"E":                 {"e\r\nX-Injected: 1", "f:\x00g"}, // kept as they are
	}
	const limit = 13 + 25 + 8 + (1 + 4 + 16) + (1 + 4 + 4)
	block, dropped := keptHeader(h, limit)
	if !slices.Equal(dropped, []string{"D"}) {
		t.Errorf("dropped %q, want [D]", dropped)
	}
	want := h.Clone()
	delete(want, "D")
	delete(want, "Sec-Websocket-Key")
	if got := decodeHeader(block); !equalHeaders(got, want) {
		t.Errorf("kept %q, want %q", got, want)
	}
	if _, dropped := keptHeader(h, limit-1); !slices.Equal(dropped, []string{"D", "E"}) {
		t.Errorf("a byte less: dropped %q, want [D E]", dropped)
	}
}

// FuzzKeptHeader checks that decodeHeader(keptHeader(h)) is the subset of
// h that fits in the bound, whatever the bytes of the names and values,
// and that decodeHeader takes any string. Its input is a separator byte,
// then name, value, name, value… separated by it (a name repeated has
// several values), and the bound.
func FuzzKeptHeader(f *testing.F) {
	f.Add("|Cookie|a=b|Origin|https://x.example|Cookie|c=d", uint16(100))
	f.Add(",X-A,\r\n,x-a,:,Sec-Websocket-Key,k,,", uint16(5))
	f.Add("\x00\xff\x80\x00\x01\x02", uint16(0))
	f.Fuzz(func(t *testing.T, data string, limit uint16) {
		decodeHeader(data) // any string: no panic
		h := http.Header{}
		if len(data) > 0 {
			parts := strings.Split(data[1:], data[:1])
			for i := 0; i+1 < len(parts); i += 2 {
				h[parts[i]] = append(h[parts[i]], parts[i+1])
			}
		}
		block, dropped := keptHeader(h, int(limit))

		want := http.Header{}
		var wantDropped []string
		left, wire, fields := int(limit), 0, 0
		for _, name := range slices.Sorted(func(yield func(string) bool) {
			for name := range h {
				if !yield(name) {
					return
				}
			}
		}) {
			switch name {
			case textproto.CanonicalMIMEHeaderKey("Sec-WebSocket-Key"), textproto.CanonicalMIMEHeaderKey("Sec-WebSocket-Version"),
				textproto.CanonicalMIMEHeaderKey("Sec-WebSocket-Extensions"), "Upgrade", "Connection":
				continue
			}
			n := 0
			for _, v := range h[name] {
				n += len(name) + len(v) + 4
			}
			if n > left {
				wantDropped = append(wantDropped, name)
				continue
			}
			left -= n
			wire += n
			fields++
			want[name] = h[name]
		}
		if got := decodeHeader(block); !equalHeaders(got, want) {
			t.Errorf("kept %q, want %q", got, want)
		}
		if !slices.Equal(dropped, wantDropped) {
			t.Errorf("dropped %q, want %q", dropped, wantDropped)
		}
		if len(block) > wire+3*fields+6 {
			t.Errorf("%d bytes for %d fields of %d bytes on the wire", len(block), fields, wire)
		}
	})
}

// equalHeaders reports whether a and b have the same fields and values,
// a nil list of values the same as an empty one.
func equalHeaders(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for name, vs := range a {
		ws, ok := b[name]
		if !ok || !slices.Equal(vs, ws) {
			return false
		}
	}
	return true
}

// BenchmarkKeptRequest measures keeping browserUpgrade at the end of the
// handshake: B/op and allocs/op are one keepRequest; live-B/conn is the
// heap that 2,000 kept requests hold once the upgrade requests are gone
// (the growth of HeapAlloc after GC, per request), what of the upgrade
// request they hold (its context, strings) included.
func BenchmarkKeptRequest(b *testing.B) {
	srvCtx := serverContext()
	const n = 2000
	kept := make([]*keptRequest, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range kept {
		r, hijacked := readUpgrade(b, srvCtx, browserUpgrade)
		kept[i], _ = keepRequest(r)
		hijacked()
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	live := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
	runtime.KeepAlive(kept)
	kept = nil

	r, hijacked := readUpgrade(b, srvCtx, browserUpgrade)
	defer hijacked()
	var k *keptRequest
	for b.Loop() {
		k, _ = keepRequest(r)
	}
	runtime.KeepAlive(k)
	b.ReportMetric(live, "live-B/conn")
}

// BenchmarkKeptRequestBuild measures what Message.Request of a WebSocket
// event costs, from the kept browserUpgrade.
func BenchmarkKeptRequestBuild(b *testing.B) {
	r, hijacked := readUpgrade(b, serverContext(), browserUpgrade)
	k, _ := keepRequest(r)
	hijacked()
	var got *http.Request
	for b.Loop() {
		got = k.request()
	}
	if got.Header.Get("Origin") == "" {
		b.Fatal("no Origin")
	}
}
