// Package bridge moves a BUMBA host from its legacy executor to the
// intelligent pool safely, one command at a time.
//
// A host already has an Executor: Execute(ctx, Command) (Response, error).
// New wraps it together with the intelligent executor (the pool, through
// its adapter) in a Bridge, which is itself an Executor, so the host only
// swaps one value. The bridge routes each command by its Mode:
//
//   - ModeShadow (the default): legacy serves; the same command runs on the
//     intelligent executor beside it, on its own goroutine, detached from
//     the request's cancellation, under its own timeout and a concurrency
//     bound (when full, the shadow run is skipped and counted, never
//     queued). Panics are recovered. A Comparator (default: equal outputs
//     and equal error-ness, the answering specialist masked for commands
//     that do not name one) judges each pair; mismatches are kept in a
//     ring bounded in count and bytes (Mismatches, WithMismatchRing,
//     WithMismatchBytes: a part too large is kept cut and says so) and
//     Stats reports the compatibility.
//   - ModeHybrid: a percentage of commands goes to the intelligent
//     executor: by a stable hash of Command.RoutingKey when set (sticky,
//     and monotone as the percentage rises), otherwise by an injected
//     random source.
//   - ModeFull: the intelligent executor serves everything; a failed call
//     is retried on legacy for that request (WithFallbackOnError).
//   - ModeFallback: legacy serves everything.
//
// SetMode and SetPercentage change the routing at run time, safely under
// concurrent traffic. Automatic fallback watches the intelligent path's
// success rate over a rolling window on the injected clock (default 5
// minutes); when it is below the threshold (default 0.8) even at its
// upper Wilson bound (WithFallbackConfidence, default 99.9 %), with at
// least the minimum volume (default 10 calls), the bridge switches itself
// to ModeFallback and tells its observers. The bound keeps an early dip of
// a healthy path from tripping it (one-way) while an outage still trips at
// the minimum volume. It never switches back by itself:
// that is for migrate and rollback.
//
// Observers (WithObserver, AddObserver) receive every Outcome and
// Transition, synchronously; this is where migrate, rollback and monitor
// attach, and the bridge imports none of them. Stats reports calls,
// errors, latency percentiles, fallbacks and the shadow comparison per mode
// and per path.
//
// The bridge reads time only from its clock (WithClock, default the real
// one), logs only through its *slog.Logger (default discard), has no global
// state, and its only goroutines are shadow runs, all of which Close waits
// for.
package bridge
