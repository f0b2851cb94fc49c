//go:build unix

package web

import "syscall"

// rawReads says that the gate can read a socket through its raw
// connection (wsGate.fill).
const rawReads = true

// readFD reads what socket fd has into b without blocking; EAGAIN when it
// has nothing.
func readFD(fd uintptr, b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), b)
		if err != syscall.EINTR {
			if n < 0 {
				n = 0
			}
			return n, err
		}
	}
}
