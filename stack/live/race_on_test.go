//go:build race

package live

// raceEnabled says the tests run under the race detector, which makes the
// model kernel several times slower; the long transfers over TUN run in
// the plain test step instead.
const raceEnabled = true
