// Package pool keeps a bounded set of expensive, stateful specialists warm,
// starts the others on demand, and pre-warms the ones it expects next.
//
// # Life of a task
//
// Execute routes a Task to a specialist (by ID, or by department through the
// Balancer). A warm specialist serves at once: the hot path takes only that
// specialist's lock, so warm hits on different specialists do not contend
// (the Predictor's lock is the one shared step). A cold specialist is started
// first: concurrent tasks for it share one start, at most
// WithWarmingConcurrency starts run at once, at most WithMaxQueue tasks wait
// (ErrQueueFull beyond), and a task whose context ends stops waiting while
// the start goes on for the others.
//
// # States
//
//	cold → warming → warm ⇄ active → cooling → cold; a failed start → error
//
// A specialist is warming once it holds a warm slot and its Spec.Start runs.
// A failed or panicking start leaves it in error (cold with LastError set);
// the next task retries.
//
// # The warm set
//
// At most WithMaxWarm specialists (default: 20 % of them, 17 of 83) are warm
// or warming, holding at most WithMemoryBudget bytes if set. To make room a
// start evicts the idle warm specialist of lowest value, never one that is
// executing or has tasks waiting for it; the Balancer makes the final choice
// (DepartmentBalancer spares the last warm specialist of a department that
// had work within the cooldown). A demand start waits for a slot when every
// warm specialist is busy; a pre-warm gives up instead.
//
// Value. Each use adds its priority weight (high 1.0, medium 0.6, low 0.3;
// 1 without WithPriorityWeighting) to a usage count u that decays
// exponentially on the pool's clock: u ← u·e^(−rate·Δt[s]) + w, with rate =
// WithUsageDecay (0.02/s: a use halves in 35 s). The usage score is
// 1 − e^(−u) ∈ [0, 1): one high-priority use scores 0.63.
//
// Each specialist also keeps g, the mean gap between its tasks (weight 1/4
// for the newest), and its long-run gap L, the time since its first task per
// task. Its chance of a task within a horizon h is taken as Poisson:
// reuse(h) = 1 − e^(−h/G), with G = max(min(g, L), since/2), since being the
// time since its last task: the shorter of the recent and long-run gaps (a
// few long gaps in a row do not make a popular specialist rare), but an
// overdue specialist is ever less likely to return soon. One seen once has
// G = max(since, h). The value of keeping a specialist warm is
//
//	own   = max(score, reuse(H))
//	value = (1 − (1 − own)·(1 − predicted probability, while it holds)) × cold-start cost [÷ bytes under a budget]
//
// where the cold-start cost is Spec.ColdStart, else the measured average
// start, and H is how long a slot stays with one specialist: the warm cap
// times the mean time between evictions (the cache's characteristic time;
// before the first eviction, the longer of the cooldown and 10 minutes).
// Dividing by bytes only under WithMemoryBudget keeps the count-capped pool
// from sacrificing hot but large specialists. A pre-warm goes ahead only if
// its own value beats its victim's. The default Balancer spares the last warm
// specialist of a department that was active within the cooldown and whose
// share of all tasks earns it at least one slot.
//
// Cooling. A specialist stays warm while it is busy, while idle for less than
// WithCooldown (45 s), while its score — or its chance of a task within T —
// is at or above the warm threshold, or while the Predictor expects it.
// T is the cache's characteristic time as of the latest task: how long
// before it the warm cap's worth of most recently used specialists were last
// used (Che's approximation of how long an LRU cache of the pool's size keeps
// an item), at least max(cooldown, 10 min), at most a day, and the floor
// until the cap's worth of specialists have had a task; it is measured every
// 10 s of clock time, and does not grow while the pool is idle. A specialist
// with a rhythm (two tasks at different times) has its reuse(T). One seen
// only once has the workload's measured return rate — the share of
// specialists first seen at least T ago whose second task came within T of
// their first — until T has passed since its task, then nothing: where
// one-off specialists usually come back they are kept like an LRU cache
// would keep them, elsewhere they cool after the cooldown. So a contended
// pool cools what an LRU cache of its size would already have dropped, and
// keeps what it would still hold. Maintenance applies this every
// WithMaintenanceInterval on the clock, and whenever Execute or Stats finds
// it due, so a snapshot never lags the clock.
//
// Expectation. A predicted specialist's value includes the Predictor's
// probability until four times the typical lead from prediction to task has
// passed (the geometric mean over used pre-warms; within [maintenance
// interval, cooldown]; the cooldown until measured): a wrong prediction then
// soon stops keeping a useful specialist out.
//
// Adaptive threshold. With WithAdaptiveScaling (default on), once a minute
// of clock time the threshold moves by 0.05 inside [0.2, 0.6]: down when the
// last minute's warm hit rate was under 80 %, otherwise up under memory
// pressure (≥ 90 % of the warm slots or budget used). Each move is logged ("Adaptive
// adjustment"), counted in Stats.ThresholdAdjustments and reported as an
// EventThresholdAdjusted.
//
// # Seams
//
// Three small interfaces, each with a default and an option to replace it:
//
//   - Warmer runs starts: ConcurrentWarmer bounds concurrency with a
//     semaphore and shares a start among callers (singleflight); pre-warms go
//     in batches of WithBatchSize.
//   - Predictor sees every task and names what is likely next:
//     SequencePredictor is an order-1/order-2 Markov model (its probabilities
//     scaled by its own measured precision) plus a workflow detector that
//     knows declared workflows (WithWorkflows) and learns recurring
//     cross-department sequences over WithPredictionWindow tasks; it names
//     a workflow's next step, from the first step on. Predictions at or
//     above WithPrewarmProbability are pre-warmed.
//   - Balancer picks within a department and chooses eviction victims.
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
// New validates everything and starts only a maintenance goroutine driven by
// the injected clock (WithClock; tests use clock.NewMock()). Close stops
// accepting, waits for accepted tasks and the starts they wait on, closes
// every instance, and leaves no goroutine behind. The pool logs only through
// WithLogger and has no global state.
//
// # Configuration
//
// Every setting of the BUMBA production configuration has an option with the
// seed's default, and OptionsFromEnv reads the BUMBA_POOL_* environment
// variables (see the README's table).
package pool
