package main

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/transit"
	"github.com/sente-go/sente/transit/edn"
)

// confKeys are the keys of BirdWatch's conf.edn (docs/birdwatch.md §10):
// the ones this server uses, and the ones it knows but has no use for.
var confKeys = map[transit.Keyword]string{
	"port":         "used",
	"es-address":   "the tweet store is embedded",
	"es-index":     "the tweet store is embedded",
	"pidfile-name": "no pid file is written",
	"inspect-port": "there is no inspection UI",
	"redis-host":   "used",
	"redis-port":   "used",
}

// applyConf reads a BirdWatch conf.edn and applies its :port to cfg,
// unless the -addr flag was given, and its :redis-host and :redis-port
// (default 127.0.0.1 and 6379 when only one is given), unless
// -redis-addr (or its variable) was: flags win. Keys this server does
// not use are logged, unknown keys with a warning.
func applyConf(cfg *config, path string, addrFlagSet bool, log zerolog.Logger) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("conf: %w", err)
	}
	v, err := edn.Unmarshal(data)
	if err != nil {
		return fmt.Errorf("conf %s: %w", path, err)
	}
	m, ok := v.(*transit.Map)
	if !ok {
		return fmt.Errorf("conf %s: not a map", path)
	}
	redisHost, redisPort := "", int64(0)
	for k, val := range m.All() {
		kw, _ := k.(transit.Keyword)
		why, known := confKeys[kw]
		switch {
		case kw == "redis-host":
			h, ok := val.(string)
			if !ok || h == "" {
				return fmt.Errorf("conf %s: :redis-host %v is not a host name", path, val)
			}
			redisHost = h
		case kw == "redis-port":
			p, ok := val.(int64)
			if !ok || p <= 0 || p > 65535 {
				return fmt.Errorf("conf %s: :redis-port %v is not a port number", path, val)
			}
			redisPort = p
		case !known:
			log.Warn().Str("conf", path).Str("key", fmt.Sprint(k)).Msg("unknown conf key ignored")
		case kw == "port":
			port, ok := val.(int64)
			if !ok || port < 0 || port > 65535 {
				return fmt.Errorf("conf %s: :port %v is not a port number", path, val)
			}
			if !addrFlagSet {
				cfg.addr = ":" + strconv.FormatInt(port, 10)
			}
		default:
			log.Info().Str("conf", path).Str("key", string(kw)).Str("reason", why).Msg("conf key not used")
		}
	}
	if (redisHost != "" || redisPort != 0) && cfg.redisAddr == "" {
		if redisHost == "" {
			redisHost = "127.0.0.1"
		}
		if redisPort == 0 {
			redisPort = 6379
		}
		cfg.redisAddr = net.JoinHostPort(redisHost, strconv.FormatInt(redisPort, 10))
		log.Info().Str("conf", path).Str("redis_addr", cfg.redisAddr).Msg("redis from conf")
	}
	return nil
}
