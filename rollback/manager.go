package rollback

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/internal/notify"
	"github.com/bumba/pooling/migrate"
)

// SectionRollbacks is the Store section the manager keeps its records in.
const SectionRollbacks = "rollbacks"

// recordsVersion is the version of the section this code writes.
const recordsVersion = 1

// baselineSaveEvery bounds how often a changed latency baseline alone
// causes a save.
const baselineSaveEvery = time.Minute

// persisted is the rollbacks section.
type persisted struct {
	Version  int              `json:"version"`
	Seq      int              `json:"seq"`
	Baseline migrate.Baseline `json:"baseline"`
	Records  []Record         `json:"records"`
}

// Manager watches the triggers, rolls back (automatically when a trigger
// fires, or by hand) and keeps a durable record of every rollback. Drive it
// with Check on an interval (or Run, or hand it to the migrate controller
// as its Guard, which calls Check on every Step). Its methods are safe for
// concurrent use.
type Manager struct {
	router  migrate.Router
	metrics migrate.Metrics
	cfg     config
	clk     clock.Clock
	log     *slog.Logger

	mu        sync.Mutex
	st        persisted
	active    int               // index in st.Records of the rollback in progress, -1 if none
	ring      []migrate.Reading // readings of the lookback (at most maxRing), oldest first
	prev      *migrate.Reading  // the last reading (baseline learning)
	stageRef  *migrate.Reading  // the reading when the current stage began
	since     []time.Time       // per trigger: when its condition began to hold
	announced []bool            // per trigger: EventTriggered sent for this firing
	alertSeen map[string]time.Time
	last      []TriggerStatus
	lastSave  time.Time
	// savedBaseline is the baseline last saved.
	savedBaseline migrate.Baseline
	dirty         bool
	pending       []Event

	fbMu      sync.Mutex
	fallbacks []bridge.Transition

	lisMu     sync.Mutex
	listeners []func(Event) // WithListener's, then AddListener's
}

// New returns a manager acting on router with metrics (see the With…
// options; defaults in options.go). It loads the saved records from the
// Store; a rollback that was in progress resumes: its current routing is
// applied again and its stage is verified afresh. A saved section that is
// corrupt or newer than this code is refused (migrate.ErrCorruptState,
// migrate.ErrNewerState). New starts no goroutine.
func New(router migrate.Router, metrics migrate.Metrics, opts ...Option) (*Manager, error) {
	if nilcheck.Is(router) {
		return nil, ErrNilRouter
	}
	if nilcheck.Is(metrics) {
		return nil, ErrNilMetrics
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
	if cfg.store == nil {
		cfg.store = migrate.NewMemoryStore()
		cfg.logger.Warn("rollback: no store configured: rollback records will not survive a restart")
	}
	m := &Manager{
		router: router, metrics: metrics, cfg: cfg, clk: cfg.clock, log: cfg.logger,
		active:    -1,
		since:     make([]time.Time, len(cfg.triggers)),
		announced: make([]bool, len(cfg.triggers)),
		alertSeen: map[string]time.Time{},
		st:        persisted{Version: recordsVersion},
		listeners: slices.Clone(cfg.listeners),
	}
	ctx := context.Background()
	data, err := cfg.store.Load(ctx, SectionRollbacks)
	if err != nil {
		return nil, fmt.Errorf("rollback: load records: %w", err)
	}
	if data != nil {
		if err := m.restore(ctx, data); err != nil {
			return nil, err
		}
	}
	m.notify(m.takePending())
	return m, nil
}

func (m *Manager) restore(ctx context.Context, data []byte) error {
	if err := migrate.CheckSectionVersion(SectionRollbacks, data, recordsVersion); err != nil {
		return err
	}
	var st persisted
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("rollback: section %q: %w: %v", SectionRollbacks, migrate.ErrCorruptState, err)
	}
	st.Records = m.keepNewest(st.Records)
	for i, r := range st.Records {
		switch r.Status {
		case StatusInProgress:
			if len(r.Stages) == 0 {
				return fmt.Errorf("rollback: section %q: %w: record %s in progress without a stage", SectionRollbacks, migrate.ErrCorruptState, r.ID)
			}
			m.active = i
		case StatusCompleted, StatusInterrupted:
		default:
			return fmt.Errorf("rollback: section %q: %w: record %s has status %q", SectionRollbacks, migrate.ErrCorruptState, r.ID, r.Status)
		}
	}
	st.Version = recordsVersion
	m.st = st
	if m.active < 0 {
		return nil
	}
	now := m.clk.Now()
	rec := &m.st.Records[m.active]
	stage := &rec.Stages[len(rec.Stages)-1]
	stage.StartedAt = now // fresh evidence: the old counters are gone
	stage.Verification = nil
	if err := m.apply(stage.Routing); err != nil {
		return err
	}
	rec.After = stage.Routing
	m.log.Error("ROLLBACK resumed after restart", "id", rec.ID, "kind", rec.Kind, "stage", stage.Routing.String(), "reason", rec.Reason)
	return m.save(ctx)
}

// apply switches the router to r; to legacy it switches the mode first,
// in one call, and then zeroes the percentage (whose failure is only
// logged: the switch has happened).
func (m *Manager) apply(r migrate.Routing) error {
	if r.Mode != bridge.ModeFallback {
		return migrate.Apply(m.router, r)
	}
	if err := m.router.SetMode(bridge.ModeFallback); err != nil {
		return fmt.Errorf("rollback: switch to fallback: %w", err)
	}
	if err := m.router.SetPercentage(r.Percentage); err != nil {
		m.log.Warn("rollback: could not zero the hybrid percentage after switching to fallback", "error", err)
	}
	return nil
}

// Observer returns a bridge observer that records the bridge's own
// automatic fallbacks as rollbacks (KindBridgeFallback), at the next
// Check. Register it with bridge.WithObserver or Bridge.AddObserver. It
// only queues the transition: it never blocks the request.
func (m *Manager) Observer() bridge.Observer {
	return bridge.ObserverFuncs{Transition: func(t bridge.Transition) {
		if t.Reason != bridge.ReasonAutoFallback {
			return
		}
		m.fbMu.Lock()
		m.fallbacks = append(m.fallbacks, t)
		m.fbMu.Unlock()
	}}
}

func (m *Manager) takeFallbacks() []bridge.Transition {
	m.fbMu.Lock()
	defer m.fbMu.Unlock()
	f := m.fallbacks
	m.fallbacks = nil
	return f
}

// Check evaluates the triggers at the clock's now and acts:
//
//   - a bridge fallback seen by Observer is recorded;
//   - a rollback in progress is driven: each stage is verified
//     WithVerifyAfter after it began; a planned rollback then steps down,
//     or switches to legacy at once if the verification failed or a
//     trigger fired (escalation); the last stage's verification completes
//     the rollback;
//   - otherwise, when a trigger has held for its For and the router does
//     not already send everything to legacy, an automatic emergency
//     rollback (or only an EventTriggered, WithAutoRollback(false)).
//
// It returns the most recent rollback, for the migrate controller. A
// Metrics error is returned after the bridge fallbacks were recorded.
func (m *Manager) Check(ctx context.Context) (migrate.RollbackInfo, error) {
	if err := ctx.Err(); err != nil {
		return m.Latest(), err
	}
	m.mu.Lock()
	err := m.check(ctx)
	info := m.latestLocked()
	ev := m.takePending()
	m.mu.Unlock()
	m.notify(ev)
	return info, err
}

func (m *Manager) check(ctx context.Context) error {
	now := m.clk.Now()
	r, rerr := m.metrics.Read()
	if rerr == nil {
		m.observe(r)
	}
	for _, t := range m.takeFallbacks() {
		m.bridgeFallback(ctx, now, t, r, rerr)
	}
	if rerr != nil {
		return m.finish(ctx, now, fmt.Errorf("rollback: read metrics: %w", rerr))
	}
	statuses := m.evaluate(ctx, now, r)
	var err error
	if m.active >= 0 {
		err = m.drive(ctx, now, r, statuses)
	} else if i := firstFired(statuses); i >= 0 {
		err = m.fire(ctx, now, r, statuses, i)
	}
	return m.finish(ctx, now, err)
}

// finish saves what changed and returns err (or the save's error).
func (m *Manager) finish(ctx context.Context, now time.Time, err error) error {
	if m.dirty || (now.Sub(m.lastSave) >= baselineSaveEvery && m.st.Baseline != m.savedBaseline) {
		if serr := m.save(ctx); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

func firstFired(s []TriggerStatus) int {
	for i, t := range s {
		if t.Fired {
			return i
		}
	}
	return -1
}

// observe keeps r in the trailing ring and learns the baseline from it.
func (m *Manager) observe(r migrate.Reading) {
	if m.prev != nil {
		m.st.Baseline.Learn(migrate.Delta(*m.prev, r))
	} else if r.Legacy.Calls > 0 && m.st.Baseline.Calls == 0 {
		m.st.Baseline.Learn(migrate.Delta(migrate.Reading{}, r))
	}
	m.prev = &r
	if len(m.ring) >= maxRing {
		m.ring = append(m.ring[:0], m.ring[1:]...)
	}
	m.ring = append(m.ring, r)
	cut := r.At.Add(-m.lookback())
	drop := 0
	for drop+1 < len(m.ring) && !m.ring[drop+1].At.After(cut) {
		drop++
	}
	if drop > 0 {
		m.ring = append(m.ring[:0], m.ring[drop:]...)
	}
}

// lookback is how far back the ring reaches: WithMaxLookback, at least the
// trigger window.
func (m *Manager) lookback() time.Duration { return max(m.cfg.lookback, m.cfg.triggerWindow) }

// windowStart is the ring index the trigger window starts from.
func (m *Manager) windowStart(r migrate.Reading) int {
	cut := r.At.Add(-m.cfg.triggerWindow)
	for i := len(m.ring) - 1; i > 0; i-- {
		if !m.ring[i].At.After(cut) {
			return i
		}
	}
	return 0
}

// volume is the window the error-rate and response-time triggers judge:
// the trailing window, widened reading by reading (up to the lookback)
// while it holds fewer than the minimum intelligent calls. widened tells
// whether it reaches past the trigger window.
func (m *Manager) volume(r migrate.Reading) (w migrate.Window, widened bool) {
	if len(m.ring) == 0 {
		return migrate.Delta(r, r), false
	}
	i := m.windowStart(r)
	w = migrate.Delta(m.ring[i], r)
	for ; i > 0 && w.Intelligent.Calls < m.cfg.minVolume; i-- {
		w = migrate.Delta(m.ring[i-1], r)
		widened = true
	}
	return w, widened
}

// volumeDetail says over what the error rate or latency was judged.
func (m *Manager) volumeDetail(w migrate.Window, widened bool) string {
	if w.Intelligent.Calls < m.cfg.minVolume {
		return fmt.Sprintf("%d of %d intelligent calls in %v (looked back up to %v)", w.Intelligent.Calls, m.cfg.minVolume, w.Duration(), m.lookback())
	}
	if widened {
		return fmt.Sprintf("%d intelligent calls in %v, looked back past the %v window for %d", w.Intelligent.Calls, w.Duration(), m.cfg.triggerWindow, m.cfg.minVolume)
	}
	return fmt.Sprintf("%d intelligent calls in %v", w.Intelligent.Calls, w.Duration())
}

// evaluate computes every trigger's status at now and tracks how long each
// has held. While the router sends everything to legacy nothing holds.
func (m *Manager) evaluate(ctx context.Context, now time.Time, r migrate.Reading) []TriggerStatus {
	w, widened := m.volume(r)
	serving := m.router.Mode() != bridge.ModeFallback
	alerts := m.alertsNow(ctx)
	oldestAlert := m.trackAlerts(now, alerts)
	out := make([]TriggerStatus, len(m.cfg.triggers))
	for i, t := range m.cfg.triggers {
		s := TriggerStatus{Trigger: t}
		switch t.Condition {
		case ConditionErrorRate:
			if w.Intelligent.Calls < m.cfg.minVolume {
				s.Detail = m.volumeDetail(w, widened)
				break
			}
			s.Value, s.Known = float64(w.Intelligent.Errors)/float64(w.Intelligent.Calls), true
			s.Holding = s.Value > t.Threshold
			s.Detail = fmt.Sprintf("error rate %.2f%% (%d of %s)", 100*s.Value, w.Intelligent.Errors, m.volumeDetail(w, widened))
		case ConditionLatency:
			base, ok := m.st.Baseline.Mean()
			switch {
			case w.Intelligent.Calls < m.cfg.minVolume:
				s.Detail = m.volumeDetail(w, widened)
			case !ok:
				s.Detail = "no legacy latency baseline"
			case !m.st.Baseline.Judgeable():
				// A ratio over a near-zero baseline is noise: the
				// absolute limit applies.
				mean := w.Intelligent.Mean()
				s.Value, s.Known, s.Absolute = mean.Seconds()*1e3, true, true
				s.Holding = mean > m.cfg.maxLatency
				s.Detail = fmt.Sprintf("mean %v vs absolute limit %v (legacy baseline %v below the %v floor: no ratio; %s)",
					mean, m.cfg.maxLatency, base, migrate.MinLatencyBaseline, m.volumeDetail(w, widened))
			default:
				s.Value, _ = w.LatencyRatio(m.st.Baseline)
				s.Known = true
				s.Holding = s.Value > t.Threshold
				s.Detail = fmt.Sprintf("%.2fx: mean %v vs legacy %v", s.Value, w.Intelligent.Mean(), base)
			}
		case ConditionMemory:
			if r.Pool == nil {
				s.Detail = "no pool reading"
				break
			}
			s.Value, s.Known = r.Pool.MemoryEfficiency, true
			s.Holding = s.Value < t.Threshold
			s.Detail = fmt.Sprintf("memory efficiency %.2f%%", 100*s.Value)
		case ConditionHealth:
			h, ok := m.healthNow()
			if !ok {
				s.Detail = "no health score"
				break
			}
			s.Value, s.Known = h, true
			s.Holding = h < t.Threshold
			s.Detail = fmt.Sprintf("health score %.1f", h)
		case ConditionCriticalAlert:
			if m.cfg.alerts == nil {
				s.Detail = "no alerts source"
				break
			}
			s.Value, s.Known = float64(len(alerts)), true
			s.Holding = len(alerts) > 0
			names := make([]string, len(alerts))
			for j, a := range alerts {
				names[j] = a.Name
			}
			s.Detail = fmt.Sprintf("%d critical alert(s) %s", len(alerts), strings.Join(names, ", "))
		}
		if !serving && s.Holding {
			s.Holding = false
			s.Detail += "; everything already goes to legacy"
		}
		switch {
		case !s.Holding:
			m.since[i] = time.Time{}
			m.announced[i] = false
		case t.Condition == ConditionCriticalAlert:
			m.since[i] = oldestAlert
		case m.since[i].IsZero():
			m.since[i] = now
		}
		if s.Holding {
			s.Since = m.since[i]
			s.Fired = now.Sub(s.Since) >= t.For
		}
		out[i] = s
	}
	m.last = out
	return out
}

// trackAlerts remembers when each alert without a Since was first seen and
// returns the oldest active alert's start.
func (m *Manager) trackAlerts(now time.Time, alerts []Alert) time.Time {
	var oldest time.Time
	active := make(map[string]bool, len(alerts))
	for _, a := range alerts {
		active[a.Name] = true
		since := a.Since
		if since.IsZero() || since.After(now) {
			seen, ok := m.alertSeen[a.Name]
			if !ok {
				seen = now
				m.alertSeen[a.Name] = now
			}
			since = seen
		}
		if oldest.IsZero() || since.Before(oldest) {
			oldest = since
		}
	}
	for name := range m.alertSeen {
		if !active[name] {
			delete(m.alertSeen, name)
		}
	}
	return oldest
}

// resetTriggers forgets how long conditions have held (after a rollback).
func (m *Manager) resetTriggers() {
	for i := range m.since {
		m.since[i] = time.Time{}
		m.announced[i] = false
	}
}

// fire handles trigger i having fired with no rollback in progress.
func (m *Manager) fire(ctx context.Context, now time.Time, r migrate.Reading, statuses []TriggerStatus, i int) error {
	s := statuses[i]
	if !m.cfg.autoRollback {
		if !m.announced[i] {
			m.announced[i] = true
			m.log.Warn("ROLLBACK TRIGGERED but automatic rollback is disabled", "trigger", s.Name, "condition", s.Trigger.String(), "detail", s.Detail, "since", s.Since)
			m.pending = append(m.pending, Event{Type: EventTriggered, At: now, Trigger: &s})
		}
		return nil
	}
	before := migrate.CurrentRouting(m.router)
	if err := m.apply(migrate.Legacy); err != nil {
		m.log.Error("ROLLBACK TRIGGERED but the switch to legacy failed", "trigger", s.Name, "error", err)
		return err
	}
	reason := fmt.Sprintf("%s held for %v: %s", s.Trigger.String(), now.Sub(s.Since), s.Detail)
	rec := m.start(now, KindEmergency, true, reason, s.Name, before, m.evidence(now, r, nil, statuses), migrate.Legacy, r, true)
	m.log.Error("ROLLBACK TRIGGERED: automatic emergency rollback to legacy", "id", rec.ID, "trigger", s.Name,
		"reason", reason, "from", before.String())
	m.pending[len(m.pending)-1].Trigger = &s
	return nil
}

// start appends a new in-progress record and queues EventStarted.
func (m *Manager) start(now time.Time, kind Kind, auto bool, reason, trigger string, before migrate.Routing,
	ev Evidence, stage migrate.Routing, r migrate.Reading, haveReading bool) *Record {
	m.st.Seq++
	rec := Record{
		ID:   fmt.Sprintf("rb-%s-%d", now.UTC().Format("20060102-150405"), m.st.Seq),
		Kind: kind, Automatic: auto, Reason: reason, Trigger: trigger,
		Status: StatusInProgress, StartedAt: now, Before: before, After: stage,
		Evidence: ev, Stages: []Stage{{Routing: stage, StartedAt: now}},
	}
	m.st.Records = append(m.st.Records, rec)
	if n := len(m.st.Records) - m.cfg.maxRecords; n > 0 {
		m.st.Records = append([]Record(nil), m.st.Records[n:]...)
	}
	m.active = len(m.st.Records) - 1
	// Evidence from before the rollback is not held against what comes
	// after it: the lookback starts again from now.
	if n := len(m.ring); n > 1 {
		m.ring = append(m.ring[:0], m.ring[n-1])
	}
	m.stageRef = nil
	if haveReading {
		m.stageRef = &r
	}
	m.resetTriggers()
	m.dirty = true
	p := &m.st.Records[m.active]
	m.pending = append(m.pending, Event{Type: EventStarted, At: now, Record: p.clone()})
	return p
}

// evidence builds the record of the metrics at now.
func (m *Manager) evidence(now time.Time, r migrate.Reading, rerr error, statuses []TriggerStatus) Evidence {
	ev := Evidence{At: now, Triggers: append([]TriggerStatus(nil), statuses...)}
	if base, ok := m.st.Baseline.Mean(); ok {
		ev.Baseline = base
	}
	if h, ok := m.healthNow(); ok {
		ev.HealthScore = &h
	}
	if m.cfg.alerts != nil {
		ev.CriticalAlerts = append([]Alert(nil), m.cfg.alerts.ActiveCritical()...)
	}
	if rerr != nil {
		ev.ReadError = rerr.Error()
		return ev
	}
	w, _ := m.volume(r)
	ev.Window = w
	if v, ok := w.ErrorRate(); ok {
		ev.ErrorRate = &v
	}
	if v, ok := w.LatencyRatio(m.st.Baseline); ok {
		ev.LatencyRatio = &v
	}
	if r.Pool != nil {
		v := r.Pool.MemoryEfficiency
		ev.MemoryEfficiency = &v
	}
	return ev
}

// bridgeFallback records the bridge's automatic fallback t, unless a
// rollback is already in progress (which then notices the routing).
func (m *Manager) bridgeFallback(ctx context.Context, now time.Time, t bridge.Transition, r migrate.Reading, rerr error) {
	if m.active >= 0 {
		return
	}
	if err := m.apply(migrate.Legacy); err != nil {
		m.log.Warn("rollback: could not settle the bridge on legacy after its automatic fallback", "error", err)
	}
	reason := fmt.Sprintf("the bridge fell back on its own: intelligent success rate %.1f%% below %.0f%% (%d ok, %d failed in %v)",
		100*t.Window.SuccessRate, 100*t.Window.Threshold, t.Window.Successes, t.Window.Failures, t.Window.Span)
	var statuses []TriggerStatus
	if rerr == nil {
		statuses = m.evaluate(ctx, now, r)
	}
	before := migrate.Routing{Mode: t.From, Percentage: t.FromPercentage}
	rec := m.start(now, KindBridgeFallback, true, reason, TriggerBridgeFallback, before, m.evidence(now, r, rerr, statuses), migrate.Legacy, r, rerr == nil)
	rec.StartedAt = t.At
	rec.Stages[0].StartedAt = now
	m.pending[len(m.pending)-1].Record = rec.clone()
	m.log.Error("ROLLBACK TRIGGERED: the bridge fell back to legacy automatically", "id", rec.ID, "from", before.String(), "reason", reason)
}

// drive moves the rollback in progress along.
func (m *Manager) drive(ctx context.Context, now time.Time, r migrate.Reading, statuses []TriggerStatus) error {
	rec := &m.st.Records[m.active]
	stage := &rec.Stages[len(rec.Stages)-1]
	final := stage.Routing.Mode == bridge.ModeFallback
	cur := migrate.CurrentRouting(m.router)
	if !cur.Equal(stage.Routing) && !(final && cur.Mode == bridge.ModeFallback) {
		if cur.Mode == bridge.ModeFallback {
			// The bridge fell back by itself (or someone switched it):
			// the rollback's end is reached early.
			if err := m.apply(migrate.Legacy); err != nil {
				return err
			}
			m.addStage(now, rec, migrate.Legacy, r)
			rec.Note = "the bridge went to fallback during the rollback"
			m.log.Error("ROLLBACK: the bridge went to fallback during a planned rollback", "id", rec.ID)
			return nil
		}
		rec.Status, rec.FinishedAt, rec.After = StatusInterrupted, now, cur
		rec.Note = fmt.Sprintf("routing changed outside the rollback: found %s, expected %s", cur, stage.Routing)
		m.active = -1
		m.dirty = true
		m.log.Warn("ROLLBACK interrupted: "+rec.Note, "id", rec.ID)
		m.pending = append(m.pending, Event{Type: EventInterrupted, At: now, Record: rec.clone()})
		return nil
	}
	if !final {
		if i := firstFired(statuses); i >= 0 {
			s := statuses[i]
			return m.escalate(now, rec, r, fmt.Sprintf("trigger %s fired: %s", s.Name, s.Detail))
		}
	}
	if now.Sub(stage.StartedAt) < m.cfg.verifyAfter {
		return nil
	}
	v := m.verify(now, r, stage.Routing)
	stage.Verification = &v
	m.dirty = true
	if final {
		rec.Status, rec.FinishedAt, rec.Verification = StatusCompleted, now, &v
		m.active = -1
		m.resetTriggers()
		if v.Passed {
			m.log.Error("ROLLBACK completed: everything goes to legacy, verification passed", "id", rec.ID, "verification", v.String())
		} else {
			m.log.Error("ROLLBACK completed but verification FAILED", "id", rec.ID, "verification", v.String())
		}
		m.pending = append(m.pending, Event{Type: EventCompleted, At: now, Record: rec.clone()})
		return nil
	}
	if !v.Passed {
		return m.escalate(now, rec, r, fmt.Sprintf("stage %s failed its verification: %s", stage.Routing, v))
	}
	next := m.nextStage(stage.Routing.Share())
	if err := m.apply(next); err != nil {
		m.log.Error("ROLLBACK: could not step down", "id", rec.ID, "to", next.String(), "error", err)
		return err
	}
	m.addStage(now, rec, next, r)
	m.log.Error("ROLLBACK planned: stepped down", "id", rec.ID, "to", next.String(), "verification", v.String())
	m.pending = append(m.pending, Event{Type: EventStage, At: now, Record: rec.clone()})
	return nil
}

func (m *Manager) addStage(now time.Time, rec *Record, to migrate.Routing, r migrate.Reading) {
	rec.Stages = append(rec.Stages, Stage{Routing: to, StartedAt: now})
	rec.After = to
	m.stageRef = &r
	m.dirty = true
}

// escalate switches a planned rollback to legacy at once.
func (m *Manager) escalate(now time.Time, rec *Record, r migrate.Reading, why string) error {
	if err := m.apply(migrate.Legacy); err != nil {
		m.log.Error("ROLLBACK: escalation to legacy failed", "id", rec.ID, "error", err)
		return err
	}
	rec.Escalated, rec.EscalationReason = true, why
	m.addStage(now, rec, migrate.Legacy, r)
	m.log.Error("ROLLBACK escalated: everything to legacy at once", "id", rec.ID, "why", why)
	m.pending = append(m.pending, Event{Type: EventEscalated, At: now, Record: rec.clone()})
	return nil
}

// nextStage is the first planned percentage below share, or legacy.
func (m *Manager) nextStage(share float64) migrate.Routing {
	for _, p := range m.cfg.plannedSteps {
		if p < share {
			return migrate.Routing{Mode: bridge.ModeHybrid, Percentage: p}
		}
	}
	return migrate.Legacy
}

// verify checks the system against the criteria over the stage so far.
func (m *Manager) verify(now time.Time, r migrate.Reading, want migrate.Routing) Verification {
	ref := r
	if m.stageRef != nil {
		ref = *m.stageRef
	}
	w := migrate.Delta(ref, r)
	c := m.cfg.criteria
	v := Verification{At: now, Passed: true}
	add := func(ch Check) {
		if !ch.Passed && !ch.Skipped {
			v.Passed = false
		}
		v.Checks = append(v.Checks, ch)
	}
	cur := migrate.CurrentRouting(m.router)
	add(Check{Name: "routing", Passed: cur.Equal(want), Detail: fmt.Sprintf("found %s, expected %s", cur, want)})

	if w.Served.Requests < c.MinVolume {
		add(Check{Name: "error_rate", Passed: true, Skipped: true,
			Detail: fmt.Sprintf("%d of %d answers in %v: not enough to judge", w.Served.Requests, c.MinVolume, w.Duration())})
	} else {
		rate, _ := w.ServedErrorRate()
		add(Check{Name: "error_rate", Passed: rate < c.MaxErrorRate,
			Detail: fmt.Sprintf("%.2f%% of %d answers in %v (limit %.2f%%)", 100*rate, w.Served.Requests, w.Duration(), 100*c.MaxErrorRate)})
	}

	calls := w.Legacy.Calls + w.Intelligent.Calls
	base, known := m.st.Baseline.Mean()
	switch {
	case calls < c.MinVolume:
		add(Check{Name: "response_time", Passed: true, Skipped: true, Detail: fmt.Sprintf("%d of %d calls: not enough to judge", calls, c.MinVolume)})
	case !known:
		add(Check{Name: "response_time", Passed: true, Skipped: true, Detail: "no legacy latency baseline"})
	case !m.st.Baseline.Judgeable() && c.MaxLatency <= 0:
		add(Check{Name: "response_time", Passed: true, Skipped: true,
			Detail: fmt.Sprintf("legacy baseline %v below the %v floor and no absolute limit", base, migrate.MinLatencyBaseline)})
	case !m.st.Baseline.Judgeable():
		mean := (w.Legacy.Latency + w.Intelligent.Latency) / time.Duration(calls)
		add(Check{Name: "response_time", Passed: mean < c.MaxLatency,
			Detail: fmt.Sprintf("mean %v vs absolute limit %v (legacy baseline %v below the %v floor: no ratio)", mean, c.MaxLatency, base, migrate.MinLatencyBaseline)})
	default:
		mean := (w.Legacy.Latency + w.Intelligent.Latency) / time.Duration(calls)
		ratio := float64(mean) / float64(base)
		add(Check{Name: "response_time", Passed: ratio < c.MaxLatencyRatio,
			Detail: fmt.Sprintf("mean %v, %.2fx the legacy baseline %v (limit %gx)", mean, ratio, base, c.MaxLatencyRatio)})
	}

	if m.cfg.health == nil {
		add(Check{Name: "monitoring", Passed: true, Skipped: true, Detail: "no health source configured"})
	} else if h, ok := m.healthNow(); !ok {
		add(Check{Name: "monitoring", Detail: "health score unavailable"})
	} else {
		add(Check{Name: "monitoring", Passed: h >= c.MinHealth, Detail: fmt.Sprintf("health score %.1f (minimum %g)", h, c.MinHealth)})
	}
	return v
}

// manual runs a manual rollback: confirmation without the lock, then f
// under it.
func (m *Manager) manual(ctx context.Context, kind Kind, reason string, f func(now time.Time, r migrate.Reading, rerr error) (*Record, error)) (Record, error) {
	if strings.TrimSpace(reason) == "" {
		return Record{}, ErrReasonRequired
	}
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	if m.cfg.confirm != nil {
		ok, err := m.cfg.confirm(ctx, Request{Kind: kind, Reason: reason, Current: migrate.CurrentRouting(m.router)})
		if err != nil {
			return Record{}, fmt.Errorf("%w: %w", ErrNotConfirmed, err)
		}
		if !ok {
			return Record{}, ErrNotConfirmed
		}
	}
	m.mu.Lock()
	now := m.clk.Now()
	r, rerr := m.metrics.Read()
	if rerr == nil {
		m.observe(r)
	}
	rec, err := f(now, r, rerr)
	var out Record
	if rec != nil {
		out = rec.clone()
	}
	err = m.finish(ctx, now, err)
	ev := m.takePending()
	m.mu.Unlock()
	m.notify(ev)
	return out, err
}

// Emergency switches everything to legacy at once (the mode in one call,
// then the percentage to 0) and records the rollback, which is verified
// WithVerifyAfter later by Check. During a planned rollback it escalates
// that one instead. A WithConfirm function must approve it first. It
// returns ErrNothingToRollBack when everything already goes to legacy.
func (m *Manager) Emergency(ctx context.Context, reason string) (Record, error) {
	return m.manual(ctx, KindEmergency, reason, func(now time.Time, r migrate.Reading, rerr error) (*Record, error) {
		if m.active >= 0 {
			rec := &m.st.Records[m.active]
			if rec.Kind == KindPlanned && rec.Stages[len(rec.Stages)-1].Routing.Mode != bridge.ModeFallback {
				if err := m.escalate(now, rec, r, "emergency rollback by hand: "+reason); err != nil {
					return nil, err
				}
				return rec, nil
			}
			return rec, fmt.Errorf("%w (rollback %s is verifying)", ErrNothingToRollBack, rec.ID)
		}
		before, statuses, err := m.startingPoint(ctx, now, r, rerr)
		if err != nil {
			return nil, err
		}
		if err := m.apply(migrate.Legacy); err != nil {
			m.log.Error("ROLLBACK emergency: the switch to legacy failed", "reason", reason, "error", err)
			return nil, err
		}
		rec := m.start(now, KindEmergency, false, reason, TriggerManual, before, m.evidence(now, r, rerr, statuses), migrate.Legacy, r, rerr == nil)
		m.log.Error("ROLLBACK emergency: everything to legacy by hand", "id", rec.ID, "reason", reason, "from", before.String())
		return rec, nil
	})
}

// startingPoint is where a rollback by hand starts from: the routing now
// (ErrNothingToRollBack when everything already goes to legacy) and, when
// the metrics could be read, the triggers' statuses for its evidence.
func (m *Manager) startingPoint(ctx context.Context, now time.Time, r migrate.Reading, rerr error) (migrate.Routing, []TriggerStatus, error) {
	before := migrate.CurrentRouting(m.router)
	if before.Mode == bridge.ModeFallback {
		return before, nil, ErrNothingToRollBack
	}
	var statuses []TriggerStatus
	if rerr == nil {
		statuses = m.evaluate(ctx, now, r)
	}
	return before, statuses, nil
}

// Planned steps the intelligent share down through the planned steps
// below the current one (WithPlannedSteps; from full: 75 → 50 → 25 %) and
// then to legacy, verifying each stage WithVerifyAfter after it began (in
// Check) before the next. A stage that fails its verification, or a
// trigger that fires, switches to legacy at once. A WithConfirm function
// must approve it first. It returns ErrInProgress while another rollback
// runs and ErrNothingToRollBack when everything already goes to legacy.
func (m *Manager) Planned(ctx context.Context, reason string) (Record, error) {
	return m.manual(ctx, KindPlanned, reason, func(now time.Time, r migrate.Reading, rerr error) (*Record, error) {
		if m.active >= 0 {
			return nil, fmt.Errorf("%w: %s", ErrInProgress, m.st.Records[m.active].ID)
		}
		before, statuses, err := m.startingPoint(ctx, now, r, rerr)
		if err != nil {
			return nil, err
		}
		first := m.nextStage(before.Share())
		if err := m.apply(first); err != nil {
			m.log.Error("ROLLBACK planned: the first step down failed", "reason", reason, "error", err)
			return nil, err
		}
		rec := m.start(now, KindPlanned, false, reason, TriggerManual, before, m.evidence(now, r, rerr, statuses), first, r, rerr == nil)
		m.log.Error("ROLLBACK planned: stepping down with verification", "id", rec.ID, "reason", reason, "from", before.String(), "to", first.String())
		return rec, nil
	})
}

// Run calls Check now and then every interval (WithInterval) until ctx is
// done, and returns ctx.Err(). Check errors are logged.
func (m *Manager) Run(ctx context.Context) error {
	t := m.clk.Ticker(m.cfg.interval)
	defer t.Stop()
	for {
		if _, err := m.Check(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("rollback: ERROR check", "error", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Latest returns the most recent rollback for the migrate controller
// (zero if none).
func (m *Manager) Latest() migrate.RollbackInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.latestLocked()
}

func (m *Manager) latestLocked() migrate.RollbackInfo {
	if len(m.st.Records) == 0 {
		return migrate.RollbackInfo{}
	}
	return m.st.Records[len(m.st.Records)-1].info()
}

// History returns every kept record, oldest first.
func (m *Manager) History() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Record, len(m.st.Records))
	for i, r := range m.st.Records {
		out[i] = r.clone()
	}
	return out
}

// Get returns the record with the given ID, or ErrUnknownRollback.
func (m *Manager) Get(id string) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.st.Records {
		if r.ID == id {
			return r.clone(), nil
		}
	}
	return Record{}, fmt.Errorf("%w: %q", ErrUnknownRollback, id)
}

// Triggers returns every trigger's status at the last Check.
func (m *Manager) Triggers() []TriggerStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		out := make([]TriggerStatus, len(m.cfg.triggers))
		for i, t := range m.cfg.triggers {
			out[i] = TriggerStatus{Trigger: t, Detail: "not checked yet"}
		}
		return out
	}
	return append([]TriggerStatus(nil), m.last...)
}

// Baseline returns the legacy latency baseline learned so far.
func (m *Manager) Baseline() migrate.Baseline {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Baseline
}

// keepNewest drops the oldest restored records beyond WithMaxRecords (a
// file saved with a larger bound, or edited), saying so.
func (m *Manager) keepNewest(recs []Record) []Record {
	n := len(recs) - m.cfg.maxRecords
	if n <= 0 {
		return recs
	}
	m.log.Warn("rollback: restored more records than WithMaxRecords keeps; the oldest were dropped",
		"restored", len(recs), "kept", m.cfg.maxRecords, "dropped", n)
	return append([]Record(nil), recs[n:]...)
}

func (m *Manager) takePending() []Event {
	p := m.pending
	m.pending = nil
	return p
}

// AddListener adds a listener after New, with the semantics of
// WithListener: called with every later Event, after the record was saved,
// without the manager's lock held; a panic in it is recovered and logged.
// It is how a monitor created before the manager (to be its Health and
// Alerts) is handed the manager's rollbacks (monitor.WatchRollbacks). A nil
// f is an error wrapping ErrInvalidConfig.
func (m *Manager) AddListener(f func(Event)) error {
	if f == nil {
		return invalid("AddListener", "nil", "a non-nil func(Event)")
	}
	m.lisMu.Lock()
	m.listeners = append(m.listeners[:len(m.listeners):len(m.listeners)], f)
	m.lisMu.Unlock()
	return nil
}

// notify tells the listeners; a panicking one is logged and the others are
// still called.
func (m *Manager) notify(evs []Event) {
	if len(evs) == 0 {
		return
	}
	m.lisMu.Lock()
	ls := m.listeners
	m.lisMu.Unlock()
	notify.Each(ls, evs, func(e Event, r any) {
		m.log.Error("rollback: ERROR listener panicked", "event", e.Type, "id", e.Record.ID, "panic", fmt.Sprint(r))
	})
}

// save writes the rollbacks section; m.mu is held.
func (m *Manager) save(ctx context.Context) error {
	data, err := json.Marshal(m.st)
	if err != nil {
		return fmt.Errorf("rollback: encode records: %w", err)
	}
	if err := m.cfg.store.Save(ctx, SectionRollbacks, data); err != nil {
		m.log.Error("rollback: ERROR saving rollback records", "error", err)
		return fmt.Errorf("rollback: save records: %w", err)
	}
	m.dirty = false
	m.lastSave = m.clk.Now()
	m.savedBaseline = m.st.Baseline
	return nil
}
