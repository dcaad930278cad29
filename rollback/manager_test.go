package rollback

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
)

// fireErrorRate makes the error-rate trigger fire: 20 % errors for a
// minute, checked every 10 s. It returns the rollback's ID.
func fireErrorRate(f *fixture) string {
	f.t.Helper()
	before := f.mgr.Latest().ID
	info := f.mgr.Latest()
	for i := 0; i < 7 && info.ID == before; i++ {
		info = f.after(10*time.Second, func() { f.metrics.calls(100, 20, 150*time.Millisecond, 100*time.Millisecond, 0) })
	}
	require.NotEqual(f.t, before, info.ID, "the error-rate trigger should have fired")
	return info.ID
}

func TestAutomaticRollbackIsRecordedVerifiedAndLogged(t *testing.T) {
	f := newFixture(t, hybrid50)
	f.metrics.legacy(100, 100*time.Millisecond)
	f.after(10*time.Second, nil)
	start := f.clk.Now()
	id := fireErrorRate(f)

	rec, err := f.mgr.Get(id)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("rb-%s-1", f.clk.Now().UTC().Format("20060102-150405")), id)
	require.Equal(t, KindEmergency, rec.Kind)
	require.True(t, rec.Automatic)
	require.Equal(t, "error_rate", rec.Trigger)
	require.Equal(t, StatusInProgress, rec.Status)
	require.Equal(t, start.Add(70*time.Second), rec.StartedAt)
	require.True(t, rec.FinishedAt.IsZero())
	require.Equal(t, hybrid50, rec.Before)
	require.Equal(t, migrate.Legacy, rec.After)
	require.InDelta(t, 0.20, *rec.Evidence.ErrorRate, 1e-9)
	require.InDelta(t, 1.5, *rec.Evidence.LatencyRatio, 1e-9)
	require.InDelta(t, 0.8, *rec.Evidence.MemoryEfficiency, 1e-9)
	require.InDelta(t, 90, *rec.Evidence.HealthScore, 1e-9)
	require.Equal(t, 100*time.Millisecond, rec.Evidence.Baseline)
	require.Len(t, rec.Evidence.Triggers, 5)
	require.True(t, rec.Evidence.Triggers[0].Fired)
	require.True(t, f.mgr.Latest().InProgress)

	// Verification comes WithVerifyAfter (2 min) later, on legacy traffic.
	legacy := func() { f.metrics.legacy(50, 100*time.Millisecond) }
	f.after(2*time.Minute-time.Second, legacy)
	rec, _ = f.mgr.Get(id)
	require.Equal(t, StatusInProgress, rec.Status)
	info := f.after(time.Second, legacy)
	require.False(t, info.InProgress)
	rec, _ = f.mgr.Get(id)
	require.Equal(t, StatusCompleted, rec.Status)
	require.Equal(t, f.clk.Now(), rec.FinishedAt)
	require.True(t, rec.Verification.Passed, rec.Verification.String())
	var names []string
	for _, c := range rec.Verification.Checks {
		names = append(names, c.Name)
		require.True(t, c.Passed, c.Detail)
		require.False(t, c.Skipped, c.Name)
	}
	require.Equal(t, []string{"routing", "error_rate", "response_time", "monitoring"}, names)

	require.Equal(t, []EventType{EventStarted, EventCompleted}, f.events.types())
	require.Equal(t, "error_rate", f.events.list()[0].Trigger.Name)
	logs := f.logs.String()
	require.Contains(t, logs, "ROLLBACK TRIGGERED: automatic emergency rollback to legacy")
	require.Contains(t, logs, "ROLLBACK completed")
	require.Contains(t, logs, "level=ERROR")
}

func TestVerificationFailsWhenLegacyIsUnhealthy(t *testing.T) {
	f := newFixture(t, hybrid50)
	_, err := f.mgr.Emergency(context.Background(), "drill")
	require.NoError(t, err)
	f.health.set(40)
	info := f.after(2*time.Minute, func() { f.metrics.calls(0, 0, 0, 0, 0); f.metrics.legacy(100, 500*time.Millisecond) })
	rec, err := f.mgr.Get(info.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, rec.Status)
	require.False(t, rec.Verification.Passed)
	require.Contains(t, rec.Verification.String(), "monitoring FAILED (health score 40.0 (minimum 60))")
	require.Contains(t, f.logs.String(), "verification FAILED")
	a, err := f.mgr.Analyze(info.ID)
	require.NoError(t, err)
	require.NotEmpty(t, a.FailedChecks)
}

func TestEmergencyRollbackByHand(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, full)
	_, err := f.mgr.Emergency(ctx, "")
	require.ErrorIs(t, err, ErrReasonRequired)

	rec, err := f.mgr.Emergency(ctx, "Production issue")
	require.NoError(t, err)
	require.Equal(t, migrate.Legacy, f.router.routing())
	require.Equal(t, []string{"fallback"}, f.router.steps(), "one switch of the mode")
	require.Equal(t, KindEmergency, rec.Kind)
	require.False(t, rec.Automatic)
	require.Equal(t, TriggerManual, rec.Trigger)
	require.Equal(t, "Production issue", rec.Reason)
	require.Equal(t, full, rec.Before)
	require.Contains(t, f.logs.String(), "ROLLBACK emergency: everything to legacy by hand")

	_, err = f.mgr.Emergency(ctx, "again")
	require.ErrorIs(t, err, ErrNothingToRollBack)
	_, err = f.mgr.Planned(ctx, "again")
	require.ErrorIs(t, err, ErrInProgress)
	f.after(2*time.Minute, nil)
	_, err = f.mgr.Emergency(ctx, "again")
	require.ErrorIs(t, err, ErrNothingToRollBack)
	_, err = f.mgr.Planned(ctx, "again")
	require.ErrorIs(t, err, ErrNothingToRollBack)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.mgr.Emergency(cctx, "x")
	require.ErrorIs(t, err, context.Canceled)
}

func TestConfirmationForManualRollbacks(t *testing.T) {
	ctx := context.Background()
	var asked []Request
	answer, answerErr := false, error(nil)
	confirm := func(_ context.Context, r Request) (bool, error) {
		asked = append(asked, r)
		return answer, answerErr
	}
	f := newFixture(t, full, WithConfirm(confirm))
	_, err := f.mgr.Emergency(ctx, "maybe")
	require.ErrorIs(t, err, ErrNotConfirmed)
	require.Equal(t, full, f.router.routing())
	answerErr = errBoom
	_, err = f.mgr.Planned(ctx, "maybe")
	require.ErrorIs(t, err, ErrNotConfirmed)
	require.ErrorIs(t, err, errBoom)
	require.Empty(t, f.mgr.History())

	answer, answerErr = true, nil
	_, err = f.mgr.Emergency(ctx, "confirmed")
	require.NoError(t, err)
	require.Equal(t, migrate.Legacy, f.router.routing())
	require.Equal(t, []Request{
		{Kind: KindEmergency, Reason: "maybe", Current: full},
		{Kind: KindPlanned, Reason: "maybe", Current: full},
		{Kind: KindEmergency, Reason: "confirmed", Current: full},
	}, asked)

	// Automatic rollbacks never ask.
	asked = nil
	f.router = newRouter(hybrid50)
	f.mgr = f.open(WithConfirm(confirm))
	f.health.set(10)
	for i := 0; i < 10; i++ {
		f.after(10*time.Second, nil)
	}
	require.Equal(t, migrate.Legacy, f.router.routing())
	require.Empty(t, asked)
}

func TestPlannedRollbackStepsDownWithVerification(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, full)
	f.metrics.legacy(100, 100*time.Millisecond)
	rec, err := f.mgr.Planned(ctx, "Maintenance")
	require.NoError(t, err)
	require.Equal(t, KindPlanned, rec.Kind)
	require.Equal(t, migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 75}, f.router.routing())

	traffic := func() { f.metrics.healthy(50) }
	for i := 0; i < 8; i++ {
		f.after(time.Minute, traffic)
	}
	rec, err = f.mgr.Get(rec.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, rec.Status)
	require.Equal(t, []string{"hybrid 75%", "hybrid 50%", "hybrid 25%", "fallback"}, f.router.steps())
	require.Equal(t, migrate.Legacy, f.router.routing())
	require.Len(t, rec.Stages, 4)
	for i, s := range rec.Stages {
		require.Equal(t, f.clk.Now().Add(time.Duration(2*i-8)*time.Minute), s.StartedAt, "stage %d", i)
		require.NotNil(t, s.Verification, "stage %d", i)
		require.True(t, s.Verification.Passed, s.Verification.String())
	}
	require.Equal(t, rec.Stages[3].Verification, rec.Verification)
	require.False(t, rec.Escalated)
	require.Equal(t, []EventType{EventStarted, EventStage, EventStage, EventStage, EventCompleted}, f.events.types())
	require.Contains(t, f.logs.String(), "ROLLBACK planned: stepped down")
}

func TestPlannedRollbackStartsBelowTheCurrentShare(t *testing.T) {
	for _, tc := range []struct {
		from  migrate.Routing
		steps []string
	}{
		{migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 60}, []string{"hybrid 50%", "hybrid 25%", "fallback"}},
		{migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 25}, []string{"fallback"}},
		{migrate.Routing{Mode: bridge.ModeShadow}, []string{"fallback"}},
	} {
		t.Run(tc.from.String(), func(t *testing.T) {
			f := newFixture(t, tc.from)
			_, err := f.mgr.Planned(context.Background(), "maintenance")
			require.NoError(t, err)
			for i := 0; i < 10; i++ {
				f.after(time.Minute, func() { f.metrics.healthy(50) })
			}
			require.Equal(t, tc.steps, f.router.steps())
			require.Equal(t, StatusCompleted, f.mgr.History()[0].Status)
		})
	}
}

func TestPlannedRollbackEscalates(t *testing.T) {
	ctx := context.Background()
	t.Run("a stage fails its verification", func(t *testing.T) {
		f := newFixture(t, full)
		_, err := f.mgr.Planned(ctx, "maintenance")
		require.NoError(t, err)
		f.after(2*time.Minute, func() { f.metrics.calls(100, 0, 150*time.Millisecond, 100*time.Millisecond, 5) }) // 5 % served errors
		require.Equal(t, migrate.Legacy, f.router.routing())
		rec := f.mgr.History()[0]
		require.True(t, rec.Escalated)
		require.Contains(t, rec.EscalationReason, "stage hybrid 75% failed its verification")
		require.Equal(t, []EventType{EventStarted, EventEscalated}, f.events.types())
		f.after(2*time.Minute, func() { f.metrics.legacy(100, 100*time.Millisecond) })
		rec = f.mgr.History()[0]
		require.Equal(t, StatusCompleted, rec.Status)
		require.True(t, rec.Verification.Passed)
	})
	t.Run("a trigger fires", func(t *testing.T) {
		f := newFixture(t, full)
		_, err := f.mgr.Planned(ctx, "maintenance")
		require.NoError(t, err)
		f.health.set(30)
		f.after(30*time.Second, nil)
		require.Equal(t, migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 75}, f.router.routing())
		f.after(time.Minute, nil)
		require.Equal(t, migrate.Legacy, f.router.routing())
		rec := f.mgr.History()[0]
		require.True(t, rec.Escalated)
		require.Contains(t, rec.EscalationReason, "trigger health_score fired")
		require.Len(t, f.mgr.History(), 1, "escalation does not start another rollback")
	})
	t.Run("an emergency by hand", func(t *testing.T) {
		f := newFixture(t, full)
		planned, err := f.mgr.Planned(ctx, "maintenance")
		require.NoError(t, err)
		rec, err := f.mgr.Emergency(ctx, "it got worse")
		require.NoError(t, err)
		require.Equal(t, planned.ID, rec.ID)
		require.True(t, rec.Escalated)
		require.Equal(t, "emergency rollback by hand: it got worse", rec.EscalationReason)
		require.Equal(t, migrate.Legacy, f.router.routing())
	})
	t.Run("the bridge falls back during it", func(t *testing.T) {
		f := newFixture(t, full)
		_, err := f.mgr.Planned(ctx, "maintenance")
		require.NoError(t, err)
		require.NoError(t, f.router.SetMode(bridge.ModeFallback))
		f.after(10*time.Second, nil)
		rec := f.mgr.History()[0]
		require.Equal(t, "the bridge went to fallback during the rollback", rec.Note)
		require.Equal(t, migrate.Legacy, f.router.routing())
		f.after(2*time.Minute, nil)
		require.Equal(t, StatusCompleted, f.mgr.History()[0].Status)
	})
}

func TestPlannedRollbackInterruptedByAnotherChange(t *testing.T) {
	f := newFixture(t, full)
	_, err := f.mgr.Planned(context.Background(), "maintenance")
	require.NoError(t, err)
	require.NoError(t, f.router.SetMode(bridge.ModeFull)) // an operator pushes forward
	f.after(10*time.Second, nil)
	rec := f.mgr.History()[0]
	require.Equal(t, StatusInterrupted, rec.Status)
	require.Contains(t, rec.Note, "found full, expected hybrid 75%")
	require.False(t, f.mgr.Latest().InProgress)
	require.Equal(t, []EventType{EventStarted, EventInterrupted}, f.events.types())
}

func TestTwoRollbacksInOneLifetime(t *testing.T) {
	f := newFixture(t, hybrid50)
	f.metrics.legacy(100, 100*time.Millisecond)
	f.after(10*time.Second, nil)
	first := fireErrorRate(f)
	f.after(2*time.Minute, func() { f.metrics.legacy(50, 100*time.Millisecond) })
	require.False(t, f.mgr.Latest().InProgress)

	// The rollout resumes (the controller sets hybrid 50 % again) and the
	// same problem comes back.
	require.NoError(t, migrate.Apply(f.router, hybrid50))
	f.after(time.Minute, func() { f.metrics.legacy(50, 100*time.Millisecond) })
	second := fireErrorRate(f)
	require.NotEqual(t, first, second)
	require.Equal(t, migrate.Legacy, f.router.routing())
	f.after(2*time.Minute, func() { f.metrics.legacy(50, 100*time.Millisecond) })

	h := f.mgr.History()
	require.Len(t, h, 2)
	require.Equal(t, []string{first, second}, []string{h[0].ID, h[1].ID})
	require.True(t, strings.HasSuffix(second, "-2"))
	for _, r := range h {
		require.Equal(t, StatusCompleted, r.Status)
		require.True(t, r.Verification.Passed)
	}
	a, err := f.mgr.Analyze(second)
	require.NoError(t, err)
	require.Equal(t, []string{first}, a.Previous)
	require.Equal(t, []EventType{EventStarted, EventCompleted, EventStarted, EventCompleted}, f.events.types())

	// And a third, by hand, after resuming once more.
	require.NoError(t, migrate.Apply(f.router, hybrid50))
	_, err = f.mgr.Emergency(context.Background(), "third time")
	require.NoError(t, err)
	require.Len(t, f.mgr.History(), 3)
}

func TestBridgeAutomaticFallbackIsRecorded(t *testing.T) {
	clk := clock.NewMock()
	legacy := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	failing := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{}, errBoom
	})
	b, err := bridge.New(legacy, failing, bridge.WithClock(clk), bridge.WithMode(bridge.ModeFull), bridge.WithPercentage(100))
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(context.Background())) }()
	metrics, err := migrate.NewStatsMetrics(b, nil, clk)
	require.NoError(t, err)
	ev := &events{}
	m, err := New(b, metrics, WithClock(clk), WithListener(ev.add))
	require.NoError(t, err)
	remove, err := b.AddObserver(m.Observer())
	require.NoError(t, err)
	defer remove()

	for i := 0; i < 10; i++ {
		_, err := b.Execute(context.Background(), bridge.Command{Name: "implement"})
		require.NoError(t, err) // legacy serves each failed call
	}
	require.Equal(t, bridge.ModeFallback, b.Mode())
	clk.Add(10 * time.Second)
	info, err := m.Check(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, info.ID)
	rec, err := m.Get(info.ID)
	require.NoError(t, err)
	require.Equal(t, KindBridgeFallback, rec.Kind)
	require.Equal(t, TriggerBridgeFallback, rec.Trigger)
	require.True(t, rec.Automatic)
	require.Equal(t, migrate.Routing{Mode: bridge.ModeFull, Percentage: 100}, rec.Before)
	require.Contains(t, rec.Reason, "intelligent success rate 0.0% below 80%")
	require.Equal(t, 0.0, b.Percentage(), "settled on legacy")
	require.Equal(t, []EventType{EventStarted}, ev.types())
	a, err := m.Analyze(info.ID)
	require.NoError(t, err)
	require.Contains(t, a.Text(), "The bridge fell back on its own")
}

func TestRecordsSurviveARestartAndAPlannedRollbackResumes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.json")
	clk := clock.NewMock()
	s1, err := migrate.OpenFileStore(path)
	require.NoError(t, err)
	r1, m1 := newRouter(full), newMetrics(clk)
	mgr1, err := New(r1, m1, WithClock(clk), WithStore(s1))
	require.NoError(t, err)
	first, err := mgr1.Emergency(ctx, "drill")
	require.NoError(t, err)
	clk.Add(2 * time.Minute)
	_, err = mgr1.Check(ctx)
	require.NoError(t, err)
	require.NoError(t, migrate.Apply(r1, full))
	planned, err := mgr1.Planned(ctx, "maintenance")
	require.NoError(t, err)
	clk.Add(2 * time.Minute)
	_, err = mgr1.Check(ctx) // 75 verified, now 50
	require.NoError(t, err)
	require.Equal(t, migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 50}, r1.routing())

	// Restart: a fresh bridge in full mode.
	clk.Add(10 * time.Minute)
	s2, err := migrate.OpenFileStore(path)
	require.NoError(t, err)
	r2 := newRouter(full)
	mgr2, err := New(r2, newMetrics(clk), WithClock(clk), WithStore(s2))
	require.NoError(t, err)
	require.Equal(t, migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 50}, r2.routing(), "the stage in progress is applied again")
	info := mgr2.Latest()
	require.Equal(t, planned.ID, info.ID)
	require.True(t, info.InProgress)
	h := mgr2.History()
	require.Len(t, h, 2)
	require.Equal(t, first.ID, h[0].ID)
	require.Equal(t, StatusCompleted, h[0].Status)
	for i := 0; i < 3; i++ {
		clk.Add(2 * time.Minute)
		_, err = mgr2.Check(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, migrate.Legacy, r2.routing())
	rec, err := mgr2.Get(planned.ID)
	require.NoError(t, err)
	require.Equal(t, StatusCompleted, rec.Status)
	require.Len(t, rec.Stages, 4)
	a, err := mgr2.Analyze(first.ID)
	require.NoError(t, err)
	require.Contains(t, a.Text(), "ROLLBACK ANALYSIS "+first.ID)

	// A third manager on the same file sees the new seq.
	s3, err := migrate.OpenFileStore(path)
	require.NoError(t, err)
	r3 := newRouter(full)
	mgr3, err := New(r3, newMetrics(clk), WithClock(clk), WithStore(s3))
	require.NoError(t, err)
	third, err := mgr3.Emergency(ctx, "again")
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(third.ID, "-3"))
}

func TestBadRollbackSectionsAreRefused(t *testing.T) {
	clk := clock.NewMock()
	for name, tc := range map[string]struct {
		section string
		want    error
	}{
		"newer version":           {`{"version": 2, "records": []}`, migrate.ErrNewerState},
		"not an object":           {`"x"`, migrate.ErrCorruptState},
		"unknown status":          {`{"version": 1, "records": [{"id": "rb-1", "status": "odd"}]}`, migrate.ErrCorruptState},
		"in progress, no stage":   {`{"version": 1, "records": [{"id": "rb-1", "status": "in_progress"}]}`, migrate.ErrCorruptState},
		"wrong types":             {`{"version": 1, "records": 7}`, migrate.ErrCorruptState},
		"unknown mode in routing": {`{"version": 1, "records": [{"id": "rb-1", "status": "completed", "before": {"mode": "sideways"}}]}`, migrate.ErrCorruptState},
	} {
		t.Run(name, func(t *testing.T) {
			s := migrate.NewMemoryStore()
			require.NoError(t, s.Save(context.Background(), SectionRollbacks, []byte(tc.section)))
			r := newRouter(full)
			_, err := New(r, newMetrics(clk), WithClock(clk), WithStore(s))
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, r.steps())
		})
	}
}

func TestAnalyzeRendersTheReport(t *testing.T) {
	f := newFixture(t, hybrid50)
	f.metrics.legacy(100, 100*time.Millisecond)
	f.after(10*time.Second, nil)
	f.metrics.memory(0.1)
	id := fireErrorRate(f)
	f.after(2*time.Minute, func() { f.metrics.legacy(50, 100*time.Millisecond) })
	a, err := f.mgr.Analyze(id)
	require.NoError(t, err)
	require.Equal(t, "error_rate", a.Causes[0].Trigger, "the fired trigger comes first")
	require.Equal(t, time.Minute, a.DetectionDelay)
	require.Equal(t, 2*time.Minute, a.Duration)
	require.Len(t, a.Causes, 2, "memory efficiency was in breach too")
	require.Equal(t, "memory_efficiency", a.Causes[1].Trigger)
	require.False(t, a.Causes[1].Fired)
	text := a.Text()
	for _, want := range []string{
		"ROLLBACK ANALYSIS " + id,
		"kind       emergency (automatic)",
		"trigger    error_rate",
		"status     completed, verification passed",
		"routing    hybrid 50% → fallback",
		"detected   after the condition held 1m0s",
		"error rate         20.00% (",
		"memory efficiency  10.00%",
		"health score       90.0",
		"1. fallback from",
		"High error rate: check specialist initialization",
		"Low memory efficiency: increase the warm threshold (0.3 → 0.4)",
		"start again in shadow mode",
	} {
		require.Contains(t, text, want)
	}
	require.Equal(t, text, a.String())
	_, err = json.Marshal(a)
	require.NoError(t, err)

	_, err = f.mgr.Analyze("rb-nope")
	require.ErrorIs(t, err, ErrUnknownRollback)
	_, err = f.mgr.Get("rb-nope")
	require.ErrorIs(t, err, ErrUnknownRollback)
}

func TestRecordsAreBoundedAndCopied(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, full, WithMaxRecords(2))
	for i := 0; i < 3; i++ {
		require.NoError(t, migrate.Apply(f.router, full))
		_, err := f.mgr.Emergency(ctx, fmt.Sprintf("drill %d", i))
		require.NoError(t, err)
		f.after(2*time.Minute, nil)
	}
	h := f.mgr.History()
	require.Len(t, h, 2)
	require.Equal(t, "drill 1", h[0].Reason)
	h[0].Stages[0].Routing = full
	require.Equal(t, migrate.Legacy, f.mgr.History()[0].Stages[0].Routing)
}

func TestMetricsErrors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, full)
	f.metrics.setErr(errBoom)
	_, err := f.mgr.Check(ctx)
	require.ErrorIs(t, err, errBoom)
	rec, err := f.mgr.Emergency(ctx, "metrics are down")
	require.NoError(t, err, "an emergency does not need metrics")
	require.Equal(t, "boom", rec.Evidence.ReadError)
	require.Equal(t, migrate.Legacy, f.router.routing())

	f = newFixture(t, full)
	f.router.mu.Lock()
	f.router.fail = errBoom
	f.router.mu.Unlock()
	_, err = f.mgr.Emergency(ctx, "router down")
	require.ErrorIs(t, err, errBoom)
	require.Empty(t, f.mgr.History(), "no record for a rollback that did not happen")
}

func TestRunStopsWithItsContext(t *testing.T) {
	f := newFixture(t, full, WithInterval(time.Second))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.mgr.Run(ctx) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
}

func TestNewValidates(t *testing.T) {
	clk := clock.NewMock()
	m := newMetrics(clk)
	_, err := New(nil, m)
	require.ErrorIs(t, err, ErrNilRouter)
	_, err = New(newRouter(full), nil)
	require.ErrorIs(t, err, ErrNilMetrics)
	var nilMetrics *metrics
	_, err = New(newRouter(full), nilMetrics)
	require.ErrorIs(t, err, ErrNilMetrics)
	for _, tc := range []struct {
		opt  Option
		want string
	}{
		{nil, "option 0 is nil"},
		{WithClock(nil), "WithClock"},
		{WithLogger(nil), "WithLogger"},
		{WithStore(nil), "WithStore"},
		{WithHealth(nil), "WithHealth"},
		{WithAlerts(nil), "WithAlerts"},
		{WithConfirm(nil), "WithConfirm"},
		{WithListener(nil), "WithListener"},
		{WithPlannedSteps(50, 75), "WithPlannedSteps([50 75]): want strictly decreasing percentages in (0, 100)"},
		{WithPlannedSteps(100), "WithPlannedSteps"},
		{WithVerifyAfter(0), "WithVerifyAfter(0s): want > 0"},
		{WithTriggerWindow(-1), "WithTriggerWindow(-1ns): want > 0"},
		{WithMinVolume(0), "WithMinVolume(0): want >= 1"},
		{WithInterval(0), "WithInterval(0s): want >= 1ms"},
		{WithMaxRecords(0), "WithMaxRecords(0): want [1, 1048576]"},
		{WithCriteria(Criteria{MaxErrorRate: 2, MaxLatencyRatio: 3}), "WithCriteria.MaxErrorRate(2): want [0, 1]"},
		{WithCriteria(Criteria{MaxErrorRate: 0.1}), "WithCriteria.MaxLatencyRatio(0)"},
		{WithCriteria(Criteria{MaxErrorRate: 0.1, MaxLatencyRatio: 3, MinHealth: 101}), "WithCriteria.MinHealth(101)"},
	} {
		_, err := New(newRouter(full), m, tc.opt)
		require.ErrorIs(t, err, ErrInvalidConfig, tc.want)
		require.Contains(t, err.Error(), tc.want)
	}
	_, err = New(newRouter(full), m, WithPlannedSteps(), WithTriggers())
	require.NoError(t, err, "no intermediate steps and no triggers are allowed")
}

func TestAPanickingListenerDoesNotStopTheOthers(t *testing.T) {
	f := newFixture(t, full, WithListener(func(Event) { panic("listener bug") }))
	_, err := f.mgr.Emergency(context.Background(), "drill")
	require.NoError(t, err)
	require.Equal(t, []EventType{EventStarted}, f.events.types())
	require.Contains(t, f.logs.String(), "listener panicked")
}
