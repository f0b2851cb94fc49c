// Package protocol turns Sente wire frames into events and events into frames,
// for every Sente client generation. It is pure: no I/O, no goroutines, no clock.
package protocol
