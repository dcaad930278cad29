package migrate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
)

func TestNewStartsAtTheFirstStep(t *testing.T) {
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())))
	st := f.ctrl.Status()
	require.Equal(t, "s", st.Step.Name)
	require.Equal(t, StateRunning, st.State)
	require.Equal(t, Routing{bridge.ModeHybrid, 50}, f.router.routing())
	h := f.ctrl.History()
	require.Len(t, h, 1)
	require.Equal(t, ActionStart, h[0].Action)
}

func TestDefaultPlanIsTheSeeds(t *testing.T) {
	p := DefaultPlan()
	require.NoError(t, p.Validate())
	type row struct {
		name    string
		phase   Phase
		routing Routing
		soak    time.Duration
		compat  bool
		tune    bool
	}
	var got []row
	for _, s := range p.Steps {
		compat := false
		for _, c := range s.Gate.Criteria {
			compat = compat || c.Metric == MetricCompatibility
		}
		got = append(got, row{s.Name, s.Phase, s.Routing, s.Soak, compat, s.Tune})
	}
	full := Routing{bridge.ModeFull, 100}
	require.Equal(t, []row{
		{"preparation", PhasePreparation, Legacy, 10 * time.Minute, false, false},
		{"shadow", PhaseShadow, Routing{bridge.ModeShadow, 0}, 30 * time.Minute, true, false},
		{"hybrid-25", PhaseHybrid, Routing{bridge.ModeHybrid, 25}, 30 * time.Minute, false, false},
		{"hybrid-50", PhaseHybrid, Routing{bridge.ModeHybrid, 50}, 30 * time.Minute, false, false},
		{"hybrid-75", PhaseHybrid, Routing{bridge.ModeHybrid, 75}, 30 * time.Minute, false, false},
		{"full", PhaseFull, full, 30 * time.Minute, false, false},
		{"optimisation", PhaseOptimisation, full, time.Hour, false, true},
		{"verification", PhaseVerification, full, 30 * time.Minute, false, false},
	}, got)
	require.Empty(t, p.Steps[0].Gate.Criteria, "preparation has no gate")
	require.Equal(t, []Criterion{
		{MetricMemoryEfficiency, Above, 0.70},
		{MetricErrorRate, Below, 0.02},
		{MetricLatencyRatio, Below, 2.5},
		{MetricCompatibility, AtLeast, 1.0},
	}, p.Steps[1].Gate.Criteria)
	require.Equal(t, 250*time.Minute, p.Duration())
}

// Each criterion through the controller: a value just inside the threshold
// advances exactly when the soak is done and not a second before; the
// threshold value itself fails the gate and restarts the soak.
func TestEachGateCriterionAtItsBoundaryOverTheSoak(t *testing.T) {
	type feed func(m *fakeMetrics)
	cases := []struct {
		name       string
		pass, fail feed
	}{
		{
			"memory efficiency > 70%",
			func(m *fakeMetrics) { m.memory(0.7001); m.healthy(100) },
			func(m *fakeMetrics) { m.memory(0.70); m.healthy(100) },
		},
		{
			"error rate < 2%",
			func(m *fakeMetrics) { m.traffic(10000, 199, 150*time.Millisecond, 100*time.Millisecond, 0) },
			func(m *fakeMetrics) { m.traffic(100, 2, 150*time.Millisecond, 100*time.Millisecond, 0) },
		},
		{
			"latency ratio < 2.5x",
			func(m *fakeMetrics) { m.traffic(100, 0, 249*time.Millisecond, 100*time.Millisecond, 0) },
			func(m *fakeMetrics) { m.traffic(100, 0, 250*time.Millisecond, 100*time.Millisecond, 0) },
		},
		{
			"compatibility 100%",
			func(m *fakeMetrics) { m.traffic(1000, 0, 150*time.Millisecond, 100*time.Millisecond, 0) },
			func(m *fakeMetrics) { m.traffic(1000, 0, 150*time.Millisecond, 100*time.Millisecond, 1) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name+"/holds over the soak", func(t *testing.T) {
			f := newFixture(t, WithPlan(twoSteps(ShadowGate())))
			tc.pass(f.metrics)
			require.Equal(t, ActionSoak, f.at(15*time.Minute).Action)
			d := f.at(15*time.Minute - time.Second)
			require.Equal(t, ActionSoak, d.Action, "29m59s is not the soak")
			require.Equal(t, 30*time.Minute-time.Second, d.Soaked)
			d = f.at(time.Second)
			require.Equal(t, ActionAdvance, d.Action, d.Reason)
			require.Equal(t, "next", d.Step)
			require.Equal(t, "s", d.From)
			require.True(t, d.Gate.Passed)
			require.Equal(t, Routing{bridge.ModeFull, 100}, f.router.routing())
		})
		t.Run(tc.name+"/at the threshold fails and restarts the soak", func(t *testing.T) {
			f := newFixture(t, WithPlan(twoSteps(ShadowGate())))
			tc.fail(f.metrics)
			d := f.at(10 * time.Minute)
			require.Equal(t, ActionHold, d.Action)
			require.Contains(t, d.Reason, "gate failed, soak restarts")
			require.True(t, d.Gate.Failed)
			require.NotZero(t, d.Seq, "a failed gate is recorded")
			st := f.ctrl.Status()
			require.Zero(t, st.Soaked)
			require.Equal(t, "s", st.Step.Name)
			// Fresh, good evidence must hold for a whole soak again.
			tc.pass(f.metrics)
			f.metrics.memory(0.8)
			require.Equal(t, ActionSoak, f.at(30*time.Minute-time.Second).Action)
			require.Equal(t, ActionAdvance, f.at(time.Second).Action)
		})
	}
}

func TestNoDataMeansNotPassed(t *testing.T) {
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())))
	f.metrics.healthy(99)
	d := f.at(30 * time.Minute)
	require.Equal(t, ActionHold, d.Action)
	require.Contains(t, d.Reason, "lacks data")
	require.Contains(t, d.Reason, "99 of 100 intelligent calls")
	require.NotZero(t, d.Seq)
	d = f.at(time.Minute)
	require.Equal(t, ActionHold, d.Action)
	require.Zero(t, d.Seq, "the same cause is recorded once")
	f.metrics.healthy(1)
	require.Equal(t, ActionAdvance, f.at(time.Minute).Action)

	// Without a memory reading the memory criterion has no data.
	f = newFixture(t, WithPlan(twoSteps(DefaultGate())))
	f.metrics.mu.Lock()
	f.metrics.r.Pool = nil
	f.metrics.mu.Unlock()
	f.metrics.healthy(1000)
	d = f.at(time.Hour)
	require.Equal(t, ActionHold, d.Action)
	require.Contains(t, d.Reason, "memory_efficiency has no data")
}

func TestEmptyGateAdvancesOnSoakAlone(t *testing.T) {
	f := newFixture(t) // DefaultPlan: preparation has no gate
	require.Equal(t, Legacy, f.router.routing())
	require.Equal(t, ActionSoak, f.at(10*time.Minute-time.Second).Action)
	d := f.at(time.Second)
	require.Equal(t, ActionAdvance, d.Action)
	require.Equal(t, "shadow", d.Step)
	require.Equal(t, Routing{bridge.ModeShadow, 0}, f.router.routing())
}

func TestTheWholePlanCompletes(t *testing.T) {
	f := newFixture(t)
	var steps []string
	for i := 0; i < 1000 && f.ctrl.Status().State != StateCompleted; i++ {
		f.metrics.healthy(10)
		if d := f.at(30 * time.Second); d.Action == ActionAdvance || d.Action == ActionComplete {
			steps = append(steps, d.From+"→"+d.Step)
		}
	}
	require.Equal(t, StateCompleted, f.ctrl.Status().State)
	require.Equal(t, []string{"preparation→shadow", "shadow→hybrid-25", "hybrid-25→hybrid-50", "hybrid-50→hybrid-75",
		"hybrid-75→full", "full→optimisation", "optimisation→verification", "verification→verification"}, steps)
	d := f.at(time.Minute)
	require.Equal(t, ActionComplete, d.Action)
	require.Zero(t, d.Seq)
	_, err := f.ctrl.Advance(context.Background(), "again")
	require.ErrorIs(t, err, ErrCompleted)
}

func TestManualActionsAreRecordedWithTheirReason(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, call := range []func() (Decision, error){
		func() (Decision, error) { return f.ctrl.Advance(ctx, "") },
		func() (Decision, error) { return f.ctrl.Hold(ctx, " ") },
		func() (Decision, error) { return f.ctrl.Resume(ctx, "") },
		func() (Decision, error) { return f.ctrl.SetStep(ctx, "shadow", "") },
	} {
		_, err := call()
		require.ErrorIs(t, err, ErrReasonRequired)
	}

	d, err := f.ctrl.Advance(ctx, "preparation verified by hand")
	require.NoError(t, err)
	require.Equal(t, ActionAdvance, d.Action)
	require.True(t, d.Manual)
	require.Equal(t, "shadow", d.Step)

	d, err = f.ctrl.Hold(ctx, "waiting for the release window")
	require.NoError(t, err)
	require.Equal(t, StateHeld, d.State)
	// Held: the gate is evaluated and the soak accrues, but it never advances.
	f.metrics.healthy(1000)
	d = f.at(time.Hour)
	require.Equal(t, ActionHold, d.Action)
	require.Equal(t, "held: waiting for the release window", d.Reason)
	require.True(t, d.Gate.Passed)
	require.Equal(t, time.Hour, f.ctrl.Status().Soaked)

	_, err = f.ctrl.Resume(ctx, "window open")
	require.NoError(t, err)
	require.Equal(t, time.Hour, f.ctrl.Status().Soaked, "resuming a hold keeps the soak")
	f.metrics.healthy(10)
	d = f.at(time.Second)
	require.Equal(t, ActionAdvance, d.Action)
	require.Equal(t, "hybrid-25", d.Step)

	_, err = f.ctrl.Resume(ctx, "not held")
	require.ErrorIs(t, err, ErrNotHeld)
	_, err = f.ctrl.SetStep(ctx, "nope", "typo")
	require.ErrorIs(t, err, ErrUnknownStep)

	d, err = f.ctrl.SetStep(ctx, "full", "skip ahead for the drill")
	require.NoError(t, err)
	require.Equal(t, ActionSetStep, d.Action)
	require.Equal(t, "hybrid-25", d.From)
	require.Equal(t, Routing{bridge.ModeFull, 100}, f.router.routing())

	var got []string
	for _, d := range f.ctrl.History() {
		if d.Manual {
			got = append(got, fmt.Sprintf("%s:%s", d.Action, d.Reason))
		}
	}
	require.Equal(t, []string{
		"advance:preparation verified by hand",
		"hold:waiting for the release window",
		"resume:window open",
		"set_step:skip ahead for the drill",
	}, got)
}

func TestRoutingChangedOutsideStopsTheRollout(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())))
	f.metrics.healthy(200)
	f.at(10 * time.Minute)
	require.NoError(t, f.router.SetMode(bridge.ModeFallback)) // the bridge's automatic fallback
	d := f.at(time.Minute)
	require.Equal(t, ActionExternal, d.Action)
	require.Equal(t, StateRolledBack, d.State)
	require.Contains(t, d.Reason, "found fallback, expected hybrid 50%")
	// Rolled back: nothing is applied or advanced.
	d = f.at(time.Hour)
	require.Equal(t, ActionHold, d.Action)
	require.Zero(t, d.Seq)
	require.Equal(t, bridge.ModeFallback, f.router.Mode())
	_, err := f.ctrl.Advance(ctx, "push on")
	require.ErrorIs(t, err, ErrRolledBack)
	_, err = f.ctrl.Hold(ctx, "hold")
	require.ErrorIs(t, err, ErrRolledBack)

	d, err = f.ctrl.Resume(ctx, "pool fixed")
	require.NoError(t, err)
	require.Equal(t, Routing{bridge.ModeHybrid, 50}, f.router.routing())
	require.Zero(t, f.ctrl.Status().Soaked, "resuming after a rollback starts a fresh soak")

	// A change that serves the pool more only holds.
	require.NoError(t, f.router.SetPercentage(75))
	d = f.at(time.Minute)
	require.Equal(t, ActionExternal, d.Action)
	require.Equal(t, StateHeld, d.State)
}

func TestGuardRollbackStopsTheRollout(t *testing.T) {
	ctx := context.Background()
	g := &fakeGuard{}
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())), WithGuard(g))
	f.metrics.healthy(200)
	require.Equal(t, ActionSoak, f.at(time.Minute).Action)

	g.set(RollbackInfo{ID: "rb-1", Reason: "error rate 12%", Trigger: "error_rate", InProgress: true})
	d := f.at(time.Minute)
	require.Equal(t, ActionRollback, d.Action)
	require.Equal(t, "rb-1", d.Rollback)
	require.Equal(t, StateRolledBack, d.State)
	require.Equal(t, ActionHold, f.at(time.Minute).Action)

	_, err := f.ctrl.Resume(ctx, "fixed")
	require.ErrorIs(t, err, ErrRollbackInProgress)
	_, err = f.ctrl.SetStep(ctx, "s", "fixed")
	require.ErrorIs(t, err, ErrRollbackInProgress)

	g.set(RollbackInfo{ID: "rb-1", Reason: "error rate 12%", Trigger: "error_rate"})
	_, err = f.ctrl.SetStep(ctx, "s", "redeploy after the fix")
	require.NoError(t, err)
	require.Equal(t, StateRunning, f.ctrl.Status().State)
	require.Equal(t, "rb-1", f.ctrl.Status().LastRollback)
	require.Equal(t, ActionSoak, f.at(time.Minute).Action, "the same rollback is not seen twice")

	g.mu.Lock()
	g.err = errBoom
	g.mu.Unlock()
	_, err = f.ctrl.Step(ctx)
	require.ErrorIs(t, err, errBoom)
}

func TestErrorsLeaveTheStepInPlace(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())))
	f.metrics.healthy(200)
	f.metrics.setErr(errBoom)
	f.clk.Add(time.Hour)
	_, err := f.ctrl.Step(ctx)
	require.ErrorIs(t, err, errBoom)
	require.Zero(t, f.ctrl.Status().Soaked, "time without metrics does not count")
	f.metrics.setErr(nil)

	require.Equal(t, ActionSoak, f.at(29*time.Minute).Action)
	f.router.setFail(errBoom)
	f.clk.Add(time.Minute)
	_, err = f.ctrl.Step(ctx)
	require.ErrorIs(t, err, errBoom)
	require.Equal(t, "s", f.ctrl.Status().Step.Name)
	f.router.setFail(nil)
	require.Equal(t, ActionAdvance, f.at(time.Second).Action)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.ctrl.Step(cctx)
	require.ErrorIs(t, err, context.Canceled)
}

func TestListenersGetRecordedDecisions(t *testing.T) {
	var got []Action
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())), WithListener(func(d Decision) { got = append(got, d.Action) }))
	f.metrics.healthy(200)
	f.at(30 * time.Minute)
	f.metrics.healthy(200)
	f.at(30 * time.Minute)
	require.Equal(t, []Action{ActionStart, ActionAdvance, ActionComplete}, got)
	require.Equal(t, got, actions(f.ctrl.History()))
}

func TestHistoryIsBounded(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, WithHistoryLimit(3))
	for i := 0; i < 5; i++ {
		_, err := f.ctrl.Hold(ctx, fmt.Sprintf("hold %d", i))
		require.NoError(t, err)
	}
	h := f.ctrl.History()
	require.Len(t, h, 3)
	require.Equal(t, "hold 4", h[2].Reason)
	require.Equal(t, 6, h[2].Seq)
}

func TestRunStopsWithItsContextAndOnCompletion(t *testing.T) {
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())), WithInterval(time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.ctrl.Run(ctx) }()
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)

	one := Plan{Name: "one", Steps: []Step{{Name: "only", Routing: Legacy}}}
	f = newFixture(t, WithPlan(one))
	require.NoError(t, f.ctrl.Run(context.Background()))
	require.Equal(t, StateCompleted, f.ctrl.Status().State)
}

func TestNewValidates(t *testing.T) {
	m := newMetrics(newFixture(t).clk)
	_, err := New(nil, m)
	require.ErrorIs(t, err, ErrNilRouter)
	var nilRouter *fakeRouter
	_, err = New(nilRouter, m)
	require.ErrorIs(t, err, ErrNilRouter)
	_, err = New(newRouter(), nil)
	require.ErrorIs(t, err, ErrNilMetrics)

	bad := []struct {
		opt  Option
		want string
	}{
		{nil, "option 0 is nil"},
		{WithClock(nil), "WithClock(<nil>)"},
		{WithLogger(nil), "WithLogger"},
		{WithStore(nil), "WithStore"},
		{WithGuard(nil), "WithGuard"},
		{WithTuner(nil), "WithTuner"},
		{WithListener(nil), "WithListener"},
		{WithInterval(0), "WithInterval(0s): want >= 1ms"},
		{WithHistoryLimit(0), "WithHistoryLimit(0): want [1, 1048576]"},
		{WithStartStep(""), "WithStartStep"},
		{WithStartStep("nope"), `WithStartStep("nope")`},
		{WithPlan(Plan{}), "no steps"},
		{WithTuning(Tuning{}), "WithTuning.Interval(0s): want > 0"},
		{WithTuning(func() Tuning { t := DefaultTuning(); t.ThresholdMin = 0.7; return t }()), "ThresholdMin/ThresholdMax(0.7/0.6)"},
		{WithTuning(func() Tuning { t := DefaultTuning(); t.MaxWarmMin = 5; return t }()), "both 0 (derived) or both set"},
		{WithTuning(func() Tuning { t := DefaultTuning(); t.MaxWarmStep = 0; return t }()), "MaxWarmStep(0)"},
		{WithTuning(func() Tuning { t := DefaultTuning(); t.TargetHitRate = 2; return t }()), "TargetHitRate(2)"},
	}
	for _, tc := range bad {
		_, err := New(newRouter(), m, tc.opt)
		require.ErrorIs(t, err, ErrInvalidConfig, tc.want)
		require.Contains(t, err.Error(), tc.want)
	}
}

func TestPlanValidate(t *testing.T) {
	ok := Step{Name: "a", Routing: Legacy}
	cases := []struct {
		plan Plan
		want string
	}{
		{Plan{}, "no steps"},
		{Plan{Steps: []Step{{Routing: Legacy}}}, "step 0 has no name"},
		{Plan{Steps: []Step{ok, ok}}, `name "a" used twice`},
		{Plan{Steps: []Step{{Name: "a"}}}, "mode Mode(0)"},
		{Plan{Steps: []Step{{Name: "a", Routing: Routing{bridge.ModeHybrid, 101}}}}, "percentage 101"},
		{Plan{Steps: []Step{{Name: "a", Routing: Legacy, Soak: -1}}}, "soak -1ns"},
		{Plan{Steps: []Step{{Name: "a", Routing: Legacy, Gate: Gate{Criteria: []Criterion{{Metric: "x", Op: Above}}}}}}, `metric "x"`},
		{Plan{Steps: []Step{{Name: "a", Routing: Legacy, Gate: Gate{Criteria: []Criterion{{Metric: MetricErrorRate, Op: "!"}}}}}}, `op "!"`},
		{Plan{Steps: []Step{{Name: "a", Routing: Legacy, Gate: Gate{Criteria: []Criterion{{Metric: MetricErrorRate, Op: Below, Threshold: 2}}}}}}, "want a fraction"},
	}
	for _, tc := range cases {
		err := tc.plan.Validate()
		require.ErrorIs(t, err, ErrInvalidPlan)
		require.Contains(t, err.Error(), tc.want)
	}
}

func TestDecisionString(t *testing.T) {
	d := Decision{At: time.Unix(0, 0), Action: ActionAdvance, Manual: true, From: "a", Step: "b", State: StateRunning,
		Routing: Routing{bridge.ModeHybrid, 25}, Reason: "go"}
	require.Equal(t, "1970-01-01T00:00:00Z advance (manual) a → b [running, hybrid 25%]: go", d.String())
	require.True(t, strings.HasPrefix(Routing{bridge.ModeShadow, 0}.String(), "shadow"))
}

func TestEveryGateFailureIsRecorded(t *testing.T) {
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())))
	for i := 0; i < 3; i++ {
		f.metrics.traffic(100, 5, 150*time.Millisecond, 100*time.Millisecond, 0)
		d := f.at(5 * time.Minute)
		require.Equal(t, ActionHold, d.Action)
		require.NotZero(t, d.Seq, "soak restart %d is recorded", i)
		require.Contains(t, d.Reason, "error_rate is 5.00% (5 errors in 100 calls)")
	}
	require.Equal(t, []Action{ActionStart, ActionHold, ActionHold, ActionHold}, actions(f.ctrl.History()))
}

func TestAPanickingListenerDoesNotStopTheOthers(t *testing.T) {
	var got []Action
	f := newFixture(t, WithPlan(twoSteps(DefaultGate())),
		WithListener(func(Decision) { panic("listener bug") }),
		WithListener(func(d Decision) { got = append(got, d.Action) }))
	_, err := f.ctrl.Hold(context.Background(), "check listeners")
	require.NoError(t, err)
	require.Equal(t, []Action{ActionStart, ActionHold}, got)
}
