//go:build !unix

package main

// fdLimit returns 0: no file descriptor limit is known here.
func fdLimit() int { return 0 }
