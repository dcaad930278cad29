// Package migrate moves a host from its legacy executor to the pool in
// phases: a Plan of steps, each routing the bridge a certain way for a soak
// time and advancing only when its Gate holds over that soak.
//
// # The plan
//
// DefaultPlan is the seed's six phases as eight steps:
//
//	step          routing      soak    gate
//	preparation   fallback     10 min  none: legacy serves while the pool starts
//	shadow        shadow       30 min  ShadowGate
//	hybrid-25     hybrid 25 %  30 min  DefaultGate
//	hybrid-50     hybrid 50 %  30 min  DefaultGate
//	hybrid-75     hybrid 75 %  30 min  DefaultGate
//	full          full 100 %   30 min  DefaultGate
//	optimisation  full 100 %   1 h     DefaultGate; the optimiser tunes the pool
//	verification  full 100 %   30 min  DefaultGate; passing completes the plan
//
// DefaultGate is the seed's success criteria: memory efficiency > 70 %,
// error rate < 2 %, response-time ratio to legacy < 2.5×, over at least
// 100 intelligent calls; ShadowGate adds command compatibility 100 % over
// at least 100 shadow comparisons. A criterion without enough data does not
// pass: no data means not passed. A latency ratio is judged only against a
// legacy baseline of at least MinLatencyBaseline (1 ms); below it the gate
// holds the intelligent mean to Gate.MaxLatency (2.5 s) instead. A step
// that tunes (Step.Tune) needs WithTuner(p): without one the controller
// warns at New, on entering the step and in Status().Warnings.
//
// # How a step advances
//
// The Controller is driven by its clock: call Step on an interval (Run does,
// every 30 s by default). Each Step reads the Metrics, adds the window since
// the previous reading to the step's evidence and the elapsed time to its
// soak, and evaluates the gate on the evidence:
//
//   - a criterion that fails with enough data restarts the soak with fresh
//     evidence (ActionHold, recorded);
//   - while the soak is not done the step soaks (ActionSoak);
//   - once it is, a passing gate advances (ActionAdvance; ActionComplete
//     after the last step) and a gate lacking data holds (ActionHold).
//
// The error rate and latency ratio are the intelligent executor's (shadow
// runs included); the latency ratio divides its mean by the legacy mean
// learned from every legacy call seen (the Baseline, kept across restarts);
// memory efficiency is the lowest sampled in the soak.
//
// By hand, each with a reason and each recorded in History: Advance (to the
// next step whatever the gate), Hold (no automatic advance until Resume),
// Resume, and SetStep (any step; after a rollback, the seed's recovery is
// SetStep "shadow" and roll out again).
//
// # Rollback
//
// Give the controller the rollback manager (package rollback) as its Guard:
// every Step calls Guard.Check first, which evaluates the rollback triggers
// and rolls back when one fires; a rollback the controller has not seen
// stops the rollout (StateRolledBack) until Resume or SetStep, which are
// refused while the rollback is still in progress. Routing found changed
// outside the controller (the bridge's automatic fallback, an operator)
// also stops it: StateRolledBack when the pool now serves less, StateHeld
// otherwise. The controller never fights another actor.
//
// # Durable state
//
// The controller keeps its state in a Store, section SectionRollout: the
// step, the soak so far, its evidence, the routing, the baseline, the
// history and the tuning changes. OpenFileStore is the durable default —
// one JSON file with a schema version and a SHA-256 checksum, written to a
// temporary file, fsynced and renamed — and the rollback manager keeps its
// records in the same file. A missing file starts fresh; a corrupt,
// truncated or newer file is refused (ErrCorruptState, ErrNewerState) and
// never reset. After a restart New resumes the same step, soak progress and
// percentage, and applies that routing to the new bridge; the time the
// process was down does not count as soak. Each save holds the file's
// advisory lock across re-reading and replacing it, so that two writers
// keep each other's sections (ErrStateLocked when another holds it too
// long); the file must be a regular file of at most 16 MiB. A save that
// fails changes nothing: the decision is undone — routing and tuning
// included — and its error returned.
//
// # Optimisation
//
// During a step with Tune set (the optimisation step) the controller tunes
// the pool through a Tuner every 10 minutes of soak: memory efficiency
// below 75 % raises the warm threshold and lowers max warm; a warm hit rate
// below 80 % with memory to spare lowers the threshold and raises max warm;
// within [0.2, 0.6] and the starting max warm ± 3 (Tuning). Every change is
// logged and kept with its before and after (Tunings).
//
// # Wiring
//
//	store, err := migrate.OpenFileStore("/var/lib/bumba/rollout.json")
//	metrics, err := migrate.NewStatsMetrics(b, p, clk)            // *bridge.Bridge, *pool.Pool
//	rb, err := rollback.New(b, metrics, rollback.WithStore(store), rollback.WithClock(clk))
//	b.AddObserver(rb.Observer())                                   // record the bridge's own fallbacks
//	ctrl, err := migrate.New(b, metrics, migrate.WithStore(store), migrate.WithGuard(rb),
//		migrate.WithTuner(p), migrate.WithClock(clk), migrate.WithLogger(logger)) // p: the pool as a Tuner
//	go ctrl.Run(ctx)                                               // or call ctrl.Step(ctx) from your own loop
//
// Nothing here starts a goroutine except Run, which returns when ctx is
// done or the plan is complete. Time comes only from the injected clock and
// logs go only to the injected logger.
package migrate
