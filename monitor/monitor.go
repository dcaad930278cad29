package monitor

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
)

// PoolSource is what the monitor reads from the pool; *pool.Pool satisfies
// it.
type PoolSource interface {
	Stats() pool.Stats
}

// BridgeSource is what the monitor reads from the bridge; *bridge.Bridge
// satisfies it.
type BridgeSource interface {
	Stats() bridge.Stats
}

// Monitor collects samples of a pool and a bridge, keeps them for the
// retention period, evaluates alert rules, scores health, and serves the
// health endpoint and Prometheus metrics. Its methods are safe for
// concurrent use.
type Monitor struct {
	cfg   config
	clk   clock.Clock
	log   *slog.Logger
	rules []Rule
	start time.Time
	since time.Time // queries reach back to here: start, or a restored history's start

	// collectMu serialises collections: it guards prev.
	collectMu sync.Mutex
	prev      counters

	// mu guards everything below it.
	mu            sync.RWMutex
	store         *store
	latest        Sample
	lastPool      pool.Stats
	lastBridge    bridge.Stats
	alerts        []ruleState // one per rule, in rule order
	history       ring[Alert] // resolved alerts, oldest first
	fired         [numSeverities]uint64
	rollbacks     ring[RollbackInfo]
	rollbackTotal uint64 // rollbacks counted so far (rollbacks_total)
	rollbackNew   uint64 // counted by RecordRollback since the last sample
	// One bridge automatic fallback is one rollback, whether it is seen in
	// the bridge's counters, reported by RecordRollback (BridgeFallback),
	// or both, in either order: fallbacksSeen is the bridge's automatic
	// fallbacks seen in samples, fallbacksRecorded the BridgeFallback
	// records, fallbacksCounted the fallbacks counted as rollbacks, which
	// is the larger of the two.
	fallbacksSeen, fallbacksRecorded, fallbacksCounted uint64

	listeners    []listener
	nextListener uint64

	running atomic.Bool

	// Alert notifications wait in queue; one goroutine at a time delivers
	// them, holding no other lock (see notify).
	qmu        sync.Mutex
	queue      []notice
	delivering bool

	listenerPanics atomic.Uint64

	// latency is fed by BridgeObserver: [kind][path].
	latency    *prometheus.HistogramVec
	latencyObs [2][2]prometheus.Observer
}

type listener struct {
	id uint64
	f  func(Alert)
}

// counters are the sources' cumulative counters at the previous sample.
type counters struct {
	pool                                                      bool
	tasks, hits, coldStarts, used, wasted, taskErrors, reject uint64
	evictions, seen, recognised, detections, adjustments      uint64
	bridge                                                    bool
	calls, errors                                             [2]uint64 // legacy, intelligent
	latNs                                                     [2]float64
	fallbacks, autoFallbacks, compared, matched               uint64
}

// New returns a monitor of the pool and/or bridge given by WithPool and
// WithBridge. It reads their counters once, as the baseline the first
// sample measures from, and starts nothing: call Run, or Collect on your
// own schedule. A bad option gets an error wrapping ErrInvalidConfig that
// names the setting, the value and the allowed range.
func New(opts ...Option) (*Monitor, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o == nil {
			cfg.fail(invalid("option", "nil", "non-nil options"))
			continue
		}
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var rules []Rule
	if !cfg.noDefaults {
		rules = DefaultRules()
	}
	rules = append(rules, cfg.rules...)
	seen := make(map[string]bool, len(rules))
	for _, r := range rules {
		if err := r.Validate(); err != nil {
			return nil, err
		}
		if seen[r.Name] {
			return nil, fmt.Errorf("monitor: rule %q: defined twice: allowed one rule per name (WithoutDefaultRules drops the defaults): %w", r.Name, ErrInvalidConfig)
		}
		seen[r.Name] = true
	}
	m := &Monitor{
		cfg:       cfg,
		clk:       cfg.clock,
		log:       cfg.logger,
		rules:     rules,
		store:     newStore(cfg.interval, cfg.retention),
		history:   newRing[Alert](cfg.alertHistory),
		rollbacks: newRing[RollbackInfo](DefaultRollbackHistory),
		alerts:    make([]ruleState, len(rules)),
	}
	for i, r := range rules {
		m.alerts[i].rule = r
	}
	for _, f := range cfg.listeners {
		m.addListener(f)
	}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace,
		Subsystem: "bridge",
		Name:      "request_duration_seconds",
		Help:      "Latency of bridge calls by path and kind (served or shadow), seen through BridgeObserver.",
		Buckets:   LatencyBuckets(),
	}, []string{"path", "kind"})
	for k, kind := range []string{"served", "shadow"} {
		for p, path := range []string{"legacy", "intelligent"} {
			m.latencyObs[k][p] = m.latency.WithLabelValues(path, kind)
		}
	}
	m.start = m.clk.Now()
	m.since = m.start
	if cfg.restore != nil {
		since, err := m.restore(cfg.restore)
		if err != nil {
			return nil, err
		}
		m.since = since
	}
	ps, bs := m.read()
	m.prev = m.counters(ps, bs)
	m.lastPool, m.lastBridge = ps, bs
	return m, nil
}

// Interval returns the collection interval in force.
func (m *Monitor) Interval() time.Duration { return m.cfg.interval }

// Retention returns the retention in force.
func (m *Monitor) Retention() time.Duration { return m.cfg.retention }

// Rules returns the rules evaluated, defaults first.
func (m *Monitor) Rules() []Rule {
	out := make([]Rule, len(m.rules))
	copy(out, m.rules)
	return out
}

// Run collects a sample every interval on the monitor's clock until ctx
// ends, then returns nil, leaving no goroutine behind. Only one Run may be
// in progress at a time (ErrRunning otherwise). Collect may still be called
// beside it.
func (m *Monitor) Run(ctx context.Context) error {
	if !m.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer m.running.Store(false)
	t := m.clk.Ticker(m.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			m.collectAt(now)
		}
	}
}

// Collect takes a sample now: it reads the sources, stores the sample,
// evaluates the rules, logs, and notifies listeners of alerts that fired or
// resolved. Hosts that do not call Run call it on their own schedule.
func (m *Monitor) Collect() Sample { return m.collectAt(m.clk.Now()) }

// Latest returns the newest sample, and false before the first one.
func (m *Monitor) Latest() (Sample, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.latest, !m.latest.IsZero()
}

func (m *Monitor) read() (pool.Stats, bridge.Stats) {
	var ps pool.Stats
	var bs bridge.Stats
	if m.cfg.pool != nil {
		ps = m.cfg.pool.Stats()
	}
	if m.cfg.bridge != nil {
		bs = m.cfg.bridge.Stats()
	}
	return ps, bs
}

func (m *Monitor) counters(ps pool.Stats, bs bridge.Stats) counters {
	var c counters
	if m.cfg.pool != nil {
		c.pool = true
		c.tasks, c.hits, c.coldStarts = ps.Tasks, ps.WarmHits, ps.ColdStarts
		c.used, c.wasted, c.taskErrors, c.reject = ps.PrewarmsUsed, ps.PrewarmsWasted, ps.TaskErrors, ps.Rejected
		c.evictions, c.adjustments = ps.Evictions, ps.ThresholdAdjustments
		c.seen, c.recognised, c.detections = ps.Workflows.Seen, ps.Workflows.Recognised, ps.Workflows.Detections
	}
	if m.cfg.bridge != nil {
		c.bridge = true
		for i, p := range []bridge.Path{bridge.PathLegacy, bridge.PathIntelligent} {
			st := bs.Paths[p]
			c.calls[i], c.errors[i] = st.Calls, st.Errors
			// The bridge's exact sum; a source that reports only a mean
			// (Total 0 with a mean) is rebuilt as mean × calls.
			c.latNs[i] = float64(st.Latency.Total)
			if st.Latency.Total == 0 {
				c.latNs[i] = float64(st.Latency.Mean) * float64(st.Calls)
			}
		}
		for _, ms := range bs.Modes {
			c.fallbacks += ms.Fallbacks
		}
		c.autoFallbacks = bs.AutoFallbacks
		c.compared, c.matched = bs.Shadow.Compared, bs.Shadow.Matched
	}
	return c
}

// delta is the growth of a counter; a counter that went back (a new source)
// counts from zero.
func delta(cur, prev uint64) float64 {
	if cur >= prev {
		return float64(cur - prev)
	}
	return float64(cur)
}

// sample computes the sample at now from the sources' stats against the
// previous counters.
func (m *Monitor) sample(now time.Time, prevT time.Time, ps pool.Stats, bs bridge.Stats, prev, cur counters, rollbacks uint64) Sample {
	// rollbacks is RecordRollback's count since the last sample; m.mu is
	// held (read or write) for the fallback tallies.
	s := Sample{Time: now, Interval: now.Sub(prevT)}
	if cur.pool {
		// Memory usage is the share of the allowed memory held: the
		// budget (WithMemoryLimit), else what the always-warm legacy
		// system holds. Not the warm slots, which the pool fills to its
		// cap by design. No baseline yet: no evidence.
		if limit := m.memoryAllowed(ps); limit > 0 {
			s.set(idMemoryUsage, float64(ps.MemoryCurrent)/float64(limit))
		}
		s.set(idMemoryEfficiency, ps.MemoryEfficiency)
		s.set(idMemoryCurrent, float64(ps.MemoryCurrent))
		s.set(idMemoryBaseline, float64(ps.MemoryBaseline))
		s.set(idMemorySaved, float64(ps.MemorySaved))
		s.set(idQueueDepth, float64(ps.QueueDepth))
		s.set(idWarm, float64(ps.Warm+ps.Active))
		s.set(idSpecialists, float64(ps.Specialists))
		s.set(idWarmThreshold, ps.WarmThreshold)
		s.set(idTasks, delta(cur.tasks, prev.tasks))
		s.set(idWarmHits, min(delta(cur.hits, prev.hits), s.v[idTasks]))
		s.set(idColdStarts, delta(cur.coldStarts, prev.coldStarts))
		s.set(idPrewarmsUsed, delta(cur.used, prev.used))
		s.set(idPrewarmsWasted, delta(cur.wasted, prev.wasted))
		s.set(idTaskErrors, delta(cur.taskErrors, prev.taskErrors))
		s.set(idRejected, delta(cur.reject, prev.reject))
		s.set(idEvictions, delta(cur.evictions, prev.evictions))
		s.set(idWorkflowsSeen, delta(cur.seen, prev.seen))
		s.set(idWorkflowsRecognised, min(delta(cur.recognised, prev.recognised), s.v[idWorkflowsSeen]))
		s.set(idWorkflowDetections, delta(cur.detections, prev.detections))
		s.set(idThresholdAdjustments, delta(cur.adjustments, prev.adjustments))
		if !cur.bridge {
			calls := s.v[idTasks] + s.v[idRejected]
			s.set(idCalls, calls)
			s.set(idErrors, min(s.v[idTaskErrors]+s.v[idRejected], calls))
		}
	}
	if cur.bridge {
		ids := [2][3]int{{idLegacyCalls, idLegacyErrors, idLegacyLatencySum}, {idCalls, idErrors, idLatencySum}}
		for i, id := range ids {
			calls := delta(cur.calls[i], prev.calls[i])
			s.set(id[0], calls)
			s.set(id[1], min(delta(cur.errors[i], prev.errors[i]), calls))
			lat := cur.latNs[i]
			if cur.calls[i] >= prev.calls[i] {
				lat -= prev.latNs[i]
			}
			// The summed latency is the bridge's exact sum (Latency.Total),
			// kept to the microsecond.
			s.set(id[2], math.Round(max(lat, 0)/1e3)/1e3)
		}
		s.set(idFallbacks, delta(cur.fallbacks, prev.fallbacks))
		s.set(idAutoFallbacks, delta(cur.autoFallbacks, prev.autoFallbacks))
		s.set(idShadowCompared, delta(cur.compared, prev.compared))
		s.set(idShadowMatched, min(delta(cur.matched, prev.matched), s.v[idShadowCompared]))
	}
	s.set(idRollbacks, float64(rollbacks+m.uncountedFallbacks(s.v[idAutoFallbacks])))
	s.derive()
	return s
}

// uncountedFallbacks is how many of the bridge's automatic fallbacks seen
// so far plus auto new ones are not yet counted as rollbacks (by an earlier
// sample or by RecordRollback with BridgeFallback). m.mu is held.
func (m *Monitor) uncountedFallbacks(auto float64) uint64 {
	seen := m.fallbacksSeen + uint64(max(auto, 0))
	if seen <= m.fallbacksCounted {
		return 0
	}
	return seen - m.fallbacksCounted
}

// memoryAllowed is the bytes memory usage is measured against: the limit
// set with WithMemoryLimit, else the pool's MemoryBaseline (what every
// specialist warm would hold); 0 when neither is known.
func (m *Monitor) memoryAllowed(ps pool.Stats) int64 {
	if m.cfg.memoryLimit > 0 {
		return m.cfg.memoryLimit
	}
	return max(ps.MemoryBaseline, 0)
}

// peek computes a sample now without storing it or moving the baseline:
// what Health reports before the first collection.
func (m *Monitor) peek() Sample {
	m.collectMu.Lock()
	defer m.collectMu.Unlock()
	now := m.clk.Now()
	ps, bs := m.read()
	cur := m.counters(ps, bs)
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.sample(now, m.start, ps, bs, m.prev, cur, m.rollbackNew)
}

// collectAt takes the sample at now.
func (m *Monitor) collectAt(now time.Time) Sample {
	m.collectMu.Lock()
	ps, bs := m.read()
	cur := m.counters(ps, bs)

	m.mu.Lock()
	prevT := m.start
	if !m.latest.IsZero() {
		prevT = m.latest.Time
	}
	if now.Before(prevT) {
		now = prevT
	}
	s := m.sample(now, prevT, ps, bs, m.prev, cur, m.rollbackNew)
	extra := m.uncountedFallbacks(s.v[idAutoFallbacks])
	m.fallbacksSeen += uint64(s.v[idAutoFallbacks])
	m.fallbacksCounted += extra
	m.rollbackTotal += extra
	m.rollbackNew = 0
	m.prev = cur
	m.latest = s
	m.lastPool, m.lastBridge = ps, bs
	m.store.add(&s)
	m.evaluateLocked(&s)
	m.mu.Unlock()
	m.collectMu.Unlock()

	// Logs and listeners run with no lock held: a listener may even call
	// Collect.
	m.logSample(&s, ps)
	m.drain()
	return s
}

// logSample writes the per-sample lines the seed's grep habits look for.
func (m *Monitor) logSample(s *Sample, ps pool.Stats) {
	ctx := context.Background()
	if m.log.Enabled(ctx, slog.LevelInfo) { // skip the formatting when nobody reads it
		if m.cfg.pool != nil {
			resp := "n/a"
			if v, ok := s.Value(MetricResponseTime); ok {
				resp = fmt.Sprintf("%.0f ms", v)
			}
			warm := "n/a"
			if v, ok := s.Value(MetricWarmHitRate); ok {
				warm = fmt.Sprintf("%.1f%%", 100*v)
			}
			m.log.Info(fmt.Sprintf("monitor: Memory: %.1f MB (%.1f%% saved) Response: %s Warm: %s (%d/%d specialists) Queue: %d",
				mb(s.v[idMemoryCurrent]), 100*s.v[idMemoryEfficiency], resp, warm, ps.Warm+ps.Active, ps.Specialists, ps.QueueDepth),
				"interval", s.Interval)
		} else if v, ok := s.Value(MetricResponseTime); ok {
			m.log.Info(fmt.Sprintf("monitor: Response: %.0f ms", v), "interval", s.Interval)
		}
		if n := s.v[idThresholdAdjustments]; n > 0 {
			m.log.Info(fmt.Sprintf("monitor: Adaptive adjustment: warm threshold now %.2f (%.0f adjustments)", ps.WarmThreshold, n),
				"interval", s.Interval)
		}
	}
	if n := s.v[idErrors]; n > 0 {
		m.log.Error(fmt.Sprintf("monitor: ERROR %.0f of %.0f intelligent calls failed (%.1f%%)", n, s.v[idCalls], 100*s.v[idErrorRate]),
			"interval", s.Interval)
	}
	if n := s.v[idAutoFallbacks]; n > 0 {
		m.log.Error("monitor: ROLLBACK TRIGGERED: the bridge fell back to legacy automatically",
			"auto_fallbacks", n, "mode", m.lastBridgeMode())
	}
}

func (m *Monitor) lastBridgeMode() string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.lastBridge.Mode.String()
}

// mb converts bytes to MB (2^20 bytes, as the catalogue counts them).
func mb(bytes float64) float64 { return bytes / (1 << 20) }
