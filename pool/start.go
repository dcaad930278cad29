package pool

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// errNotWorth and errNoRoom end a pre-warm that would cost more than it
// promises; no task sees them.
var (
	errNotWorth = errors.New("pre-warm not worth its eviction")
	errNoRoom   = errors.New("no idle warm specialist to make room")
)

// warm runs a batch through the Warmer. A Warmer that panics is recovered
// (counted and logged) and the batch is started directly instead, so the
// pool goes on working.
func (p *Pool) warm(ctx context.Context, batch []WarmRequest) (errs []error) {
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("Warmer.Warm", r)
			errs = make([]error, len(batch))
			for i, req := range batch {
				errs[i] = req.Start()
			}
		}
	}()
	errs = p.warmer.Warm(ctx, batch)
	if len(errs) != len(batch) {
		out := make([]error, len(batch))
		copy(out, errs)
		for i := len(errs); i < len(batch); i++ {
			out[i] = fmt.Errorf("pool: warmer returned %d results for %d starts: %w", len(errs), len(batch), ErrStartFailed)
		}
		errs = out
	}
	return errs
}

// start brings s up: reserve a slot (evicting if needed), run Spec.Start,
// record the instance. It runs inside the Warmer.
func (p *Pool) start(s *specialist, prewarm bool) error {
	if !p.starts.add() {
		return ErrClosed
	}
	defer p.starts.done()
	if p.ctx.Err() != nil {
		return ErrClosed
	}
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
	if p.closed.Load() && s.unwanted() {
		s.mu.Unlock()
		return ErrClosed // closing, and nobody waits for this start
	}
	ctx, cancel := context.WithCancel(p.ctx)
	s.starting = true
	s.cancelStart = cancel
	closing := s.closing
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		s.starting = false
		s.cancelStart = nil
		s.mu.Unlock()
	}()
	if closing != nil {
		// Its previous instance is still closing: it holds its slot until
		// then, and a specialist has one instance at a time.
		select {
		case <-closing:
		case <-ctx.Done():
			return fmt.Errorf("pool: start %q: %w: %w", s.spec.ID, ErrClosed, ctx.Err())
		}
	}

	if err := p.reserve(ctx, s, prewarm); err != nil {
		if errors.Is(err, errNotWorth) || errors.Is(err, errNoRoom) {
			p.declined.Add(1)
			p.emit(Event{Kind: EventPrewarmDeclined, Specialist: s.spec.ID, Department: s.spec.Department,
				Probability: math.Float64frombits(s.expectP.Load()), Reason: err.Error()})
		}
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
	p.lastStart.Store(begin.UnixNano())
	inst, err, panicked := safeStart(ctx, s.spec.Start)
	took := p.clk.Since(begin)
	if panicked {
		p.startPanics.Add(1)
		p.log.Error("pool: specialist Start panicked; recovered", "specialist", s.spec.ID, "err", err)
	}
	if err != nil {
		s.mu.Lock()
		bytes := s.reserved
		s.reserved = 0
		s.setState(StateError)
		s.lastErr = err
		s.startFailures++
		s.mu.Unlock()
		p.leaveWarmSet(s)
		p.freeSlot(s, bytes)
		err = fmt.Errorf("pool: start %q: %w: %w", s.spec.ID, ErrStartFailed, err)
		p.log.Warn("specialist start failed", "specialist", s.spec.ID, "err", err)
		p.emit(Event{Kind: EventStartFailed, Specialist: s.spec.ID, Department: s.spec.Department, Duration: took, Err: err})
		return err
	}
	mem := p.sizeOf(s.spec.Memory, inst)
	p.startNanos.Add(int64(took))
	p.startCount.Add(1)
	nowN := p.clk.Now().UnixNano()
	p.mu.Lock()
	s.mu.Lock()
	p.memUsed += mem - s.reserved
	s.reserved = mem
	s.inst = inst
	s.mem = mem
	s.knownMem = mem
	s.warmedAt = nowN
	s.lastUsed = nowN
	s.prewarmed = prewarm
	s.lastErr = nil
	s.setState(StateWarm)
	s.mu.Unlock()
	over := p.cfg.memoryBudget > 0 && p.memUsed > p.cfg.memoryBudget
	p.mu.Unlock()
	p.polMu.Lock()
	p.model.SetSize(s.idx, mem)
	p.scheduleLocked(s, nowN+int64(p.cfg.cooldown))
	p.polMu.Unlock()
	if over {
		// The instance measured more than was reserved: evict others until
		// the budget holds again (or none is idle).
		for p.overBudget() && p.evictOne(s, false) {
		}
	}
	// Idle until a task takes it: a start waiting for a slot may evict it
	// (one whose callers gave up would otherwise be found only by the next
	// slot given back).
	p.signalCapacity()
	p.log.Debug("specialist started", "specialist", s.spec.ID, "took", took, "prewarm", prewarm)
	p.emit(Event{Kind: EventStarted, Specialist: s.spec.ID, Department: s.spec.Department, Duration: took, Prewarm: prewarm})
	return nil
}

func (p *Pool) overBudget() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cfg.memoryBudget > 0 && p.memUsed > p.cfg.memoryBudget
}

// sizeOf is the instance's own measure when it is a Sizer (a panic there
// is recovered, counted and logged: def stands in), else def.
func (p *Pool) sizeOf(def int64, inst Instance) (mem int64) {
	mem = def
	sz, ok := inst.(Sizer)
	if !ok {
		return mem
	}
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("Sizer.MemoryBytes", r)
			mem = def
		}
	}()
	if m := sz.MemoryBytes(); m >= 0 {
		mem = m
	}
	return mem
}

func safeStart(ctx context.Context, start func(context.Context) (Instance, error)) (inst Instance, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			inst, err, panicked = nil, fmt.Errorf("%w: %v", ErrPanic, r), true
		}
	}()
	inst, err = start(ctx)
	if err == nil && inst == nil {
		err = errors.New("start returned a nil instance")
	}
	return inst, err, false
}

// reserve takes a slot and memory for s, evicting idle specialists the
// policy chooses. A demand start waits for a slot when every held
// specialist is busy; a pre-warm gives up instead, and also when its victim
// is worth more than it.
func (p *Pool) reserve(ctx context.Context, s *specialist, prewarm bool) error {
	need := max(s.knownMem, 0)
	for {
		p.mu.Lock()
		if p.held < p.maxWarm && (p.cfg.memoryBudget == 0 || p.memUsed+need <= p.cfg.memoryBudget) {
			p.held++
			p.memUsed += need
			s.mu.Lock()
			s.reserved = need
			s.setState(StateWarming) // warming holds its slot
			s.mu.Unlock()
			p.mu.Unlock()
			p.enterWarmSet(s)
			return nil
		}
		ch := p.capFreed
		p.capWaiters.Add(1)
		p.mu.Unlock()
		if prewarm && s.hasWaiters() {
			prewarm = false // a task joined this start: it is a demand start now
		}
		evicted, err := p.evictFor(s, prewarm)
		if err != nil || evicted {
			p.capWaiters.Add(-1)
			if err != nil {
				return err
			}
			continue
		}
		if prewarm {
			p.capWaiters.Add(-1)
			return errNoRoom
		}
		s.noSlot.Store(true)
		select {
		case <-ch:
			s.noSlot.Store(false)
		case <-ctx.Done():
			s.noSlot.Store(false)
			p.capWaiters.Add(-1)
			return fmt.Errorf("pool: start %q: every warm slot is held by a busy specialist: %w: %w", s.spec.ID, ErrNoCapacity, ctx.Err())
		}
		p.capWaiters.Add(-1)
	}
}

// unwanted reports whether no task and no Warm call waits for s's start;
// under s.mu.
func (s *specialist) unwanted() bool { return s.waiting == 0 && s.warmers == 0 }

func (s *specialist) hasWaiters() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waiting > 0
}

// victimCandidates is how many eviction candidates the policy offers the
// Balancer: enough for it to spare a department, few enough that an
// eviction is O(1).
const victimCandidates = 8

// evictFor evicts one idle held specialist to make room for s and reports
// whether it did. For a pre-warm it returns errNotWorth when the victim is
// one the policy's leader would keep and is worth more than s's
// prediction.
func (p *Pool) evictFor(s *specialist, prewarm bool) (bool, error) {
	nowN := p.clk.Now().UnixNano()
	var carr [victimCandidates]Candidate
	var keep [victimCandidates]bool
	var varr [victimCandidates]int32
	p.polMu.Lock()
	vs := append(varr[:0], p.victimsLocked(s, nowN)...) // the model's buffer is shared
	cands := carr[:len(vs)]
	for i, k := range vs {
		v := p.list[k]
		keep[i] = p.model.LeaderHolds(k)
		cands[i] = Candidate{
			ID: v.spec.ID, Department: v.spec.Department, State: StateWarm,
			Score: p.model.Score(k, nowN), Value: p.valueLocked(v, nowN),
		}
	}
	mine, theirs := 0.0, [victimCandidates]float64{}
	if prewarm {
		// Over the time a prediction holds: the chance the predicted one
		// is used then, against each candidate's chance of a task then.
		h := p.hold.Load()
		mine = p.worthLocked(s, nowN, h, true)
		for i, k := range vs {
			theirs[i] = p.worthLocked(p.list[k], nowN, h, false)
		}
	}
	p.polMu.Unlock()
	if len(vs) == 0 {
		return false, nil
	}
	for i, k := range vs {
		p.describeVictim(&cands[i], p.list[k], nowN)
	}
	i, ok := p.callVictim(cands)
	if !ok || i < 0 || i >= len(cands) {
		i = 0 // the policy's own first choice
	}
	if prewarm && keep[i] && mine <= theirs[i] {
		return false, errNotWorth
	}
	// The chosen one may have got a task since: then the others, in order.
	if p.evict(p.list[vs[i]], "evicted") {
		return true, nil
	}
	for j, k := range vs {
		if j != i && !(prewarm && keep[j] && mine <= theirs[j]) && p.evict(p.list[k], "evicted") {
			return true, nil
		}
	}
	return false, nil
}

// victimsLocked asks the model for idle held specialists to evict,
// sparing those a prediction expects while others exist: a prediction is
// evidence the leader, which sees only tasks, does not have.
func (p *Pool) victimsLocked(except *specialist, nowN int64) []int32 {
	p.drainLocked() // the model sees every task so far (the one asking too): it then drops what it would
	idle := func(k int32) bool {
		v := p.list[k]
		return v != except && State(v.stateA.Load()) == StateWarm && v.waitingA.Load() == 0
	}
	vs := p.model.Victims(p.victimBuf[:0], victimCandidates, func(k int32) bool {
		return idle(k) && p.list[k].expectTo.Load() <= nowN
	})
	if len(vs) == 0 {
		vs = p.model.Victims(vs, victimCandidates, idle)
	}
	p.victimBuf = vs
	return vs
}

// describeVictim fills what a Balancer needs to know of v's department.
func (p *Pool) describeVictim(c *Candidate, v *specialist, nowN int64) {
	d := v.dept
	d.mu.Lock()
	c.DepartmentWarm = len(d.held)
	d.mu.Unlock()
	c.DepartmentIdle = time.Duration(nowN - d.lastTask.Load())
	if all := p.allTasks(); all > 0 {
		c.DepartmentSlots = float64(p.MaxWarm()) * float64(d.tasks.Load()) / float64(all)
	}
	v.mu.Lock()
	c.LastUsed = time.Unix(0, v.lastUsed)
	v.mu.Unlock()
}

// allTasks is the number of tasks the pool's goroutine has taken in.
func (p *Pool) allTasks() uint64 { return p.seen.Load() }

// valueLocked is what keeping s warm is worth: the chance it is needed
// soon times the cold start it would save (per byte held under a memory
// budget: then bytes are what is scarce). Its own history gives the larger
// of its usage score and its chance of a task within the policy's horizon;
// while the Predictor expects it, that prediction is independent evidence
// and the two combine: 1 − (1 − own) × (1 − predicted).
func (p *Pool) valueLocked(s *specialist, nowN int64) float64 {
	k := s.idx
	own := max(p.model.Score(k, nowN), p.model.Reuse(k, nowN, p.model.Horizon()))
	if s.expectTo.Load() > nowN {
		own = 1 - (1-own)*(1-math.Float64frombits(s.expectP.Load()))
	}
	cost := s.spec.ColdStart
	if cost == 0 {
		cost = p.averageStart()
	}
	v := own * float64(max(cost, time.Millisecond))
	if p.cfg.memoryBudget > 0 {
		v /= float64(max(s.knownMem, 1))
	}
	return v
}

// worthLocked is the cold-start time keeping s warm over the next h ns
// saves: its chance of a task within h, combined, for a pre-warm, with the
// prediction as independent evidence (1 − (1 − own)(1 − predicted)); per
// byte under a memory budget.
func (p *Pool) worthLocked(s *specialist, nowN, h int64, predicted bool) float64 {
	own := p.model.Reuse(s.idx, nowN, h)
	if predicted {
		own = 1 - (1-own)*(1-math.Float64frombits(s.expectP.Load()))
	}
	cost := s.spec.ColdStart
	if cost == 0 {
		cost = p.averageStart()
	}
	v := own * float64(max(cost, time.Millisecond))
	if p.cfg.memoryBudget > 0 {
		v /= float64(max(s.knownMem, 1))
	}
	return v
}

// evictOne evicts the policy's first idle choice other than except and
// reports whether one was evicted.
func (p *Pool) evictOne(except *specialist, _ bool) bool {
	nowN := p.clk.Now().UnixNano()
	p.polMu.Lock()
	vs := p.victimsLocked(except, nowN)
	var v *specialist
	if len(vs) > 0 {
		v = p.list[vs[0]]
	}
	p.polMu.Unlock()
	return v != nil && p.evict(v, "evicted")
}

// evict cools v if it is still idle and warm, and reports whether it did.
// v leaves the warm set at once and shows cooling; it keeps its slot and its
// bytes until its Close has returned, so that the warm cap and the memory
// budget bound what is resident. A start of v meanwhile waits for that
// Close (one instance per specialist at a time).
func (p *Pool) evict(v *specialist, reason string) bool {
	v.mu.Lock()
	if v.state != StateWarm || v.inflight != 0 || v.waiting != 0 || v.inst == nil {
		v.mu.Unlock()
		return false
	}
	inst, bytes := v.inst, v.reserved
	v.inst, v.reserved = nil, 0 // v.mem stays: the bytes held while cooling
	v.setState(StateCooling)
	done := make(chan struct{})
	v.closing = done
	if v.prewarmed {
		v.prewarmed = false
		p.wasted.Add(1)
	}
	v.mu.Unlock()
	p.leaveWarmSet(v)
	if reason == "evicted" {
		p.evictions.Add(1)
	}
	err := p.closeInstance(v, inst)
	p.cooled.Add(1)
	p.log.Debug("specialist cooled", "specialist", v.spec.ID, "reason", reason)
	// Told before the slot is given back: an observer counting what is
	// resident never sees the next start before this one's end.
	p.emit(Event{Kind: EventCooled, Specialist: v.spec.ID, Department: v.spec.Department, Reason: reason, Err: err})
	v.mu.Lock()
	v.setState(StateCold)
	v.mem = 0
	v.closing = nil
	v.mu.Unlock()
	p.freeSlot(v, bytes)
	close(done)
	return true
}

// closeInstance closes inst, recovering a panic (counted in
// Stats.ClosePanics and logged at error); a failure is logged at warn.
func (p *Pool) closeInstance(v *specialist, inst Instance) error {
	err, panicked := safeClose(inst)
	switch {
	case panicked:
		p.closePanics.Add(1)
		p.log.Error("pool: specialist Close panicked; recovered", "specialist", v.spec.ID, "err", err)
	case err != nil:
		p.log.Warn("specialist close failed", "specialist", v.spec.ID, "err", err)
	}
	return err
}

// enterWarmSet puts s in the warm set: its department's and the model's.
func (p *Pool) enterWarmSet(s *specialist) {
	d := s.dept
	d.mu.Lock()
	if s.heldIdx < 0 {
		s.heldIdx = len(d.held)
		d.held = append(d.held, s)
	}
	d.mu.Unlock()
	p.polMu.Lock()
	p.model.Admit(s.idx)
	p.polMu.Unlock()
}

// leaveWarmSet takes s out of the warm set (its slot stays counted until freeSlot).
func (p *Pool) leaveWarmSet(s *specialist) {
	d := s.dept
	d.mu.Lock()
	if i := s.heldIdx; i >= 0 {
		last := len(d.held) - 1
		d.held[i] = d.held[last]
		d.held[i].heldIdx = i
		d.held[last] = nil
		d.held = d.held[:last]
		s.heldIdx = -1
	}
	d.mu.Unlock()
	p.polMu.Lock()
	p.model.Remove(s.idx)
	p.polMu.Unlock()
}

// freeSlot gives back one slot and its bytes.
func (p *Pool) freeSlot(_ *specialist, bytes int64) {
	p.mu.Lock()
	p.held--
	p.memUsed -= bytes
	p.mu.Unlock()
	p.signalCapacity()
}

func safeClose(inst Instance) (err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			err, panicked = fmt.Errorf("%w: close: %v", ErrPanic, r), true
		}
	}()
	return inst.Close(), false
}
