// Package fleet lets N replicas of a BUMBA host share one rollout through
// etcd (go.etcd.io/etcd/client/v3): one plan, one step, one soak and one
// rollback for every replica, instead of one per process. A host without
// etcd does not import it and compiles none of etcd.
//
// # What is shared
//
// Everything lives under one key prefix per rollout (Config.Prefix):
//
//	P/routing              the fleet's routing (mode, percentage): RoutingRecord
//	P/sections/rollout     the migrate.Controller's state (plan, step, soak, evidence, decisions)
//	P/sections/rollbacks   the leader's rollback.Manager records (WithRollback)
//	P/rollbacks/<id>       rollbacks raised by any replica: RollbackRecord (the newest 100 kept)
//	P/members/<replica>    each replica's counters, under its lease: MemberRecord
//	P/election/…           the leader election (etcd's concurrency.Election)
//
// Every record carries a schema version; one this version cannot read is
// refused (ErrNewerRecord, ErrCorruptRecord) naming its key, and never
// overwritten by a reader. Every write of shared state is a transaction
// that compares revisions: the section's as the writer last read it, the
// routing's, and the leader key's (Store). Two writers never overwrite
// each other: the loser gets ErrConflict or ErrNotLeader, writes nothing,
// and its controller is rebuilt from etcd, so what lost is never kept.
//
// # One leader
//
// Each replica holds a session (a lease of Config.LeaseTTL, renewed by
// the client) and campaigns in the election. The winner runs the
// migrate.Controller — the same controller as a single process, with the
// Store as its state and router, the fleet's summed counters as its
// Metrics, and the fleet's rollbacks as its Guard — every step interval.
// When the leader dies or is cut off its lease expires; another replica
// wins within about one TTL, rebuilds the controller from the shared
// state and resumes the same step with the soak saved at the last step
// (what passed in between does not count, as after a restart). The
// leader's writes are fenced by its election key: a deposed leader that
// comes back cannot advance anything.
//
// # Fleet-wide gates and triggers
//
// Every replica publishes its cumulative counters (intelligent and legacy
// calls, errors and latency sums, answers served, shadow comparisons,
// pool tasks, warm hits and memory efficiency) under its lease every
// publish interval. The leader's Metrics sum, over the live replicas, what
// each published since it began leading: a replica whose lease expired
// drops out, one that restarted counts from zero. Gates and (WithRollback)
// the rollback triggers judge these sums with the same thresholds and
// minimum volumes as one process: 100 calls across the fleet, not per
// replica.
//
// # Following and rolling back
//
// Every replica watches P/routing and applies it to its own bridge
// (WithFollowListener reports each application). A rollback anywhere is
// written once and followed everywhere:
//
//   - the leader's triggers (WithRollback) or its controller lower the
//     routing in their next transaction;
//   - a replica whose bridge falls back by itself (its automatic fallback,
//     or an operator's emergency rollback through that replica's
//     rollback.Manager or admin API) writes a RollbackRecord and the
//     lowered routing in one transaction; Member.Rollback does the same
//     by hand.
//
// A replica's bridge raised above the fleet's routing by anything else is
// put back: raising is the controller's.
//
// # Cut off
//
// A replica that loses etcd keeps its last routing and keeps serving; it
// never advances (only the leader writes steps, and a cut-off leader loses
// its lease and its fence); its bridge still falls back on its own
// evidence, and the rollback is kept pending while fleet routings above
// it are not applied. Status.Partitioned (and the admin API's status
// through Partitioned, Replica and Leader) says so. On reconnect the
// replica publishes the pending rollback (Partitioned: true) and the fleet
// follows. Safety over liveness: a replica alone cannot know whether its
// failure is local, so it falls back and lets the fleet see why.
//
// # Configuration
//
// Config holds the endpoints, TLS, username and password (passed to the
// etcd client as they are), the prefix, the replica's name and the lease
// TTL; the With… options the intervals and the host's controller and
// rollback options. The examples read BUMBA_ETCD_ENDPOINTS
// (EndpointsFromEnv). Package fleettest starts an etcd server in process
// for tests and examples.
//
// Time: counters, soak and the publish and step intervals run on the
// injected clock (WithClock); leases, elections and request timeouts are
// etcd's and run on real time.
package fleet
