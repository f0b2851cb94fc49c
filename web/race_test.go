//go:build race

package web

// raceEnabled is true when the race detector is on: it makes stack frames
// larger, so stack sizes are not measured.
const raceEnabled = true
