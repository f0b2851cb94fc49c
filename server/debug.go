package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"

	"github.com/rs/zerolog"
)

// listenDebug listens on addr (-debug-addr) for the debug server, or
// returns nil for "". A port alone (":6060") listens on 127.0.0.1 only:
// profiles, goroutine dumps and traces are for the operator, and an
// address without a host usually means every interface. A host written
// out is taken as it is; one that is not a loopback address is logged
// with a warning when the server starts.
func listenDebug(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-debug-addr %q: %w", addr, err)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("debug server: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// newDebugServer returns the debug server: net/http/pprof's handlers
// under /debug/pprof/ on a mux of its own, never on the public router.
// /debug/pprof/cmdline is left out: the command line may hold
// -csrf-token or a -redis-url password.
func newDebugServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // the named profiles: heap, goroutine, block, mutex, allocs, threadcreate
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return &http.Server{Handler: mux, ReadHeaderTimeout: defaultLimits.header, IdleTimeout: defaultLimits.idle}
}

// startDebug serves the debug server on ln, and returns a function that
// closes it (cutting a profile in progress) and waits for it.
func startDebug(ln net.Listener, log zerolog.Logger) (stop func()) {
	srv := newDebugServer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln) // returns http.ErrServerClosed once stop closes it
	}()
	tcp, _ := ln.Addr().(*net.TCPAddr)
	loopback := tcp != nil && tcp.IP.IsLoopback()
	ev := log.Info()
	if !loopback {
		ev = log.Warn() // pprof is reachable from the network: the operator asked for it
	}
	ev.Str("addr", ln.Addr().String()).Bool("loopback", loopback).Msg("debug server listening")
	return func() {
		srv.Close()
		<-done
	}
}
