// Package stats holds the small, allocation-free statistics the other
// packages share: a log-linear latency histogram with percentiles and a
// rolling success/failure window over an injected clock's time.
//
// Both types are safe for concurrent use. Neither reads a clock itself:
// callers pass the time they took from their injected clock.Clock, so the
// same code runs on the real clock in production and on a fake one in tests.
package stats
