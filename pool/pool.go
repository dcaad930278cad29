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
)

// Pool keeps a bounded set of specialists warm, starts the others on demand,
// and pre-warms the ones its Predictor expects. It is safe for concurrent use.
type Pool struct {
	cfg       config
	clk       clock.Clock
	log       *slog.Logger
	list      []*specialist
	byID      map[string]*specialist
	depts     map[string]*department
	deptNames []string
	maxWarm   int
	horizon   float64 // seconds ahead a warm specialist's value looks
	// lastEviction and evictionGap (seconds) follow evictions; under p.mu.
	lastEviction int64
	evictionGap  float64
	// charTime (float64 seconds bits) is the cache's characteristic time:
	// how long ago the maxWarm-th most recently asked-for specialist was
	// asked for. Refreshed by maintenance.
	charTime atomic.Uint64
	// returnRate (float64 bits) is the measured share of specialists seen
	// once that had a second task within the characteristic time, among
	// those seen at least that long ago (0 before any is).
	returnRate atomic.Uint64
	recency    []int64     // maintenance's scratch
	firsts     []firstTask // maintenance's scratch
	lastChar   time.Time
	predictor  Predictor
	workflows  WorkflowReporter // nil when the predictor detects none
	warmer     Warmer
	balancer   Balancer
	predBufs   sync.Pool
	predMu     sync.Mutex // one task at a time feeds the Predictor
	dropped    atomic.Uint64
	leadLog    atomic.Uint64 // float64 bits: mean log of the ns from a used pre-warm's prediction to its task
	hold       atomic.Int64  // how long a prediction holds its specialist's value (ns), from leadLog

	bgMu       sync.Mutex // guards bgPrewarms
	bgIdle     *sync.Cond // broadcast when bgPrewarms drops to 0
	bgPrewarms int        // pre-warm batches in flight

	// life counts tasks and starts in flight; lifeClosed marks Close.
	life       atomic.Int64
	drained    chan struct{}
	drainOnce  sync.Once
	closeOnce  sync.Once
	finishOnce sync.Once
	closeErr   error
	ctx        context.Context // lifetime of starts; ends after Close drains
	cancel     context.CancelFunc
	stopBg     chan struct{}
	bgDone     chan struct{}

	mu         sync.Mutex // guards the warm set below
	warm       []*specialist
	memUsed    int64
	capFreed   chan struct{}
	capWaiters atomic.Int32
	cands      []Candidate

	queued      atomic.Int64
	rejected    atomic.Uint64
	wasted      atomic.Uint64
	declined    atomic.Uint64
	cooled      atomic.Uint64
	evictions   atomic.Uint64
	startNanos  atomic.Int64
	startCount  atomic.Int64
	threshold   atomic.Uint64 // float64 bits
	adjustments atomic.Uint64

	nextMaint  atomic.Int64
	maintMu    sync.Mutex
	lastAdapt  time.Time
	adaptTasks uint64
	adaptHits  uint64
}

const lifeClosed = int64(1) << 62

type department struct {
	name     string
	members  []*specialist
	lastTask atomic.Int64
	tasks    atomic.Uint64
}

type specialist struct {
	spec        Spec
	dept        *department
	weight      float64 // priority weight of a use
	decay       float64 // usage decay per second
	startFn     func() error
	prewarmFn   func() error
	pending     atomic.Bool   // a pre-warm is queued or running
	expectP     atomic.Uint64 // float64 bits: predicted probability
	expectTo    atomic.Int64  // predicted until (unix ns)
	predictedAt atomic.Int64  // when the pending pre-warm was decided (unix ns)
	stateA      atomic.Int32  // mirrors state for lock-free reads

	mu        sync.Mutex
	state     State
	starting  bool // a start is under way (it may still wait for a slot)
	inst      Instance
	inflight  int
	waiting   int
	usage     float64
	usageAt   int64
	lastUsed  int64
	warmedAt  int64
	mem       int64 // bytes of the current instance
	knownMem  int64 // last measured size, else Spec.Memory
	reserved  int64 // bytes reserved in the warm set
	warmIdx   int   // index in Pool.warm, -1 when not in the warm set
	prewarmed bool  // warmed by prediction, not used yet
	lastErr   error

	arrivals     uint64  // tasks seen
	lastArrival  int64   // when the last one arrived (unix ns)
	firstArrival int64   // when the first one arrived (unix ns)
	firstGap     int64   // time from the first task to the second (ns; 0 before)
	gapMean      float64 // mean gap between tasks, seconds

	tasks, hits, misses, coldStarts, prewarms, prewarmsUsed, prewarmsLate uint64
	startFailures, failures, panics                                       uint64
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
	p := &Pool{
		cfg:      cfg,
		clk:      cfg.clock,
		log:      cfg.logger,
		byID:     make(map[string]*specialist, len(specs)),
		depts:    make(map[string]*department),
		drained:  make(chan struct{}),
		stopBg:   make(chan struct{}),
		bgDone:   make(chan struct{}),
		capFreed: make(chan struct{}),
	}
	var maxMem int64
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
		s := &specialist{spec: sp, knownMem: sp.Memory, warmIdx: -1, weight: sp.Priority.weight(), decay: cfg.usageDecay}
		s.startFn = func() error { return p.start(s, false) }
		s.prewarmFn = func() error { return p.start(s, true) }
		d := p.depts[sp.Department]
		if d == nil {
			d = &department{name: sp.Department}
			d.lastTask.Store(math.MinInt64 / 2) // never
			p.depts[sp.Department] = d
			p.deptNames = append(p.deptNames, sp.Department)
		}
		d.members = append(d.members, s)
		s.dept = d
		p.byID[sp.ID] = s
		p.list = append(p.list, s)
		maxMem = max(maxMem, sp.Memory)
	}
	slices.Sort(p.deptNames)
	if err := cfg.validate(len(specs), maxMem); err != nil {
		return nil, err
	}
	// Value looks as far ahead as the cooldown, and at least a minute.
	p.horizon = max(cfg.cooldown, 10*time.Minute).Seconds()
	p.charTime.Store(math.Float64bits(p.horizon))
	p.hold.Store(int64(max(cfg.cooldown, cfg.maintenance))) // until a lead is measured
	p.maxWarm = cfg.maxWarm
	if p.maxWarm == 0 {
		p.maxWarm = max(1, int(math.Ceil(0.2*float64(len(specs)))))
	}
	p.predictor = cfg.predictor
	if p.predictor == nil {
		var flows []Workflow
		if cfg.workflowOptimizing {
			flows = cfg.workflows
		}
		p.predictor = NewSequencePredictor(cfg.predictionWindow, cfg.workflowOptimizing, flows...)
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
	}
	p.bgIdle = sync.NewCond(&p.bgMu)
	p.predBufs.New = func() any { b := make([]Prediction, 0, 16); return &b }
	p.threshold.Store(math.Float64bits(cfg.warmThreshold))
	p.ctx, p.cancel = context.WithCancel(context.Background())
	now := p.clk.Now()
	p.lastAdapt = now
	p.nextMaint.Store(now.Add(cfg.maintenance).UnixNano())
	go p.background()
	return p, nil
}

// Wait blocks until the pre-warms begun so far have finished (started,
// declined or failed). A host rarely needs it; a simulation driving the pool
// on a virtual clock calls it after each task so that runs are reproducible.
func (p *Pool) Wait() {
	p.bgMu.Lock()
	for p.bgPrewarms > 0 {
		p.bgIdle.Wait()
	}
	p.bgMu.Unlock()
}

// Maintain runs the maintenance due at the clock's current time: cooling
// idle specialists past their cooldown and adapting the warm threshold. The
// pool runs it by itself on its clock and before tasks and snapshots; call
// it to drive a pool on a simulated clock between tasks.
func (p *Pool) Maintain() {
	now := p.clk.Now()
	if now.UnixNano() >= p.nextMaint.Load() {
		p.maintain(now)
	}
}

// Warm starts the named specialists now and waits for them (ahead of known
// demand, or to make a pool always-warm), within the warm cap like any
// start. It returns the first error, naming the specialist.
func (p *Pool) Warm(ctx context.Context, ids ...string) error {
	if !p.enterTask() {
		return ErrClosed
	}
	defer p.leave()
	reqs := make([]WarmRequest, 0, len(ids))
	for _, id := range ids {
		s := p.byID[id]
		if s == nil {
			return fmt.Errorf("pool: warm %q: %w", id, ErrUnknownSpecialist)
		}
		reqs = append(reqs, WarmRequest{ID: id, Start: s.startFn})
	}
	for start := 0; start < len(reqs); start += p.cfg.batchSize {
		batch := reqs[start:min(start+p.cfg.batchSize, len(reqs))]
		for i, err := range p.warmer.Warm(ctx, batch) {
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
// optimisation step tunes it). Lowering it cools idle specialists of lowest
// value at once, down to the new cap; busy ones finish first and the cap is
// reached as they go idle and are chosen to make room. Allowed: 1 to the
// number of specialists.
func (p *Pool) SetMaxWarm(n int) error {
	if n < 1 || n > len(p.list) {
		return invalid("max warm", n, fmt.Sprintf("1 to the number of specialists (%d)", len(p.list)))
	}
	p.mu.Lock()
	old := p.maxWarm
	p.maxWarm = n
	var out []cooling
	for len(p.warm) > p.maxWarm {
		v, _ := p.victimLocked(p.clk.Now().UnixNano(), nil)
		if v == nil {
			break
		}
		if inst, ok := p.evictLocked(v); ok {
			p.noteEvictionLocked(p.clk.Now().UnixNano())
			out = append(out, cooling{v, inst})
		}
	}
	p.mu.Unlock()
	for _, c := range out {
		p.closeInstance(c.s, c.inst, "evicted")
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

// enterTask admits a task unless Close has begun.
func (p *Pool) enterTask() bool {
	if p.life.Add(1)&lifeClosed != 0 {
		p.leave()
		return false
	}
	return true
}

// enterInternal admits pool work (a start) while anything is still in
// flight, even during Close: accepted tasks may need it.
func (p *Pool) enterInternal() bool {
	for {
		v := p.life.Load()
		if v == lifeClosed {
			return false
		}
		if p.life.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

func (p *Pool) leave() {
	if p.life.Add(-1) == lifeClosed {
		p.drainOnce.Do(func() { close(p.drained) })
	}
}

// Execute runs t on its specialist, starting the specialist first if it is
// not warm. A task naming only a department is given to the specialist the
// Balancer picks. Tasks for a specialist being started share that start.
// While waiting for a start, t counts against WithMaxQueue (ErrQueueFull
// beyond it) and ctx's end returns ctx.Err() at once; the start goes on for
// the others. A panic in the instance is returned as an error wrapping
// ErrPanic. After Close, Execute returns ErrClosed.
func (p *Pool) Execute(ctx context.Context, t Task) (Result, error) {
	if !p.enterTask() {
		return Result{}, ErrClosed
	}
	defer p.leave()
	s, err := p.route(t)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	now := p.clk.Now()
	nowN := now.UnixNano()
	if nowN >= p.nextMaint.Load() {
		p.maintain(now)
	}
	w := p.useWeight(t, s)

	var waited time.Duration
	s.mu.Lock()
	warm := s.state == StateWarm || s.state == StateActive
	var inst Instance
	if warm {
		inst = p.acquireLocked(s, nowN, w, false)
		s.hits++
		s.mu.Unlock()
	} else {
		s.mu.Unlock()
		if inst, err = p.waitWarm(ctx, s, nowN, w); err != nil {
			return Result{}, err
		}
		waited = p.clk.Since(now)
	}
	s.dept.lastTask.Store(nowN)
	s.dept.tasks.Add(1)
	p.predict(now, s)

	res, err := p.run(ctx, s, inst, t)
	p.release(s, err)
	res.Specialist = s.spec.ID
	res.Warm = warm
	res.Waited = waited
	return res, err
}

// acquireLocked records a use and marks one more task in flight.
func (p *Pool) acquireLocked(s *specialist, nowN int64, w float64, late bool) Instance {
	s.noteArrival(nowN)
	s.tasks++
	s.inflight++
	s.setState(StateActive)
	s.addUsage(nowN, w)
	if s.prewarmed {
		s.prewarmed = false
		s.prewarmsUsed++
		if late {
			s.prewarmsLate++
		}
		p.noteLead(nowN - s.predictedAt.Load())
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

func (s *specialist) addUsage(nowN int64, w float64) {
	// Decay is applied lazily at each use: u ← u·e^(−rate·Δt) + w.
	if s.usage != 0 {
		s.usage *= math.Exp(-s.decay * float64(nowN-s.usageAt) / 1e9)
	}
	s.usage += w
	s.usageAt = nowN
}

// score is the usage score in [0, 1): 1 − e^(−u), u the decayed weighted
// use count. One high-priority use scores 0.63, three 0.95.
func (s *specialist) scoreLocked(nowN int64) float64 {
	u := s.usage
	if u == 0 {
		return 0
	}
	if dt := nowN - s.usageAt; dt > 0 {
		u *= math.Exp(-s.decay * float64(dt) / 1e9)
	}
	return 1 - math.Exp(-u)
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
	d := p.depts[t.Department]
	if d == nil {
		return nil, fmt.Errorf("pool: task for department %q: %w", t.Department, ErrUnknownDepartment)
	}
	if len(d.members) == 1 {
		return d.members[0], nil
	}
	now := p.clk.Now().UnixNano()
	cands := make([]Candidate, len(d.members))
	for i, s := range d.members {
		s.mu.Lock()
		cands[i] = Candidate{ID: s.spec.ID, Department: d.name, State: s.state, Inflight: s.inflight, Score: s.scoreLocked(now)}
		if s.tasks > 0 || s.inst != nil {
			cands[i].LastUsed = time.Unix(0, s.lastUsed)
		}
		s.mu.Unlock()
	}
	i := p.balancer.Pick(d.name, cands)
	if i < 0 || i >= len(d.members) {
		return nil, fmt.Errorf("pool: balancer picked %d of %d specialists in %q: %w", i, len(d.members), d.name, ErrInvalidTask)
	}
	return d.members[i], nil
}

// waitWarm starts s (or joins its start) and returns its instance with the
// task counted in flight.
func (p *Pool) waitWarm(ctx context.Context, s *specialist, nowN int64, w float64) (Instance, error) {
	if p.queued.Add(1) > int64(p.cfg.maxQueue) {
		p.queued.Add(-1)
		p.rejected.Add(1)
		return nil, fmt.Errorf("pool: task for %q: %d tasks already wait: %w", s.spec.ID, p.cfg.maxQueue, ErrQueueFull)
	}
	defer p.queued.Add(-1)
	s.mu.Lock()
	s.waiting++
	s.misses++
	s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		err := p.warmer.Warm(ctx, []WarmRequest{{ID: s.spec.ID, Start: s.startFn}})[0]
		s.mu.Lock()
		if s.state == StateWarm || s.state == StateActive {
			s.waiting--
			inst := p.acquireLocked(s, nowN, w, true)
			s.mu.Unlock()
			return inst, nil
		}
		if errors.Is(err, errNotWorth) || errors.Is(err, errNoRoom) {
			err = nil // joined a pre-warm that was declined: start on demand
		}
		if err != nil || attempt == 2 || ctx.Err() != nil {
			s.waiting--
			s.tasks++
			s.failures++
			s.mu.Unlock()
			if err == nil {
				err = ctx.Err()
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
		}
	}()
	return inst.Execute(ctx, t)
}

func (p *Pool) release(s *specialist, err error) {
	nowN := p.clk.Now().UnixNano()
	s.mu.Lock()
	s.inflight--
	if err != nil {
		s.failures++
	}
	s.lastUsed = nowN
	idle := s.inflight == 0
	if idle {
		s.setState(StateWarm)
	}
	s.mu.Unlock()
	if idle && p.capWaiters.Load() > 0 {
		p.signalCapacity()
	}
}

// signalCapacity wakes starts waiting for a warm slot.
func (p *Pool) signalCapacity() {
	if p.capWaiters.Load() == 0 {
		return
	}
	p.mu.Lock()
	close(p.capFreed)
	p.capFreed = make(chan struct{})
	p.mu.Unlock()
}

// predict feeds the Predictor and pre-warms what it expects.
func (p *Pool) predict(now time.Time, s *specialist) {
	// The task sequence is one global order, so the Predictor is fed one
	// task at a time. A task that finds another feeding it does not wait:
	// its observation is dropped (and counted) — tasks that arrive together
	// have no order to learn anyway, and the warm path stays free of a
	// shared wait.
	if !p.predMu.TryLock() {
		p.dropped.Add(1)
		return
	}
	bp := p.predBufs.Get().(*[]Prediction)
	preds := p.predictor.Observe(now, s.spec.ID, s.spec.Department, (*bp)[:0])
	p.predMu.Unlock()
	until := now.UnixNano() + p.hold.Load() // see noteLead
	var batch []*specialist
	for _, pr := range preds {
		c := p.byID[pr.ID]
		if c == nil || c == s || pr.Probability < p.cfg.prewarmMinProb {
			continue
		}
		// Compare before storing: other cores read these lines on their own
		// hot paths, and most predictions repeat the last one.
		if bits := math.Float64bits(pr.Probability); c.expectP.Load() != bits {
			c.expectP.Store(bits)
		}
		if c.expectTo.Load() < until-int64(p.cfg.maintenance) {
			c.expectTo.Store(until)
		}
		if st := State(c.stateA.Load()); (st == StateCold || st == StateError) && c.pending.CompareAndSwap(false, true) {
			c.predictedAt.Store(now.UnixNano())
			batch = append(batch, c)
		}
	}
	*bp = preds[:0]
	p.predBufs.Put(bp)
	if len(batch) > 0 {
		p.prewarm(batch)
	}
}

func (p *Pool) prewarm(batch []*specialist) {
	if !p.enterTask() {
		for _, c := range batch {
			c.pending.Store(false)
		}
		return
	}
	p.bgMu.Lock()
	p.bgPrewarms++
	p.bgMu.Unlock()
	go func() {
		defer p.leave()
		defer func() {
			p.bgMu.Lock()
			p.bgPrewarms--
			if p.bgPrewarms == 0 {
				p.bgIdle.Broadcast()
			}
			p.bgMu.Unlock()
		}()
		for len(batch) > 0 {
			n := min(len(batch), p.cfg.batchSize)
			reqs := make([]WarmRequest, n)
			for i, c := range batch[:n] {
				reqs[i] = WarmRequest{ID: c.spec.ID, Start: c.prewarmFn}
			}
			p.warmer.Warm(p.ctx, reqs)
			for _, c := range batch[:n] {
				c.pending.Store(false)
			}
			batch = batch[n:]
		}
	}()
}

// errNotWorth and errNoRoom end a pre-warm that would cost more than it
// promises; no task sees them.
var (
	errNotWorth = errors.New("pre-warm not worth its eviction")
	errNoRoom   = errors.New("no idle warm specialist to make room")
)

// start brings s up: reserve a warm slot (evicting if needed), run
// Spec.Start, record the instance. It runs inside the Warmer.
func (p *Pool) start(s *specialist, prewarm bool) error {
	if !p.enterInternal() {
		return ErrClosed
	}
	defer p.leave()
	s.mu.Lock()
	switch s.state {
	case StateWarm, StateActive:
		s.mu.Unlock()
		return nil
	}
	if s.starting {
		// Only a Warmer without singleflight gets here.
		s.mu.Unlock()
		return fmt.Errorf("pool: %q is already starting: %w", s.spec.ID, ErrStartFailed)
	}
	if prewarm && s.waiting > 0 {
		prewarm = false // a task waits: this is its start now
	}
	s.starting = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.starting = false
		s.mu.Unlock()
	}()

	if err := p.reserve(s, prewarm); err != nil {
		p.declined.Add(1)
		p.emit(Event{Kind: EventPrewarmDeclined, Specialist: s.spec.ID, Department: s.spec.Department,
			Probability: math.Float64frombits(s.expectP.Load()), Reason: err.Error()})
		return err
	}
	s.mu.Lock()
	if prewarm {
		s.prewarms++
	} else {
		s.coldStarts++
	}
	s.mu.Unlock()
	if prewarm {
		p.emit(Event{Kind: EventPrewarm, Specialist: s.spec.ID, Department: s.spec.Department, Probability: math.Float64frombits(s.expectP.Load())})
	}

	begin := p.clk.Now()
	inst, err := safeStart(p.ctx, s.spec.Start)
	took := p.clk.Since(begin)
	if err != nil {
		p.mu.Lock() // leave the warm set and warming together
		p.removeWarmLocked(s)
		s.mu.Lock()
		s.setState(StateError)
		s.lastErr = err
		s.startFailures++
		s.mu.Unlock()
		p.mu.Unlock()
		p.signalCapacity()
		err = fmt.Errorf("pool: start %q: %w: %w", s.spec.ID, ErrStartFailed, err)
		p.log.Warn("specialist start failed", "specialist", s.spec.ID, "err", err)
		p.emit(Event{Kind: EventStartFailed, Specialist: s.spec.ID, Department: s.spec.Department, Duration: took, Err: err})
		return err
	}
	mem := s.spec.Memory
	if sz, ok := inst.(Sizer); ok {
		mem = sz.MemoryBytes()
	}
	p.startNanos.Add(int64(took))
	p.startCount.Add(1)
	nowN := p.clk.Now().UnixNano()
	p.mu.Lock()
	p.memUsed += mem - s.reserved
	s.reserved = mem
	over := p.overBudgetLocked(s)
	p.mu.Unlock()
	for _, o := range over {
		p.closeInstance(o.s, o.inst, "evicted")
	}
	s.mu.Lock()
	s.inst = inst
	s.mem = mem
	s.knownMem = mem
	s.warmedAt = nowN
	s.lastUsed = nowN
	s.prewarmed = prewarm
	s.lastErr = nil
	s.setState(StateWarm)
	s.mu.Unlock()
	p.log.Debug("specialist started", "specialist", s.spec.ID, "took", took, "prewarm", prewarm)
	p.emit(Event{Kind: EventStarted, Specialist: s.spec.ID, Department: s.spec.Department, Duration: took, Prewarm: prewarm})
	return nil
}

func safeStart(ctx context.Context, start func(context.Context) (Instance, error)) (inst Instance, err error) {
	defer func() {
		if r := recover(); r != nil {
			inst, err = nil, fmt.Errorf("%w: %v", ErrPanic, r)
		}
	}()
	inst, err = start(ctx)
	if err == nil && inst == nil {
		err = errors.New("start returned a nil instance")
	}
	return inst, err
}

// reserve takes a warm slot and memory for s, evicting idle specialists of
// lower value. A demand start waits for a slot when every warm specialist is
// busy; a pre-warm gives up instead, and also when its victim is worth more.
func (p *Pool) reserve(s *specialist, prewarm bool) error {
	need := max(s.knownMem, 0)
	p.mu.Lock()
	for {
		if len(p.warm) < p.maxWarm && (p.cfg.memoryBudget == 0 || p.memUsed+need <= p.cfg.memoryBudget) {
			s.warmIdx = len(p.warm)
			p.warm = append(p.warm, s)
			p.memUsed += need
			s.reserved = need
			s.mu.Lock()
			s.setState(StateWarming) // warming holds its slot
			s.mu.Unlock()
			p.mu.Unlock()
			return nil
		}
		now := p.clk.Now().UnixNano()
		v, vValue := p.victimLocked(now, s)
		if prewarm && s.hasWaiters() {
			prewarm = false // a task joined this start: it is a demand start now
		}
		if v == nil {
			if prewarm {
				p.mu.Unlock()
				return errNoRoom
			}
			ch := p.capFreed
			p.capWaiters.Add(1)
			p.mu.Unlock()
			<-ch
			p.capWaiters.Add(-1)
			p.mu.Lock()
			continue
		}
		if prewarm {
			s.mu.Lock()
			mine := p.valueLocked(s, now)
			s.mu.Unlock()
			if mine <= vValue {
				p.mu.Unlock()
				return errNotWorth
			}
		}
		inst, ok := p.evictLocked(v)
		if !ok {
			continue // it got a task meanwhile: choose again
		}
		p.noteEvictionLocked(now)
		p.mu.Unlock()
		p.closeInstance(v, inst, "evicted")
		p.mu.Lock()
	}
}

func (s *specialist) hasWaiters() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting > 0
}

type cooling struct {
	s    *specialist
	inst Instance
}

// overBudgetLocked restores the memory budget after a start measured more
// than it reserved, by evicting idle specialists other than s (their
// instances are returned for closing outside the lock). When no idle one is
// left the pool stays over budget until one is.
func (p *Pool) overBudgetLocked(s *specialist) []cooling {
	var out []cooling
	for p.cfg.memoryBudget > 0 && p.memUsed > p.cfg.memoryBudget {
		v, _ := p.victimLocked(p.clk.Now().UnixNano(), s)
		if v == nil {
			break
		}
		if inst, ok := p.evictLocked(v); ok {
			p.noteEvictionLocked(p.clk.Now().UnixNano())
			out = append(out, cooling{v, inst})
		}
	}
	return out
}

// noteArrival updates the mean gap between s's tasks (an exponentially
// weighted mean, weight 1/4 for the newest gap).
func (s *specialist) noteArrival(nowN int64) {
	if s.arrivals > 0 && nowN > s.lastArrival {
		gap := float64(nowN-s.lastArrival) / 1e9
		if s.gapMean == 0 {
			s.gapMean = gap
		} else {
			s.gapMean = 0.75*s.gapMean + 0.25*gap
		}
	}
	if s.arrivals == 0 {
		s.firstArrival = nowN
	}
	if s.arrivals == 1 {
		s.firstGap = max(nowN-s.firstArrival, 1)
	}
	s.arrivals++
	s.lastArrival = nowN
}

// reuseLocked is the probability that s gets a task within the horizon h
// seconds, were its tasks a Poisson stream. Its mean gap is the recent one
// (weighted mean) or the long-run one (time since its first task per task),
// whichever is shorter — a few long gaps in a row do not make a popular
// specialist rare — but at least half the time since its last task: one
// long overdue is less and less likely to come back soon. A specialist seen
// once has no gap yet: the time since its task stands in, floored at h.
func (s *specialist) reuseLocked(nowN int64, h float64) float64 {
	if s.arrivals == 0 {
		return 0
	}
	since := float64(nowN-s.lastArrival) / 1e9
	gap := max(since, h)
	if s.arrivals >= 2 {
		long := float64(nowN-s.firstArrival) / 1e9 / float64(s.arrivals)
		gap = max(min(s.gapMean, long), since/2)
	}
	if gap <= 0 {
		return 1
	}
	return 1 - math.Exp(-h/gap)
}

// rhythmLocked is reuseLocked for a specialist with a measured rhythm (at
// least two tasks at different times). A specialist seen once has no rhythm
// of its own: until h has passed since its task, the workload's measured
// return rate of such specialists (ret) stands in, else 0.
func (s *specialist) rhythmLocked(nowN int64, h, ret float64) float64 {
	if s.arrivals == 1 && float64(nowN-s.lastArrival)/1e9 < h {
		return ret
	}
	if s.arrivals < 2 || s.gapMean == 0 {
		return 0
	}
	return s.reuseLocked(nowN, h)
}

// noteEvictionLocked counts an eviction and follows the mean time between
// evictions (weight 1/8 for the newest).
func (p *Pool) noteEvictionLocked(nowN int64) {
	p.evictions.Add(1)
	if p.lastEviction != 0 && nowN > p.lastEviction {
		gap := float64(nowN-p.lastEviction) / 1e9
		if p.evictionGap == 0 {
			p.evictionGap = gap
		} else {
			p.evictionGap += (gap - p.evictionGap) / 8
		}
	}
	p.lastEviction = nowN
}

// evictionHorizonLocked is how far ahead a warm specialist's value looks
// when the warm set is full: about the time a slot stays with one
// specialist — the warm cap times the mean time between evictions (the
// characteristic time of the cache) — never less than the cooldown horizon
// rules use below, never more than a day. A specialist likely back within
// it is worth its slot; one that is not will be evicted before it returns.
func (p *Pool) evictionHorizonLocked() float64 {
	if p.evictionGap == 0 {
		return p.horizon
	}
	return min(max(float64(p.maxWarm)*p.evictionGap, p.cfg.cooldown.Seconds(), 1), 86400)
}

// valueLocked is what keeping s warm is worth: the probability it is needed
// soon times the cold start it would save (per byte held when a memory
// budget is set: then bytes are what is scarce). Its own history gives the
// larger of its usage score and its chance of a task within the horizon
// (two readings of the same past); while the Predictor expects it, that
// prediction is independent evidence and the two combine: 1 − (1 − own) ×
// (1 − predicted).
func (p *Pool) valueLocked(s *specialist, nowN int64) float64 {
	keep := max(s.scoreLocked(nowN), s.reuseLocked(nowN, p.evictionHorizonLocked()))
	if s.expectTo.Load() > nowN {
		keep = 1 - (1-keep)*(1-math.Float64frombits(s.expectP.Load()))
	}
	cost := s.spec.ColdStart
	if cost == 0 {
		cost = p.averageStart()
	}
	v := keep * float64(max(cost, time.Millisecond))
	if p.cfg.memoryBudget > 0 {
		// Under a byte budget what is kept is measured in bytes.
		v /= float64(max(s.knownMem, 1))
	}
	return v
}

func (p *Pool) averageStart() time.Duration {
	if n := p.startCount.Load(); n > 0 {
		return time.Duration(p.startNanos.Load() / n)
	}
	return time.Second // the catalogue's reference cold start, until measured
}

// victimLocked asks the Balancer which idle warm specialist to cool.
func (p *Pool) victimLocked(nowN int64, except *specialist) (*specialist, float64) {
	cands := p.cands[:0]
	idx := make([]int, 0, len(p.warm))
	for i, v := range p.warm {
		if v == except {
			continue
		}
		v.mu.Lock()
		if v.state == StateWarm && v.inflight == 0 && v.waiting == 0 {
			cands = append(cands, Candidate{
				ID: v.spec.ID, Department: v.spec.Department, State: v.state,
				Score: v.scoreLocked(nowN), Value: p.valueLocked(v, nowN),
				LastUsed: time.Unix(0, v.lastUsed),
			})
			idx = append(idx, i)
		}
		v.mu.Unlock()
	}
	p.cands = cands
	if len(cands) == 0 {
		return nil, 0
	}
	warmByDept := make(map[string]int, len(p.depts))
	for _, v := range p.warm {
		warmByDept[v.spec.Department]++
	}
	var all uint64
	for _, d := range p.depts {
		all += d.tasks.Load()
	}
	for i := range cands {
		c := &cands[i]
		d := p.depts[c.Department]
		c.DepartmentWarm = warmByDept[c.Department]
		c.DepartmentIdle = time.Duration(nowN - d.lastTask.Load())
		if all > 0 {
			c.DepartmentSlots = float64(p.maxWarm) * float64(d.tasks.Load()) / float64(all)
		}
	}
	i := p.balancer.Victim(cands)
	if i < 0 || i >= len(cands) {
		i = 0
	}
	return p.warm[idx[i]], cands[i].Value
}

// evictLocked takes v out of the warm set if it is still idle (a task may
// have taken it since it was chosen: the hot path does not hold p.mu) and
// returns its instance for closing outside the lock.
func (p *Pool) evictLocked(v *specialist) (Instance, bool) {
	v.mu.Lock()
	if v.state != StateWarm || v.inflight != 0 || v.waiting != 0 {
		v.mu.Unlock()
		return nil, false
	}
	inst := v.takeLocked(p)
	v.mu.Unlock()
	p.removeWarmLocked(v)
	return inst, true
}

// takeLocked moves s to cooling and hands over its instance.
func (s *specialist) takeLocked(p *Pool) Instance {
	inst := s.inst
	s.inst = nil
	s.mem = 0
	s.setState(StateCooling)
	if s.prewarmed {
		s.prewarmed = false
		p.wasted.Add(1)
	}
	return inst
}

func (p *Pool) removeWarmLocked(s *specialist) {
	if s.warmIdx < 0 {
		return
	}
	last := len(p.warm) - 1
	p.warm[s.warmIdx] = p.warm[last]
	p.warm[s.warmIdx].warmIdx = s.warmIdx
	p.warm[last] = nil
	p.warm = p.warm[:last]
	s.warmIdx = -1
	p.memUsed -= s.reserved
	s.reserved = 0
}

func (p *Pool) closeInstance(s *specialist, inst Instance, reason string) {
	var err error
	if inst != nil {
		err = safeClose(inst)
	}
	s.mu.Lock()
	if s.state == StateCooling { // a new start may already be under way
		s.setState(StateCold)
	}
	s.mu.Unlock()
	p.cooled.Add(1)
	if err != nil {
		p.log.Warn("specialist close failed", "specialist", s.spec.ID, "err", err)
	}
	p.log.Debug("specialist cooled", "specialist", s.spec.ID, "reason", reason)
	p.emit(Event{Kind: EventCooled, Specialist: s.spec.ID, Department: s.spec.Department, Reason: reason, Err: err})
}

func safeClose(inst Instance) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: close: %v", ErrPanic, r)
		}
	}()
	return inst.Close()
}

func (p *Pool) emit(e Event) {
	if p.cfg.observer == nil {
		return
	}
	if e.At.IsZero() {
		e.At = p.clk.Now()
	}
	p.cfg.observer(e)
}

// noteLead follows the mean log of the time (ns) from a used pre-warm's
// prediction to its task (weight 1/8 for the newest) and sets from it how
// long a prediction holds its specialist's value: four times that typical
// lead (the geometric mean, so a few late uses do not stretch it), between
// the maintenance interval and the cooldown — a wrong prediction then soon
// stops keeping a useful specialist out. Computed here, once per used
// pre-warm, rather than on every task.
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
