package web

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
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

// BenchmarkKeptRequest measures keeping browserUpgrade at the end of the
// handshake: B/op and allocs/op are one keptRequest; live-B/conn is the
// heap that 2,000 kept requests hold once the upgrade requests are gone
// (the growth of HeapAlloc after GC, per request), what of the upgrade
// request they hold (its context, strings) included.
func BenchmarkKeptRequest(b *testing.B) {
	srvCtx := serverContext()
	const n = 2000
	kept := make([]*http.Request, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range kept {
		r, hijacked := readUpgrade(b, srvCtx, browserUpgrade)
		kept[i], _ = keptRequest(r)
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
	var k *http.Request
	for b.Loop() {
		k, _ = keptRequest(r)
	}
	runtime.KeepAlive(k)
	b.ReportMetric(live, "live-B/conn")
}

// BenchmarkKeptRequestBuild measures what Message.Request of a WebSocket
// event costs, from the kept browserUpgrade.
func BenchmarkKeptRequestBuild(b *testing.B) {
	r, hijacked := readUpgrade(b, serverContext(), browserUpgrade)
	k, _ := keptRequest(r)
	hijacked()
	var got *http.Request
	for b.Loop() {
		got = k
	}
	if got.Header.Get("Origin") == "" {
		b.Fatal("no Origin")
	}
}
