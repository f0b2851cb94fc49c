// Command rrproxy is a round-robin reverse proxy for several BirdWatch
// server instances that share one Redis: each request (each Ajax long poll,
// each POST, each WebSocket upgrade) goes to the next instance, with no
// stickiness, and an instance that refuses connections is skipped for a
// while (package server/internal/roundrobin).
//
// Usage:
//
//	go run ./server/rrproxy -addr :8888 -backends http://127.0.0.1:8891,http://127.0.0.1:8892
//
// SIGINT or SIGTERM shut it down: requests in flight get a short grace,
// then long polls and WebSocket tunnels are cut (their clients reconnect).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/sente-go/sente/server/internal/logging"

	"github.com/sente-go/sente/server/internal/roundrobin"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rrproxy:", err)
		os.Exit(1)
	}
}

// run parses args and proxies until SIGINT/SIGTERM.
func run(args []string, logOut io.Writer) error {
	fs := flag.NewFlagSet("rrproxy", flag.ContinueOnError)
	addr := fs.String("addr", ":8888", "listen address")
	list := fs.String("backends", "", "comma-separated backend URLs, e.g. http://127.0.0.1:8891,http://127.0.0.1:8892")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	backends, err := parseBackends(*list)
	if err != nil {
		return err
	}
	log, err := newLogger(*level, logOut)
	if err != nil {
		return err
	}
	p, err := roundrobin.New(backends, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	log.Info().Str("addr", ln.Addr().String()).Strs("backends", strings.Split(*list, ",")).Msg("listening")
	if err := p.Serve(ctx, ln); err != nil {
		return err
	}
	log.Info().Msg("stopped")
	return nil
}

// parseBackends reads the -backends list.
func parseBackends(list string) ([]*url.URL, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("-backends is required")
	}
	var urls []*url.URL
	for _, s := range strings.Split(list, ",") {
		u, err := url.Parse(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("-backends: %w", err)
		}
		urls = append(urls, u)
	}
	return urls, nil
}

// newLogger writes human-readable lines to a terminal and JSON otherwise.
func newLogger(level string, out io.Writer) (zerolog.Logger, error) { return logging.New(level, out) }
