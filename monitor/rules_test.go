package monitor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

func defaultRule(t *testing.T, name string) Rule {
	for _, r := range DefaultRules() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no default rule %q", name)
	return Rule{}
}

// boundaryCase drives one default rule's metric exactly at its threshold
// (past false) or just past it (past true) for the next sample.
type boundaryCase struct {
	rule string
	feed func(e *env, past bool)
}

// fullWarmSet fills every warm slot, as the pool does by design: memory
// usage must not read it as pressure.
func fullWarmSet(s *pool.Stats) {
	s.Warm, s.Active, s.Warming = s.MaxWarm-2, 1, 1
	s.Cold = s.Specialists - s.MaxWarm
}

func pick[T any](past bool, at, beyond T) T {
	if past {
		return beyond
	}
	return at
}

var boundaryCases = []boundaryCase{
	{RuleMemoryCritical, func(e *env, past bool) { // 450/500 MB = 0.90, 451/500 MB = 0.902
		e.pool.set(func(s *pool.Stats) { fullWarmSet(s); s.MemoryCurrent = pick[int64](past, 450<<20, 451<<20) })
	}},
	{RuleErrorRateCritical, func(e *env, past bool) { e.bridge.add(1, 100, pick[uint64](past, 10, 11), time.Millisecond) }},
	{RuleQueueDepthCritical, func(e *env, past bool) { e.pool.set(func(s *pool.Stats) { s.QueueDepth = pick(past, 25, 26) }) }},
	{RuleResponseTimeCritical, func(e *env, past bool) {
		e.bridge.add(1, 10, 0, pick(past, 5000*time.Millisecond, 5001*time.Millisecond))
	}},
	{RuleRollbackTriggered, func(e *env, past bool) {
		if past {
			e.bridge.mu.Lock()
			e.bridge.auto++
			e.bridge.mu.Unlock()
		}
	}},
	{RuleMemoryWarning, func(e *env, past bool) { // 400/500 MB = 0.80, 401/500 MB = 0.802
		e.pool.set(func(s *pool.Stats) { fullWarmSet(s); s.MemoryCurrent = pick[int64](past, 400<<20, 401<<20) })
	}},
	{RuleErrorRateWarning, func(e *env, past bool) { e.bridge.add(1, 100, pick[uint64](past, 5, 6), time.Millisecond) }},
	{RuleWarmHitRateLow, func(e *env, past bool) {
		e.pool.set(func(s *pool.Stats) { s.Tasks += 100; s.WarmHits += pick[uint64](past, 40, 39) })
	}},
	{RuleResponseTimeWarning, func(e *env, past bool) {
		e.bridge.add(1, 10, 0, pick(past, 2500*time.Millisecond, 2501*time.Millisecond))
	}},
	{RulePredictionAccuracy, func(e *env, past bool) {
		e.pool.set(func(s *pool.Stats) {
			s.PrewarmsUsed += pick[uint64](past, 50, 49)
			s.PrewarmsWasted += pick[uint64](past, 50, 51)
		})
	}},
	{RuleMemoryEfficiency, func(e *env, past bool) {
		e.pool.set(func(s *pool.Stats) { s.MemoryEfficiency = pick(past, 0.80, 0.81) })
	}},
	{RuleWorkflowDetected, func(e *env, past bool) {
		e.pool.set(func(s *pool.Stats) { s.Workflows.Detections += pick[uint64](past, 0, 1) })
	}},
	{RuleAdaptiveAdjustment, func(e *env, past bool) {
		e.pool.set(func(s *pool.Stats) { s.ThresholdAdjustments += pick[uint64](past, 0, 1) })
	}},
}

func TestBoundaryCasesCoverEveryDefaultRule(t *testing.T) {
	var names []string
	for _, c := range boundaryCases {
		names = append(names, c.rule)
	}
	for _, r := range DefaultRules() {
		assert.Contains(t, names, r.Name)
	}
	assert.Len(t, DefaultRules(), 13, "the seed's table: 5 critical, 5 warning, 3 info")
}

// Every default rule, alone: at its threshold it never fires however long
// it holds; just past it, it is pending until its for-duration has elapsed
// (not a second earlier), fires exactly then, is notified once, and
// resolves at the first sample back at the threshold.
func TestDefaultRulesAtTheirBoundary(t *testing.T) {
	const interval = 30 * time.Second
	for _, c := range boundaryCases {
		t.Run(c.rule, func(t *testing.T) {
			r := defaultRule(t, c.rule)
			e := newEnv(t, WithoutDefaultRules(), WithRule(r))

			for i := 0; i < int(r.For/interval)+3; i++ {
				c.feed(e, false)
				s := e.step(interval)
				v, ok := s.Value(r.Metric)
				require.True(t, ok, "the sample has %s", r.Metric)
				require.False(t, r.Op.holds(v, r.Threshold), "%s = %v at the boundary", r.Metric, v)
				require.Empty(t, e.state(r.Name), "at the threshold for %v", time.Duration(i+1)*interval)
			}
			require.Empty(t, e.got.all())

			c.feed(e, true)
			s := e.step(interval)
			since := s.Time
			if r.For > 0 {
				require.Equal(t, StatePending, e.state(r.Name))
				c.feed(e, true)
				e.step(r.For - time.Second)
				require.Equal(t, StatePending, e.state(r.Name), "one second before the for-duration")
				require.Empty(t, e.got.all(), "pending is not notified")
				c.feed(e, true)
				e.step(time.Second)
			}
			require.Equal(t, StateFiring, e.state(r.Name))
			got := e.got.all()
			require.Len(t, got, 1)
			assert.Equal(t, StateFiring, got[0].State)
			assert.Equal(t, since, got[0].Since)
			assert.Equal(t, since.Add(r.For), got[0].FiredAt)
			assert.Equal(t, r.Severity, got[0].Severity)
			assert.Equal(t, r.Message, got[0].Message)

			if r.For > 0 { // still holding: de-duplicated, no second notice
				c.feed(e, true)
				e.step(interval)
				require.Equal(t, StateFiring, e.state(r.Name))
				require.Len(t, e.got.all(), 1)
			}

			c.feed(e, false)
			s = e.step(interval)
			require.Empty(t, e.state(r.Name))
			got = e.got.all()
			require.Len(t, got, 2)
			assert.Equal(t, StateResolved, got[1].State)
			assert.Equal(t, s.Time, got[1].ResolvedAt)
			hist := e.m.AlertHistory()
			require.Len(t, hist, 1)
			assert.Equal(t, got[1], hist[0])
			assert.Contains(t, e.logs.String(), "ALERT "+string(r.Severity)+" "+r.Name+" firing")
			assert.Contains(t, e.logs.String(), "ALERT "+string(r.Severity)+" "+r.Name+" resolved")
		})
	}
}

// With WithMemoryLimit, memory usage is MemoryCurrent / limit: the budget,
// not the baseline, is what the pool may hold.
func TestMemoryUsageCountsTheLimit(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleMemoryCritical)), WithMemoryLimit(1000<<20))
	e.pool.set(func(s *pool.Stats) { fullWarmSet(s); s.MemoryCurrent = 900 << 20 })
	s := e.step(time.Minute)
	v, ok := s.Value(MetricMemoryUsage)
	require.True(t, ok)
	assert.Equal(t, 0.9, v, "900 MB of the 1000 MB limit, though 900 MB is 1.8× the 500 MB baseline and every slot is full")
	assert.Empty(t, e.state(RuleMemoryCritical))
	e.pool.set(func(s *pool.Stats) { s.MemoryCurrent = 901 << 20 })
	e.step(time.Minute)
	assert.Equal(t, StatePending, e.state(RuleMemoryCritical))
	e.step(2*time.Minute - time.Second)
	assert.Equal(t, StatePending, e.state(RuleMemoryCritical), "one second before the for-duration")
	e.step(time.Second)
	assert.Equal(t, StateFiring, e.state(RuleMemoryCritical))

	// Under a limit, the baseline is not consulted: a small baseline does
	// not raise the figure.
	e.pool.set(func(s *pool.Stats) { s.MemoryCurrent, s.MemoryBaseline = 100<<20, 50<<20 })
	s = e.step(30 * time.Second)
	v, _ = s.Value(MetricMemoryUsage)
	assert.Equal(t, 0.1, v, "100 MB of the 1000 MB limit")
	assert.Empty(t, e.state(RuleMemoryCritical))
}

// Without a limit, memory usage is the share of the always-warm baseline
// held: 17 of 83 equal specialists warm, every warm slot full, read ≈ 0.20
// and set off no memory alert however long it lasts.
func TestMemoryUsageIsTheShareOfTheBaseline(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleMemoryCritical)), WithRule(defaultRule(t, RuleMemoryWarning)))
	const each = 5 << 20
	e.pool.set(func(s *pool.Stats) {
		*s = pool.Stats{Specialists: 83, Warm: 15, Active: 2, Cold: 66, MaxWarm: 17,
			MemoryCurrent: 17 * each, MemoryBaseline: 83 * each, MemorySaved: 66 * each}
		s.MemoryEfficiency = float64(s.MemorySaved) / float64(s.MemoryBaseline)
	})
	for range 40 { // 20 minutes, past both for-durations
		s := e.step(30 * time.Second)
		v, ok := s.Value(MetricMemoryUsage)
		require.True(t, ok)
		require.InDelta(t, 17.0/83, v, 1e-12)
	}
	assert.Empty(t, e.m.Alerts())
	assert.Empty(t, e.got.all())
	h := e.m.Health()
	for _, c := range h.Components {
		if c.Name == "memoryUsage" {
			assert.True(t, c.HasData)
			assert.Equal(t, 1.0, c.Score, "a full warm set at 20 %% of the baseline is on target")
		}
	}
}

// With no limit and no baseline yet there is nothing to measure against:
// the sample has no memory usage, and an alert in progress holds (no
// evidence) rather than resolving.
func TestMemoryUsageAbsentWithoutBaseline(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleMemoryCritical)))
	e.pool.set(func(s *pool.Stats) { s.MemoryCurrent = 460 << 20 })
	s := e.step(30 * time.Second)
	v, ok := s.Value(MetricMemoryUsage)
	require.True(t, ok)
	assert.Equal(t, 0.92, v, "460 MB of the 500 MB baseline")
	require.Equal(t, StatePending, e.state(RuleMemoryCritical))

	e.pool.set(func(s *pool.Stats) { s.MemoryCurrent, s.MemoryBaseline, s.MemorySaved = 0, 0, 0 })
	s = e.step(30 * time.Second)
	_, ok = s.Value(MetricMemoryUsage)
	assert.False(t, ok, "no baseline: no memory usage")
	assert.NotContains(t, s.Values(), MetricMemoryUsage)
	assert.Equal(t, StatePending, e.state(RuleMemoryCritical), "no evidence: the alert holds")
	h := e.m.Health()
	for _, c := range h.Components {
		if c.Name == "memoryUsage" {
			assert.False(t, c.HasData, "not scored without a baseline")
		}
	}
	assert.Equal(t, 0, testutil.CollectAndCount(e.m.Collector(), "bumba_pool_memory_usage_ratio"), "not exported either")
}

func TestPendingClearsWithoutNotice(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleQueueDepthCritical)))
	e.pool.set(func(s *pool.Stats) { s.QueueDepth = 30 })
	e.step(30 * time.Second)
	require.Equal(t, StatePending, e.state(RuleQueueDepthCritical))
	e.pool.set(func(s *pool.Stats) { s.QueueDepth = 3 })
	e.step(30 * time.Second)
	assert.Empty(t, e.state(RuleQueueDepthCritical))
	// The for-duration counts again from the next time it holds.
	e.pool.set(func(s *pool.Stats) { s.QueueDepth = 30 })
	e.step(30 * time.Second)
	e.step(30 * time.Second)
	assert.Equal(t, StatePending, e.state(RuleQueueDepthCritical))
	e.step(30 * time.Second)
	assert.Equal(t, StateFiring, e.state(RuleQueueDepthCritical))
	assert.Len(t, e.got.all(), 1)
	assert.Empty(t, e.m.AlertHistory()[0].ResolvedAt)
}

// A sample without the metric (no calls in the interval) is no evidence:
// the alert stays as it was, and the for-duration still counts from when
// the condition was first seen.
func TestNoEvidenceHoldsTheAlert(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleErrorRateCritical)))
	e.bridge.add(1, 100, 50, time.Millisecond)
	first := e.step(30 * time.Second)
	require.Equal(t, StatePending, e.state(RuleErrorRateCritical))
	s := e.step(30 * time.Second) // no calls
	_, ok := s.Value(MetricErrorRate)
	require.False(t, ok)
	assert.Equal(t, StatePending, e.state(RuleErrorRateCritical))
	e.bridge.add(1, 100, 50, time.Millisecond)
	e.step(30 * time.Second)
	require.Equal(t, StateFiring, e.state(RuleErrorRateCritical))
	assert.Equal(t, first.Time, e.m.Alerts()[0].Since)
	e.step(30 * time.Second) // no calls: still firing
	assert.Equal(t, StateFiring, e.state(RuleErrorRateCritical))
	e.bridge.add(1, 100, 0, time.Millisecond)
	e.step(30 * time.Second)
	assert.Empty(t, e.state(RuleErrorRateCritical))
}

func TestRecordRollbackFiresAtOnce(t *testing.T) {
	e := newEnv(t)
	e.step(30 * time.Second)
	e.clk.Add(5 * time.Second)
	e.m.RecordRollback(RollbackInfo{ID: "rb-1", Reason: "Production issue", Trigger: "manual"})
	got := e.got.all()
	require.Len(t, got, 1)
	assert.Equal(t, RuleRollbackTriggered, got[0].Rule)
	assert.Equal(t, StateFiring, got[0].State)
	assert.Equal(t, t0.Add(35*time.Second), got[0].FiredAt)
	assert.Contains(t, got[0].Detail, "rb-1")
	assert.Contains(t, e.logs.String(), "ROLLBACK TRIGGERED")
	assert.Contains(t, e.logs.String(), "ALERT critical rollback_triggered firing")
	rbs := e.m.Rollbacks()
	require.Len(t, rbs, 1)
	assert.Equal(t, t0.Add(35*time.Second), rbs[0].Time)

	s := e.step(25 * time.Second) // the sample that counts it: still firing, not notified again
	v, _ := s.Value(MetricRollbacks)
	assert.Equal(t, 1.0, v)
	assert.Equal(t, StateFiring, e.state(RuleRollbackTriggered))
	assert.Len(t, e.got.all(), 1)
	h := e.m.Health()
	assert.Equal(t, 1, h.Alerts)
	assert.Equal(t, StatusDegraded, h.Status, "a critical alert firing: not HEALTHY")

	e.step(30 * time.Second)
	assert.Empty(t, e.state(RuleRollbackTriggered))
	require.Len(t, e.got.all(), 2)
}

func TestListenerMayCallTheMonitor(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleErrorRateCritical)), WithRule(defaultRule(t, RuleRollbackTriggered)))
	var rolled int
	e.m.AddListener(func(a Alert) {
		if a.Rule == RuleErrorRateCritical && a.State == StateFiring {
			rolled++
			e.m.RecordRollback(RollbackInfo{ID: fmt.Sprint("rb-", rolled), Reason: "error rate", Trigger: "critical alert"})
			_ = e.m.Alerts()
			_ = e.m.Health()
		}
	})
	for range 3 {
		e.bridge.add(1, 10, 9, time.Millisecond)
		e.step(30 * time.Second)
	}
	assert.Equal(t, 1, rolled)
	got := e.got.all()
	require.Len(t, got, 2)
	assert.Equal(t, RuleErrorRateCritical, got[0].Rule, "transitions are delivered in order")
	assert.Equal(t, RuleRollbackTriggered, got[1].Rule)
}

func TestPanickingListenerDoesNotStopCollection(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleWorkflowDetected)))
	remove := e.m.AddListener(func(Alert) { panic("boom") })
	var after []Alert
	e.m.AddListener(func(a Alert) { after = append(after, a) })
	e.pool.set(func(s *pool.Stats) { s.Workflows.Detections++ })
	e.step(30 * time.Second)
	e.step(30 * time.Second)
	assert.Len(t, e.got.all(), 2, "a listener before the panicking one")
	assert.Len(t, after, 2, "a listener after it")
	assert.Equal(t, uint64(2), e.m.ListenerPanics())
	assert.Contains(t, e.logs.String(), "ERROR alert listener panicked")
	remove()
	e.pool.set(func(s *pool.Stats) { s.Workflows.Detections++ })
	e.step(30 * time.Second)
	assert.Equal(t, uint64(2), e.m.ListenerPanics(), "removed")
	s, ok := e.m.Latest()
	require.True(t, ok)
	assert.Equal(t, t0.Add(90*time.Second), s.Time)
}

func TestRuleValidation(t *testing.T) {
	good := Rule{Name: "x", Severity: SeverityWarning, Metric: MetricQueueDepth, Op: Above, Threshold: 5, For: time.Minute}
	require.NoError(t, good.Validate())
	for _, c := range []struct {
		edit func(*Rule)
		want string
	}{
		{func(r *Rule) { r.Name = " " }, "name"},
		{func(r *Rule) { r.Severity = "urgent" }, `severity "urgent"`},
		{func(r *Rule) { r.Metric = "cpu" }, `metric "cpu"`},
		{func(r *Rule) { r.Op = "==" }, `op "=="`},
		{func(r *Rule) { r.Threshold = 1 / zero() }, "threshold +Inf"},
		{func(r *Rule) { r.For = -time.Second }, "for-duration -1s: allowed ≥ 0"},
	} {
		r := good
		c.edit(&r)
		err := r.Validate()
		require.ErrorIs(t, err, ErrInvalidConfig)
		assert.Contains(t, err.Error(), c.want)
		_, err = New(WithPool(newFakePool()), WithRule(r))
		require.ErrorIs(t, err, ErrInvalidConfig, "New rejects it too")
	}
	_, err := New(WithPool(newFakePool()), WithRule(defaultRule(t, RuleQueueDepthCritical)))
	require.ErrorIs(t, err, ErrInvalidConfig)
	assert.Contains(t, err.Error(), "defined twice")
	m, err := New(WithPool(newFakePool()), WithoutDefaultRules(), WithRules(good))
	require.NoError(t, err)
	assert.Equal(t, []Rule{good}, m.Rules())
	assert.True(t, strings.HasPrefix(good.String(), "x: queue_depth > 5 for 1m0s"))
}

func zero() float64 { return 0 }

func TestHostRule(t *testing.T) {
	r := Rule{Name: "shadow_mismatch", Severity: SeverityWarning, Metric: MetricShadowMatchRate, Op: Below, Threshold: 1,
		Message: "Shadow results differ from legacy"}
	e := newEnv(t, WithRule(r))
	e.bridge.mu.Lock()
	e.bridge.compared, e.bridge.matched = 10, 9
	e.bridge.mu.Unlock()
	e.step(30 * time.Second)
	assert.Equal(t, StateFiring, e.state("shadow_mismatch"))
	assert.True(t, errors.Is(func() error { _, err := e.m.Query("nope", t0, t0); return err }(), ErrUnknownMetric))
}

func TestListenerMayCollect(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleAdaptiveAdjustment)))
	var nested []Sample
	e.m.AddListener(func(a Alert) {
		if a.State == StateFiring {
			nested = append(nested, e.m.Collect()) // resolves the alert: no new adjustment
		}
	})
	e.pool.set(func(s *pool.Stats) { s.ThresholdAdjustments++ })
	e.step(30 * time.Second)
	require.Len(t, nested, 1)
	got := e.got.all()
	require.Len(t, got, 2)
	assert.Equal(t, StateFiring, got[0].State)
	assert.Equal(t, StateResolved, got[1].State, "delivered after the firing, by the same goroutine")
}

func TestOps(t *testing.T) {
	assert.True(t, AtLeast.holds(1, 1))
	assert.False(t, Above.holds(1, 1))
	assert.True(t, AtMost.holds(1, 1))
	assert.False(t, Below.holds(1, 1))
	assert.False(t, Op("?").holds(1, 1))
}
