package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/internal/stats"
)

// basisPoints is the resolution of the hybrid percentage: 100 % = 10000.
const basisPoints = 10000

// Bridge routes BUMBA commands between the legacy executor and the
// intelligent one according to its Mode. It is itself an Executor. All
// methods are safe for concurrent use.
type Bridge struct {
	legacy, intelligent Executor

	clk             clock.Clock
	log             *slog.Logger
	cmp             Comparator
	threshold       float64
	minVolume       uint64
	fallbackZ       float64 // see evidence.go
	shadowTimeout   time.Duration
	fallbackOnError bool
	autoFallback    bool

	mode   atomic.Uint32 // Mode
	bp     atomic.Uint32 // hybrid percentage in basis points
	closed atomic.Bool

	// modeMu serialises changes of mode and percentage, Close, and window
	// resets, so that an automatic fallback never acts on stale evidence.
	modeMu sync.Mutex
	seq    uint64 // transitions so far; guarded by modeMu

	rnd    lockedSource
	window *stats.Window

	obsMu     sync.Mutex // serialises AddObserver and its remove
	obsNext   uint64     // guarded by obsMu
	observers atomic.Pointer[[]observerEntry]

	modes          [numModes]modeCounters // indexed by Mode-1
	rejected       atomic.Uint64
	autoFallbacks  atomic.Uint64
	observerPanics atomic.Uint64

	shadow shadowState
}

type observerEntry struct {
	id uint64
	o  Observer
}

// pathCounters counts one executor's calls in one mode. The histogram's
// count is the number of calls.
type pathCounters struct {
	latency stats.Histogram
	errors  atomic.Uint64
	panics  atomic.Uint64
}

func (p *pathCounters) record(lat time.Duration, err error) {
	p.latency.Record(int64(lat))
	if err != nil {
		p.errors.Add(1)
	}
}

type modeCounters struct {
	unrouted  atomic.Uint64
	requests  atomic.Uint64
	errors    atomic.Uint64
	fallbacks atomic.Uint64
	paths     [2]pathCounters // indexed by Path-1
}

func (b *Bridge) counters(m Mode) *modeCounters { return &b.modes[m-1] }

// lockedSource serialises a rand.Source.
type lockedSource struct {
	mu  sync.Mutex
	src rand.Source
}

func (l *lockedSource) Uint64() uint64 {
	l.mu.Lock()
	v := l.src.Uint64()
	l.mu.Unlock()
	return v
}

// New returns a bridge between legacy and intelligent configured by opts
// (see the With… options; defaults are listed in options.go). It starts in
// ModeShadow unless WithMode says otherwise. New starts no goroutine; the
// bridge must be closed with Close.
func New(legacy, intelligent Executor, opts ...Option) (*Bridge, error) {
	if nilcheck.Is(legacy) {
		return nil, fmt.Errorf("%w: legacy", ErrNilExecutor)
	}
	if nilcheck.Is(intelligent) {
		return nil, fmt.Errorf("%w: intelligent", ErrNilExecutor)
	}
	cfg := defaultConfig()
	for i, o := range opts {
		if nilcheck.Is(o) {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidConfig, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	w, err := stats.NewWindow(cfg.window, windowBuckets)
	if err != nil {
		return nil, fmt.Errorf("%w: WithFallbackWindow(%v): %w", ErrInvalidConfig, cfg.window, err)
	}
	b := &Bridge{
		legacy:          legacy,
		intelligent:     intelligent,
		clk:             cfg.clock,
		log:             cfg.logger,
		cmp:             cfg.comparator,
		threshold:       cfg.threshold,
		minVolume:       uint64(cfg.minVolume),
		fallbackZ:       zScore(cfg.confidence),
		shadowTimeout:   cfg.shadowTimeout,
		fallbackOnError: cfg.fallbackOnError,
		autoFallback:    cfg.autoFallback,
		rnd:             lockedSource{src: cfg.rand},
		window:          w,
	}
	b.mode.Store(uint32(cfg.mode))
	b.bp.Store(toBasisPoints(cfg.percentage))
	b.shadow.init(cfg.shadowConcurrency, cfg.mismatchRing, cfg.mismatchBytes)
	if len(cfg.observers) > 0 {
		entries := make([]observerEntry, len(cfg.observers))
		for i, o := range cfg.observers {
			b.obsNext++
			entries[i] = observerEntry{id: b.obsNext, o: o}
		}
		b.observers.Store(&entries)
	}
	return b, nil
}

func toBasisPoints(p float64) uint32 { return uint32(math.Round(p * basisPoints / 100)) }

// Mode returns the current mode.
func (b *Bridge) Mode() Mode { return Mode(b.mode.Load()) }

// Percentage returns the current hybrid percentage.
func (b *Bridge) Percentage() float64 { return float64(b.bp.Load()) * 100 / basisPoints }

// SetMode switches the bridge to m at once; commands already running finish
// on the path they took. Setting the current mode is a no-op. Entering
// Hybrid or Full from Shadow or Fallback clears the rolling window, so a
// decision to try the intelligent path again starts from fresh evidence.
// Observers get a Transition. An unknown mode returns ErrUnknownMode and
// changes nothing; after Close, ErrClosed.
func (b *Bridge) SetMode(m Mode) error {
	if !m.Valid() {
		return fmt.Errorf("%w: %v", ErrUnknownMode, m)
	}
	b.modeMu.Lock()
	if b.closed.Load() {
		b.modeMu.Unlock()
		return ErrClosed
	}
	old := Mode(b.mode.Load())
	if old == m {
		b.modeMu.Unlock()
		return nil
	}
	if !old.servesIntelligent() && m.servesIntelligent() {
		b.window.Reset()
	}
	b.mode.Store(uint32(m))
	pct := b.Percentage()
	t := b.transitionLocked(ReasonManual, old, m, pct, pct)
	b.modeMu.Unlock()
	b.log.Info("bridge: mode changed", "from", old.String(), "to", m.String(), "percentage", pct)
	b.notifyTransition(t)
	return nil
}

// SetPercentage sets the share of commands, in [0, 100], that Hybrid mode
// sends to the intelligent executor; it takes effect for the next command.
// Raising it only moves routing keys from legacy to intelligent, never
// back. It can be set in any mode and is kept when the mode changes.
// Observers get a Transition. A value outside [0, 100] or NaN returns
// ErrInvalidPercentage and changes nothing; after Close, ErrClosed. The
// resolution is 0.01 (a value is rounded to two decimals).
func (b *Bridge) SetPercentage(p float64) error {
	if !validPercentage(p) {
		return fmt.Errorf("%w: %v", ErrInvalidPercentage, p)
	}
	bp := toBasisPoints(p)
	b.modeMu.Lock()
	if b.closed.Load() {
		b.modeMu.Unlock()
		return ErrClosed
	}
	old := b.bp.Load()
	if old == bp {
		b.modeMu.Unlock()
		return nil
	}
	b.bp.Store(bp)
	m := Mode(b.mode.Load())
	from, to := float64(old)*100/basisPoints, b.Percentage()
	t := b.transitionLocked(ReasonManual, m, m, from, to)
	b.modeMu.Unlock()
	b.log.Info("bridge: percentage changed", "mode", m.String(), "from", from, "to", to)
	b.notifyTransition(t)
	return nil
}

// transitionLocked builds the next Transition; b.modeMu must be held.
func (b *Bridge) transitionLocked(r Reason, from, to Mode, fromPct, toPct float64) Transition {
	b.seq++
	now := b.clk.Now()
	return Transition{
		Seq: b.seq, At: now, Reason: r,
		From: from, To: to, FromPercentage: fromPct, ToPercentage: toPct,
		Window: b.windowStats(b.window.Counts(now)),
	}
}

// AddObserver registers o (see Observer) and returns a function that
// unregisters it. Registering is safe while commands run: the next
// command sees it.
func (b *Bridge) AddObserver(o Observer) (remove func(), err error) {
	if nilcheck.Is(o) {
		return nil, ErrNilObserver
	}
	b.obsMu.Lock()
	defer b.obsMu.Unlock()
	b.obsNext++
	id := b.obsNext
	var cur []observerEntry
	if p := b.observers.Load(); p != nil {
		cur = *p
	}
	next := append(append(make([]observerEntry, 0, len(cur)+1), cur...), observerEntry{id: id, o: o})
	b.observers.Store(&next)
	return func() { b.removeObserver(id) }, nil
}

func (b *Bridge) removeObserver(id uint64) {
	b.obsMu.Lock()
	defer b.obsMu.Unlock()
	p := b.observers.Load()
	if p == nil {
		return
	}
	next := make([]observerEntry, 0, len(*p))
	for _, e := range *p {
		if e.id != id {
			next = append(next, e)
		}
	}
	b.observers.Store(&next)
}

// Execute runs cmd according to the current mode and returns the answer
// that was served:
//
//   - ModeShadow: legacy's answer; the intelligent executor runs the same
//     command beside it and the results are compared.
//   - ModeHybrid: the intelligent executor's answer for the configured share
//     of commands (sticky by RoutingKey), legacy's for the rest.
//   - ModeFull: the intelligent executor's answer; if it fails, and
//     fallback on error is enabled, legacy's.
//   - ModeFallback: legacy's answer.
//
// A panic in the intelligent executor is recovered into an error wrapping
// ErrPanic (and falls back like any failure); a panic in legacy is not
// recovered. A command with an empty Name returns ErrEmptyCommand, and
// Execute after Close returns ErrClosed, without calling either executor.
func (b *Bridge) Execute(ctx context.Context, cmd Command) (Response, error) {
	if b.closed.Load() {
		b.rejected.Add(1)
		return Response{}, ErrClosed
	}
	if strings.TrimSpace(cmd.Name) == "" {
		b.rejected.Add(1)
		return Response{}, ErrEmptyCommand
	}
	switch mode := Mode(b.mode.Load()); mode {
	case ModeFull:
		return b.serveIntelligent(ctx, cmd, mode)
	case ModeHybrid:
		if b.routeIntelligent(cmd.RoutingKey) {
			return b.serveIntelligent(ctx, cmd, mode)
		}
		return b.serveLegacy(ctx, cmd, mode, false)
	case ModeShadow:
		return b.serveShadow(ctx, cmd)
	default:
		return b.serveLegacy(ctx, cmd, ModeFallback, false)
	}
}

// routeIntelligent decides a Hybrid command's path: its routing key's stable
// hash, or a random draw without a key, mod 10000, against the percentage
// in basis points. A key below the threshold at p % stays below it at any
// higher percentage, so raising the percentage is monotone per key.
func (b *Bridge) routeIntelligent(key string) bool {
	bp := b.bp.Load()
	switch {
	case bp == 0:
		return false
	case bp >= basisPoints:
		return true
	}
	var h uint64
	if key != "" {
		h = KeyHash(key)
	} else {
		h = b.rnd.Uint64()
	}
	return h%basisPoints < uint64(bp)
}

// KeyHash is the stable hash of a routing key that hybrid routing uses:
// 64-bit FNV-1a, finalised with the murmur3 fmix64 mixer so that similar
// keys spread evenly. A key goes to the intelligent executor at percentage
// p when KeyHash(key) % 10000 < p*100. It never changes between versions
// or processes.
func KeyHash(key string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= prime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// serveLegacy serves cmd from legacy in mode; unrouted says the intelligent
// executor had no route for it.
func (b *Bridge) serveLegacy(ctx context.Context, cmd Command, mode Mode, unrouted bool) (Response, error) {
	start := b.clk.Now()
	resp, err := b.legacy.Execute(ctx, cmd)
	end := b.clk.Now()
	lat := end.Sub(start)
	mc := b.counters(mode)
	mc.paths[PathLegacy-1].record(lat, err)
	mc.requests.Add(1)
	if err != nil {
		mc.errors.Add(1)
	}
	b.notifyOutcome(Outcome{Kind: KindServed, At: end, Mode: mode, Command: cmd, Path: PathLegacy, Latency: lat, Err: err, Unrouted: unrouted})
	return resp, err
}

// serveIntelligent serves cmd from the intelligent executor in mode, with
// per-request fallback to legacy.
func (b *Bridge) serveIntelligent(ctx context.Context, cmd Command, mode Mode) (Response, error) {
	mc := b.counters(mode)
	start := b.clk.Now()
	resp, err, panicked := b.callIntelligent(ctx, cmd)
	if !panicked && err != nil && errors.Is(err, ErrUnroutable) {
		mc.unrouted.Add(1)
		return b.serveLegacy(ctx, cmd, mode, true)
	}
	end := b.clk.Now()
	lat := end.Sub(start)
	mc.paths[PathIntelligent-1].record(lat, err)
	if panicked {
		mc.paths[PathIntelligent-1].panics.Add(1)
	}
	// A failure caused by the caller's own cancellation says nothing about
	// the intelligent path: it is neither counted against it nor retried.
	callerGone := err != nil && ctx.Err() != nil
	if !callerGone {
		b.recordWindow(end, err == nil)
	}
	out := Outcome{Kind: KindServed, At: end, Mode: mode, Command: cmd, Path: PathIntelligent, Latency: lat, Err: err}
	if err != nil && b.fallbackOnError && !callerGone {
		lresp, lerr := b.legacy.Execute(ctx, cmd)
		lend := b.clk.Now()
		mc.paths[PathLegacy-1].record(lend.Sub(end), lerr)
		mc.fallbacks.Add(1)
		out.At, out.Path, out.Latency, out.Err = lend, PathLegacy, lend.Sub(start), lerr
		out.FellBack, out.IntelligentErr = true, err
		resp, err = lresp, lerr
	}
	mc.requests.Add(1)
	if err != nil {
		mc.errors.Add(1)
	}
	b.notifyOutcome(out)
	return resp, err
}

// callIntelligent calls the intelligent executor, recovering a panic into
// an error wrapping ErrPanic.
func (b *Bridge) callIntelligent(ctx context.Context, cmd Command) (resp Response, err error, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			resp, err, panicked = Response{}, b.recovered("intelligent executor", cmd, r), true
		}
	}()
	resp, err = b.intelligent.Execute(ctx, cmd)
	return resp, err, false
}

func (b *Bridge) recovered(where string, cmd Command, r any) error {
	b.log.Error("bridge: ERROR recovered panic", "in", where, "command", cmd.Name, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	return fmt.Errorf("%w in %s: %v", ErrPanic, where, r)
}

// recordWindow counts an intelligent call that served (or tried to serve) a
// command and falls back automatically when the success rate is below the
// threshold with enough volume.
func (b *Bridge) recordWindow(now time.Time, ok bool) {
	c := b.window.Record(now, ok)
	if b.autoFallback && b.tripped(c) {
		b.fallBack(now)
	}
}

// fallBack switches to ModeFallback if the window, read again under the
// mode lock, still warrants it and the mode still serves intelligent.
func (b *Bridge) fallBack(now time.Time) {
	b.modeMu.Lock()
	old := Mode(b.mode.Load())
	c := b.window.Counts(now)
	if b.closed.Load() || !old.servesIntelligent() || !b.tripped(c) {
		b.modeMu.Unlock()
		return
	}
	b.mode.Store(uint32(ModeFallback))
	b.autoFallbacks.Add(1)
	pct := b.Percentage()
	t := b.transitionLocked(ReasonAutoFallback, old, ModeFallback, pct, pct)
	b.modeMu.Unlock()
	b.log.Error("bridge: ROLLBACK automatic fallback to legacy",
		"from", old.String(), "success_rate", c.SuccessRate(), "success_rate_upper_bound", b.upperBound(c), "threshold", b.threshold,
		"successes", c.Successes, "failures", c.Failures, "window", b.window.Span())
	b.notifyTransition(t)
}

func (b *Bridge) notifyOutcome(o Outcome) {
	p := b.observers.Load()
	if p == nil {
		return
	}
	for _, e := range *p {
		b.safeOutcome(e.o, o)
	}
}

func (b *Bridge) safeOutcome(obs Observer, o Outcome) {
	defer func() {
		if r := recover(); r != nil {
			b.observerPanics.Add(1)
			b.log.Error("bridge: ERROR observer panicked", "event", "outcome", "panic", fmt.Sprint(r))
		}
	}()
	obs.OnOutcome(o)
}

func (b *Bridge) notifyTransition(t Transition) {
	p := b.observers.Load()
	if p == nil {
		return
	}
	for _, e := range *p {
		b.safeTransition(e.o, t)
	}
}

func (b *Bridge) safeTransition(obs Observer, t Transition) {
	defer func() {
		if r := recover(); r != nil {
			b.observerPanics.Add(1)
			b.log.Error("bridge: ERROR observer panicked", "event", "transition", "panic", fmt.Sprint(r))
		}
	}()
	obs.OnTransition(t)
}

// Close stops the bridge: Execute, SetMode and SetPercentage return
// ErrClosed from now on, no new shadow run starts, and Close waits for the
// shadow runs in flight to finish and report. If ctx ends first, Close
// cancels the remaining shadow runs' contexts and returns ctx's error; they
// end as soon as their executor honours the cancellation, and calling Close
// again waits for them. Commands already being served are the callers' own
// and are not waited for. Close is safe to call more than once.
func (b *Bridge) Close(ctx context.Context) error {
	b.modeMu.Lock()
	b.closed.Store(true)
	b.modeMu.Unlock()
	return b.shadow.close(ctx)
}
