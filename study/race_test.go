//go:build race

package study

// raceDetector is true when the tests run with -race, which slows the
// NATS round trips of the longer table tests several times over.
const raceDetector = true
