// Command server runs the BirdWatch backend on sente-go: the Sente channel
// socket at /chsk (every Sente client generation, WebSocket and Ajax), the
// hub that answers BirdWatch's commands, an embedded tweet store and
// percolator, and a tweet source. It needs no external service.
//
// Usage:
//
//	go run ./server [-addr :8888] [-static-dir DIR] [-source synthetic|redis|FILE.jsonl] …
//
// Run with -h for every flag. SIGINT or SIGTERM shut it down gracefully:
// /healthz answers 503 from then on, pending pushes are flushed and
// callback replies given meanwhile written before the sockets close; after
// 10 s every connection left is closed. A second SIGINT or SIGTERM closes
// them at once.
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
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

// config is the server's configuration, from flags and environment.
type config struct {
	addr      string  // listen address, host:port
	logLevel  string  // zerolog level name
	staticDir string  // a BirdWatch resources/public directory to serve at /
	source    string  // "synthetic", "none" or a JSONL file to replay
	rate      float64 // synthetic tweets per second
	seed      uint64  // synthetic seed
	backfill  int     // synthetic tweets dated before start
	speed     float64 // replay speed-up (0: as fast as possible)
	storeFile string  // store persistence file ("" : memory only)
	storeSize int     // tweets kept
	packer    string  // "auto", "transit" or "edn"
	confPath  string  // BirdWatch conf.edn to read ("" : none)
	addrSet   bool    // -addr was given (it wins over conf.edn's :port)
	redisAddr string  // Redis host:port joining instances ("" : one instance); shorthand of redisURL
	redisURL  string  // Redis URL joining instances (redisconn.Open), "" : redisAddr
	csrfToken string  // the CSRF token ("" : random; shared through Redis with -redis-addr)
	clients   string  // the Sente client generations served (protocol.ParseGenerations)
	origins   string  // other origins allowed besides the server's own, comma-separated ("*": all)
	maxHeader int     // http.Server.MaxHeaderBytes (<= 0: defaultMaxHeaderBytes)

	// Tweets shared through Redis (-source redis, -redis-publish).
	redisTweets  string // Redis stream of tweets shared by instances (-source redis, -redis-publish)
	redisPublish bool   // the local source publishes to redisTweets; the instance consumes from it

	limits   limits // connection lifetimes (tests shorten them)
	maxConns int    // open connections at most; 0: from the file descriptor limit, <0: no limit
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run parses args, starts the server and blocks until SIGINT/SIGTERM.
func run(args []string, logOut io.Writer) error {
	cfg, err := parseConfig(args)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.logLevel, logOut)
	if err != nil {
		return err
	}
	if cfg.confPath != "" {
		if err := applyConf(&cfg, cfg.confPath, cfg.addrSet, log); err != nil {
			return err
		}
	}
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

// parseConfig reads flags; each has an environment variable as default.
func parseConfig(args []string) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.addr, "addr", envOr("SENTE_ADDR", ":8888"), "listen address (env SENTE_ADDR)")
	fs.StringVar(&cfg.logLevel, "log-level", envOr("SENTE_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env SENTE_LOG_LEVEL)")
	fs.StringVar(&cfg.staticDir, "static-dir", envOr("SENTE_STATIC_DIR", ""), "serve this BirdWatch resources/public directory at / (env SENTE_STATIC_DIR)")
	fs.StringVar(&cfg.source, "source", envOr("SENTE_SOURCE", "synthetic"), `tweet source: "synthetic", "none", "redis" (the -redis-tweets channel at -redis-addr), or a JSONL file of Twitter statuses to replay (env SENTE_SOURCE)`)
	fs.Float64Var(&cfg.rate, "rate", envFloat("SENTE_RATE", 5), "synthetic tweets per second (env SENTE_RATE)")
	fs.Uint64Var(&cfg.seed, "seed", uint64(envFloat("SENTE_SEED", 1)), "synthetic tweet seed (env SENTE_SEED)")
	fs.IntVar(&cfg.backfill, "backfill", int(envFloat("SENTE_BACKFILL", 5000)), "synthetic tweets dated before start, for history (env SENTE_BACKFILL)")
	fs.Float64Var(&cfg.speed, "speed", envFloat("SENTE_SPEED", 1), "replay speed-up factor; 0 replays as fast as possible (env SENTE_SPEED)")
	fs.StringVar(&cfg.storeFile, "store-file", envOr("SENTE_STORE_FILE", ""), "keep the tweet history in this JSONL file across restarts (env SENTE_STORE_FILE)")
	fs.IntVar(&cfg.storeSize, "store-size", int(envFloat("SENTE_STORE_SIZE", 100000)), "most tweets kept; the oldest are evicted (env SENTE_STORE_SIZE)")
	fs.StringVar(&cfg.packer, "packer", envOr("SENTE_PACKER", "auto"), `Sente packer: "auto" (each client's own, Transit until it speaks), "transit" or "edn" (env SENTE_PACKER)`)
	fs.StringVar(&cfg.confPath, "conf", envOr("SENTE_CONF", ""), "read BirdWatch's conf.edn (:port, :redis-host, :redis-port; other keys are logged; flags win) (env SENTE_CONF)")
	fs.StringVar(&cfg.redisAddr, "redis-addr", envOr("SENTE_REDIS_ADDR", ""), "Redis host:port that joins several instances; shorthand of -redis-url redis://HOST:PORT; empty: one instance, nothing shared (env SENTE_REDIS_ADDR)")
	fs.StringVar(&cfg.redisURL, "redis-url", envOr("SENTE_REDIS_URL", ""), "Redis that joins several instances, as a URL: redis://[user:password@]host:port[/db], rediss://… (TLS; ?ca_file=PEM to trust a private authority), redis://host:port?master_name=NAME (Sentinel), redis+cluster://host:port?addr=… (Redis Cluster) (env SENTE_REDIS_URL)")
	fs.StringVar(&cfg.csrfToken, "csrf-token", envOr("SENTE_CSRF_TOKEN", ""), "the CSRF token handed to pages and required on their requests; empty: a random one, shared by every instance on the same -redis-addr (set it for a cluster whose Redis may restart empty) (env SENTE_CSRF_TOKEN)")
	fs.StringVar(&cfg.clients, "clients", envOr("SENTE_CLIENTS", defaultClients), `Sente client generations served: a comma-separated list of flexi (1.3-1.8: BirdWatch's bundle), v1 (1.9-1.17), v2mixed (1.18-1.20), v2 (1.21+: the built-in page), or "all"; each client then gets one handshake in its own dialect and no frame it cannot read (env SENTE_CLIENTS)`)
	fs.StringVar(&cfg.origins, "allowed-origins", envOr("SENTE_ALLOWED_ORIGINS", ""), `origins allowed to use /chsk besides the server's own, comma-separated (scheme://host[:port] as browsers send them), or "*" for every site (env SENTE_ALLOWED_ORIGINS)`)
	fs.StringVar(&cfg.redisTweets, "redis-tweets", envOr("SENTE_REDIS_TWEETS", source.DefaultRedisStream), "Redis stream of JSON tweets (field \"tweet\") that -source redis reads and -redis-publish adds to (env SENTE_REDIS_TWEETS)")
	fs.BoolVar(&cfg.redisPublish, "redis-publish", envBool("SENTE_REDIS_PUBLISH"), "add the local source's tweets to the -redis-tweets stream, and read them (as every other instance does) from there (env SENTE_REDIS_PUBLISH)")
	fs.IntVar(&cfg.maxHeader, "max-header-bytes", int(envFloat("SENTE_MAX_HEADER_BYTES", defaultMaxHeaderBytes)), "largest request header read, in bytes; a larger one gets 431 (env SENTE_MAX_HEADER_BYTES)")
	fs.IntVar(&cfg.maxConns, "max-conns", int(envFloat("SENTE_MAX_CONNS", 0)), "open connections at most (WebSockets, polls, keep-alives); more wait to be accepted; 0: the open-file limit less a reserve for the process, -1: no limit (env SENTE_MAX_CONNS)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	fs.Visit(func(f *flag.Flag) { cfg.addrSet = cfg.addrSet || f.Name == "addr" })
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.redisAddr != "" && cfg.redisURL != "" {
		return config{}, errors.New("-redis-addr and -redis-url both given: give one")
	}
	return cfg, nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// envBool reads a boolean variable (strconv.ParseBool); unset or
// unreadable is false.
func envBool(key string) bool {
	b, _ := strconv.ParseBool(os.Getenv(key))
	return b
}

func envFloat(key string, def float64) float64 {
	if v, ok := os.LookupEnv(key); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
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
	// draining is set when the shutdown begins: /healthz answers 503.
	draining atomic.Bool
	// sourceReady is closed once the tweet source reads: at once, but
	// for a Redis stream, once its position is known.
	sourceReady chan struct{}
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
	if src == nil {
		if src, err = newSource(cfg, log, rdb, ready); err != nil {
			return nil, err
		}
	}
	if _, fromRedis := src.(interface{ redisSource() }); !fromRedis {
		readyOnce.Do(func() { close(sourceReady) })
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
		webAddr := redisAddrOf(rdb)
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		redisBroker, err = web.NewRedisBroker(ctx, web.RedisBrokerConfig{Addr: webAddr, Logger: log.With().Str("component", "broker").Logger()})
		if err != nil {
			return nil, fmt.Errorf("redis broker: %w", err)
		}
		undo = append(undo, func() { redisBroker.Close() })
		broker = redisBroker
		redisCl, err = web.NewRedisCluster(ctx, web.RedisClusterConfig{Addr: webAddr, InstanceID: redisBroker.InstanceID(),
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
	a.http = newRouter(cfg, sente.Handler(), token, func() bool { return !a.draining.Load() })
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
// receives its tweets, as every other one does, from there.
func newSource(cfg config, log zerolog.Logger, rdb redis.UniversalClient, ready func()) (hub.TweetSource, error) {
	src, err := newLocalSource(cfg, log, rdb, ready)
	if err != nil || !cfg.redisPublish {
		return src, err
	}
	if rdb == nil {
		return nil, fmt.Errorf("-redis-publish needs -redis-url or -redis-addr")
	}
	if src == nil || cfg.source == "redis" {
		return nil, fmt.Errorf("-redis-publish needs a local source (synthetic or a replay file), not %q", cfg.source)
	}
	return redisSource{&source.PublishingSource{Inner: src, Client: rdb, Stream: cfg.redisTweets, Ready: ready,
		Logger: log.With().Str("component", "redis-publish").Logger()}}, nil
}

// redisSource marks a source that reads a Redis stream: it tells when it
// is ready (app.sourceReady).
type redisSource struct{ hub.TweetSource }

func (redisSource) redisSource() {}

// redisAddrOf returns the host:port of a single-server client, for the
// parts that take an address.
func redisAddrOf(c redis.UniversalClient) string {
	if cl, ok := c.(*redis.Client); ok {
		return cl.Options().Addr
	}
	return ""
}

// newLocalSource returns the source -source names, or nil for "none".
func newLocalSource(cfg config, log zerolog.Logger, rdb redis.UniversalClient, ready func()) (hub.TweetSource, error) {
	switch cfg.source {
	case "none", "":
		return nil, nil
	case "redis":
		if rdb == nil {
			return nil, fmt.Errorf("-source redis needs -redis-url or -redis-addr")
		}
		r, err := source.NewRedis(source.RedisConfig{Client: rdb, Stream: cfg.redisTweets, Ready: ready,
			Logger: log.With().Str("component", "redis-source").Logger()})
		if err != nil {
			return nil, fmt.Errorf("redis source: %w", err)
		}
		return redisSource{r}, nil
	case "synthetic":
		s, err := source.NewSynthetic(source.SyntheticConfig{
			GeneratorConfig: source.GeneratorConfig{Seed: cfg.seed, Rate: cfg.rate},
			Backfill:        cfg.backfill,
		})
		if err != nil {
			return nil, fmt.Errorf("synthetic source: %w", err)
		}
		return s, nil
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

// newRouter builds the HTTP routes: the Sente endpoint, health (200 "ok"
// while ready reports true, then 503 "shutting down", a readiness signal
// for load balancers), avatars of synthetic users, and the page: the
// directory cfg.staticDir, or the built-in BirdWatch page (package
// web/page), which hands its client the CSRF token csrf returns.
func newRouter(cfg config, chsk http.Handler, csrf func(*http.Request) string, ready func() bool) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, "shutting down\n")
			return
		}
		io.WriteString(w, "ok\n")
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

// serve answers HTTP on ln until ctx is done, then shuts down; see
// app.serve.
func serve(ctx, force context.Context, ln net.Listener, cfg config, log zerolog.Logger) error {
	a, err := newApp(cfg, log, nil)
	if err != nil {
		ln.Close()
		return err
	}
	return a.serve(ctx, force, ln, cfg, log)
}

// serve runs the app on ln until ctx is done, then shuts down: /healthz
// answers 503 at once, the Sente server closes (it flushes pushes, waits
// for callback replies and closes sockets), then the hub, the HTTP server
// and the store. The shutdown takes cfg.limits.shutdown at most: then, or
// as soon as force is done, every connection left is closed (the HTTP
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
	log.Info().Dur("timeout", lim.shutdown).Msg("shutting down")
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
	if runErr == nil {
		log.Info().Msg("stopped")
	}
	return runErr
}
