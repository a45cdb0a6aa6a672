//go:build race

package runbooks

// raceEnabled: the tests run under the race detector.
const raceEnabled = true
