//go:build unix

package main

import "syscall"

// fdLimit returns the soft limit of open files, or 0 when it cannot be
// read or is too large to matter.
func fdLimit() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur > 1<<30 {
		return 0
	}
	return int(rl.Cur)
}
