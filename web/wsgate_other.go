//go:build !unix

package web

import "syscall"

// rawReads says that the gate can read a socket through its raw
// connection; not on this system, where a wait holds a small buffer
// (wsGate.fill).
const rawReads = false

// readFD is not used on this system.
func readFD(uintptr, []byte) (int, error) { return 0, syscall.EINVAL }
