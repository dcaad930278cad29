package rollback

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
)

type triggerCase struct {
	name string
	dur  time.Duration
	bad  func(f *fixture) // just beyond the threshold
	edge func(f *fixture) // exactly at the threshold
	feed func(f *fixture) // traffic of one tick while the condition is set
}

func triggerCases() []triggerCase {
	healthy := func(f *fixture) { f.metrics.healthy(100) }
	return []triggerCase{
		{
			name: "error_rate", dur: time.Minute,
			bad:  func(f *fixture) {},
			edge: func(f *fixture) {},
			feed: nil, // set per variant below
		},
		{
			name: "response_time", dur: 2 * time.Minute,
			bad: func(f *fixture) {}, edge: func(f *fixture) {}, feed: nil,
		},
		{
			name: "memory_efficiency", dur: 2 * time.Minute,
			bad:  func(f *fixture) { f.metrics.memory(0.1999) },
			edge: func(f *fixture) { f.metrics.memory(0.20) },
			feed: healthy,
		},
		{
			name: "health_score", dur: time.Minute,
			bad:  func(f *fixture) { f.health.set(59.9) },
			edge: func(f *fixture) { f.health.set(60) },
			feed: healthy,
		},
		{
			name: "critical_alert", dur: 2 * time.Minute,
			bad:  func(f *fixture) { f.alerts.set(Alert{Name: "Task queue overload"}) },
			edge: func(f *fixture) {},
			feed: healthy,
		},
	}
}

// feeds returns the tick traffic of a case: beyond or at the threshold.
func feeds(tc triggerCase) (bad, edge func(f *fixture)) {
	switch tc.name {
	case "error_rate":
		return func(f *fixture) { f.metrics.calls(100, 11, 150*time.Millisecond, 100*time.Millisecond, 0) },
			func(f *fixture) { f.metrics.calls(100, 10, 150*time.Millisecond, 100*time.Millisecond, 0) }
	case "response_time":
		return func(f *fixture) { f.metrics.calls(100, 0, 301*time.Millisecond, 100*time.Millisecond, 0) },
			func(f *fixture) { f.metrics.calls(100, 0, 300*time.Millisecond, 100*time.Millisecond, 0) }
	}
	return tc.feed, tc.feed
}

// Every trigger fires exactly when its condition has held for its
// for-duration, not a second before, and never at its threshold.
func TestEachTriggerAtItsBoundaryWithItsForDuration(t *testing.T) {
	for _, tc := range triggerCases() {
		badFeed, edgeFeed := feeds(tc)
		t.Run(tc.name+"/fires after its for-duration", func(t *testing.T) {
			f := newFixture(t, hybrid50)
			f.metrics.legacy(100, 100*time.Millisecond) // a legacy baseline
			f.after(10*time.Second, nil)
			tc.bad(f)
			f.after(10*time.Second, func() { badFeed(f) })
			s := f.status(tc.name)
			require.True(t, s.Holding, s.String())
			require.False(t, s.Fired)
			began := s.Since
			require.Equal(t, f.clk.Now(), began)

			info := f.after(tc.dur-time.Second, func() { badFeed(f) })
			s = f.status(tc.name)
			require.True(t, s.Holding, s.String())
			require.False(t, s.Fired, "%v is not yet %v", tc.dur-time.Second, tc.dur)
			require.Empty(t, info.ID)
			require.Equal(t, hybrid50, f.router.routing())

			info = f.after(time.Second, func() { badFeed(f) })
			require.NotEmpty(t, info.ID)
			require.Equal(t, migrate.Legacy, f.router.routing())
			rec, err := f.mgr.Get(info.ID)
			require.NoError(t, err)
			require.Equal(t, tc.name, rec.Trigger)
			require.True(t, rec.Automatic)
			require.Equal(t, KindEmergency, rec.Kind)
			require.Contains(t, rec.Reason, "held for "+tc.dur.String())
			require.Equal(t, hybrid50, rec.Before)
			require.Equal(t, migrate.Legacy, rec.After)
		})
		t.Run(tc.name+"/never fires at its threshold", func(t *testing.T) {
			f := newFixture(t, hybrid50)
			f.metrics.legacy(100, 100*time.Millisecond)
			f.after(10*time.Second, nil)
			tc.edge(f)
			for i := 0; i < 60; i++ {
				info := f.after(10*time.Second, func() { edgeFeed(f) })
				require.Empty(t, info.ID)
				require.False(t, f.status(tc.name).Holding, f.status(tc.name).String())
			}
			require.Equal(t, hybrid50, f.router.routing())
		})
	}
}

func TestAConditionThatStopsHoldingStartsOver(t *testing.T) {
	f := newFixture(t, hybrid50)
	f.health.set(50)
	f.after(10*time.Second, nil)
	f.after(50*time.Second, nil)
	f.health.set(70) // recovers for one check
	f.after(time.Second, nil)
	require.False(t, f.status("health_score").Holding)
	f.health.set(50)
	f.after(time.Second, nil)
	f.after(time.Minute-time.Second, nil)
	require.Empty(t, f.mgr.History(), "the for-duration counts from the new start")
	f.after(time.Second, nil)
	require.Len(t, f.mgr.History(), 1)
}

func TestCriticalAlertCountsFromItsOwnSince(t *testing.T) {
	f := newFixture(t, hybrid50)
	f.alerts.set(Alert{Name: "Critical memory pressure", Since: f.clk.Now().Add(-2*time.Minute + time.Second)})
	f.after(0, nil)
	require.Empty(t, f.mgr.History())
	info := f.after(time.Second, nil)
	require.NotEmpty(t, info.ID)
	rec, err := f.mgr.Get(info.ID)
	require.NoError(t, err)
	require.Equal(t, "critical_alert", rec.Trigger)
	require.Equal(t, "Critical memory pressure", rec.Evidence.CriticalAlerts[0].Name)

	// A newer alert replacing an old one counts from its own start.
	f = newFixture(t, hybrid50)
	f.alerts.set(Alert{Name: "a"})
	f.after(90*time.Second, nil)
	f.alerts.set(Alert{Name: "b"})
	f.after(30*time.Second, nil)
	f.after(90*time.Second, nil)
	require.Empty(t, f.mgr.History())
	f.after(30*time.Second, nil)
	require.Len(t, f.mgr.History(), 1)
}

func TestTriggersWithoutDataNeverHold(t *testing.T) {
	f := newFixture(t, hybrid50, WithMinVolume(50), WithMaxLookback(time.Minute)) // no lookback
	f.metrics.mu.Lock()
	f.metrics.r.Pool = nil
	f.metrics.mu.Unlock()
	f.health.set(nanScore())
	for i := 0; i < 30; i++ {
		f.after(10*time.Second, func() { f.metrics.calls(4, 4, time.Second, time.Millisecond, 4) })
	}
	for _, s := range f.mgr.Triggers() {
		require.False(t, s.Holding, s.String())
		if s.Condition != ConditionCriticalAlert {
			require.False(t, s.Known, s.String())
		}
	}
	require.Contains(t, f.status("error_rate").Detail, "of 50 intelligent calls")
	require.Empty(t, f.mgr.History())

	// Without sources the health and alert triggers have no data.
	clk := f.clk
	m, err := New(newRouter(hybrid50), newMetrics(clk), WithClock(clk))
	require.NoError(t, err)
	require.Equal(t, "not checked yet", m.Triggers()[0].Detail)
	_, err = m.Check(t.Context())
	require.NoError(t, err)
	for _, s := range m.Triggers() {
		if s.Condition == ConditionHealth || s.Condition == ConditionCriticalAlert {
			require.False(t, s.Known)
		}
	}
}

func nanScore() float64 {
	var zero float64
	return zero / zero
}

func TestNothingHoldsWhileEverythingGoesToLegacy(t *testing.T) {
	f := newFixture(t, migrate.Legacy)
	f.health.set(10)
	for i := 0; i < 20; i++ {
		f.after(30*time.Second, nil)
	}
	s := f.status("health_score")
	require.False(t, s.Holding)
	require.True(t, strings.HasSuffix(s.Detail, "everything already goes to legacy"))
	require.Empty(t, f.mgr.History())
}

func TestAutoRollbackDisabledOnlyReports(t *testing.T) {
	f := newFixture(t, hybrid50, WithAutoRollback(false))
	f.health.set(10)
	for i := 0; i < 20; i++ {
		f.after(30*time.Second, nil)
	}
	require.Equal(t, hybrid50, f.router.routing())
	require.Empty(t, f.mgr.History())
	require.Equal(t, []EventType{EventTriggered}, f.events.types(), "reported once per firing")
	require.Equal(t, "health_score", f.events.list()[0].Trigger.Name)
	require.Contains(t, f.logs.String(), "ROLLBACK TRIGGERED but automatic rollback is disabled")
}

func TestTriggerValidation(t *testing.T) {
	cases := []struct {
		tr   Trigger
		want string
	}{
		{Trigger{Condition: ConditionHealth, Threshold: 60}, "no name"},
		{Trigger{Name: "x", Condition: ConditionHealth, Threshold: 60, For: -1}, "For -1ns"},
		{Trigger{Name: "x", Condition: ConditionErrorRate, Threshold: 10}, "want a fraction"},
		{Trigger{Name: "x", Condition: ConditionHealth, Threshold: 101}, "want [0, 100]"},
		{Trigger{Name: "x", Condition: "nope"}, `condition "nope"`},
		{Trigger{Name: "x", Condition: ConditionLatency, Threshold: -1}, "threshold -1"},
	}
	for _, tc := range cases {
		_, err := New(newRouter(hybrid50), newMetrics(newFixture(t, hybrid50).clk), WithTriggers(tc.tr))
		require.ErrorIs(t, err, ErrInvalidConfig)
		require.Contains(t, err.Error(), tc.want)
	}
	dup := Trigger{Name: "x", Condition: ConditionHealth, Threshold: 60}
	_, err := New(newRouter(hybrid50), newMetrics(newFixture(t, hybrid50).clk), WithTriggers(dup, dup))
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func TestDefaultTriggersAreTheSeeds(t *testing.T) {
	var got []string
	for _, tr := range DefaultTriggers() {
		got = append(got, tr.Name+": "+tr.String())
	}
	require.Equal(t, []string{
		"error_rate: error rate > 10.00% for 1m0s",
		"response_time: response time > 3x the legacy baseline for 2m0s",
		"memory_efficiency: memory efficiency < 20.00% for 2m0s",
		"health_score: health score < 60 for 1m0s",
		"critical_alert: a critical alert active for 2m0s",
	}, got)
	require.Equal(t, bridge.ModeFallback, migrate.Legacy.Mode)
}

// Low traffic: under the minimum volume a minute (here 4 intelligent calls
// a minute, all failing), the error-rate trigger looks further back, up to
// WithMaxLookback, and fires once the widened window holds 10 calls; with
// no lookback it never gets data.
func TestLowTrafficLooksBackForTheMinimumVolume(t *testing.T) {
	for _, lookback := range []time.Duration{DefaultMaxLookback, time.Minute} {
		f := newFixture(t, hybrid50, WithMaxLookback(lookback))
		var fired time.Duration
		for i := 1; i <= 12 && fired == 0; i++ {
			f.after(15*time.Second, func() { f.metrics.calls(1, 1, 100*time.Millisecond, 100*time.Millisecond, 0) })
			if len(f.mgr.History()) > 0 {
				fired = time.Duration(i) * 15 * time.Second
			}
		}
		for i := 13; i <= 60 && fired == 0; i++ {
			f.after(15*time.Second, func() { f.metrics.calls(1, 1, 100*time.Millisecond, 100*time.Millisecond, 0) })
			if len(f.mgr.History()) > 0 {
				fired = time.Duration(i) * 15 * time.Second
			}
		}
		if lookback == time.Minute {
			require.Zero(t, fired, "4 calls a minute never reach 10 in a minute")
			require.False(t, f.status("error_rate").Known)
			require.Contains(t, f.status("error_rate").Detail, "of 10 intelligent calls")
			continue
		}
		require.NotZero(t, fired, "the lookback finds 10 calls")
		// 10 calls after 2.5 min, then held for the 1 min For.
		require.Equal(t, 3*time.Minute+30*time.Second, fired)
		rec := f.mgr.History()[0]
		require.Equal(t, "error_rate", rec.Trigger)
		require.Contains(t, rec.Reason, "looked back past the 1m0s window for 10")
	}
}

// The lookback is bounded: calls older than WithMaxLookback never count,
// and the readings kept are bounded whatever the Check rate.
func TestLookbackIsBounded(t *testing.T) {
	f := newFixture(t, hybrid50, WithMaxLookback(5*time.Minute))
	f.after(time.Second, func() { f.metrics.calls(9, 9, 100*time.Millisecond, 100*time.Millisecond, 0) })
	for range 40 { // 10 min of silence
		f.after(15*time.Second, nil)
	}
	f.after(15*time.Second, func() { f.metrics.calls(1, 1, 100*time.Millisecond, 100*time.Millisecond, 0) })
	s := f.status("error_rate")
	require.False(t, s.Known, "the 9 old failures are past the 5 min lookback: %s", s.Detail)
	require.Contains(t, s.Detail, "1 of 10 intelligent calls")
	require.Contains(t, s.Detail, "looked back up to 5m0s")

	for range 3 * maxRing {
		f.after(time.Millisecond, nil)
	}
	f.mgr.mu.Lock()
	n := len(f.mgr.ring)
	f.mgr.mu.Unlock()
	require.LessOrEqual(t, n, maxRing)
}

// A legacy baseline below migrate.MinLatencyBaseline gives no ratio: the
// response-time trigger judges the mean against WithMaxLatency instead
// (41 ms against a ~0 s legacy is not a rollback; 6 s is).
func TestNearZeroBaselineUsesTheAbsoluteLatency(t *testing.T) {
	f := newFixture(t, hybrid50)
	for range 20 {
		f.after(10*time.Second, func() { f.metrics.calls(20, 0, 41*time.Millisecond, time.Nanosecond, 0) })
	}
	require.Empty(t, f.mgr.History(), "41 ms over a 1 ns baseline is noise, not 41 000 000x")
	s := f.status("response_time")
	require.True(t, s.Known)
	require.True(t, s.Absolute)
	require.False(t, s.Holding)
	require.Contains(t, s.Detail, "absolute limit 5s")

	for range 20 {
		f.after(10*time.Second, func() { f.metrics.calls(20, 0, 6*time.Second, time.Nanosecond, 0) })
	}
	require.NotEmpty(t, f.mgr.History())
	require.Equal(t, "response_time", f.mgr.History()[0].Trigger)
}
