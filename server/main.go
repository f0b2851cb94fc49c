// Command server runs the BirdWatch backend on sente-go: the Sente channel
// socket at /chsk (every Sente client generation, WebSocket and Ajax), the
// hub that answers BirdWatch's commands, an embedded tweet store and
// percolator, and a tweet source. It needs no external service.
//
// Usage:
//
//	go run ./server [-addr :8888] [-static-dir DIR] [-source synthetic|redis|jetstream|FILE.jsonl] …
//
// Run with -h for every flag, with -check-config to see the configuration
// in effect: each setting comes from its flag, else its environment
// variable, else BirdWatch's conf.edn (-conf), else its default (see
// config.go). /healthz answers 200 while the process serves HTTP;
// /readyz answers 503 while it shuts down or its Redis is unreachable.
// -debug-addr serves net/http/pprof on an address of its own.
//
// SIGINT or SIGTERM shut it down gracefully: /readyz answers 503 from
// then on (for -shutdown-delay before anything else changes), pending
// pushes are flushed and callback replies given meanwhile written before
// the sockets close; after -shutdown-timeout (10 s) every connection left
// is closed. A second SIGINT or SIGTERM closes them at once.
package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/internal/logging"
	"github.com/sente-go/sente/server/internal/redisconn"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/hub"
	"github.com/sente-go/sente/server/peers"
	"github.com/sente-go/sente/server/percolator"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/store"
	"github.com/sente-go/sente/web"
	"github.com/sente-go/sente/web/page"
)

// shutdownTimeout bounds the graceful shutdown: flushing pushes, closing
// sockets, finishing requests.
const shutdownTimeout = 10 * time.Second

// defaultMaxHeaderBytes is the default of -max-header-bytes: the largest
// request header (request line included) the HTTP server reads; a larger
// one gets 431. net/http reads up to 4 KiB past it. Its own default, 1 MiB,
// lets every request cost a megabyte while it is read, and every kept
// request that much.
const defaultMaxHeaderBytes = 64 << 10

// limits bounds how long a connection may hold the server; a zero field
// takes its default (defaultLimits).
type limits struct {
	header   time.Duration // to read a request's header (http.Server.ReadHeaderTimeout)
	body     time.Duration // to read a request's body, from the end of its header
	idle     time.Duration // a keep-alive connection between requests (http.Server.IdleTimeout)
	shutdown time.Duration // the graceful shutdown; then every connection is closed
	delay    time.Duration // before the shutdown: serving on, /readyz answers 503 (no default)
}

// defaultLimits are the binary's limits. The body bound is per request,
// not http.Server.ReadTimeout or WriteTimeout: those would also cut the
// long polls the Sente endpoint holds for up to its PollTimeout (20 s)
// and its callback waits.
var defaultLimits = limits{
	header:   10 * time.Second,
	body:     5 * time.Second,
	idle:     60 * time.Second,
	shutdown: shutdownTimeout,
}

// withDefaults returns l with its zero fields set to the defaults.
func (l limits) withDefaults() limits {
	for _, f := range []struct{ v, def *time.Duration }{
		{&l.header, &defaultLimits.header}, {&l.body, &defaultLimits.body},
		{&l.idle, &defaultLimits.idle}, {&l.shutdown, &defaultLimits.shutdown},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return l
}

// maxBody bounds a request body, in bytes: the Sente endpoint's default
// read limit (web.Config.ReadLimit), which bounds its POSTs anyway; no
// other route takes a body.
const maxBody = 64 << 10

// config is the server's configuration: see settings (config.go) for
// where each field comes from. The zero value of a field that has a
// default in settings takes the library's or the binary's default.
type config struct {
	addr        string  // listen address, host:port
	logLevel    string  // zerolog level name
	staticDir   string  // a BirdWatch resources/public directory to serve at /
	source      string  // "synthetic", "none", "redis", "jetstream" or a JSONL file to replay
	rate        float64 // synthetic tweets per second
	seed        uint64  // synthetic seed
	backfill    int     // synthetic tweets dated before start
	speed       float64 // replay speed-up (0: as fast as possible)
	jetstream   string  // the Jetstream URL of -source jetstream
	storeFile   string  // store persistence file ("" : memory only)
	storeSize   int     // tweets kept
	packer      string  // "auto", "transit" or "edn"
	confPath    string  // BirdWatch conf.edn to read ("" : none)
	redisAddr   string  // Redis host:port joining instances ("" : one instance); shorthand of redisURL
	redisURL    string  // Redis URL joining instances (redisconn.Open), "" : redisAddr
	csrfToken   string  // the CSRF token ("" : random; shared through Redis with -redis-addr)
	clients     string  // the Sente client generations served (protocol.ParseGenerations)
	origins     string  // other origins allowed besides the server's own, comma-separated ("*": all)
	maxHeader   int     // http.Server.MaxHeaderBytes (<= 0: defaultMaxHeaderBytes)
	debugAddr   string  // the debug server's address (pprof), "" : none
	metricsAddr string  // the metrics server's address, "" : /metrics on addr

	// Tweets shared through Redis (-source redis, -redis-publish).
	redisTweets  string // Redis stream of tweets shared by instances (-source redis, -redis-publish)
	redisPublish bool   // the local source publishes to redisTweets; the instance consumes from it

	limits   limits // connection lifetimes (tests shorten them)
	maxConns int    // open connections at most; 0: from the file descriptor limit, <0: no limit
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h: the usage is printed
		}
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run reads the configuration from args, the environment and conf.edn,
// starts the server and blocks until SIGINT/SIGTERM. With -check-config
// it writes the configuration to stdout instead. The log goes to logOut.
func run(args []string, stdout, logOut io.Writer) error {
	l, err := loadConfig(args, os.LookupEnv)
	if err != nil {
		return err
	}
	if l.check {
		return l.writeCheck(stdout)
	}
	cfg := l.cfg
	log, err := newLogger(cfg.logLevel, logOut)
	if err != nil {
		return err
	}
	l.logNotes(log)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, force, release := watchSignals(sigs, log)
	defer release()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	return serve(ctx, force, ln, cfg, log)
}

// watchSignals turns the signals on sigs into two contexts: stop ends at
// the first (graceful shutdown), force at the second (close everything
// now). release ends the watching goroutine; call it once serve returned.
func watchSignals(sigs <-chan os.Signal, log zerolog.Logger) (stop, force context.Context, release func()) {
	stop, stopCancel := context.WithCancel(context.Background())
	force, forceCancel := context.WithCancel(context.Background())
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, cancel := range []context.CancelFunc{stopCancel, forceCancel} {
			select {
			case sig := <-sigs:
				if i > 0 {
					log.Warn().Stringer("signal", sig).Msg("second signal: closing every connection now")
				}
				cancel()
			case <-quit:
				return
			}
		}
	}()
	return stop, force, func() {
		close(quit)
		<-done
		stopCancel()
		forceCancel()
	}
}

// newLogger writes human-readable lines to a terminal and JSON otherwise.
func newLogger(level string, out io.Writer) (zerolog.Logger, error) { return logging.New(level, out) }

// redisTarget is the Redis that joins the instances: -redis-url, or
// -redis-addr (or conf.edn's); "" for none.
func (c config) redisTarget() string { return cmp.Or(c.redisURL, c.redisAddr) }

// sendQueueBytes bounds what one connection may have queued: a client
// that falls further behind is cut. A BirdWatch search answers up to four
// :tweet/prev-chunk of 500 tweets (some 300–800 bytes each in Transit)
// within one batch window, which must fit; web's 1 MiB default may not.
const sendQueueBytes = 4 << 20

// defaultClients are BirdWatch's clients: its original bundle (Sente
// 1.3.0-RC1, flexi Transit packer) and the built-in page (a Sente 1.21+
// client).
const defaultClients = "flexi,v2"

// app is the assembled backend.
type app struct {
	rdb     redis.UniversalClient // nil without Redis; shared by every use
	sente   *web.Server
	redis   *web.RedisBroker  // nil without -redis-addr
	cluster *web.RedisCluster // nil without -redis-addr
	peers   *peers.Redis      // nil without -redis-addr
	store   *store.Memory
	perc    *percolator.Percolator
	hub     *hub.Hub
	http    http.Handler
	// draining is set when the shutdown begins: /readyz answers 503.
	draining atomic.Bool
	// sourceReady is closed once the tweet source reads: at once, but
	// for a Redis stream, once its position is known.
	sourceReady chan struct{}
	// debugLn, when not nil, is the debug server's listener (pprof);
	// serve closes it.
	debugLn net.Listener
	// metrics is the registry /metrics serves (metrics.go); metricsLn,
	// when not nil, the listener of -metrics-addr, which serve closes.
	metrics   *prometheus.Registry
	metricsLn net.Listener
}

// newApp builds the components from cfg; src, when not nil, replaces the
// source cfg names (tests feed tweets through it).
func newApp(cfg config, log zerolog.Logger, src hub.TweetSource) (a *app, err error) {
	var undo []func() // closes what was built, newest first, if a later step fails
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	st, err := store.New(store.Config{Capacity: cfg.storeSize, Path: cfg.storeFile, Logger: log.With().Str("component", "store").Logger()})
	if err != nil {
		return nil, fmt.Errorf("tweet store: %w", err)
	}
	undo = append(undo, func() { st.Close() })
	var rdb redis.UniversalClient
	if target := cfg.redisTarget(); target != "" {
		// go-redis logs through one package-wide logger; main owns it.
		redis.SetLogger(redisLogger{log.With().Str("component", "go-redis").Logger()})
		if rdb, err = redisconn.Open(target); err != nil {
			return nil, err
		}
		undo = append(undo, func() { rdb.Close() })
	}
	sourceReady := make(chan struct{})
	var readyOnce sync.Once
	ready := func() {
		readyOnce.Do(func() {
			log.Info().Str("stream", cfg.redisTweets).Msg("reading the redis tweet stream")
			close(sourceReady)
		})
	}
	fromRedis := false // the source reads a Redis stream, and calls ready
	if src == nil {
		if src, err = newSource(cfg, log, rdb, ready); err != nil {
			return nil, err
		}
		fromRedis = cfg.source == "redis" || cfg.redisPublish
	}
	if !fromRedis {
		close(sourceReady)
	}
	packer, err := parsePacker(cfg.packer)
	if err != nil {
		return nil, err
	}
	if cfg.clients == "" {
		cfg.clients = defaultClients
	}
	clients, err := protocol.ParseGenerations(cfg.clients)
	if err != nil {
		return nil, fmt.Errorf("-clients: %w", err)
	}
	var (
		broker      web.Broker  // nil: web.New makes a MemoryBroker
		cluster     web.Cluster // nil: a single instance
		redisBroker *web.RedisBroker
		redisCl     *web.RedisCluster
		announcer   *peers.Redis
	)
	csrf := cfg.csrfToken
	if rdb != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		redisBroker, err = web.NewRedisBroker(ctx, web.RedisBrokerConfig{Client: rdb, Logger: log.With().Str("component", "broker").Logger()})
		if err != nil {
			return nil, fmt.Errorf("redis broker: %w", err)
		}
		undo = append(undo, func() { redisBroker.Close() })
		broker = redisBroker
		redisCl, err = web.NewRedisCluster(ctx, web.RedisClusterConfig{Client: rdb, InstanceID: redisBroker.InstanceID(),
			Logger: log.With().Str("component", "cluster").Logger()})
		if err != nil {
			return nil, fmt.Errorf("redis cluster: %w", err)
		}
		undo = append(undo, func() { redisCl.Close() })
		cluster = redisCl
		if announcer, err = peers.New(peers.Config{Client: rdb, Instance: redisCl.InstanceID(), Instances: redisCl.Instances,
			Logger: log.With().Str("component", "peers").Logger()}); err != nil {
			return nil, err
		}
		if csrf == "" {
			if csrf, err = sharedToken(ctx, rdb); err != nil {
				return nil, fmt.Errorf("csrf token: %w", err)
			}
		}
	}
	if csrf == "" {
		csrf = newToken()
	}
	token := func(*http.Request) string { return csrf }
	var origins []string
	for _, o := range strings.Split(cfg.origins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	sente, err := web.New(web.Config{
		Packer:         packer,
		Clients:        clients,
		AllowedOrigins: origins,
		CSRFToken:      token,
		SendQueueBytes: sendQueueBytes,
		Broker:         broker,
		Cluster:        cluster,
		Logger:         log.With().Str("component", "sente").Logger(),

		MetricsEventIDs: metricsEventIDs,
	})
	if err != nil {
		return nil, fmt.Errorf("sente server: %w", err)
	}
	undo = append(undo, func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		sente.Close(ctx)
	})
	perc := percolator.New(percolator.Config{DocFreq: st.DocFreq})
	hc := hub.Config{
		Transport:  sente,
		Store:      st,
		Percolator: perc,
		Source:     src,
		Logger:     log.With().Str("component", "hub").Logger(),
	}
	if announcer != nil {
		hc.Peers = announcer
	}
	h, err := hub.New(hc)
	if err != nil {
		return nil, err
	}
	a = &app{rdb: rdb, sourceReady: sourceReady, sente: sente, redis: redisBroker, cluster: redisCl, peers: announcer, store: st, perc: perc, hub: h}
	a.http = newRouter(cfg, sente.Handler(), token, a.notReady, log.With().Str("component", "http").Logger())
	a.metrics = newMetricsRegistry(a)
	if cfg.metricsAddr == "" {
		a.http = withMetrics(a.http, metricsHandler(a.metrics, log.With().Str("component", "metrics").Logger()))
	}
	return a, nil
}

// sharedTokenKey is the Redis key of the CSRF token every instance on one
// Redis hands out, so that a page from one instance is served by all.
const sharedTokenKey = "birdwatch:csrf-token"

// sharedToken returns the token of the instances on Redis c: the first
// instance's random token, kept by Redis (SET NX, no expiry).
func sharedToken(ctx context.Context, c redis.UniversalClient) (string, error) {
	if err := c.SetNX(ctx, sharedTokenKey, newToken(), 0).Err(); err != nil {
		return "", err
	}
	return c.Get(ctx, sharedTokenKey).Result()
}

// redisLogger sends go-redis's own log lines (dial failures during an
// outage) to zerolog at debug: the broker already logs each outage once.
type redisLogger struct{ log zerolog.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug().Msgf(format, v...)
}

// parsePacker maps the -packer flag to web's option ("" is auto).
func parsePacker(name string) (web.Packer, error) {
	if name == "" {
		return web.PackerAuto, nil
	}
	for _, p := range []web.Packer{web.PackerAuto, web.PackerTransit, web.PackerEDN} {
		if name == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("-packer %q: want auto, transit or edn", name)
}

// newSource returns the configured tweet source, or nil for "none". With
// -redis-publish the local source publishes to Redis, and the instance
// receives its tweets, as every other one does, from there. rdb is the
// client of cfg.redisTarget(), nil when there is none.
func newSource(cfg config, log zerolog.Logger, rdb redis.UniversalClient, ready func()) (hub.TweetSource, error) {
	if err := checkSources(cfg); err != nil {
		return nil, err
	}
	src, err := newLocalSource(cfg, log, rdb, ready)
	if err != nil || !cfg.redisPublish {
		return src, err
	}
	return &source.PublishingSource{Inner: src, Client: rdb, Stream: cfg.redisTweets, Ready: ready,
		Logger: log.With().Str("component", "redis-publish").Logger()}, nil
}

// newLocalSource returns the source -source names, or nil for "none".
func newLocalSource(cfg config, log zerolog.Logger, rdb redis.UniversalClient, ready func()) (hub.TweetSource, error) {
	switch cfg.source {
	case "none", "":
		return nil, nil
	case "redis":
		r, err := source.NewRedis(source.RedisConfig{Client: rdb, Stream: cfg.redisTweets, Ready: ready,
			Logger: log.With().Str("component", "redis-source").Logger()})
		if err != nil {
			return nil, fmt.Errorf("redis source: %w", err)
		}
		return r, nil
	case "synthetic":
		s, err := source.NewSynthetic(source.SyntheticConfig{
			GeneratorConfig: source.GeneratorConfig{Seed: cfg.seed, Rate: cfg.rate},
			Backfill:        cfg.backfill,
		})
		if err != nil {
			return nil, fmt.Errorf("synthetic source: %w", err)
		}
		return s, nil
	case "jetstream":
		j, err := source.NewJetstream(source.JetstreamConfig{URL: cmp.Or(cfg.jetstream, source.DefaultJetstreamURL),
			Logger: log.With().Str("component", "jetstream").Logger()})
		if err != nil {
			return nil, fmt.Errorf("jetstream source: %w", err)
		}
		return j, nil
	default:
		r, err := source.NewReplay(source.ReplayConfig{Path: cfg.source, Speed: cfg.speed, Logger: log.With().Str("component", "replay").Logger()})
		if err != nil {
			return nil, fmt.Errorf("replay source: %w", err)
		}
		return r, nil
	}
}

// newToken returns a random CSRF token, handed to clients in the
// handshake and required on their POSTs.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// notReady says why the app should not get new clients ("shutting
// down", "redis unreachable"), or returns "" when it should.
func (a *app) notReady() string {
	switch {
	case a.draining.Load():
		return "shutting down"
	case a.peers != nil && !a.peers.Reachable():
		return "redis unreachable"
	}
	return ""
}

// newRouter builds the HTTP routes, each request logged at debug level
// on log (logging.AccessLog): the Sente endpoint; /healthz, liveness
// (200 "ok" as long as the process serves HTTP); /readyz, readiness for
// load balancers (200 "ready", or 503 and the reason notReady gives);
// avatars of synthetic users; and the page: the directory cfg.staticDir,
// or the built-in BirdWatch page (package web/page), which hands its
// client the CSRF token csrf returns.
func newRouter(cfg config, chsk http.Handler, csrf func(*http.Request) string, notReady func() string, log zerolog.Logger) http.Handler {
	r := chi.NewRouter()
	r.Use(logging.AccessLog(log))
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	r.Get("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if why := notReady(); why != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, why+"\n")
			return
		}
		io.WriteString(w, "ready\n")
	})
	r.Handle("/chsk", chsk)
	r.Handle("/images/avatar-*", source.AvatarHandler())
	if cfg.staticDir != "" {
		r.Handle("/*", http.FileServer(http.Dir(cfg.staticDir)))
	} else {
		pg := page.Handler(page.Config{CSRFToken: csrf})
		r.Handle("/", pg)
		r.Handle("/index.html", pg)
		r.Handle("/assets/*", pg)
	}
	return r
}

// readBodies reads the body of each request that has one before next
// sees it: in full, within timeout from the end of its header, and at most
// limit bytes, else the request gets 408 or 413 and its connection is
// closed. A client that trickles its body so holds a connection and a
// handler for timeout at most. Requests without a body (polls, WebSocket
// upgrades) pass untouched: their connection keeps no read deadline, which
// would cancel a held long poll.
func readBodies(timeout time.Duration, limit int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		// Without deadline support (not a TCP connection) the body is
		// read unbounded, as before.
		_ = rc.SetReadDeadline(time.Now().Add(timeout))
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		if err != nil {
			var tooBig *http.MaxBytesError
			var ne net.Error
			w.Header().Set("Connection", "close")
			switch {
			case errors.As(err, &tooBig):
				http.Error(w, "Request body too large", http.StatusRequestEntityTooLarge)
			case errors.As(err, &ne) && ne.Timeout():
				http.Error(w, "Request body not read in time", http.StatusRequestTimeout)
			default:
				http.Error(w, "Bad request body", http.StatusBadRequest)
			}
			return
		}
		_ = rc.SetReadDeadline(time.Time{}) // the server's background read must not time out
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// serve builds the app of cfg and runs it on ln, with the debug server
// on cfg.debugAddr, until ctx is done, then shuts down; see app.serve.
func serve(ctx, force context.Context, ln net.Listener, cfg config, log zerolog.Logger) error {
	dln, err := listenDebug(cfg.debugAddr)
	if err != nil {
		ln.Close()
		return err
	}
	mln, err := listenMetrics(cfg.metricsAddr)
	if err != nil {
		ln.Close()
		if dln != nil {
			dln.Close()
		}
		return fmt.Errorf("metrics server: listen on %s: %w", cfg.metricsAddr, err)
	}
	a, err := newApp(cfg, log, nil)
	if err != nil {
		ln.Close()
		if dln != nil {
			dln.Close()
		}
		if mln != nil {
			mln.Close()
		}
		return err
	}
	a.debugLn, a.metricsLn = dln, mln
	return a.serve(ctx, force, ln, cfg, log)
}

// serve runs the app on ln (and the debug server on a.debugLn) until ctx
// is done, then shuts down: /readyz answers 503 at once; after
// cfg.limits.delay (cut short when force is done), the Sente server
// closes (it flushes pushes, waits for callback replies and closes
// sockets), then the hub, the HTTP server, the store and the debug
// server. The shutdown takes cfg.limits.shutdown at most: then, or as
// soon as force is done, every connection left is closed (the HTTP
// server's and the Sente server's), whatever its client does.
func (a *app) serve(ctx, force context.Context, ln net.Listener, cfg config, log zerolog.Logger) error {
	lim := cfg.limits.withDefaults()
	maxHeader := cfg.maxHeader
	if maxHeader <= 0 {
		maxHeader = defaultMaxHeaderBytes
	}
	srv := &http.Server{
		Handler:           readBodies(lim.body, maxBody, a.http),
		ReadHeaderTimeout: lim.header,
		IdleTimeout:       lim.idle,
		MaxHeaderBytes:    maxHeader,
	}
	hubCtx, stopHub := context.WithCancel(context.Background())
	defer stopHub()
	hubErr := make(chan error, 1)
	go func() { hubErr <- a.hub.Run(hubCtx) }()
	peersDone := make(chan struct{})
	go func() {
		defer close(peersDone)
		if a.peers != nil {
			a.peers.Run(hubCtx, a.hub) // returns nil when hubCtx ends
		}
	}()
	maxConns := cfg.maxConns
	if maxConns == 0 {
		maxConns = defaultMaxConns()
	}
	if maxConns > 0 {
		ln = newLimitListener(ln, maxConns)
	}
	stopDebug := func() {}
	if a.debugLn != nil {
		stopDebug = startDebug(a.debugLn, log)
	}
	stopMetrics := func() {}
	if a.metricsLn != nil {
		stopMetrics = startMetrics(a.metricsLn, a.metrics, log.With().Str("component", "metrics").Logger())
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Str("source", cfg.source).Int("max_conns", maxConns).Msg("listening")

	var runErr error
	select {
	case err := <-srvErr:
		runErr = fmt.Errorf("serve: %w", err)
	case err := <-hubErr:
		runErr = err
		hubErr <- err // let the shutdown below see it
	case <-ctx.Done():
	}
	a.draining.Store(true)
	log.Info().Dur("timeout", lim.shutdown).Dur("delay", lim.delay).Msg("shutting down")
	if runErr == nil && lim.delay > 0 {
		// Serving on while load balancers notice /readyz; a second
		// signal cuts it short.
		delay := time.NewTimer(lim.delay)
		select {
		case <-delay.C:
		case <-force.Done():
		}
		delay.Stop()
	}
	sctx, cancel := context.WithTimeout(force, lim.shutdown)
	defer cancel()
	// The Sente server gives up a tenth earlier (at most a second), so
	// that its last answers (:chsk/timeout to pending Ajax callbacks, "no
	// data" to polls) are written before the connections close.
	senteCtx, cancelSente := context.WithTimeout(sctx, lim.shutdown-min(lim.shutdown/10, time.Second))
	defer cancelSente()
	// At the deadline, or on a second signal, the HTTP server closes every
	// connection: handlers blocked on a client return, and the Sente
	// server, which aborts its own sockets then, stops waiting for them.
	forced := make(chan struct{})
	stopForce := context.AfterFunc(sctx, func() {
		defer close(forced)
		log.Warn().Err(context.Cause(sctx)).Msg("shutdown cut short: closing every connection")
		srv.Close() // its error is the listener's, already closed or about to be
	})
	defer func() {
		if !stopForce() {
			<-forced
		}
	}()
	if err := a.sente.Close(senteCtx); err != nil {
		log.Warn().Err(err).Msg("sente server did not close cleanly")
	}
	stopHub()
	if err := <-hubErr; err != nil && runErr == nil {
		runErr = err
	}
	<-peersDone
	if err := srv.Shutdown(sctx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	if err := sctx.Err(); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown cut short: %w", err) // a second signal
	}
	if a.cluster != nil {
		a.cluster.Close() // after the Sente server: it no longer calls it
	}
	if a.redis != nil {
		a.redis.Close() // after the Sente server: nothing publishes any more
	}
	if a.rdb != nil {
		a.rdb.Close() // after every use of it
	}
	if err := a.store.Close(); err != nil && runErr == nil {
		runErr = fmt.Errorf("closing the tweet store: %w", err)
	}
	stopDebug()
	stopMetrics()
	if runErr == nil {
		log.Info().Msg("stopped")
	}
	return runErr
}
