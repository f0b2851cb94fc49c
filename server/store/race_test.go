//go:build race

package store

// raceEnabled is true when the race detector is on: sync.Pool then drops
// some of what is put in it, so that the regexp package allocates a
// matcher for most matches, and allocation figures mean little.
const raceEnabled = true
