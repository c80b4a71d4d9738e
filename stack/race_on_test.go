//go:build race

package stack

// raceEnabled says the tests run under the race detector, which makes the
// long integrity transfers ten times slower; they run in the plain test
// step instead.
const raceEnabled = true
