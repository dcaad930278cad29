package pool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/pool/internal/policy"
	"github.com/bumba/pooling/pool/internal/sequence"
)

// Pool keeps a bounded set of specialists warm, starts the others on demand,
// and pre-warms the ones its Predictor expects. It is safe for concurrent use.
//
// Inside, the mechanism and the policy are apart. The mechanism — this
// file's states, slots, starts, queue and Close — asks a policy model what
// to evict (pool/internal/policy). A task's path is short and one-way:
// route → acquire → run → release; what the model and the Predictor learn
// from it travels through a bounded buffer to one goroutine owned by the
// pool, which also runs maintenance by deadline. No task runs maintenance.
type Pool struct {
	cfg       config
	clk       clock.Clock
	log       *slog.Logger
	list      []*specialist
	byID      map[string]*specialist
	depts     map[string]*department
	deptNames []string

	// The policy side, owned by the pool's goroutine and by cold paths,
	// under polMu: the model, the Predictor, the deadlines, the buffer's
	// reading end.
	polMu     sync.Mutex
	model     *policy.Model
	predictor Predictor
	fast      *SequencePredictor // the default predictor, fed indices
	toSeq     []int32            // specialist → fast predictor index
	fromSeq   []int32            // fast predictor index → specialist
	hist      history            // the latest tasks, for Snapshot
	// A ring of the tasks the policy has taken in that wait for the
	// Predictor.
	predRing        []observation
	predHead, predN int
	// The Predictor's side, under predMu (taken before polMu, never while
	// holding it).
	predMu    sync.Mutex
	predBuf   []Prediction
	seqBuf    []sequence.Prediction
	wants     []want
	deadlines deadlineHeap
	buf       *taskBuffer
	counted   struct{ tasks, hits uint64 } // seen by the pool's goroutine
	lastAdapt struct{ tasks, hits uint64 }
	nextAdapt int64
	victimBuf []int32

	workflows WorkflowReporter // nil when the predictor detects none
	warmer    Warmer
	balancer  Balancer
	fastPick  bool          // the default Balancer: a department task may take its idle hint
	leadLog   atomic.Uint64 // float64 bits: mean log of the ns from a used pre-warm's prediction to its task
	hold      atomic.Int64  // how long a prediction holds its specialist (ns), from leadLog
	coarse    atomic.Int64  // the clock as the pool's goroutine last read it (Unix ns)

	bgMu       sync.Mutex // guards bgPrewarms
	bgIdle     *sync.Cond // broadcast when bgPrewarms drops to 0
	bgPrewarms int        // pre-warm batches in flight

	closed     atomic.Bool
	tasksWG    sync.WaitGroup // accepted tasks and pool work in flight
	closeOnce  sync.Once
	finishOnce sync.Once
	closeErr   error
	drained    chan struct{}   // closed when every accepted task is done (made by Close)
	ctx        context.Context // lifetime of starts nobody waits for
	cancel     context.CancelFunc
	stop       chan struct{}
	loopDone   chan struct{}
	wake       chan struct{}
	parked     atomic.Bool

	mu         sync.Mutex // guards the slots below
	maxWarm    int
	held       int   // specialists holding a slot: warming, warm, active, cooling
	memUsed    int64 // bytes reserved by those
	capFreed   chan struct{}
	capWaiters atomic.Int32

	queued      atomic.Int64
	rejected    atomic.Uint64
	wasted      atomic.Uint64
	declined    atomic.Uint64
	cooled      atomic.Uint64
	evictions   atomic.Uint64
	lastStart   atomic.Int64 // when a start last began (Unix ns)
	startNanos  atomic.Int64
	startCount  atomic.Int64
	threshold   atomic.Uint64 // float64 bits
	adjustments atomic.Uint64
	hookPanics  atomic.Uint64
	startPanics atomic.Uint64
	// tasks refused because their context had ended before Execute
	canceledEarly atomic.Uint64
	closePanics   atomic.Uint64
	starts        tracker       // Spec.Start calls under way, for Close
	seen          atomic.Uint64 // tasks the pool's goroutine has taken in
	predDropped   atomic.Uint64 // tasks the Predictor never saw (its queue was full)
	predBacklog   atomic.Int64  // len(predQ), for tasks deciding whether to help
}

type department struct {
	name     string
	members  []*specialist
	lastTask atomic.Int64  // Unix ns, as the pool's goroutine saw it
	tasks    atomic.Uint64 // as the pool's goroutine saw them
	hint     atomic.Int32  // index in members of the last one to go idle, −1 none

	mu   sync.Mutex // guards held
	held []*specialist
}

type specialist struct {
	spec      Spec
	idx       int32
	deptIdx   int32 // index in dept.members
	dept      *department
	weight    float64 // priority weight of a use
	startFn   func() error
	prewarmFn func() error
	pending   atomic.Bool   // a pre-warm is queued or running
	expectP   atomic.Uint64 // float64 bits: predicted probability
	expectTo  atomic.Int64  // predicted until (Unix ns)
	predicted atomic.Int64  // when the pending pre-warm was decided (Unix ns)
	stateA    atomic.Int32  // mirrors state for lock-free reads
	waitingA  atomic.Int32  // mirrors waiting
	heldIdx   int           // index in dept.held, −1 when not held; under dept.mu

	mu        sync.Mutex
	state     State
	starting  bool // a start is under way (it may still wait for a slot)
	inst      Instance
	inflight  int
	waiting   int
	lastUsed  int64
	warmedAt  int64
	mem       int64 // bytes of the current instance
	knownMem  int64 // last measured size, else Spec.Memory
	reserved  int64 // bytes reserved for its current slot; 0 when it holds none
	scheduled bool  // has a deadline in the heap; under polMu
	prewarmed bool  // warmed by prediction, not used yet
	lastErr   error
	// cancelStart ends the start under way (Close ends the starts nobody
	// waits for); nil when none.
	cancelStart context.CancelFunc
	// closing is closed when the instance being cooled has closed; nil
	// unless cooling.
	closing chan struct{}
	warmers int         // Warm calls waiting for its start
	noSlot  atomic.Bool // its start waits for a slot held by busy specialists

	tasks, hits, misses, coldStarts, prewarms, prewarmsUsed, prewarmsLate uint64
	startFailures, failures, panics, canceled                             uint64
}

func (s *specialist) setState(st State) {
	s.state = st
	s.stateA.Store(int32(st))
}

// New builds a pool for specs. It validates the specs and every option and
// returns an error wrapping ErrInvalidConfig that names the setting, the
// value and the allowed range; it starts nothing: specialists start on
// demand or by prediction.
func New(specs []Spec, opts ...Option) (*Pool, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("pool: nil option: %w", ErrInvalidConfig)
		}
		o.apply(&cfg)
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("pool: no specialists: want at least one spec: %w", ErrInvalidConfig)
	}
	if len(specs) > math.MaxInt32 {
		return nil, fmt.Errorf("pool: %d specialists: allowed at most %d: %w", len(specs), math.MaxInt32, ErrInvalidConfig)
	}
	p := &Pool{
		cfg:      cfg,
		clk:      cfg.clock,
		log:      cfg.logger,
		byID:     make(map[string]*specialist, len(specs)),
		depts:    make(map[string]*department),
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		capFreed: make(chan struct{}),
	}
	var maxMem int64
	sizes := make([]int64, len(specs))
	for i, sp := range specs {
		switch {
		case sp.ID == "":
			return nil, fmt.Errorf("pool: spec %d: empty ID: %w", i, ErrInvalidConfig)
		case p.byID[sp.ID] != nil:
			return nil, fmt.Errorf("pool: spec %d: duplicate ID %q: %w", i, sp.ID, ErrInvalidConfig)
		case sp.Start == nil:
			return nil, fmt.Errorf("pool: spec %q: nil Start: %w", sp.ID, ErrInvalidConfig)
		case sp.Memory < 0:
			return nil, fmt.Errorf("pool: spec %q: memory %d: allowed ≥ 0 bytes: %w", sp.ID, sp.Memory, ErrInvalidConfig)
		case sp.ColdStart < 0:
			return nil, fmt.Errorf("pool: spec %q: cold start %v: allowed ≥ 0: %w", sp.ID, sp.ColdStart, ErrInvalidConfig)
		case sp.Priority > PriorityHigh:
			return nil, fmt.Errorf("pool: spec %q: priority %d: allowed low, medium or high: %w", sp.ID, sp.Priority, ErrInvalidConfig)
		}
		s := &specialist{spec: sp, idx: int32(i), knownMem: sp.Memory, heldIdx: -1, weight: sp.Priority.weight()}
		s.startFn = func() error { return p.start(s, false) }
		s.prewarmFn = func() error { return p.start(s, true) }
		d := p.depts[sp.Department]
		if d == nil {
			d = &department{name: sp.Department}
			d.lastTask.Store(math.MinInt64 / 2) // never
			d.hint.Store(-1)
			p.depts[sp.Department] = d
			p.deptNames = append(p.deptNames, sp.Department)
		}
		s.deptIdx = int32(len(d.members))
		d.members = append(d.members, s)
		s.dept = d
		p.byID[sp.ID] = s
		p.list = append(p.list, s)
		sizes[i] = sp.Memory
		maxMem = max(maxMem, sp.Memory)
	}
	slices.Sort(p.deptNames)
	if err := cfg.validate(len(specs), maxMem); err != nil {
		return nil, err
	}
	p.maxWarm = cfg.maxWarm
	if p.maxWarm == 0 {
		p.maxWarm = max(1, int(math.Ceil(0.2*float64(len(specs)))))
	}
	model, err := policy.New(policy.Config{
		Specialists: len(specs), MaxWarm: p.maxWarm, Budget: cfg.memoryBudget, Sizes: sizes,
		Seed: 1, UsageDecay: cfg.usageDecay, Cooldown: int64(cfg.cooldown),
	})
	if err != nil {
		return nil, fmt.Errorf("pool: %w: %w", err, ErrInvalidConfig)
	}
	p.model = model
	p.hold.Store(int64(max(cfg.cooldown, cfg.maintenance))) // until a lead is measured
	p.predictor = cfg.predictor
	if p.predictor == nil {
		var flows []Workflow
		if cfg.workflowOptimizing {
			flows = cfg.workflows
		}
		p.predictor = NewSequencePredictor(cfg.predictionWindow, cfg.workflowOptimizing, flows...)
	}
	if sp, ok := p.predictor.(*SequencePredictor); ok {
		p.fast = sp
		p.toSeq, p.fromSeq = sp.bind(p.list)
	}
	p.workflows, _ = p.predictor.(WorkflowReporter)
	p.warmer = cfg.warmer
	if p.warmer == nil {
		p.warmer = NewConcurrentWarmer(cfg.warmingConcurrency)
	}
	p.balancer = cfg.balancer
	if p.balancer == nil {
		b := DepartmentBalancer{}
		if cfg.departmentBalance {
			b.Protect = cfg.cooldown
		}
		p.balancer = b
		p.fastPick = true
	}
	p.buf = newTaskBuffer(bufferSize)
	p.bgIdle = sync.NewCond(&p.bgMu)
	p.threshold.Store(math.Float64bits(cfg.warmThreshold))
	p.ctx, p.cancel = context.WithCancel(context.Background())
	now := p.clk.Now().UnixNano()
	p.coarse.Store(now)
	p.lastStart.Store(math.MinInt64 / 2)
	p.nextAdapt = now + int64(adaptEvery)
	var restored *snapshotDoc
	if cfg.restore != nil {
		if restored, err = p.readSnapshot(cfg.restore); err != nil {
			p.cancel()
			return nil, err
		}
		p.replay(restored)
	}
	go p.loop()
	if restored != nil {
		p.rewarm(restored)
	}
	return p, nil
}

// bufferSize is how many task observations wait for the pool's goroutine
// at most (32 bytes each, with its slot): a burst of that many tasks in the time the
// goroutine needs to wake is absorbed; beyond it a task helps drain.
const bufferSize = 1 << 12

// Wait blocks until the pool's goroutine has taken in every task so far and
// the pre-warms it began have finished (started, declined or failed). A host
// rarely needs it; a simulation driving the pool on a virtual clock calls it
// after each task so that runs are reproducible.
func (p *Pool) Wait() {
	p.polMu.Lock()
	p.drainLocked()
	p.polMu.Unlock()
	p.feedPredictor()
	p.bgMu.Lock()
	for p.bgPrewarms > 0 {
		p.bgIdle.Wait()
	}
	p.bgMu.Unlock()
}

// Maintain runs, on the caller's goroutine, what is due at the clock's
// current time: cooling idle specialists past their cooldown and adapting
// the warm threshold. The pool's own goroutine does this by itself on the
// pool's clock; a simulation calls Maintain after moving a virtual clock so
// that what happens is reproducible.
func (p *Pool) Maintain() { p.maintain(p.clk.Now().UnixNano()) }

// Warm starts the named specialists now and waits for them (ahead of known
// demand, or to make a pool always-warm), within the warm cap like any
// start. It returns the first error, naming the specialist.
func (p *Pool) Warm(ctx context.Context, ids ...string) error {
	if !p.enter() {
		return ErrClosed
	}
	defer p.tasksWG.Done()
	reqs := make([]WarmRequest, 0, len(ids))
	ss := make([]*specialist, 0, len(ids))
	for _, id := range ids {
		s := p.byID[id]
		if s == nil {
			return fmt.Errorf("pool: warm %q: %w", id, ErrUnknownSpecialist)
		}
		reqs = append(reqs, WarmRequest{ID: id, Start: s.startFn})
		ss = append(ss, s)
	}
	// Its starts are waited for: Close does not cancel them.
	for _, s := range ss {
		s.mu.Lock()
		s.warmers++
		s.mu.Unlock()
	}
	defer func() {
		for _, s := range ss {
			s.mu.Lock()
			s.warmers--
			if p.closed.Load() && s.unwanted() && s.cancelStart != nil {
				s.cancelStart()
			}
			s.mu.Unlock()
		}
	}()
	for start := 0; start < len(reqs); start += p.cfg.batchSize {
		batch := reqs[start:min(start+p.cfg.batchSize, len(reqs))]
		for i, err := range p.warm(ctx, batch) {
			if err != nil {
				return fmt.Errorf("pool: warm %q: %w", batch[i].ID, err)
			}
		}
	}
	return nil
}

// MaxWarm returns the warm cap in force.
func (p *Pool) MaxWarm() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxWarm
}

// SetMaxWarm changes the warm cap while the pool runs (migrate's
// optimisation step tunes it). Lowering it cools idle specialists at once,
// first those the policy would evict, down to the new cap; busy ones finish
// first and the cap is reached as they go idle and are chosen to make room.
// Allowed: 1 to the number of specialists.
func (p *Pool) SetMaxWarm(n int) error {
	if n < 1 || n > len(p.list) {
		return invalid("max warm", n, fmt.Sprintf("1 to the number of specialists (%d)", len(p.list)))
	}
	p.mu.Lock()
	old := p.maxWarm
	p.maxWarm = n
	over := p.held - n
	p.mu.Unlock()
	p.withPolicy(func() { p.model.SetMaxWarm(n) })
	for ; over > 0; over-- {
		if !p.evictOne(nil, false) {
			break
		}
	}
	p.signalCapacity()
	p.log.Info("max warm set", "from", old, "to", n)
	return nil
}

// SetWarmThreshold changes the warm threshold while the pool runs. Allowed:
// 0–1, and 0.2–0.6 with adaptive scaling (which goes on moving it from
// there).
func (p *Pool) SetWarmThreshold(x float64) error {
	switch {
	case x < 0 || x > 1 || x != x:
		return invalid("warm threshold", x, "0–1")
	case p.cfg.adaptiveScaling && (x < MinAdaptiveThreshold || x > MaxAdaptiveThreshold):
		return invalid("warm threshold", x, "0.2–0.6 with adaptive scaling")
	}
	old := p.WarmThreshold()
	p.threshold.Store(math.Float64bits(x))
	p.log.Info("warm threshold set", "from", old, "to", x)
	return nil
}

// WarmThreshold returns the warm threshold in force (it moves with adaptive
// scaling).
func (p *Pool) WarmThreshold() float64 { return math.Float64frombits(p.threshold.Load()) }

// withPolicy runs fn under the policy lock, released even if fn panics.
func (p *Pool) withPolicy(fn func()) {
	p.polMu.Lock()
	defer p.polMu.Unlock()
	fn()
}

// enter admits work unless Close has begun. Close first marks the pool
// closed, then waits: a task that entered before the mark is waited for.
func (p *Pool) enter() bool {
	if p.closed.Load() {
		return false
	}
	p.tasksWG.Add(1)
	if p.closed.Load() {
		p.tasksWG.Done()
		return false
	}
	return true
}

// Execute runs t on its specialist, starting the specialist first if it is
// not warm. A task naming only a department is given to the specialist the
// Balancer picks. Tasks for a specialist being started share that start.
// While waiting for a start, t counts against WithMaxQueue (ErrQueueFull
// beyond it) and ctx's end returns at once an error matching ctx.Err()
// (also wrapping ErrNoCapacity if the start was waiting for a slot held by
// busy specialists); the start goes on for the others. A task ended by its
// own ctx is counted in Stats.Canceled, not TaskErrors. A panic in the
// instance is returned as an error wrapping ErrPanic. After Close, Execute
// returns ErrClosed.
func (p *Pool) Execute(ctx context.Context, t Task) (Result, error) {
	if !p.enter() {
		return Result{}, ErrClosed
	}
	defer p.tasksWG.Done()
	s, err := p.route(t)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		p.canceledEarly.Add(1) // not in Tasks, like a rejected one
		return Result{}, err
	}
	now := p.clk.Now()
	nowN := now.UnixNano()
	w := p.useWeight(t, s)

	var waited time.Duration
	s.mu.Lock()
	warm := s.state == StateWarm || s.state == StateActive
	var inst Instance
	if warm {
		inst = p.acquireLocked(s, nowN, false)
		s.hits++
		s.mu.Unlock()
		p.observe(observation{idx: s.idx, weight: float32(w), at: nowN, hit: true})
	} else {
		s.mu.Unlock()
		// Seen before its start asks for room: the policy then evicts
		// what its leader drops for this very task.
		p.observe(observation{idx: s.idx, weight: float32(w), at: nowN})
		if inst, err = p.waitWarm(ctx, s, nowN); err != nil {
			return Result{}, err
		}
		waited = p.clk.Since(now)
	}

	res, err := p.run(ctx, s, inst, t)
	p.release(s, err, ctx)
	res.Specialist = s.spec.ID
	res.Warm = warm
	res.Waited = waited
	return res, err
}

// acquireLocked marks one more task in flight on s.
func (p *Pool) acquireLocked(s *specialist, nowN int64, late bool) Instance {
	s.tasks++
	s.inflight++
	s.setState(StateActive)
	s.lastUsed = nowN
	if s.prewarmed {
		s.prewarmed = false
		s.prewarmsUsed++
		if late {
			s.prewarmsLate++
		}
		p.noteLead(nowN - s.predicted.Load())
	}
	return s.inst
}

func (p *Pool) useWeight(t Task, s *specialist) float64 {
	if !p.cfg.priorityWeighting {
		return 1
	}
	if t.Priority != PriorityUnset {
		return t.Priority.weight()
	}
	return s.weight
}

// observe hands a task to the pool's goroutine. When the buffer is full the
// task drains it itself — at once if the policy lock is free, else after
// waiting its turn (a drain holds it for at most a few hundred tasks): so
// the policy and the Predictor see every task, and under load the tasks
// pay for what is learned from them instead of the Predictor going blind.
func (p *Pool) observe(o observation) {
	for !p.buf.push(o) {
		p.polMu.Lock()
		p.drainLocked()
		p.polMu.Unlock()
	}
	if p.parked.Load() {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	// A Predictor that falls behind is helped by the tasks, as the policy
	// is, and when it is far behind they wait their turn: it then sees
	// every task, at the cost of the tasks that help.
	switch backlog := p.predBacklog.Load(); {
	case backlog > predQueue*3/4:
		p.predMu.Lock()
		p.feedPredictorLocked()
		p.predMu.Unlock()
	case backlog > predQueue/4 && p.predMu.TryLock():
		p.feedPredictorLocked()
		p.predMu.Unlock()
	}
}

func (p *Pool) route(t Task) (*specialist, error) {
	if t.Specialist != "" {
		s := p.byID[t.Specialist]
		if s == nil {
			return nil, fmt.Errorf("pool: task for %q: %w", t.Specialist, ErrUnknownSpecialist)
		}
		if t.Department != "" && t.Department != s.spec.Department {
			if p.depts[t.Department] == nil {
				return nil, fmt.Errorf("pool: task for %q: department %q: %w", t.Specialist, t.Department, ErrUnknownDepartment)
			}
			return nil, fmt.Errorf("pool: task for %q names department %q, but it is in %q: %w", t.Specialist, t.Department, s.spec.Department, ErrInvalidTask)
		}
		if t.Priority > PriorityHigh {
			return nil, fmt.Errorf("pool: task for %q: priority %d: allowed low, medium or high: %w", t.Specialist, t.Priority, ErrInvalidTask)
		}
		return s, nil
	}
	if t.Department == "" {
		return nil, fmt.Errorf("pool: task names neither a specialist nor a department: %w", ErrInvalidTask)
	}
	if t.Priority > PriorityHigh {
		return nil, fmt.Errorf("pool: task for department %q: priority %d: allowed low, medium or high: %w", t.Department, t.Priority, ErrInvalidTask)
	}
	d := p.depts[t.Department]
	if d == nil {
		return nil, fmt.Errorf("pool: task for department %q: %w", t.Department, ErrUnknownDepartment)
	}
	if len(d.members) == 1 {
		return d.members[0], nil
	}
	// The default Balancer prefers an idle warm specialist: the one that
	// went idle last is one, unless it has been taken since.
	if p.fastPick {
		if h := d.hint.Load(); h >= 0 && State(d.members[h].stateA.Load()) == StateWarm {
			return d.members[h], nil
		}
	}
	return p.pick(d)
}

// pickCandidates is how many specialists a Balancer is offered for a task
// naming only a department: the department's held ones first (a rotating
// window of them), then others, so that Pick costs O(1) however large the
// department.
const pickCandidates = 8

func (p *Pool) pick(d *department) (*specialist, error) {
	var arr [pickCandidates]*specialist
	ss := arr[:0]
	d.mu.Lock()
	if n := len(d.held); n > 0 {
		off := int(d.tasks.Load()) % n
		for i := 0; i < n && len(ss) < pickCandidates; i++ {
			ss = append(ss, d.held[(off+i)%n])
		}
	}
	d.mu.Unlock()
	if len(ss) < pickCandidates {
		n := len(d.members)
		off := int(d.tasks.Load()) % n
		for i := 0; i < n && len(ss) < pickCandidates; i++ {
			if s := d.members[(off+i)%n]; !slices.Contains(ss, s) {
				ss = append(ss, s)
			}
		}
	}
	nowN := p.clk.Now().UnixNano()
	var carr [pickCandidates]Candidate
	cands := carr[:len(ss)]
	p.polMu.Lock()
	for i, s := range ss {
		cands[i].Score = p.model.Score(s.idx, nowN)
	}
	p.polMu.Unlock()
	for i, s := range ss {
		s.mu.Lock()
		c := &cands[i]
		c.ID, c.Department, c.State, c.Inflight = s.spec.ID, d.name, s.state, s.inflight
		if s.tasks > 0 || s.inst != nil {
			c.LastUsed = time.Unix(0, s.lastUsed)
		}
		s.mu.Unlock()
	}
	i, ok := p.callPick(d.name, cands)
	if !ok {
		i = DepartmentBalancer{}.Pick(d.name, cands)
	}
	if i < 0 || i >= len(cands) {
		return nil, fmt.Errorf("pool: balancer picked %d of %d candidates in %q: %w", i, len(cands), d.name, ErrInvalidTask)
	}
	return ss[i], nil
}

// waitWarm starts s (or joins its start) and returns its instance with the
// task counted in flight.
func (p *Pool) waitWarm(ctx context.Context, s *specialist, nowN int64) (Instance, error) {
	if p.queued.Add(1) > int64(p.cfg.maxQueue) {
		p.queued.Add(-1)
		p.rejected.Add(1)
		return nil, fmt.Errorf("pool: task for %q: %d tasks already wait: %w", s.spec.ID, p.cfg.maxQueue, ErrQueueFull)
	}
	defer p.queued.Add(-1)
	s.mu.Lock()
	s.waiting++
	s.waitingA.Add(1)
	s.misses++
	warmNow := s.state == StateWarm || s.state == StateActive
	s.mu.Unlock()
	defer s.waitingA.Add(-1)
	for attempt := 0; ; attempt++ {
		var err error
		if !warmNow { // it may have become warm since the task looked
			err = p.warm(ctx, []WarmRequest{{ID: s.spec.ID, Start: s.startFn}})[0]
		}
		warmNow = false
		s.mu.Lock()
		if s.state == StateWarm || s.state == StateActive {
			s.waiting--
			inst := p.acquireLocked(s, nowN, true)
			s.mu.Unlock()
			return inst, nil
		}
		if errors.Is(err, errNotWorth) || errors.Is(err, errNoRoom) {
			err = nil // joined a pre-warm that was declined: start on demand
		}
		if err != nil || attempt == 2 || ctx.Err() != nil {
			s.waiting--
			if p.closed.Load() && s.unwanted() && s.cancelStart != nil {
				s.cancelStart() // closing, and nobody waits for this start any more
			}
			s.tasks++
			cerr := ctx.Err()
			if cerr == nil {
				s.failures++
			} else {
				s.canceled++ // the caller's own end is not the pool's error
			}
			s.mu.Unlock()
			if cerr != nil && s.noSlot.Load() {
				err = fmt.Errorf("pool: task for %q: every warm slot is held by a busy specialist: %w: %w", s.spec.ID, ErrNoCapacity, cerr)
			}
			switch {
			case err == nil:
				err = cerr
			case cerr != nil && !errors.Is(err, cerr):
				// Counted as the caller's end: say so, and what the start did.
				err = fmt.Errorf("pool: task for %q: %w (its start: %w)", s.spec.ID, cerr, err)
			}
			if err == nil {
				err = fmt.Errorf("pool: %q did not become warm: %w", s.spec.ID, ErrStartFailed)
			}
			p.signalCapacity()
			return nil, err
		}
		s.mu.Unlock()
	}
}

// run executes the task, turning a panic into an error.
func (p *Pool) run(ctx context.Context, s *specialist, inst Instance, t Task) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = Result{}, fmt.Errorf("pool: %q: %w: %v", s.spec.ID, ErrPanic, r)
			s.mu.Lock()
			s.panics++
			s.mu.Unlock()
			p.log.Error("pool: specialist Execute panicked; recovered", "specialist", s.spec.ID, "panic", fmt.Sprint(r))
		}
	}()
	return inst.Execute(ctx, t)
}

func (p *Pool) release(s *specialist, err error, ctx context.Context) {
	s.mu.Lock()
	s.inflight--
	switch {
	case err == nil:
	case ctx.Err() != nil && !errors.Is(err, ErrPanic):
		s.canceled++ // the caller's own end is not the pool's error
	default:
		s.failures++
	}
	// When it went idle, as the pool's goroutine last read the clock: one
	// clock read per task, and the cooldown is counted from the later of
	// its task's start and this.
	s.lastUsed = max(s.lastUsed, p.coarse.Load())
	idle := s.inflight == 0
	if idle {
		s.setState(StateWarm)
	}
	s.mu.Unlock()
	if idle {
		if p.fastPick {
			s.dept.hint.Store(s.deptIdx)
		}
		if p.capWaiters.Load() > 0 {
			p.signalCapacity()
		}
	}
}

// signalCapacity wakes starts waiting for a slot.
func (p *Pool) signalCapacity() {
	if p.capWaiters.Load() == 0 {
		return
	}
	p.mu.Lock()
	close(p.capFreed)
	p.capFreed = make(chan struct{})
	p.mu.Unlock()
}

func (p *Pool) averageStart() time.Duration {
	if n := p.startCount.Load(); n > 0 {
		return time.Duration(p.startNanos.Load() / n)
	}
	return time.Second // the catalogue's reference cold start, until measured
}

// noteLead follows the mean log of the time (ns) from a used pre-warm's
// prediction to its task (weight 1/8 for the newest) and sets from it how
// long a prediction holds its specialist: four times that typical lead (the
// geometric mean, so a few late uses do not stretch it), between the
// maintenance interval and the cooldown — a wrong prediction then soon
// stops keeping a useful specialist out.
func (p *Pool) noteLead(d int64) {
	x := math.Log(float64(max(d, 1)))
	for {
		old := p.leadLog.Load()
		next := x
		if old != 0 {
			o := math.Float64frombits(old)
			next = o + (x-o)/8
		}
		if p.leadLog.CompareAndSwap(old, math.Float64bits(next)) {
			hold := min(max(time.Duration(4*math.Exp(next)), p.cfg.maintenance), p.cfg.cooldown)
			p.hold.Store(int64(hold))
			return
		}
	}
}
