//go:build linux

package web

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
)

// wsPoller waits, for every parked WebSocket of a Server at once, for its
// client to send something (issue 19; docs/design.md §5.1): one epoll
// instance, read by one goroutine through the runtime's own poller. A
// parked connection has no goroutine; when its socket has bytes, or
// ends, the poller starts a reader (wsConn.unpark). Each registration
// fires once (EPOLLONESHOT) and is renewed by the next park.
type wsPoller struct {
	fd   int      // the epoll instance
	file *os.File // fd, non-blocking, as the runtime's poller reads it
	raw  syscall.RawConn

	// ctl orders every epoll_ctl before the close of fd: a closed
	// descriptor's number may be another file's by then.
	ctl    sync.RWMutex
	closed bool // under ctl

	mu    sync.Mutex
	conns map[uint64]*wsConn // by registration id; under mu
	next  uint64             // the last id given; under mu
}

// newPoller makes a Server's poller; an error when the system has no
// epoll (then each connection's reader waits in a goroutine of its own).
func newPoller() (*wsPoller, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("epoll: %w", err)
	}
	return &wsPoller{fd: fd, file: f, raw: raw, conns: make(map[uint64]*wsConn)}, nil
}

// pollEvents are what wakes a parked connection: bytes, the client's end
// of the stream, an error or a hang-up (the last two always).
const pollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// register gives c its registration id. Its last reader calls it before
// it parks c.
func (p *wsPoller) register(c *wsConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	c.pollID = p.next
	p.conns[c.pollID] = c
}

// arm asks for one wake-up of c when its socket has something to read. c
// is parked; only its last reader calls arm; first: the socket is not
// registered with epoll yet.
func (p *wsPoller) arm(c *wsConn, first bool) error {
	op := syscall.EPOLL_CTL_MOD
	if first {
		op = syscall.EPOLL_CTL_ADD
	}
	ev := syscall.EpollEvent{Events: pollEvents, Fd: int32(uint32(c.pollID)), Pad: int32(uint32(c.pollID >> 32))}
	p.ctl.RLock()
	defer p.ctl.RUnlock()
	if p.closed {
		return errPollerClosed
	}
	var err error
	if cerr := c.gate.raw.Control(func(fd uintptr) {
		err = syscall.EpollCtl(p.fd, op, int(fd), &ev)
		if err == syscall.ENOENT && op == syscall.EPOLL_CTL_MOD {
			err = syscall.EpollCtl(p.fd, syscall.EPOLL_CTL_ADD, int(fd), &ev) // the first ADD failed
		}
	}); cerr != nil {
		return cerr // the socket is closed
	}
	if err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// errPollerClosed is arm's error once the Server has closed its poller.
var errPollerClosed = errors.New("poller closed")

// forget drops c, whose reader has ended the connection. Its socket's
// registration ends with the socket.
func (p *wsPoller) forget(c *wsConn) {
	if c.pollID == 0 {
		return
	}
	p.mu.Lock()
	delete(p.conns, c.pollID)
	p.mu.Unlock()
}

// run wakes the parked connections whose sockets have something, until
// close.
func (p *wsPoller) run() error {
	events := make([]syscall.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := p.raw.Read(func(fd uintptr) bool {
			n, werr = syscall.EpollWait(int(fd), events, 0)
			if werr == syscall.EINTR {
				n, werr = 0, nil
			}
			return n > 0 || werr != nil
		})
		if err != nil {
			p.ctl.RLock()
			closed := p.closed
			p.ctl.RUnlock()
			if closed || errors.Is(err, os.ErrClosed) {
				return nil // close ended the wait
			}
			return fmt.Errorf("epoll: %w", err)
		}
		if werr != nil {
			return os.NewSyscallError("epoll_wait", werr)
		}
		for _, ev := range events[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				c.unpark()
			}
		}
	}
}

// fail closes the poller after run failed, and wakes every parked
// connection: their readers then wait in goroutines of their own (arm
// fails from now on).
func (p *wsPoller) fail() {
	p.close()
	p.mu.Lock()
	conns := make([]*wsConn, 0, len(p.conns))
	for _, c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.unpark()
	}
}

// close ends run, once no connection is parked any more.
func (p *wsPoller) close() {
	p.ctl.Lock()
	defer p.ctl.Unlock()
	if !p.closed {
		p.closed = true
		_ = p.file.Close() // ends run's wait; nothing else to do about a failed close
	}
}
