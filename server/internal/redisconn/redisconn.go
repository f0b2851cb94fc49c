// Package redisconn opens the one Redis client a server process shares
// between its uses (pushes, presence, live queries, tweets), from a URL as
// operators write them:
//
//	redis://[user:password@]host:port[/db][?option=value…]     one server
//	rediss://…                                                  the same over TLS
//	redis://host:port?master_name=NAME[&addr=host:port…]        Sentinel (the sentinels' addresses)
//	redis+cluster://host:port[?addr=host:port…]                 Redis Cluster (seed nodes)
//	rediss+cluster://…                                          Redis Cluster over TLS
//	host:port                                                   shorthand for redis://host:port
//
// The options are go-redis's (dial_timeout, read_timeout, pool_size,
// skip_verify…; see redis.ParseURL, redis.ParseFailoverURL and
// redis.ParseClusterURL), and one of this package: ca_file, a PEM file of
// the authorities that rediss:// trusts instead of the system's. Those not
// given take this package's defaults, which fail fast: every caller
// retries with its own backoff.
package redisconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Defaults for the options a URL leaves out.
const (
	dialTimeout = 2 * time.Second
	ioTimeout   = 3 * time.Second
	poolSize    = 32 // shared by every use of the process
)

// Open returns a client for the Redis that rawURL names; see the package
// documentation. It does not connect: the first command does.
func Open(rawURL string) (redis.UniversalClient, error) {
	if rawURL == "" {
		return nil, errors.New("redisconn: empty Redis URL")
	}
	if !strings.Contains(rawURL, "://") {
		rawURL = "redis://" + rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redisconn: Redis URL: %w", redactErr(err, rawURL))
	}
	q := u.Query()
	caFile := q.Get("ca_file")
	q.Del("ca_file")
	u.RawQuery = q.Encode()
	var roots *x509.CertPool
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("redisconn: ca_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redisconn: ca_file %s holds no PEM certificate", caFile)
		}
	}
	// prepare sets what every kind of client shares: the authorities of
	// ca_file; RESP2 and no CLIENT SETINFO (every Redis since 2.8
	// answers, and an older one logs no error); the defaults of the
	// options the URL left out.
	prepare := func(c *tls.Config, protocol *int, identity *bool, dial, read, write *time.Duration, retries, pool *int) error {
		if roots != nil {
			if c == nil {
				return fmt.Errorf("redisconn: Redis URL %s: ca_file needs a rediss:// URL", Redact(rawURL))
			}
			c.RootCAs = roots
		}
		*protocol, *identity = 2, true
		setDefaults(dial, read, write, retries, pool)
		return nil
	}
	switch u.Scheme {
	case "redis+cluster", "rediss+cluster":
		u.Scheme = strings.TrimSuffix(u.Scheme, "+cluster")
		o, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redisconn: Redis Cluster URL %s: %w", Redact(rawURL), redactErr(err, rawURL))
		}
		if err := prepare(o.TLSConfig, &o.Protocol, &o.DisableIdentity, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries, &o.PoolSize); err != nil {
			return nil, err
		}
		return redis.NewClusterClient(o), nil
	case "redis", "rediss":
	default:
		return nil, fmt.Errorf("redisconn: Redis URL %s: scheme %q is not redis, rediss, redis+cluster or rediss+cluster", Redact(rawURL), u.Scheme)
	}
	if u.Query().Has("master_name") {
		o, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("redisconn: Redis Sentinel URL %s: %w", Redact(rawURL), redactErr(err, rawURL))
		}
		if err := prepare(o.TLSConfig, &o.Protocol, &o.DisableIdentity, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries, &o.PoolSize); err != nil {
			return nil, err
		}
		return redis.NewFailoverClient(o), nil
	}
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("redisconn: Redis URL %s: %w", Redact(rawURL), redactErr(err, rawURL))
	}
	if err := prepare(o.TLSConfig, &o.Protocol, &o.DisableIdentity, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.MaxRetries, &o.PoolSize); err != nil {
		return nil, err
	}
	return redis.NewClient(o), nil
}

// setDefaults sets the options the URL left at their zero value.
func setDefaults(dial, read, write *time.Duration, retries, pool *int) {
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{dial, dialTimeout}, {read, ioTimeout}, {write, ioTimeout}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if *retries == 0 {
		*retries = -1 // no retry inside go-redis: the callers retry
	}
	if *pool == 0 {
		*pool = poolSize
	}
}

// Redact returns rawURL without its password, for logs and errors.
func Redact(rawURL string) string {
	if !strings.Contains(rawURL, "://") {
		return rawURL
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unreadable URL)"
	}
	return u.Redacted()
}

// redactErr returns err, or, if its text holds rawURL's password (a
// url.Error quotes the URL), an error that does not.
func redactErr(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil {
		// The URL does not parse: its text may hold the password
		// anywhere; say only what failed.
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w", ue.Op, ue.Err)
		}
		return errors.New("unreadable URL")
	}
	if p, ok := u.User.Password(); ok && p != "" && strings.Contains(err.Error(), p) {
		return errors.New(strings.ReplaceAll(err.Error(), p, "xxxxx"))
	}
	return err
}
