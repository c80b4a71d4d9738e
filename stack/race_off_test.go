//go:build !race

package stack

// raceEnabled says the tests run under the race detector.
const raceEnabled = false
