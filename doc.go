// Package pooling is BUMBA Intelligent Pooling for Go: keep only the
// specialists that will be needed warm, start the rest on demand, predict the
// next ones and warm them in time, and move a host from its legacy
// always-warm path to the pool safely.
//
// The module is a set of packages a host wires together:
//
//   - pool: the warm pool. Specialists (expensive, stateful workers grouped
//     in departments) start on demand, share starts, stay warm by a decayed
//     usage score, and are evicted by value under a hard warm cap and memory
//     budget. A Predictor (Markov sequences and workflow detection) pre-warms
//     what comes next. Every figure in its Stats is counted from real events.
//   - bridge: the legacy Executor interface, a Bridge with shadow, hybrid,
//     full and fallback modes, result comparison, and automatic fallback
//     when the pool's success rate drops.
//   - migrate, rollback, monitor: the phased rollout, rollback triggers and
//     records, metrics, alerts, health endpoint and Prometheus exposition.
//
// Nothing in the module has global state or starts work in init; time comes
// from an injected github.com/benbjohnson/clock.Clock and logs go to an
// injected *slog.Logger. Each component's New validates its options and
// returns an error naming the bad setting; Close waits for accepted work and
// leaves no goroutine behind.
//
// Start with examples/quickstart, which runs the simulated 83-specialist
// framework through a pool:
//
//	go run ./examples/quickstart
package pooling
