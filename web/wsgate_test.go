package web

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// clientFrame returns a client frame (masked, as clients must send) of
// opcode op with payload; fin false leaves the message unfinished.
func clientFrame(op byte, fin bool, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126)
		f = binary.BigEndian.AppendUint16(f, uint16(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	mask := [4]byte{1, 2, 3, 4}
	f = append(f, mask[:]...)
	for i, c := range payload {
		f = append(f, c^mask[i%4])
	}
	return f
}

// refFrame is a frame of a stream as the test reads it (RFC 6455, section 5.2):
// where it ends, and whether the gate takes it (a well-formed pong).
type refFrame struct {
	end  uint64
	pong bool
}

// refNext reads the frame at s[0:], independently of frameLen; ok is false
// when s does not hold its whole header.
func refNext(s []byte) (refFrame, bool) {
	if len(s) < 2 {
		return refFrame{}, false
	}
	masked := s[1]&0x80 != 0
	n := uint64(s[1] & 0x7f)
	hdr := uint64(2)
	switch n {
	case 126:
		if len(s) < 4 {
			return refFrame{}, false
		}
		n, hdr = uint64(binary.BigEndian.Uint16(s[2:])), 4
	case 127:
		if len(s) < 10 {
			return refFrame{}, false
		}
		n, hdr = binary.BigEndian.Uint64(s[2:]), 10
	}
	if masked {
		hdr += 4
	}
	end := hdr + n
	if end < n { // overflow
		end = ^uint64(0)
	}
	// A pong in the 7-bit length form: gorilla refuses the longer forms.
	return refFrame{end: end, pong: s[0] == 0x8A && masked && s[1]&0x7f <= 125}, true
}

func TestFrameLen(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		want uint64
		ok   bool
	}{
		{"empty", nil, 0, false},
		{"one byte", []byte{0x81}, 0, false},
		{"masked 5", clientFrame(1, true, []byte("hello")), 11, true},
		{"unmasked 5", []byte{0x81, 5}, 7, true},
		{"masked 0", []byte{0x8A, 0x80}, 6, true},
		{"16-bit, short header", []byte{0x81, 0x80 | 126, 1}, 0, false},
		{"16-bit", []byte{0x81, 0x80 | 126, 1, 0}, 2 + 2 + 4 + 256, true},
		{"64-bit, short header", []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0}, 0, false},
		{"64-bit", []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 10 + 65536, true},
		{"64-bit, overflow", []byte{0x81, 0x80 | 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ^uint64(0), true},
	}
	for _, c := range cases {
		got, ok := frameLen(c.b)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: frameLen = %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// chunkConn is a socket that returns a stream in reads of at most chunk
// bytes, then io.EOF; it has no raw connection.
type chunkConn struct {
	net.Conn // nil: the gate calls only Read
	s        []byte
	chunk    int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.s) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.chunk)], c.s)
	c.s = c.s[n:]
	return n, nil
}

// readGated reads the stream through g as the connection's reader and
// gorilla do, one frame per turn: it awaits a frame (pongs taken there),
// then reads that frame in reads of readSize. It fails t when a read
// crosses a frame's end; it returns what gorilla read, the pongs the gate
// took, and the error that ended the stream.
func readGated(t testing.TB, g *wsGate, readSize int) (out []byte, pongs int, err error) {
	p := make([]byte, readSize)
	for {
		if _, err := g.await(true, func() { pongs++ }); err != nil {
			return out, pongs, err
		}
		// One frame: the test knows its end from its own reading of the
		// header, which it takes from the bytes gorilla reads.
		start := len(out)
		end := ^uint64(0)
		for uint64(len(out)-start) < end {
			want := min(uint64(readSize), end-uint64(len(out)-start))
			n, err := g.Read(p[:want])
			if n > int(want) {
				t.Fatalf("read %d bytes, asked for %d", n, want)
			}
			out = append(out, p[:n]...)
			if f, ok := refNext(out[start:]); ok {
				end = f.end
				if uint64(len(out)-start) > end {
					t.Fatalf("a read crossed the end of a frame: %d bytes of a %d-byte frame", len(out)-start, end)
				}
			}
			if err != nil {
				return out, pongs, err
			}
			if n == 0 {
				t.Fatal("a read returned nothing and no error")
			}
		}
	}
}

// wantGated returns what gorilla must read of stream s, and the pongs the
// gate must take, when every frame is awaited on its own (readGated).
func wantGated(s []byte) (out []byte, pongs int) {
	for len(s) > 0 {
		f, ok := refNext(s)
		switch {
		case !ok, f.pong && f.end > uint64(len(s)):
			// The stream ends within a header, or a pong: the gate
			// holds those bytes until it can tell what they are, and
			// gorilla reports the end (io.ErrUnexpectedEOF) as it would
			// have with them.
			return out, pongs
		case f.end > uint64(len(s)):
			return append(out, s...), pongs // the stream ends within a frame
		}
		if f.pong {
			pongs++
		} else {
			out = append(out, s[:f.end]...)
		}
		s = s[f.end:]
	}
	return out, pongs
}

// gateStream is a stream of client frames: messages, fragments, pings,
// pongs (some the gate takes, some it leaves to gorilla) and a close.
func gateStream() []byte {
	var s []byte
	s = append(s, clientFrame(1, true, []byte(`[[":test/hello",1]]`))...)
	s = append(s, clientFrame(0xA, true, nil)...)
	s = append(s, clientFrame(0xA, true, []byte("pong data"))...)
	s = append(s, clientFrame(1, false, []byte("frag"))...)
	s = append(s, clientFrame(0xA, true, []byte("mid-message"))...) // taken: awaited at a boundary
	s = append(s, clientFrame(0, true, []byte("mented"))...)
	s = append(s, clientFrame(9, true, []byte("ping"))...)
	s = append(s, 0x8A, 5, 'a', 'b', 'c', 'd', 'e') // an unmasked pong: gorilla's to refuse
	s = append(s, clientFrame(1, true, bytes.Repeat([]byte("x"), 300))...)
	s = append(s, clientFrame(2, true, bytes.Repeat([]byte("y"), 70000))...)
	s = append(s, clientFrame(0xA, true, bytes.Repeat([]byte("z"), 125))...)
	s = append(s, clientFrame(8, true, []byte{3, 232})...)
	return s
}

// TestGateFrames reads a stream of frames through a gate, in reads and
// chunks of many sizes, from a socket without a raw connection.
func TestGateFrames(t *testing.T) {
	s := gateStream()
	want, wantPongs := wantGated(s)
	pool := &sync.Pool{New: func() any { b := make([]byte, gateBufSize); return &b }}
	for _, chunk := range []int{1, 2, 3, 7, 64, 1000, len(s)} {
		for _, readSize := range []int{1, 2, 125, 128, 4096} {
			g := newWSGate(&chunkConn{s: s, chunk: chunk}, pool)
			out, pongs, err := readGated(t, g, readSize)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("chunk %d, reads of %d: the stream ended with %v", chunk, readSize, err)
			}
			if !bytes.Equal(out, want) || pongs != wantPongs {
				t.Fatalf("chunk %d, reads of %d: gorilla read %d bytes and the gate took %d pongs; want %d bytes, %d pongs", chunk, readSize, len(out), pongs, len(want), wantPongs)
			}
		}
	}
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t testing.TB) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept() // nil on failure, checked below
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() {
		server.Close()
		client.Close()
	})
	return server, client
}

// TestGateRawFrames reads the stream through a gate on a TCP socket, whose
// waits go through its raw connection, as the client writes it in pieces;
// the gate holds no buffer once it has handed on what it read.
func TestGateRawFrames(t *testing.T) {
	if !rawReads {
		t.Skip("no raw reads on this system")
	}
	s := gateStream()
	want, wantPongs := wantGated(s)
	pool := &sync.Pool{New: func() any { b := make([]byte, gateBufSize); return &b }}
	for _, chunk := range []int{1, 5, 200, len(s)} {
		server, client := tcpPair(t)
		g := newWSGate(server, pool)
		if g.raw == nil {
			t.Fatal("a TCP socket without a raw connection")
		}
		go func() {
			for rest := s; len(rest) > 0; {
				n := min(chunk, len(rest))
				if _, err := client.Write(rest[:n]); err != nil {
					return // the test fails on what it read
				}
				rest = rest[n:]
			}
			client.(*net.TCPConn).CloseWrite()
		}()
		_ = server.SetReadDeadline(time.Now().Add(waitFor))
		out, pongs, err := readGated(t, g, 4096)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("chunk %d: the stream ended with %v", chunk, err)
		}
		if !bytes.Equal(out, want) || pongs != wantPongs {
			t.Fatalf("chunk %d: gorilla read %d bytes and the gate took %d pongs; want %d bytes, %d pongs", chunk, len(out), pongs, len(want), wantPongs)
		}
		if g.buf != nil {
			t.Fatalf("chunk %d: the gate holds a buffer after the stream", chunk)
		}
	}
}

// TestGateWaitEnds checks that a wait without a buffer ends with the read
// deadline (a timeout) and with Close, holding no buffer.
func TestGateWaitEnds(t *testing.T) {
	if !rawReads {
		t.Skip("no raw reads on this system")
	}
	pool := &sync.Pool{New: func() any { b := make([]byte, gateBufSize); return &b }}
	server, client := tcpPair(t)
	g := newWSGate(server, pool)
	// Half a pong, then nothing: the gate waits for the rest.
	if _, err := client.Write(clientFrame(0xA, true, []byte("abc"))[:4]); err != nil {
		t.Fatal(err)
	}
	_ = server.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	_, err := g.await(true, func() { t.Error("a pong taken from half a frame") })
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("await ended with %v, want a timeout", err)
	}

	server, _ = tcpPair(t)
	g = newWSGate(server, pool)
	done := make(chan error, 1)
	go func() {
		_, err := g.await(true, func() {})
		done <- err
	}()
	server.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("await ended with %v, want net.ErrClosed", err)
		}
	case <-time.After(waitFor):
		t.Fatal("await still waiting after Close")
	}
	if g.buf != nil {
		t.Fatal("the gate holds a buffer after a wait that read nothing")
	}
}

// FuzzGate reads arbitrary bytes through a gate, in arbitrary chunks and
// reads: gorilla gets every byte but the pongs the gate takes, in order,
// and no read crosses a frame's end.
func FuzzGate(f *testing.F) {
	f.Add(gateStream()[:400], uint8(3), uint8(7))
	f.Add([]byte{0x8A, 0x80, 1, 2, 3, 4, 0x81, 0x80 | 126, 0, 2, 0, 0, 0, 0, 'h', 'i'}, uint8(1), uint8(1))
	f.Add([]byte{0x81, 0x80 | 127, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2}, uint8(2), uint8(200))
	pool := &sync.Pool{New: func() any { b := make([]byte, gateBufSize); return &b }}
	f.Fuzz(func(t *testing.T, s []byte, chunk, readSize uint8) {
		g := newWSGate(&chunkConn{s: s, chunk: int(chunk) + 1}, pool)
		out, pongs, err := readGated(t, g, int(readSize)+1)
		if !errors.Is(err, io.EOF) {
			t.Fatalf("the stream ended with %v", err)
		}
		want, wantPongs := wantGated(s)
		if !bytes.Equal(out, want) || pongs != wantPongs {
			t.Fatalf("gorilla read %x and the gate took %d pongs; want %x, %d pongs", out, pongs, want, wantPongs)
		}
	})
}
