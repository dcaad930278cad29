// Package pool keeps a bounded set of expensive, stateful specialists warm,
// starts the others on demand, and pre-warms the ones it expects next.
//
// # Life of a task
//
// Execute routes a Task to a specialist (by ID, or by department through the
// Balancer), acquires it, runs the task and releases it. A warm specialist
// serves at once: the path takes only that specialist's lock and writes one
// record (which specialist, when, its weight) into a bounded ring; one
// goroutine owned by the pool reads it and feeds the policy model and the
// Predictor, issues pre-warms and runs maintenance by deadline. No task runs
// maintenance. When the ring is full the task drains it itself, and tasks
// help a Predictor that falls behind, so both see every task: under load
// the tasks pay for what is learned from them instead of the Predictor going
// blind (Stats.ObservationsDropped counts what was lost, only when a
// Predictor is so slow that 16 384 tasks wait for it).
//
// A cold specialist is started first: concurrent tasks for it share one
// start, at most WithWarmingConcurrency starts run at once, at most
// WithMaxQueue tasks wait (ErrQueueFull beyond), and a task whose context
// ends stops waiting while the start goes on for the others.
//
// # States
//
//	cold → warming → warm ⇄ active → cooling → cold; a failed start → error
//
// A specialist is warming once it holds a slot and its Spec.Start runs.
// A failed or panicking start leaves it in error (cold with LastError set);
// the next task retries.
//
// # The warm set
//
// At most WithMaxWarm specialists (default: 20 % of them, 17 of 83) hold a
// slot, holding at most WithMemoryBudget bytes if set. A slot is held from
// the moment a start reserves it until the instance's Close has returned,
// so the cap and the budget bound what is resident, cooling instances
// included (Stats and Specialists show them as cooling). To make room a
// start evicts an idle warm specialist — never one executing or with tasks
// waiting for it — chosen by the policy; a demand start waits for a slot
// when every held specialist is busy (a task whose context ends meanwhile
// gets an error wrapping ErrNoCapacity and its context's error); a
// pre-warm gives up instead. A start of a specialist whose previous
// instance is still closing waits for that Close: a specialist has one
// instance at a time.
//
// # The policy
//
// What to keep is decided by a small model the mechanism asks, apart from
// it (as in Caffeine). It runs three classic demand policies side by side
// over the task stream, each simulating a cache of the pool's capacity —
// LRU; S3-FIFO (a small FIFO that filters specialists used once, a main FIFO
// with reinsertion, a ghost list); and a gap rule that evicts the specialist
// whose next task looks furthest away (its typical gap between tasks, the
// shorter of the recent and the long-run mean, but at least half the time
// since its last task; for one seen once, its time since divided by the
// measured share of specialists that came back) — and follows the one with
// the fewest misses recently. No single family wins everywhere (S3-FIFO on
// web pages, LRU on a day of serverless functions, the gap rule on
// timer-driven ones), so the pool measures which one wins on its own
// workload. Following means mirroring: the pool evicts first what it holds
// and the leader does not (in the order the leader dropped them), then in
// the leader's own order; when the pool holds what the leader holds, one
// eviction each keeps them equal, so the pool misses only what the leader
// would. Misses are counted with exponential forgetting (all counts halve
// whenever the leader has missed 32 × the warm cap times), and the leader
// changes only when another's count is lower by more than twice the
// standard deviation of the difference of two Poisson counts. The model is
// O(1) per task per expert (the gap rule O(log warm) for its heap), and an
// eviction looks at no more than 64 + 8·8 specialists: no step is
// O(specialists). Its memory is fixed at New: O(specialists).
//
// Eviction asks the model for 8 idle candidates in its order; predicted
// specialists (see Expectation) are spared while others can go; the
// Balancer makes the final choice among the 8 (DepartmentBalancer: the
// first, unless it must spare the last warm specialist of a busy
// department). A pre-warm evicts a specialist the leader holds only when
// its prediction's chance of use within the time a prediction holds
// (combined with its own history as independent evidence, 1 − (1 − own) ×
// (1 − predicted)) beats the victim's chance of a task in that time, both
// times their cold-start cost (per byte under a memory budget).
//
// Usage score. Each use adds its priority weight (high 1.0, medium 0.6,
// low 0.3; 1 without WithPriorityWeighting) to a usage count u that decays
// exponentially on the pool's clock: u ← u·e^(−rate·Δt[s]) + w, with rate =
// WithUsageDecay (0.02/s: a use halves in 35 s), read from a table to
// within 0.3 % (no math.Exp per task). The usage score is 1 − e^(−u) ∈
// [0, 1): one high-priority use scores 0.63.
//
// Cooling. A specialist idle for WithCooldown (45 s) is looked at again.
// One the leader has dropped cools. One the leader holds stays while the
// pool is busy starting specialists (a start began within the last
// cooldown): the leader would keep it, and cooling it would trade a likely
// hit for a slot the next start may take anyway. Once the pool has gone
// quiet it stays only while its
// usage score, or its chance of a task within the cache's characteristic
// time (how long an LRU cache of the pool's size has kept what it no longer
// sees, as of the latest task; at least the cooldown), is at or above the
// warm threshold, or while a prediction expects it; a specialist seen once
// has the measured share of specialists that came back as its chance,
// until that time has passed since its task. A threshold of 1 keeps nothing
// past its cooldown (a fixed keep-alive). Maintenance runs by deadline on
// the pool's goroutine: each held specialist has one entry in a heap, at
// the time its answer could next change (at least a maintenance interval
// and at most a cooldown ahead); call Maintain to run what is due on a
// virtual clock.
//
// Expectation. A predicted specialist is expected until four times the
// typical lead from prediction to task has passed (the geometric mean over
// used pre-warms; within [maintenance interval, cooldown]; the cooldown
// until measured): a wrong prediction then soon stops keeping a useful
// specialist out.
//
// Adaptive threshold. With WithAdaptiveScaling (default on), once a minute
// of clock time the threshold moves by 0.05 inside [0.2, 0.6]: down when the
// last minute's warm hit rate was under 80 %, otherwise up under memory
// pressure (≥ 90 % of the warm slots or budget used). Each move is logged
// ("Adaptive adjustment"), counted in Stats.ThresholdAdjustments and
// reported as an EventThresholdAdjusted.
//
// # Seams
//
// Three small interfaces, each with a default and an option to replace it:
//
//   - Warmer runs starts: ConcurrentWarmer bounds concurrency with a
//     semaphore and shares a start among callers (singleflight); pre-warms go
//     in batches of WithBatchSize.
//   - Predictor sees every task, on the pool's goroutine, and names what is
//     likely next: SequencePredictor is an order-1/order-2 Markov model (its
//     probabilities scaled by its own measured precision) plus a workflow
//     detector that knows declared workflows (WithWorkflows) and learns
//     recurring cross-department sequences over WithPredictionWindow tasks;
//     every structure it learns is bounded (see its doc). Predictions at or
//     above WithPrewarmProbability are pre-warmed.
//   - Balancer picks within a department and chooses eviction victims,
//     among at most 8 candidates each.
//
// A host callback that panics — the observer, a Predictor (Observe or
// WorkflowStats), Balancer, Warmer or Sizer — is recovered, counted in
// Stats.CallbackPanics and logged at error; the pool goes on with its
// default choice. A specialist's own panics are recovered too: in Start
// (Stats.StartPanics, a failed start), Execute (Stats.Panics, the task's
// error wraps ErrPanic) and Close (Stats.ClosePanics; the slot is given
// back). Callbacks must not block: a blocked Predictor holds up what is
// learned, not the tasks.
//
// # Measured, not modelled
//
// Stats counts real events: tasks, warm hits, misses, cold starts,
// pre-warms used or wasted (prediction accuracy), workflow instances seen and
// recognised at their second task, queue depth, and memory from each
// instance's Sizer (else Spec.Memory) against the all-warm baseline.
// Specialists exports each specialist's state, score and counts.
//
// # Lifecycle
//
// New validates everything and starts the pool's goroutine, driven by the
// injected clock (WithClock; tests use clock.NewMock()). Close stops
// accepting, cancels the starts nobody waits for (a context-honouring
// pre-warm, or a start whose callers gave up, does not hold it), waits for
// accepted tasks and the starts they wait on (cancelling the rest if its
// context ends, and saying what was left), waits for every cancelled start
// to return, closes every instance, and leaves no goroutine behind. The pool logs only
// through WithLogger and has no global state.
//
// # Configuration
//
// Every setting of the BUMBA production configuration has an option with the
// seed's default, and OptionsFromEnv reads the BUMBA_POOL_* environment
// variables (see the README's table).
package pool
