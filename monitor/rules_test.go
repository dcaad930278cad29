package monitor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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

func pick[T any](past bool, at, beyond T) T {
	if past {
		return beyond
	}
	return at
}

var boundaryCases = []boundaryCase{
	{RuleMemoryCritical, func(e *env, past bool) { // 36/40 = 0.90, 37/40 = 0.925
		e.pool.set(func(s *pool.Stats) { s.Warm = pick(past, 36, 37) })
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
	{RuleMemoryWarning, func(e *env, past bool) { // 32/40 = 0.80, 33/40 = 0.825
		e.pool.set(func(s *pool.Stats) { s.Warm = pick(past, 32, 33) })
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

func TestMemoryUsageCountsTheLimit(t *testing.T) {
	e := newEnv(t, WithoutDefaultRules(), WithRule(defaultRule(t, RuleMemoryCritical)), WithMemoryLimit(1000<<20))
	e.pool.set(func(s *pool.Stats) { s.MemoryCurrent = 900 << 20 })
	s := e.step(time.Minute)
	v, _ := s.Value(MetricMemoryUsage)
	assert.Equal(t, 0.9, v, "900 MB of 1000: the larger of that and 20/40 slots")
	assert.Empty(t, e.state(RuleMemoryCritical))
	e.pool.set(func(s *pool.Stats) { s.MemoryCurrent = 901 << 20 })
	e.step(time.Minute)
	assert.Equal(t, StatePending, e.state(RuleMemoryCritical))
	e.step(2 * time.Minute)
	assert.Equal(t, StateFiring, e.state(RuleMemoryCritical))
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
	assert.True(t, AboveOrEqual.holds(1, 1))
	assert.False(t, Above.holds(1, 1))
	assert.True(t, BelowOrEqual.holds(1, 1))
	assert.False(t, Below.holds(1, 1))
	assert.False(t, Op("?").holds(1, 1))
}
