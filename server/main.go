// Command server runs the sente-go BirdWatch backend.
//
// Usage:
//
//	go run ./server [-addr :8888] [-log-level info]
//
// It serves /healthz now; the Sente endpoint and the BirdWatch components are
// mounted by later packages. SIGINT or SIGTERM shut it down gracefully.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"
)

// shutdownTimeout bounds how long in-flight requests may take to finish
// after a shutdown signal.
const shutdownTimeout = 10 * time.Second

// config is the server's configuration, filled from flags and environment.
type config struct {
	addr     string // listen address, host:port
	logLevel string // zerolog level name
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	return serve(ctx, ln, log)
}

// parseConfig reads flags, with SENTE_ADDR and SENTE_LOG_LEVEL as defaults.
func parseConfig(args []string) (config, error) {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var cfg config
	fs.StringVar(&cfg.addr, "addr", envOr("SENTE_ADDR", ":8888"), "listen address (env SENTE_ADDR)")
	fs.StringVar(&cfg.logLevel, "log-level", envOr("SENTE_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env SENTE_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	return cfg, nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}

// newLogger writes human-readable lines to a terminal and JSON otherwise.
func newLogger(level string, out io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("log level %q: %w", level, err)
	}
	if f, ok := out.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			out = zerolog.ConsoleWriter{Out: f, TimeFormat: time.TimeOnly}
		}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

// newRouter builds the HTTP routes.
func newRouter() http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return r
}

// serve answers HTTP on ln until ctx is done, then shuts down gracefully.
func serve(ctx context.Context, ln net.Listener, log zerolog.Logger) error {
	srv := &http.Server{
		Handler:           newRouter(),
		ReadHeaderTimeout: 10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("listening")

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info().Msg("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}
