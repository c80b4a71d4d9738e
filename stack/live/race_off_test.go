//go:build !race

package live

// raceEnabled says the tests run under the race detector.
const raceEnabled = false
