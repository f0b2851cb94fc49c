package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/protocol"
	"github.com/sente-go/sente/server/internal/redisconn"
	"github.com/sente-go/sente/server/source"
	"github.com/sente-go/sente/server/store"
)

// origin is where a setting's value came from. A later origin wins: a
// flag over the environment over conf.edn over the default.
type origin int

const (
	fromDefault origin = iota
	fromConf
	fromEnv
	fromFlag
)

func (o origin) String() string {
	return [...]string{"default", "conf", "env", "flag"}[o]
}

// value is a setting's value as one origin gave it.
type value struct {
	text  string // as written (for conf.edn, as the setting would be written)
	from  origin
	where string // the variable, or the conf.edn file and key; "" for a flag or the default
}

// describe says where v came from: "flag", "env SENTE_ADDR", "conf
// FILE :port 9999", "default".
func (v value) describe() string {
	if v.where == "" {
		return v.from.String()
	}
	return v.from.String() + " " + v.where
}

// setting is one key of the configuration, read the same way from its
// flag, its environment variable and, for a few, BirdWatch's conf.edn
// (readConf); settings lists them all.
type setting struct {
	name   string                             // the flag, without its dash: the key's name
	arg    string                             // what the flag takes, for -h ("" for a boolean)
	env    string                             // its environment variable
	conf   string                             // the conf.edn keys it is read from, "" for none
	def    string                             // the default, as it would be written
	usage  string                             // what it means, for -h
	isBool bool                               // the flag takes no argument: -name means true
	secret func(string) string                // when not nil, what is shown of a value (-check-config, errors)
	set    func(c *config, text string) error // parses and checks text, and stores it in c
}

// show returns text as -check-config and errors show it.
func (s setting) show(text string) string {
	if s.secret != nil {
		text = s.secret(text)
	}
	return strconv.Quote(text)
}

// help is the flag's usage line.
func (s setting) help() string {
	h := s.usage + " (env " + s.env
	if s.conf != "" {
		h += "; conf.edn " + s.conf
	}
	return h + ")"
}

// settings are the keys of the configuration, in the order of the
// README's table and of -check-config.
var settings = []setting{
	{name: "addr", arg: "host:port", env: "SENTE_ADDR", conf: ":port", def: ":8888",
		usage: "listen address, host:port",
		set:   hostPort(func(c *config) *string { return &c.addr }, 0)},
	{name: "log-level", arg: "level", env: "SENTE_LOG_LEVEL", def: "info",
		usage: "log level: trace, debug (adds a line per HTTP request), info, warn or error",
		set:   oneOf(func(c *config) *string { return &c.logLevel }, "trace", "debug", "info", "warn", "error")},
	{name: "static-dir", arg: "dir", env: "SENTE_STATIC_DIR",
		usage: "serve this BirdWatch resources/public directory at / instead of the built-in page",
		set:   text(func(c *config) *string { return &c.staticDir }, checkDir)},
	{name: "source", arg: "source", env: "SENTE_SOURCE", def: "synthetic",
		usage: "tweet source: synthetic, none, redis (the -redis-tweets stream), jetstream (Bluesky's posts from -jetstream-url) or a JSONL file of Twitter statuses to replay",
		set:   text(func(c *config) *string { return &c.source }, checkSource)},
	{name: "rate", arg: "per-second", env: "SENTE_RATE", def: "5",
		usage: "synthetic tweets per second, more than 0 and at most 1000000",
		set: float(func(c *config) *float64 { return &c.rate }, "a number more than 0 and at most 1000000",
			func(f float64) bool { return f > 0 && f <= 1_000_000 })},
	{name: "seed", arg: "uint", env: "SENTE_SEED", def: "1",
		usage: "synthetic tweet seed: the same seed gives the same tweets",
		set:   unsigned(func(c *config) *uint64 { return &c.seed })},
	{name: "backfill", arg: "count", env: "SENTE_BACKFILL", def: "5000",
		usage: "synthetic tweets dated before start, for history searches",
		set:   integer(func(c *config) *int { return &c.backfill }, 0, 10_000_000)},
	{name: "speed", arg: "factor", env: "SENTE_SPEED", def: "1",
		usage: "replay speed-up factor; 0 replays as fast as possible",
		set: float(func(c *config) *float64 { return &c.speed }, "a number of at least 0",
			func(f float64) bool { return f >= 0 })},
	{name: "jetstream-url", arg: "url", env: "SENTE_JETSTREAM_URL", def: source.DefaultJetstreamURL,
		usage: "the Jetstream subscribe URL -source jetstream reads Bluesky's posts from, ws:// or wss://",
		set:   text(func(c *config) *string { return &c.jetstream }, checkJetstreamURL)},
	{name: "store-file", arg: "file", env: "SENTE_STORE_FILE",
		usage: "keep the tweet history in this JSONL file across restarts (each tweet written within 1 s, so a kill loses at most the last second)",
		set:   text(func(c *config) *string { return &c.storeFile }, nil)},
	{name: "store-size", arg: "count", env: "SENTE_STORE_SIZE", def: "100000",
		usage: "most tweets kept; the oldest are evicted",
		set:   integer(func(c *config) *int { return &c.storeSize }, 1, store.MaxCapacity)},
	{name: "packer", arg: "name", env: "SENTE_PACKER", def: "auto",
		usage: "Sente packer: auto (each client's own, Transit until it speaks), transit or edn",
		set:   oneOf(func(c *config) *string { return &c.packer }, "auto", "transit", "edn")},
	{name: "clients", arg: "list", env: "SENTE_CLIENTS", def: defaultClients,
		usage: "Sente client generations served, comma-separated: flexi (1.3-1.8: BirdWatch's bundle), v1 (1.9-1.17), v2mixed (1.18-1.20), v2 (1.21+: the built-in page), or all",
		set: text(func(c *config) *string { return &c.clients }, func(s string) error {
			_, err := protocol.ParseGenerations(s)
			return err
		})},
	{name: "conf", arg: "file", env: "SENTE_CONF",
		usage: "read BirdWatch's conf.edn: :port, :redis-host and :redis-port are used, other known keys logged, unknown keys warned about",
		set:   text(func(c *config) *string { return &c.confPath }, checkFile)},
	{name: "allowed-origins", arg: "list", env: "SENTE_ALLOWED_ORIGINS",
		usage: "origins allowed to use /chsk besides the server's own, comma-separated (scheme://host[:port] as browsers send them), or * for every site",
		set:   text(func(c *config) *string { return &c.origins }, checkOrigins)},
	{name: "redis-url", arg: "url", env: "SENTE_REDIS_URL",
		usage:  "Redis that joins several instances: redis://[user:password@]host:port[/db], rediss://... (TLS; ?ca_file=PEM), redis://host:port?master_name=NAME (Sentinel), redis+cluster://host:port?addr=... (Redis Cluster)",
		secret: redactURL,
		set:    text(func(c *config) *string { return &c.redisURL }, checkRedisURL)},
	{name: "redis-addr", arg: "host:port", env: "SENTE_REDIS_ADDR", conf: ":redis-host, :redis-port",
		usage: "Redis host:port that joins several instances, shorthand of -redis-url redis://HOST:PORT",
		set:   hostPort(func(c *config) *string { return &c.redisAddr }, 1)},
	{name: "csrf-token", arg: "token", env: "SENTE_CSRF_TOKEN",
		usage:  "the CSRF token pages get and their requests carry; empty: a random one, shared by the instances on one Redis",
		secret: redactToken,
		set:    text(func(c *config) *string { return &c.csrfToken }, checkToken)},
	{name: "redis-tweets", arg: "stream", env: "SENTE_REDIS_TWEETS", def: source.DefaultRedisStream,
		usage: "Redis stream of JSON tweets (field tweet) that -source redis reads and -redis-publish adds to",
		set: text(func(c *config) *string { return &c.redisTweets }, func(s string) error {
			if s == "" {
				return errors.New("want a stream name")
			}
			return nil
		})},
	{name: "max-header-bytes", arg: "bytes", env: "SENTE_MAX_HEADER_BYTES", def: strconv.Itoa(defaultMaxHeaderBytes),
		usage: "largest request header read, in bytes; a larger one gets 431",
		set:   integer(func(c *config) *int { return &c.maxHeader }, 1, math.MaxInt)},
	{name: "redis-publish", env: "SENTE_REDIS_PUBLISH", def: "false", isBool: true,
		usage: "add the local source's tweets to the -redis-tweets stream, and read them from there as every other instance does",
		set:   boolean(func(c *config) *bool { return &c.redisPublish })},
	{name: "max-conns", arg: "count", env: "SENTE_MAX_CONNS", def: "0",
		usage: "open connections at most; 0: the open-file limit less a reserve, -1: no limit",
		set:   integer(func(c *config) *int { return &c.maxConns }, -1, math.MaxInt)},
	{name: "debug-addr", arg: "host:port", env: "SENTE_DEBUG_ADDR",
		usage: "serve net/http/pprof at /debug/pprof/ on this address, host:port; a port alone (:6060) listens on 127.0.0.1 only; empty: off",
		set:   hostPort(func(c *config) *string { return &c.debugAddr }, 0)},
	{name: "metrics-addr", arg: "host:port", env: "SENTE_METRICS_ADDR",
		usage: "serve the Prometheus metrics at /metrics on this address, host:port, on a server of its own; empty: at /metrics on the listen address",
		set:   hostPort(func(c *config) *string { return &c.metricsAddr }, 0)},
	{name: "shutdown-timeout", arg: "duration", env: "SENTE_SHUTDOWN_TIMEOUT", def: defaultLimits.shutdown.String(),
		usage: "the graceful shutdown's bound; then every connection left is closed",
		set:   duration(func(c *config) *time.Duration { return &c.limits.shutdown }, time.Millisecond)},
	{name: "shutdown-delay", arg: "duration", env: "SENTE_SHUTDOWN_DELAY", def: "0s",
		usage: "after SIGINT or SIGTERM, serve on this long with /readyz answering 503 before shutting down, so that load balancers stop sending clients first",
		set:   duration(func(c *config) *time.Duration { return &c.limits.delay }, 0)},
}

// checkConfigUsage is -check-config's help.
const checkConfigUsage = "print the configuration in effect, each value and its origin (secrets redacted), and exit 0; or print what is wrong and exit 1"

// writeUsage writes -h's text: the settings in their order, then
// -check-config.
func writeUsage(w io.Writer) {
	fmt.Fprintf(w, "Usage: server [flags]\n\nEach setting comes from its flag, else its environment variable, else conf.edn (-conf), else its default.\n\n")
	for _, s := range settings {
		fmt.Fprintf(w, "  -%s %s\n    \t%s", s.name, s.arg, s.help())
		if s.def != "" {
			fmt.Fprintf(w, " (default %s)", s.def)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "  -check-config\n    \t%s\n", checkConfigUsage)
}

// loaded is a configuration and what -check-config says of it.
type loaded struct {
	cfg    config
	check  bool       // -check-config: print it and exit
	values []value    // each setting's, in the order of settings
	notes  []confNote // the conf.edn keys not used
}

// flagValue is a setting's flag: it keeps the text given, checked later
// with the other origins.
type flagValue struct {
	text   string
	given  bool
	isBool bool
}

func (f *flagValue) String() string {
	if f == nil {
		return ""
	}
	return f.text
}

func (f *flagValue) Set(s string) error {
	f.text, f.given = s, true
	return nil
}

func (f *flagValue) IsBoolFlag() bool { return f != nil && f.isBool }

// parseConfig returns the configuration of args and the process's
// environment; see loadConfig.
func parseConfig(args []string) (config, error) {
	l, err := loadConfig(args, os.LookupEnv)
	if err != nil {
		return config{}, err
	}
	return l.cfg, nil
}

// loadConfig reads every setting from args (flags), lookupEnv (the
// environment: an empty variable counts as unset), the conf.edn that
// -conf names, and the defaults, in that precedence. Every value given
// is checked, the overridden ones too: a bad one is an error that names
// the key, the value and its origin. -redis-url and -redis-addr name
// one Redis: the one of higher precedence wins, and both from one
// origin is an error.
func loadConfig(args []string, lookupEnv func(string) (string, bool)) (*loaded, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	flags := make([]*flagValue, len(settings))
	for i, s := range settings {
		flags[i] = &flagValue{text: s.def, isBool: s.isBool}
		fs.Var(flags[i], s.name, s.help())
	}
	l := &loaded{values: make([]value, len(settings))}
	fs.BoolVar(&l.check, "check-config", false, checkConfigUsage)
	fs.Usage = func() { writeUsage(fs.Output()) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	layers := make([][]value, len(settings)) // each setting's values, lowest precedence first
	for i, s := range settings {
		layers[i] = []value{{text: s.def, from: fromDefault}}
		if v, ok := lookupEnv(s.env); ok && v != "" {
			layers[i] = append(layers[i], value{text: v, from: fromEnv, where: s.env})
		}
		if flags[i].given {
			layers[i] = append(layers[i], value{text: flags[i].text, from: fromFlag})
		}
	}
	// conf.edn is read from the path the other origins give.
	confAt := settingIndex("conf")
	if err := apply(&l.cfg, confAt, layers[confAt]); err != nil {
		return nil, err
	}
	if path := l.cfg.confPath; path != "" {
		got, notes, err := readConf(path)
		var keyErr confKeyError
		if errors.As(err, &keyErr) {
			return nil, err
		}
		if err != nil {
			conf := layers[confAt][len(layers[confAt])-1]
			return nil, fmt.Errorf("-conf %s (%s): %w", settings[confAt].show(path), conf.describe(), err)
		}
		l.notes = notes
		for name, v := range got {
			i := settingIndex(name)
			layers[i] = slices.Insert(layers[i], 1, v) // after the default, before the environment and the flag
		}
	}
	for i := range settings {
		if err := apply(&l.cfg, i, layers[i]); err != nil {
			return nil, err
		}
		l.values[i] = layers[i][len(layers[i])-1]
	}
	if err := l.oneRedis(); err != nil {
		return nil, err
	}
	if err := checkSources(l.cfg); err != nil {
		return nil, err
	}
	return l, nil
}

// apply checks each of setting i's values and stores them in c in turn,
// so that the last, the one of highest precedence, stays.
func apply(c *config, i int, vals []value) error {
	s := settings[i]
	for _, v := range vals {
		if err := s.set(c, v.text); err != nil {
			return fmt.Errorf("-%s %s (%s): %w", s.name, s.show(v.text), v.describe(), err)
		}
	}
	return nil
}

// oneRedis keeps one of -redis-url and -redis-addr when both are set:
// the one of higher precedence.
func (l *loaded) oneRedis() error {
	u, a := settingIndex("redis-url"), settingIndex("redis-addr")
	vu, va := l.values[u], l.values[a]
	if vu.text == "" || va.text == "" {
		return nil
	}
	switch {
	case vu.from == va.from:
		return fmt.Errorf("-redis-url (%s) and -redis-addr (%s) both given: give one", vu.describe(), va.describe())
	case vu.from > va.from:
		l.cfg.redisAddr = ""
		l.values[a].where = strings.TrimSpace(va.where + " [unused: -redis-url wins]")
	default:
		l.cfg.redisURL = ""
		l.values[u].where = strings.TrimSpace(vu.where + " [unused: -redis-addr wins]")
	}
	return nil
}

// settingIndex returns the index in settings of the setting name.
func settingIndex(name string) int {
	for i, s := range settings {
		if s.name == name {
			return i
		}
	}
	panic("no setting " + name)
}

// writeCheck writes what -check-config prints: each setting, its value
// (secrets redacted) and its origin, then the conf.edn keys not used.
func (l *loaded) writeCheck(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVALUE\tFROM")
	for i, s := range settings {
		fmt.Fprintf(tw, "-%s\t%s\t%s\n", s.name, s.show(l.values[i].text), l.values[i].describe())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range l.notes {
		if _, err := fmt.Fprintf(w, "conf %s: %s %s\n", n.path, n.key, n.why); err != nil {
			return err
		}
	}
	return nil
}

// logNotes logs the conf.edn keys not used: unknown keys with a warning.
func (l *loaded) logNotes(log zerolog.Logger) {
	for _, n := range l.notes {
		if n.unknown {
			log.Warn().Str("conf", n.path).Str("key", n.key).Msg("unknown conf key ignored")
		} else {
			log.Info().Str("conf", n.path).Str("key", n.key).Str("reason", n.why).Msg("conf key not used")
		}
	}
}

// checkSources checks the settings that go together: -source redis and
// -redis-publish need a Redis, and -redis-publish a local source.
func checkSources(c config) error {
	hasRedis := c.redisTarget() != ""
	switch {
	case c.source == "redis" && !hasRedis:
		return errors.New("-source redis needs -redis-url or -redis-addr")
	case c.redisPublish && !hasRedis:
		return errors.New("-redis-publish needs -redis-url or -redis-addr")
	case c.redisPublish && (c.source == "none" || c.source == "" || c.source == "redis"):
		return fmt.Errorf("-redis-publish needs a local source (synthetic or a replay file), not %q", c.source)
	}
	return nil
}

// The parsers of settings: each returns a set function storing into the
// field dst returns, or an error saying what is wanted.

func text(dst func(*config) *string, check func(string) error) func(*config, string) error {
	return func(c *config, s string) error {
		if check != nil {
			if err := check(s); err != nil {
				return err
			}
		}
		*dst(c) = s
		return nil
	}
}

func oneOf(dst func(*config) *string, names ...string) func(*config, string) error {
	return text(dst, func(s string) error {
		for _, n := range names {
			if s == n {
				return nil
			}
		}
		return fmt.Errorf("want one of %s", strings.Join(names, ", "))
	})
}

func integer(dst func(*config) *int, lo, hi int) func(*config, string) error {
	return func(c *config, s string) error {
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			if hi == math.MaxInt {
				return fmt.Errorf("want an integer of at least %d", lo)
			}
			return fmt.Errorf("want an integer from %d to %d", lo, hi)
		}
		*dst(c) = n
		return nil
	}
}

func unsigned(dst func(*config) *uint64) func(*config, string) error {
	return func(c *config, s string) error {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return errors.New("want an integer from 0 to 18446744073709551615")
		}
		*dst(c) = n
		return nil
	}
}

func float(dst func(*config) *float64, want string, ok func(float64) bool) func(*config, string) error {
	return func(c *config, s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || !ok(f) {
			return errors.New("want " + want)
		}
		*dst(c) = f
		return nil
	}
}

func boolean(dst func(*config) *bool) func(*config, string) error {
	return func(c *config, s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return errors.New("want true or false (or 1, 0, t, f)")
		}
		*dst(c) = b
		return nil
	}
}

func duration(dst func(*config) *time.Duration, least time.Duration) func(*config, string) error {
	return func(c *config, s string) error {
		d, err := time.ParseDuration(s)
		if err != nil || d < least {
			return fmt.Errorf("want a duration (such as 500ms, 10s, 1m) of at least %v", least)
		}
		*dst(c) = d
		return nil
	}
}

// hostPort accepts "" (none) or host:port with a numeric port of at least
// minPort; the host may be empty.
func hostPort(dst func(*config) *string, minPort int) func(*config, string) error {
	return text(dst, func(s string) error {
		if s == "" {
			return nil
		}
		_, port, err := net.SplitHostPort(s)
		if err != nil {
			return errors.New("want host:port")
		}
		if n, err := strconv.Atoi(port); err != nil || n < minPort || n > 65535 {
			return fmt.Errorf("want host:port with a port from %d to 65535", minPort)
		}
		return nil
	})
}

// checkDir accepts "" or a directory.
func checkDir(s string) error {
	if s == "" {
		return nil
	}
	fi, err := os.Stat(s)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return errors.New("not a directory")
	}
	return nil
}

// checkFile accepts "" or a regular file.
func checkFile(s string) error {
	if s == "" {
		return nil
	}
	fi, err := os.Stat(s)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	return nil
}

// checkSource accepts the source names and a file to replay.
func checkSource(s string) error {
	switch s {
	case "synthetic", "none", "redis", "jetstream":
		return nil
	case "":
		return errors.New("want synthetic, none, redis, jetstream or a file to replay")
	}
	fi, err := os.Stat(s)
	if err != nil {
		return fmt.Errorf("not synthetic, none, redis or jetstream, and not a file to replay: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not synthetic, none, redis or jetstream, and not a regular file to replay")
	}
	return nil
}

// checkJetstreamURL accepts the URLs source.NewJetstream takes.
func checkJetstreamURL(s string) error {
	if s == "" {
		return errors.New("want a ws:// or wss:// URL")
	}
	_, err := source.NewJetstream(source.JetstreamConfig{URL: s})
	return err
}

// checkOrigins accepts a comma-separated list of origins as browsers
// send them (scheme://host[:port]), or "*".
func checkOrigins(s string) error {
	for _, o := range strings.Split(s, ",") {
		if o = strings.TrimSpace(o); o == "" || o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("origin %q: want scheme://host[:port], without a path", o)
		}
	}
	return nil
}

// checkRedisURL accepts "" or a URL redisconn.Open takes. Its errors
// hold no password.
func checkRedisURL(s string) error {
	if s == "" {
		return nil
	}
	c, err := redisconn.Open(s)
	if err != nil {
		return err
	}
	return c.Close()
}

// checkToken accepts a token a header can carry: no spaces or control
// characters.
func checkToken(s string) error {
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r > '~' {
			return errors.New("want printable ASCII without spaces")
		}
	}
	return nil
}

// redactURL returns a Redis URL without its passwords (user info and
// query options whose name holds "password").
func redactURL(s string) string {
	if s == "" {
		return ""
	}
	bare := !strings.Contains(s, "://")
	raw := s
	if bare {
		raw = "redis://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "[unreadable URL, redacted]"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	redacted := false
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
			redacted = true
		}
	}
	if redacted {
		u.RawQuery = q.Encode()
	}
	out := u.String()
	if bare {
		out = strings.TrimPrefix(out, "redis://")
	}
	return out
}

// redactToken hides a token, if there is one.
func redactToken(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}
