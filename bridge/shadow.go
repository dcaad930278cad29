package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// Mismatch is one shadow run whose result the comparator found different
// from the legacy answer that was served.
type Mismatch struct {
	// At is the clock time the comparison was made.
	At time.Time `json:"at"`
	// Command is the command.
	Command Command `json:"command"`
	// Legacy is the served legacy result.
	Legacy Result `json:"legacy"`
	// Intelligent is the shadow run's result.
	Intelligent Result `json:"intelligent"`
	// Truncated is set when a part of the mismatch was too large for the
	// WithMismatchBytes bound and was kept cut: an Output, Detail or
	// Options value is then a Truncated, an error or Args text ends with
	// a marker saying so.
	Truncated bool `json:"truncated,omitempty"`
}

// shadowState is everything Shadow mode keeps.
type shadowState struct {
	sem    *semaphore.Weighted
	base   context.Context // cancelled by Close when its ctx ends
	cancel context.CancelFunc

	mu       sync.Mutex
	inflight int
	closing  bool
	idle     chan struct{} // closed when inflight reaches 0 while closing

	started, skipped, compared, matched, mismatched atomic.Uint64
	timeouts, panics, canceled, unrouted            atomic.Uint64

	ringMu   sync.Mutex
	ring     []Mismatch // a circular buffer: the oldest at head, kept of them
	sizes    []int      // estimated bytes of each
	head     int
	kept     int
	bytes    int // sum of the kept sizes, at most maxBytes
	maxBytes int
}

func (s *shadowState) init(concurrency, ring, maxBytes int) {
	s.sem = semaphore.NewWeighted(int64(concurrency))
	s.base, s.cancel = context.WithCancel(context.Background())
	s.ring = make([]Mismatch, ring)
	s.sizes = make([]int, ring)
	s.maxBytes = maxBytes
}

// begin reserves a shadow slot, or reports false (and counts a skip) when
// the concurrency bound is reached or the bridge is closing. It never
// waits.
func (s *shadowState) begin() bool {
	if !s.sem.TryAcquire(1) {
		s.skipped.Add(1)
		return false
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		s.sem.Release(1)
		s.skipped.Add(1)
		return false
	}
	s.inflight++
	s.mu.Unlock()
	s.started.Add(1)
	return true
}

// end releases a slot reserved by begin.
func (s *shadowState) end() {
	s.sem.Release(1)
	s.mu.Lock()
	s.inflight--
	if s.inflight == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
}

func (s *shadowState) close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.inflight == 0 {
		s.mu.Unlock()
		s.cancel()
		return nil
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		n := s.inflight
		s.mu.Unlock()
		s.cancel()
		if n == 0 { // finished just as ctx ended
			return nil
		}
		return fmt.Errorf("bridge: close: cancelled %d shadow runs still in flight: %w", n, ctx.Err())
	}
}

func (s *shadowState) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// addMismatch keeps m, cut to the byte bound (each of its ten parts at
// most a tenth of it), dropping the oldest mismatches until both the
// count and the byte bound hold.
func (s *shadowState) addMismatch(m Mismatch) {
	m, size := boundMismatch(m, max(s.maxBytes/10, 1))
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	for s.kept > 0 && (s.kept == len(s.ring) || s.bytes+size > s.maxBytes) {
		s.bytes -= s.sizes[s.head]
		s.ring[s.head], s.sizes[s.head] = Mismatch{}, 0
		s.head = (s.head + 1) % len(s.ring)
		s.kept--
	}
	i := (s.head + s.kept) % len(s.ring)
	s.ring[i], s.sizes[i] = m, size
	s.kept++
	s.bytes += size
}

func (s *shadowState) mismatches() []Mismatch {
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	out := make([]Mismatch, 0, s.kept)
	for k := 0; k < s.kept; k++ {
		out = append(out, s.ring[(s.head+k)%len(s.ring)])
	}
	return out
}

// mismatchBytes is the estimated size of the kept mismatches.
func (s *shadowState) mismatchBytes() int {
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	return s.bytes
}

// Mismatches returns the mismatches kept (the newest: at most
// WithMismatchRing of them, holding at most WithMismatchBytes), oldest
// first.
func (b *Bridge) Mismatches() []Mismatch { return b.shadow.mismatches() }

// legacyDone carries the served legacy result to the shadow run; ok is
// false when legacy panicked.
type legacyDone struct {
	res Result
	ok  bool
}

// serveShadow serves cmd from legacy and, when a slot is free, runs it on
// the intelligent executor beside it.
func (b *Bridge) serveShadow(ctx context.Context, cmd Command) (Response, error) {
	if !b.shadow.begin() {
		return b.serveLegacyBeside(ctx, cmd, nil)
	}
	handoff := make(chan legacyDone, 1)
	// The shadow run keeps the request's values but not its cancellation
	// or deadline: it has its own timeout.
	go b.runShadow(context.WithoutCancel(ctx), cmd, handoff)
	return b.serveLegacyBeside(ctx, cmd, handoff)
}

// serveLegacyBeside serves cmd from legacy in Shadow mode and hands the
// result to the shadow run, if any (handoff != nil). The handoff is
// buffered, so it never waits for the shadow run.
func (b *Bridge) serveLegacyBeside(ctx context.Context, cmd Command, handoff chan<- legacyDone) (Response, error) {
	verdict, delivered := VerdictSkipped, false
	if handoff != nil {
		verdict = VerdictPending
		defer func() {
			if !delivered { // legacy panicked: release the shadow run
				handoff <- legacyDone{}
			}
		}()
	}
	start := b.clk.Now()
	resp, err := b.legacy.Execute(ctx, cmd)
	end := b.clk.Now()
	lat := end.Sub(start)
	if handoff != nil {
		handoff <- legacyDone{res: Result{Response: resp, Err: err, Latency: lat}, ok: true}
		delivered = true
	}
	mc := b.counters(ModeShadow)
	mc.paths[PathLegacy-1].record(lat, err)
	mc.requests.Add(1)
	if err != nil {
		mc.errors.Add(1)
	}
	b.notifyOutcome(Outcome{Kind: KindServed, At: end, Mode: ModeShadow, Command: cmd, Path: PathLegacy, Latency: lat, Err: err, Verdict: verdict})
	return resp, err
}

// runShadow is one shadow run, on its own goroutine.
func (b *Bridge) runShadow(detached context.Context, cmd Command, handoff <-chan legacyDone) {
	s := &b.shadow
	defer s.end()
	defer func() {
		if r := recover(); r != nil { // a bug here must not take the host down
			s.panics.Add(1)
			_ = b.recovered("shadow run", cmd, r)
		}
	}()

	ctx, cancel := context.WithCancel(detached)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel)
	defer stop()
	ctx, cancelTimeout := b.clk.WithTimeout(ctx, b.shadowTimeout)
	defer cancelTimeout()

	pc := &b.counters(ModeShadow).paths[PathIntelligent-1]
	start := b.clk.Now()
	resp, err, panicked := b.callIntelligent(ctx, cmd)
	lat := b.clk.Since(start)
	pc.record(lat, err)
	if panicked {
		pc.panics.Add(1)
		s.panics.Add(1)
	}
	intelligent := Result{Response: resp, Err: err, Latency: lat}
	timedOut := err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)
	canceled := err != nil && !timedOut && s.base.Err() != nil
	if timedOut {
		s.timeouts.Add(1)
	}

	var legacy legacyDone
	select {
	case legacy = <-handoff:
	case <-s.base.Done():
		canceled = true
	}

	out := Outcome{Kind: KindShadow, Mode: ModeShadow, Command: cmd, Path: PathIntelligent, Latency: lat, Err: err, Legacy: legacy.res}
	if unrouted := !panicked && err != nil && errors.Is(err, ErrUnroutable); unrouted && !canceled {
		s.unrouted.Add(1)
		out.Verdict, out.Unrouted = VerdictUnrouted, true
	} else if canceled || !legacy.ok {
		s.canceled.Add(1)
		out.Verdict = VerdictCanceled
	} else {
		match := b.compare(cmd, legacy.res, intelligent)
		s.compared.Add(1)
		if match {
			s.matched.Add(1)
			out.Verdict = VerdictMatch
		} else {
			s.mismatched.Add(1)
			out.Verdict = VerdictMismatch
			s.addMismatch(Mismatch{At: b.clk.Now(), Command: cmd, Legacy: legacy.res, Intelligent: intelligent})
		}
	}
	out.At = b.clk.Now()
	b.notifyOutcome(out)
}

// compare runs the comparator; a panic in it is a mismatch.
func (b *Bridge) compare(cmd Command, legacy, intelligent Result) (match bool) {
	defer func() {
		if r := recover(); r != nil {
			b.shadow.panics.Add(1)
			_ = b.recovered("comparator", cmd, r)
			match = false
		}
	}()
	return b.cmp.Compare(cmd, legacy, intelligent)
}
