package web

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
)

// wsGate is the socket of a WebSocket as gorilla's reader sees it
// (issue 19; docs/design.md §5.1). It hands gorilla the client's bytes
// one frame at a time: a read never returns bytes past the end of the
// frame they begin, so when gorilla has returned a message, its read
// buffer is empty and everything the socket has sent since is in the
// gate. That lets the connection's reader see, outside gorilla, that the
// client has sent nothing more, and then park the connection (wsPoller)
// or wait for the client's next frame at the top of its own stack, holding
// no read buffer (await); it takes the pongs that answer the server's
// pings there, without waking gorilla's reader.
//
// The gate only counts frames: gorilla still validates them (masks,
// opcodes, lengths, the read limit) and refuses a bad one. Writes,
// deadlines and Close go straight to the socket. Every read method runs on
// the connection's reader goroutine; Close may come from any goroutine and
// ends a wait with an error.
type wsGate struct {
	net.Conn
	// raw is the socket's raw connection, through which a wait holds no
	// buffer; nil when the socket has none (TLS, net.Pipe): then a wait
	// holds a small buffer of the gate's own, as gorilla's reader did.
	raw  syscall.RawConn
	pool *sync.Pool // of *[]byte of gateBufSize, shared by the server's sockets

	buf  *[]byte // read from the socket, not yet handed on: (*buf)[r:w]; nil while empty (raw != nil)
	r, w int
	// need is how many bytes of the frame gorilla is reading are still to
	// be handed over; 0 at a frame boundary.
	need uint64
}

// gateBufSize is the size of a gate's read buffer while it holds bytes:
// several client frames, read in one system call.
const gateBufSize = 4 << 10

// minGateBuf is the gate's own buffer when the socket has no raw
// connection: it holds a pong and a frame header.
const minGateBuf = 512

// WebSocket frame header bits (RFC 6455, section 5.2).
const (
	finPong      = 0x80 | 0xA // FIN set, no RSV bit, opcode pong
	maskBit      = 0x80
	maxCtrlLen   = 125 // a control frame's longest payload
	len16, len64 = 126, 127
)

func newWSGate(conn net.Conn, pool *sync.Pool) *wsGate {
	g := &wsGate{Conn: conn, pool: pool}
	// Only the sockets themselves: a wrapper that embeds one would have
	// its SyscallConn, and reading the descriptor would bypass its Read.
	var sc syscall.Conn
	switch c := conn.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	}
	if sc != nil && rawReads {
		if raw, err := sc.SyscallConn(); err == nil {
			g.raw = raw
		}
	}
	return g
}

// CloseWrite ends the socket's sending side, when the socket can
// (closeGracefully).
func (g *wsGate) CloseWrite() error {
	if cw, ok := g.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return g.Conn.Close()
}

// Read is gorilla's read: the next bytes of the current frame, never past
// its end.
func (g *wsGate) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for g.need == 0 {
		// At a boundary: the next frame's length is in its header.
		total, ok := frameLen(g.buffered())
		if ok {
			g.need = total
			break
		}
		if err := g.fill(); err != nil {
			return 0, err
		}
	}
	k := len(p)
	if uint64(k) > g.need {
		k = int(g.need)
	}
	if g.r < g.w {
		n := copy(p[:k], (*g.buf)[g.r:g.w])
		g.r += n
		g.need -= uint64(n)
		g.drained()
		return n, nil
	}
	// Within a frame with nothing buffered: straight into gorilla's buffer.
	n, err := g.Conn.Read(p[:k])
	g.need -= uint64(n)
	return n, err
}

// buffered returns the bytes read and not yet handed on.
func (g *wsGate) buffered() []byte {
	if g.buf == nil {
		return nil
	}
	return (*g.buf)[g.r:g.w]
}

// await waits until the socket has sent the start of a frame for gorilla,
// taking the complete pongs before it (each a call of pong). When it may
// not wait (wait false), it reads what the socket has without waiting
// (when the socket has a raw connection) and returns false when that is
// not the start of a frame. The wait holds no buffer when the socket has
// a raw connection.
func (g *wsGate) await(wait bool, pong func()) (bool, error) {
	for {
		if g.need > 0 && g.r < g.w {
			return true, nil // within a frame (not after a whole message)
		}
		switch g.takePongs(pong) {
		case headFrame:
			return true, nil
		case headNone, headPartPong:
			if !wait {
				if g.raw == nil {
					return false, nil
				}
				if got, err := g.fillRaw(false); err != nil || !got {
					return false, err
				}
				continue
			}
			if err := g.fill(); err != nil {
				return false, err
			}
		}
	}
}

// What the head of a gate's buffer holds, at a frame boundary.
const (
	headNone     = iota // nothing
	headPartPong        // the start of a pong frame
	headFrame           // the start of another frame
)

// takePongs consumes the complete pong frames at the head of the buffer
// and says what follows them. A pong gorilla would refuse (unmasked, too
// long, fragmented) is left to gorilla.
func (g *wsGate) takePongs(pong func()) int {
	for {
		b := g.buffered()
		switch {
		case len(b) == 0:
			return headNone
		case b[0] != finPong:
			return headFrame
		case len(b) < 2:
			return headPartPong
		case b[1]&maskBit == 0 || int(b[1]&^maskBit) > maxCtrlLen:
			return headFrame
		}
		n := 2 + 4 + int(b[1]&^maskBit)
		if len(b) < n {
			return headPartPong
		}
		g.r += n
		g.drained()
		pong()
	}
}

// frameLen returns the length of the frame whose header begins b, header
// included, when b holds enough of the header to tell.
func frameLen(b []byte) (uint64, bool) {
	if len(b) < 2 {
		return 0, false
	}
	head := uint64(2)
	if b[1]&maskBit != 0 {
		head += 4
	}
	var payload uint64
	switch n := b[1] &^ maskBit; n {
	case len16:
		if len(b) < 4 {
			return 0, false
		}
		head += 2
		payload = uint64(b[2])<<8 | uint64(b[3])
	case len64:
		if len(b) < 10 {
			return 0, false
		}
		head += 8
		for _, c := range b[2:10] {
			payload = payload<<8 | uint64(c)
		}
	default:
		payload = uint64(n)
	}
	if payload > ^uint64(0)-head {
		return ^uint64(0), true // gorilla refuses it (the read limit) long before
	}
	return head + payload, true
}

// fill waits for the socket to have bytes and reads them into the buffer.
func (g *wsGate) fill() error {
	if g.raw == nil {
		if g.buf == nil {
			b := make([]byte, minGateBuf)
			g.buf = &b
		}
		g.compact()
		n, err := g.Conn.Read((*g.buf)[g.w:])
		g.w += n
		if n > 0 {
			return nil
		}
		return err
	}
	_, err := g.fillRaw(true)
	return err
}

// fillRaw reads what the socket has into the buffer through its raw
// connection, waiting for it if wait (an empty read, EAGAIN, then waits
// holding no buffer), and reports whether bytes came.
func (g *wsGate) fillRaw(wait bool) (bool, error) {
	var n int
	var rerr error
	err := g.raw.Read(func(fd uintptr) bool {
		if g.buf == nil {
			g.buf = g.pool.Get().(*[]byte)
			g.r, g.w = 0, 0
		}
		g.compact()
		n, rerr = readFD(fd, (*g.buf)[g.w:])
		if rerr == syscall.EAGAIN {
			g.drained()
			return !wait
		}
		return true
	})
	switch {
	case err != nil:
		g.drained()
		return false, err
	case rerr == syscall.EAGAIN:
		return false, nil
	case rerr != nil:
		g.drained()
		return false, &net.OpError{Op: "read", Net: g.LocalAddr().Network(), Source: g.LocalAddr(), Addr: g.RemoteAddr(), Err: rerr}
	case n == 0:
		g.drained()
		return false, io.EOF
	}
	g.w += n
	return true, nil
}

// compact makes room at the end of the buffer, where fill reads: it
// moves the buffered bytes to its start when its end is reached. fill is
// only called with less than a frame header or a pong buffered (Read,
// await), so there is always room.
func (g *wsGate) compact() {
	if g.r == g.w {
		g.r, g.w = 0, 0
	} else if g.w == len(*g.buf) && g.r > 0 {
		g.w = copy(*g.buf, (*g.buf)[g.r:g.w])
		g.r = 0
	}
}

// drained gives the pooled buffer back once everything in it has been
// handed on.
func (g *wsGate) drained() {
	if g.r < g.w || g.buf == nil || g.raw == nil {
		return
	}
	g.pool.Put(g.buf)
	g.buf, g.r, g.w = nil, 0, 0
}

// release gives the buffer back when the connection has ended.
func (g *wsGate) release() {
	if g.buf != nil && g.raw != nil {
		g.pool.Put(g.buf)
	}
	g.buf, g.r, g.w = nil, 0, 0
}

// gatedWriter is the ResponseWriter the upgrader hijacks: it puts a
// wsGate between the socket and gorilla.
type gatedWriter struct {
	http.ResponseWriter
	pool *sync.Pool
	gate *wsGate
}

// Hijack takes over the connection, as the upgrader asks, and gives it
// the gate instead of the socket.
func (w *gatedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.gate = newWSGate(conn, w.pool)
	return w.gate, brw, nil
}

// Unwrap returns the ResponseWriter it wraps (http.ResponseController).
func (w *gatedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
