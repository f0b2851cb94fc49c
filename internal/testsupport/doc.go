// Package testsupport holds the helpers that the tests of several packages
// of this module share: a log sink that a server's goroutines write while
// the test reads it (Buffer), and waits for a condition that no event
// announces, bounded by a deadline (Poll, Await, Eventually).
//
// It is a normal package under internal/ so that the tests of every package
// of the module, internal or external, can import it; nothing outside
// tests should.
package testsupport
