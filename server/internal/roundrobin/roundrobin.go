// Package roundrobin is a reverse proxy that hands each request to the
// next of several identical backends in turn, with no stickiness: every
// Ajax long poll, every POST and every WebSocket upgrade may reach a
// different backend. It is meant for sente-go instances that share their
// pushes through Redis (web.RedisBroker), where any instance can serve any
// request of any client.
//
// Health is passive, and no goroutine probes the backends: a backend that
// cannot be dialled (its process is gone) is skipped for DownPeriod, and
// the request, which never left the proxy, is tried on the next backend.
package roundrobin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

const (
	// DownPeriod is how long a backend whose dial failed is skipped before
	// requests try it again.
	DownPeriod = 2 * time.Second

	// maxRetryBody is the largest request body, in bytes, that the proxy
	// buffers so that the request can be tried on another backend; a
	// larger body goes to one backend only, and a failed dial ends it.
	maxRetryBody = 64 << 10

	// dialTimeout bounds one connection attempt to a backend. A killed
	// local process refuses at once; this is for hosts that do not answer.
	dialTimeout = 5 * time.Second

	// maxIdlePerBackend is how many idle connections to one backend are
	// kept for reuse: enough for the many long polls of a demo.
	maxIdlePerBackend = 64

	// idleConnTimeout closes a connection to a backend unused this long.
	idleConnTimeout = 90 * time.Second

	// shutdownGrace is how long Serve lets requests in flight finish once
	// its context is done, before it cuts the rest (long polls, WebSocket
	// tunnels; their clients reconnect).
	shutdownGrace = 2 * time.Second

	// readHeaderTimeout bounds how long Serve waits for a request's
	// headers.
	readHeaderTimeout = 10 * time.Second
)

// Proxy is an http.Handler that forwards each request to the next live
// backend. Responses are copied without buffering (each write is flushed,
// so long polls and streams reach the client as the backend writes), and
// WebSocket upgrades are passed through.
//
// A Proxy is safe for concurrent use and starts no goroutine of its own;
// the connections it keeps to the backends are closed by
// CloseIdleConnections, or when the backends close them.
type Proxy struct {
	backends  []*backend
	transport *http.Transport
	next      atomic.Uint64 // requests so far; picks the backend each one tries first
	downFor   time.Duration // how long a failed backend is skipped: DownPeriod (tests shorten it)
	log       zerolog.Logger
}

// backend is one upstream server and the reverse proxy that reaches it.
type backend struct {
	url   *url.URL
	proxy *httputil.ReverseProxy
	// downUntil is when a backend whose dial failed may be tried again,
	// in Unix nanoseconds; 0 means up. Its changes to and from 0 are
	// logged, so each outage logs once when it starts and once when it ends.
	downUntil atomic.Int64
}

// attempt is the outcome of one try of a request on one backend, which
// the backend's ErrorHandler reports to ServeHTTP through the context.
type attempt struct {
	retryable  bool // the request may be sent again (no body, or a buffered one)
	dialFailed bool // the backend could not be reached: mark it down
	retry      bool // nothing was written to the client: try the next backend
}

// attemptKey is the context key of the current *attempt.
type attemptKey struct{}

// New returns a Proxy in front of backends (http or https URLs whose path,
// if any, prefixes every request's). log receives a warning when a backend
// goes down, an info line when it comes back, and proxy errors; its zero
// value logs nothing.
func New(backends []*url.URL, log zerolog.Logger) (*Proxy, error) {
	if len(backends) == 0 {
		return nil, errors.New("roundrobin: no backends")
	}
	p := &Proxy{
		transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: dialTimeout}).DialContext,
			MaxIdleConnsPerHost: maxIdlePerBackend,
			IdleConnTimeout:     idleConnTimeout,
		},
		downFor: DownPeriod,
		log:     log,
	}
	for i, u := range backends {
		if u == nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("roundrobin: backend %d: want an http or https URL with a host, got %v", i, u)
		}
		p.backends = append(p.backends, p.newBackend(u))
	}
	return p, nil
}

// newBackend builds the reverse proxy to u.
func (p *Proxy) newBackend(u *url.URL) *backend {
	target := *u // the caller may reuse its URL
	b := &backend{url: &target}
	blog := p.log.With().Str("backend", target.String()).Logger()
	b.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(b.url)
			pr.Out.Host = pr.In.Host // the backends see the address clients use
			pr.SetXForwarded()
		},
		Transport:     p.transport,
		FlushInterval: -1, // flush every write: long polls and pushes are never held back
		ErrorLog:      stdlog.New(debugWriter{blog}, "", 0),
		ModifyResponse: func(*http.Response) error {
			p.markUp(b)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.proxyError(w, r, err, blog)
		},
	}
	return b
}

// ServeHTTP forwards r to the next backend that is not down. When the dial
// fails, the backend is marked down and, if r has no body or a body of at
// most 64 KiB (which is buffered for this), r is tried on the following
// one. With no backend left it answers 502 Bad Gateway.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, stream, err := bufferBody(r)
	if err != nil {
		p.log.Debug().Err(err).Msg("reading the request body")
		http.Error(w, "roundrobin: reading the request body failed", http.StatusBadRequest)
		return
	}
	n := uint64(len(p.backends))
	first := p.next.Add(1) - 1
	for i := range n {
		b := p.backends[(first+i)%n]
		if b.isDown(time.Now()) {
			continue
		}
		a := &attempt{retryable: stream == nil}
		try := r.WithContext(context.WithValue(r.Context(), attemptKey{}, a)) // a copy: r stays as it came
		switch {
		case stream != nil:
			try.Body = stream
		case body != nil: // a fresh reader per try, and one the transport can rewind
			try.ContentLength = int64(len(body))
			try.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
			try.Body, _ = try.GetBody() // GetBody cannot fail
		}
		b.proxy.ServeHTTP(w, try)
		if a.dialFailed {
			p.markDown(b)
		}
		if !a.retry || r.Context().Err() != nil {
			return
		}
	}
	http.Error(w, "roundrobin: no backend available", http.StatusBadGateway)
}

// Serve answers HTTP requests on ln with p until ctx is done, then shuts
// down: it stops accepting, lets the requests in flight finish for up to 2
// s, cuts those still open (long polls and WebSocket tunnels, whose
// clients reconnect), waits for their handlers to return and closes the
// idle backend connections. It closes ln. It returns nil after a shutdown
// asked for by ctx, or the error that stopped the server.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	base, cut := context.WithCancel(context.Background())
	defer cut()
	var (
		mu       sync.Mutex     // guards closed and handlers.Add
		closed   bool           // Serve is waiting for the handlers: start no more
		handlers sync.WaitGroup // requests in flight, hijacked ones included
	)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			if closed {
				mu.Unlock()
				http.Error(w, "roundrobin: shutting down", http.StatusServiceUnavailable)
				return
			}
			handlers.Add(1)
			mu.Unlock()
			defer handlers.Done()
			p.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: readHeaderTimeout,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          stdlog.New(debugWriter{p.log}, "", 0),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var err error
	select {
	case err = <-served:
		err = fmt.Errorf("roundrobin: serve: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		if serr := srv.Shutdown(sctx); serr != nil {
			p.log.Debug().Err(serr).Msg("cutting the requests still open")
		}
		cancel()
		<-served // http.ErrServerClosed
	}
	cut() // ends the proxied requests: a cancelled request closes its backend connection
	srv.Close()
	mu.Lock()
	closed = true
	mu.Unlock()
	handlers.Wait()
	p.CloseIdleConnections()
	return err
}

// CloseIdleConnections closes the proxy's idle connections to the
// backends (and so the transport goroutines that serve them); connections
// in use stay open. The Proxy remains usable.
func (p *Proxy) CloseIdleConnections() { p.transport.CloseIdleConnections() }

// proxyError is the ErrorHandler of every backend's reverse proxy. A
// failed dial of a retryable request writes nothing, so that ServeHTTP
// can try the next backend; any other error answers 502.
func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error, log zerolog.Logger) {
	a, _ := r.Context().Value(attemptKey{}).(*attempt)
	if a != nil && isDialError(err) {
		a.dialFailed = true
		if a.retryable {
			a.retry = true
			return
		}
	}
	if r.Context().Err() != nil {
		log.Debug().Err(err).Msg("client went away") // the client closed its request
	} else {
		log.Warn().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("proxy error")
	}
	http.Error(w, "roundrobin: backend error", http.StatusBadGateway)
}

// isDown reports whether b is to be skipped at now.
func (b *backend) isDown(now time.Time) bool {
	until := b.downUntil.Load()
	return until != 0 && now.UnixNano() < until
}

// markDown skips b for p.downFor, logging if b was up.
func (p *Proxy) markDown(b *backend) {
	if b.downUntil.Swap(time.Now().Add(p.downFor).UnixNano()) == 0 {
		p.log.Warn().Str("backend", b.url.String()).Dur("retry_after", p.downFor).Msg("backend down")
	}
}

// markUp records that b answered, logging if it was down.
func (p *Proxy) markUp(b *backend) {
	if b.downUntil.Load() != 0 && b.downUntil.Swap(0) != 0 {
		p.log.Info().Str("backend", b.url.String()).Msg("backend up")
	}
}

// isDialError reports whether err is a failure to connect, so that the
// request was never sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// bufferBody reads r's body into memory when it has one of at most
// maxRetryBody bytes, so that r can be sent more than once. A larger body
// is returned as stream instead, with what was read put back in front: r
// can then be sent once only. Both are nil when r has no body.
func bufferBody(r *http.Request) (body []byte, stream io.ReadCloser, err error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil, nil, nil
	}
	if r.ContentLength > maxRetryBody {
		return nil, r.Body, nil
	}
	body, err = io.ReadAll(io.LimitReader(r.Body, maxRetryBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("roundrobin: reading the request body: %w", err)
	}
	if len(body) > maxRetryBody { // chunked, and longer than the limit
		return nil, struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}, nil
	}
	return body, nil, nil
}

// debugWriter turns the reverse proxies' own log lines (a copy cut short
// because the client or the backend went away) into zerolog debug events.
type debugWriter struct{ log zerolog.Logger }

// Write logs one line at debug level.
func (w debugWriter) Write(p []byte) (int, error) {
	w.log.Debug().Msg(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
