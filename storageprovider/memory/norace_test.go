//go:build !race

package memory_test

// raceEnabled is set when the race detector slows everything down.
const raceEnabled = false
