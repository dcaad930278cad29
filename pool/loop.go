package pool

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"
)

// loop is the pool's own goroutine: it takes in what tasks observed (the
// model and the Predictor learn from it, pre-warms are issued) and runs
// maintenance by deadline, so that no task pays for either.
func (p *Pool) loop() {
	defer close(p.loopDone)
	timer := p.clk.Timer(p.cfg.maintenance)
	defer func() {
		select { // see below: a mock timer may be blocked sending
		case <-timer.C:
		default:
		}
		timer.Stop()
	}()
	due := false // the timer fired: deadlines are due
	next := p.clk.Now().UnixNano() + int64(p.cfg.maintenance)
	for {
		now := p.clk.Now().UnixNano()
		p.coarse.Store(now)
		if due {
			next = p.maintain(now)
			due = false
		} else {
			// Woken by tasks: take them in; deadlines wait for the timer
			// (a virtual clock's never fires: its user calls Maintain).
			p.polMu.Lock()
			p.drainLocked()
			if len(p.deadlines) > 0 {
				next = min(next, p.deadlines[0].at)
			}
			p.polMu.Unlock()
		}
		p.feedPredictor()
		// Under load more arrives at once: look again a few times before
		// sleeping, as parking and waking cost more than a look.
		busy := false
		for range 8 {
			if p.pending() {
				busy = true
				break
			}
			runtime.Gosched()
		}
		if busy {
			continue
		}
		p.parked.Store(true)
		if p.pending() {
			p.parked.Store(false)
			continue
		}
		// A mock clock's timer sends while holding the clock's lock, and
		// one that fires as it is being stopped and re-armed can leave its
		// channel full while armed: its next send then blocks holding the
		// lock, and any clock call here would deadlock. So the channel is
		// emptied before every clock call (a value found means the timer
		// fired: maintenance is due) and the timer stopped only then.
		select {
		case <-timer.C:
			due = true
			p.parked.Store(false)
			continue
		default:
		}
		timer.Stop()
		select {
		case <-timer.C:
		default:
		}
		timer.Reset(time.Duration(max(next-now, int64(time.Millisecond))))
		select {
		case <-p.wake:
			select {
			case <-timer.C:
				due = true
			default:
			}
		case <-timer.C:
			due = true
		case <-p.stop:
			p.parked.Store(false)
			return
		}
		p.parked.Store(false)
	}
}

// pending reports whether observations wait in the buffer or for the
// Predictor.
func (p *Pool) pending() bool {
	if !p.polMu.TryLock() {
		return true // someone drains: come back
	}
	defer p.polMu.Unlock()
	return p.buf.pending() || p.predN > 0
}

// predQueue bounds the tasks waiting for the Predictor (16 bytes each):
// the policy has taken them in; a Predictor too slow to keep up loses
// observations beyond it (counted in ObservationsDropped).
const predQueue = 1 << 14

// feedPredictor shows the Predictor the tasks the policy has taken in, in
// order, and pre-warms what it expects. It runs apart from the policy lock,
// so a slow Predictor delays neither tasks nor starts.
func (p *Pool) feedPredictor() {
	p.predMu.Lock()
	defer p.predMu.Unlock()
	p.feedPredictorLocked()
}

func (p *Pool) feedPredictorLocked() {
	var batch [256]observation
	for {
		p.polMu.Lock()
		n := min(p.predN, len(batch))
		for i := range n {
			batch[i] = p.predRing[(p.predHead+i)%predQueue]
		}
		p.predHead = (p.predHead + n) % predQueue
		p.predN -= n
		p.predBacklog.Store(int64(p.predN))
		p.polMu.Unlock()
		if n == 0 {
			return
		}
		for _, o := range batch[:n] {
			p.predict(p.list[o.idx], o.at)
		}
	}
}

// maintain takes in the buffer, then runs what is due at nowN: cooling
// idle specialists past their cooldown that the policy does not keep, and
// adapting the warm threshold. It returns when it is next due.
func (p *Pool) maintain(nowN int64) int64 {
	var cool []*specialist
	p.polMu.Lock()
	p.drainLocked()
	for len(p.deadlines) > 0 && p.deadlines[0].at <= nowN {
		e := heap.Pop(&p.deadlines).(deadline)
		s := p.list[e.idx]
		s.scheduled = false
		if at, now := p.checkLocked(s, nowN); now {
			cool = append(cool, s)
		} else if at > 0 {
			p.scheduleLocked(s, at)
		}
	}
	adapt := p.cfg.adaptiveScaling && nowN >= p.nextAdapt
	if adapt {
		p.nextAdapt = nowN + int64(adaptEvery)
	}
	next := nowN + int64(p.cfg.maintenance)
	if len(p.deadlines) > 0 {
		next = min(next, p.deadlines[0].at)
	}
	if p.cfg.adaptiveScaling {
		next = min(next, p.nextAdapt)
	}
	tasks, hits := p.counted.tasks, p.counted.hits
	p.polMu.Unlock()
	for _, s := range cool {
		p.evict(s, "cooldown")
	}
	if adapt {
		p.adapt(nowN, tasks, hits)
	}
	return next
}

// checkLocked decides for a held specialist whose deadline came: cool it
// now, look again at, or drop it (0, false: it holds no slot any more).
func (p *Pool) checkLocked(s *specialist, nowN int64) (at int64, coolNow bool) {
	cooldown := int64(p.cfg.cooldown)
	s.mu.Lock()
	st, inflight, waiting, last := s.state, s.inflight, s.waiting, s.lastUsed
	s.mu.Unlock()
	switch {
	case st != StateWarm && st != StateActive:
		return 0, false
	case st == StateActive || inflight > 0 || waiting > 0:
		return nowN + max(cooldown, int64(p.cfg.maintenance)), false
	case nowN-last < cooldown:
		return last + cooldown, false
	}
	if to := s.expectTo.Load(); to > nowN {
		return to, false
	}
	// What the policy's leader has dropped goes. What it holds stays while
	// the pool is starting specialists (one began within the last
	// cooldown): the leader would keep it, and cooling it would trade a
	// likely hit for a slot the next start may take anyway. When the pool
	// has gone quiet, the keep rule weighs memory against the chance of a
	// task. (Keys trace: cooling by the keep rule while the cache was still
	// filling cost 365 cold starts, 28 544 against 28 179.)
	if !p.model.LeaderHolds(s.idx) {
		return 0, true
	}
	if nowN-p.lastStart.Load() < max(cooldown, int64(p.cfg.maintenance)) {
		return nowN + max(cooldown, int64(p.cfg.maintenance)), false
	}
	keep, next := p.model.Keep(s.idx, nowN, p.WarmThreshold())
	if !keep {
		return 0, true
	}
	// Looked at again when the answer would turn, but no sooner than the
	// maintenance interval (the granularity of cooling) and no later than a
	// cooldown (the horizon moves with the workload).
	step := int64(p.cfg.maintenance)
	return min(max(next, nowN+step), nowN+max(int64(p.cfg.cooldown), step)), false
}

// scheduleLocked makes sure s is looked at no later than at.
func (p *Pool) scheduleLocked(s *specialist, at int64) {
	if s.scheduled {
		return // its entry comes first; it reschedules from there
	}
	s.scheduled = true
	heap.Push(&p.deadlines, deadline{at: at, idx: s.idx})
}

// deadline is when a held specialist is looked at next.
type deadline struct {
	at  int64
	idx int32
}

// deadlineHeap is a min-heap of deadlines; each held specialist has at most
// one entry, so it holds at most the warm cap's worth.
type deadlineHeap []deadline

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h deadlineHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlineHeap) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlineHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// drainLocked takes in every observation waiting in the buffer.
func (p *Pool) drainLocked() {
	for p.buf.drain(256, p.take) == 256 {
	}
}

// take learns from one task: the policy sees it now, the Predictor next
// (feedPredictor).
func (p *Pool) take(o observation) {
	s := p.list[o.idx]
	p.model.Access(o.idx, o.at, float64(o.weight))
	p.hist.add(o.idx, o.at)
	p.counted.tasks++
	if o.hit {
		p.counted.hits++
	}
	p.seen.Add(1)
	s.dept.lastTask.Store(o.at)
	s.dept.tasks.Add(1)
	if p.predN < predQueue {
		if p.predRing == nil {
			p.predRing = make([]observation, predQueue)
		}
		p.predRing[(p.predHead+p.predN)%predQueue] = o
		p.predN++
		p.predBacklog.Store(int64(p.predN))
	} else {
		p.predDropped.Add(1)
	}
}

// predict feeds the Predictor and pre-warms what it expects.
func (p *Pool) predict(s *specialist, at int64) {
	wants := p.wants[:0]
	if p.fast != nil {
		p.seqBuf = p.fast.observeIndex(p.toSeq[s.idx], p.seqBuf[:0])
		for _, q := range p.seqBuf {
			if int(q.K) < len(p.fromSeq) && p.fromSeq[q.K] >= 0 {
				wants = append(wants, want{p.list[p.fromSeq[q.K]], q.Probability})
			}
		}
	} else {
		p.predBuf = p.callObserve(time.Unix(0, at), s, p.predBuf[:0])
		for _, q := range p.predBuf {
			if c := p.byID[q.ID]; c != nil {
				wants = append(wants, want{c, q.Probability})
			}
		}
	}
	p.wants = wants[:0]
	until := at + p.hold.Load() // see noteLead
	var batch []*specialist
	for _, w := range wants {
		c := w.s
		if c == s || !(w.p >= p.cfg.prewarmMinProb) {
			continue
		}
		// Compare before storing: tasks read these on their own paths, and
		// most predictions repeat the last one.
		if bits := math.Float64bits(w.p); c.expectP.Load() != bits {
			c.expectP.Store(bits)
		}
		if c.expectTo.Load() < until-int64(p.cfg.maintenance) {
			c.expectTo.Store(until)
		}
		if st := State(c.stateA.Load()); (st == StateCold || st == StateError) && c.pending.CompareAndSwap(false, true) {
			c.predicted.Store(at)
			batch = append(batch, c)
		}
	}
	if len(batch) > 0 {
		p.prewarm(batch)
	}
}

// want is a prediction resolved to its specialist.
type want struct {
	s *specialist
	p float64
}

// callObserve asks a host Predictor, recovering a panic (counted and
// logged): the task then has no prediction.
func (p *Pool) callObserve(at time.Time, s *specialist, dst []Prediction) (out []Prediction) {
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("Predictor.Observe", r)
			out = dst[:0]
		}
	}()
	return p.predictor.Observe(at, s.spec.ID, s.spec.Department, dst)
}

// callPick asks the Balancer to pick; ok is false if it panicked.
func (p *Pool) callPick(dept string, cands []Candidate) (i int, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("Balancer.Pick", r)
			i, ok = 0, false
		}
	}()
	return p.balancer.Pick(dept, cands), true
}

// callVictim asks the Balancer for a victim; ok is false if it panicked.
func (p *Pool) callVictim(cands []Candidate) (i int, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("Balancer.Victim", r)
			i, ok = 0, false
		}
	}()
	return p.balancer.Victim(cands), true
}

// hookPanicked counts and logs a panic recovered from host code.
func (p *Pool) hookPanicked(where string, r any) {
	p.hookPanics.Add(1)
	p.log.Error("pool: host callback panicked; recovered", "callback", where, "panic", fmt.Sprint(r))
}

// emit tells the observer, recovering its panic.
func (p *Pool) emit(e Event) {
	if p.cfg.observer == nil {
		return
	}
	if e.At.IsZero() {
		e.At = p.clk.Now()
	}
	defer func() {
		if r := recover(); r != nil {
			p.hookPanicked("observer", r)
		}
	}()
	p.cfg.observer(e)
}

func (p *Pool) prewarm(batch []*specialist) { p.startBatch(batch, true) }

// startBatch starts batch in the background through the Warmer, as
// pre-warms (which may be declined) or as plain starts.
func (p *Pool) startBatch(batch []*specialist, prewarm bool) {
	if !p.enter() {
		for _, c := range batch {
			c.pending.Store(false)
		}
		return
	}
	p.bgMu.Lock()
	p.bgPrewarms++
	p.bgMu.Unlock()
	go func() {
		defer p.tasksWG.Done()
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
				if !prewarm {
					reqs[i].Start = c.startFn
				}
			}
			p.warm(p.ctx, reqs)
			for _, c := range batch[:n] {
				c.pending.Store(false)
			}
			batch = batch[n:]
		}
	}()
}

// adaptEvery is how often adaptive scaling looks at the last period.
const adaptEvery = time.Minute

// adapt moves the warm threshold by 0.05 inside [0.2, 0.6], once per
// minute of clock time:
//   - a warm hit rate under 80 % over the last minute (at least 10 tasks):
//     down, so more stay warm past their cooldown;
//   - otherwise, memory pressure (warm slots or budget ≥ 90 % used): up, so
//     idle specialists cool sooner. (Hits come first: a pool full to its cap
//     is working as designed, and cooling sooner would only cost hits.)
func (p *Pool) adapt(nowN int64, tasks, hits uint64) {
	p.polMu.Lock()
	dTasks, dHits := tasks-p.lastAdapt.tasks, hits-p.lastAdapt.hits
	p.lastAdapt.tasks, p.lastAdapt.hits = tasks, hits
	p.polMu.Unlock()
	p.mu.Lock()
	pressure := float64(p.held) / float64(p.maxWarm)
	if p.cfg.memoryBudget > 0 {
		pressure = max(pressure, float64(p.memUsed)/float64(p.cfg.memoryBudget))
	}
	p.mu.Unlock()
	old := p.WarmThreshold()
	next, reason := old, ""
	lowHits := dTasks >= 10 && float64(dHits)/float64(dTasks) < 0.8
	switch {
	case lowHits:
		next, reason = old-0.05, fmt.Sprintf("warm hit rate %.0f%%", 100*float64(dHits)/float64(dTasks))
	case pressure >= 0.9:
		next, reason = old+0.05, fmt.Sprintf("memory pressure %.0f%%", 100*pressure)
	}
	next = math.Round(min(max(next, MinAdaptiveThreshold), MaxAdaptiveThreshold)*100) / 100
	if next == old {
		return
	}
	p.threshold.Store(math.Float64bits(next))
	p.adjustments.Add(1)
	p.log.Info("Adaptive adjustment: warm threshold", "from", old, "to", next, "reason", reason)
	p.emit(Event{Kind: EventThresholdAdjusted, At: time.Unix(0, nowN), Threshold: next, Reason: reason})
}

// Close stops accepting tasks (Execute returns ErrClosed) and cancels the
// starts nobody waits for (pre-warms, and starts whose callers all gave
// up: their Spec.Start sees its context end). It waits for the accepted
// tasks and the starts they wait on, cancels every start still running and
// waits for it to return, then closes every instance, cooling ones
// included. If ctx ends first, Close cancels every start still under way
// and returns an error wrapping ctx.Err() that says what was left (tasks
// running, tasks waiting for a start, starts not yet returned); the pool
// goes on draining, and a later Close waits for the rest. Safe to call more
// than once.
func (p *Pool) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		for _, s := range p.list {
			s.mu.Lock()
			if s.cancelStart != nil && s.unwanted() {
				s.cancelStart()
			}
			s.mu.Unlock()
		}
		p.drained = make(chan struct{})
		go func() {
			p.tasksWG.Wait()
			close(p.drained)
		}()
	})
	if !p.isDrained(ctx) {
		p.cancel()
		left := p.queued.Load()
		busy := 0
		for _, s := range p.list {
			s.mu.Lock()
			busy += s.inflight
			s.mu.Unlock()
		}
		return fmt.Errorf("pool: close: %d tasks still running, %d waiting for a start: %w", busy, left, ctx.Err())
	}
	// Every task is done: nobody waits for a start any more (a start its
	// callers gave up on may still run inside the Warmer).
	p.cancel()
	if n := p.starts.shutAndWait(ctx); n > 0 {
		return fmt.Errorf("pool: close: %d cancelled starts have not returned: %w", n, ctx.Err())
	}
	p.finishOnce.Do(p.finishClose)
	return p.closeErr
}

// isDrained waits until every accepted task is done (true) or ctx ends
// (false); drained wins over an ended ctx.
func (p *Pool) isDrained(ctx context.Context) bool {
	select {
	case <-p.drained:
		return true
	default:
	}
	select {
	case <-p.drained:
		return true
	case <-ctx.Done():
		return false
	}
}

// finishClose runs once everything accepted has finished and no start runs.
func (p *Pool) finishClose() {
	close(p.stop)
	<-p.loopDone
	p.Wait() // every task the pool took reaches the policy and the Predictor
	var errs []error
	for _, s := range p.list {
		s.mu.Lock() // nothing runs any more but a Stats or Specialists call
		inst, bytes := s.inst, s.reserved
		held := s.state == StateWarm || s.state == StateActive || s.state == StateWarming
		s.inst, s.reserved = nil, 0
		if held && s.prewarmed {
			s.prewarmed = false
			p.wasted.Add(1)
		}
		if held {
			s.setState(StateCooling) // until its Close returns
		}
		s.mu.Unlock()
		if !held {
			continue
		}
		p.leaveWarmSet(s)
		if inst != nil {
			if err := p.closeInstance(s, inst); err != nil {
				errs = append(errs, fmt.Errorf("pool: close %q: %w", s.spec.ID, err))
			}
			p.cooled.Add(1)
			p.emit(Event{Kind: EventCooled, Specialist: s.spec.ID, Department: s.spec.Department, Reason: "closed"})
		}
		s.mu.Lock()
		s.setState(StateCold)
		s.mem = 0
		s.mu.Unlock()
		p.freeSlot(s, bytes)
	}
	p.closeErr = errors.Join(errs...)
}
