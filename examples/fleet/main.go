// Command fleet runs three replicas of a BUMBA host — each with its own
// pool, bridge, monitor and fleet member — sharing one rollout through etcd
// (package migrate/fleet), and its own monitor. It starts an etcd server in process, or uses
// the cluster in BUMBA_ETCD_ENDPOINTS; drives the replicas with simulated
// traffic on a fast-forwarded clock through migrate.DefaultPlan; injects a
// fault on one replica when the rollout reaches a step; and prints, for
// every change of the fleet's routing, how long each replica took to
// follow it (real time), then the fleet-wide rollback and its record.
//
//	go run ./examples/fleet [-replicas 3] [-fault-replica 1] [-fault-step hybrid-50] [-no-fault]
//
// The fleet rolls back on whichever comes first: the faulty replica's
// bridge falling back on its own evidence, or the leader's rollback
// triggers judging the fleet's summed counters (WithRollback).
//
// Exit status: 0 when the fault was rolled back on every replica (or the
// plan completed with -no-fault), 1 otherwise, 2 for bad flags.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
