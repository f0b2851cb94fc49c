package main

import (
	"net"
	"sync"
)

// limitListener accepts at most n connections at a time: Accept waits for
// one to close when n are open, so that many connections (idle keep-alives,
// slow clients) cannot take every file descriptor the process has and
// leave none for its store file, Redis, or a /healthz probe once one is
// freed. Connections waiting meanwhile stay in the kernel's backlog.
type limitListener struct {
	net.Listener
	slots     chan struct{} // one element per open connection
	closed    chan struct{} // closed by Close: a waiting Accept returns
	closeOnce sync.Once
}

// newLimitListener returns ln limited to n open connections (n > 0).
func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), closed: make(chan struct{})}
}

// Accept waits for a free slot, then accepts a connection that frees it
// when closed.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

// Close closes the listener and ends a waiting Accept.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// limitConn is a connection that holds a slot of its limitListener until
// it is closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and frees its slot (once).
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes a TCP connection: the Sente server ends some
// WebSockets so (web, closeGracefully), and finds it through this method.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// fdReserve is how many file descriptors the default connection limit
// leaves to the process itself (store file, Redis, logs, accepting).
const fdReserve = 128

// defaultMaxConns is the connection limit when -max-conns is 0: the
// process's file descriptor limit less fdReserve (an eighth of it when
// small), or 0 (no limit) when it cannot be read or is unlimited.
func defaultMaxConns() int {
	n := fdLimit()
	if n <= 0 {
		return 0
	}
	return n - min(fdReserve, n/8)
}
