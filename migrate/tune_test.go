package migrate

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
)

func tunePlan() Plan {
	return Plan{Name: "tune", Steps: []Step{{Name: "optimisation", Phase: PhaseOptimisation,
		Routing: Routing{bridge.ModeFull, 100}, Soak: time.Hour, Tune: true}}}
}

type setting struct {
	name          string
	before, after float64
}

func changes(c *Controller) []setting {
	var out []setting
	for _, ch := range c.Tunings() {
		out = append(out, setting{ch.Setting, ch.Before, ch.After})
	}
	return out
}

// stepMinutes steps once a minute for n minutes, adding tasks each minute.
func stepMinutes(f *fixture, n int, tasks, hits uint64) {
	for i := 0; i < n; i++ {
		f.metrics.tasks(tasks, hits)
		f.at(time.Minute)
	}
}

func TestOptimisationReclaimsMemoryWithinBounds(t *testing.T) {
	tn := &fakeTuner{threshold: 0.3, maxWarm: 17}
	f := newFixture(t, WithPlan(tunePlan()), WithTuner(tn))
	f.metrics.memory(0.72)
	stepMinutes(f, 9, 10, 9)
	require.Empty(t, f.ctrl.Tunings(), "nothing before the first interval")
	stepMinutes(f, 51, 10, 9)
	require.Equal(t, []setting{
		{SettingWarmThreshold, 0.3, 0.35}, {SettingMaxWarm, 17, 16},
		{SettingWarmThreshold, 0.35, 0.4}, {SettingMaxWarm, 16, 15},
		{SettingWarmThreshold, 0.4, 0.45}, {SettingMaxWarm, 15, 14},
		{SettingWarmThreshold, 0.45, 0.5},
		{SettingWarmThreshold, 0.5, 0.55},
		{SettingWarmThreshold, 0.55, 0.6},
	}, changes(f.ctrl))
	require.Equal(t, 0.6, tn.threshold)
	require.Equal(t, 14, tn.maxWarm, "max warm stays within 17 − 3")
	ch := f.ctrl.Tunings()[0]
	require.Equal(t, "memory efficiency 72.0% below target 75%", ch.Reason)
	require.Equal(t, "optimisation", ch.Step)
	require.Equal(t, "warm_threshold 0.3 → 0.35 (memory efficiency 72.0% below target 75%)", ch.String())
	require.Equal(t, StateCompleted, f.ctrl.Status().State)
}

func TestOptimisationKeepsMoreWarmWhenHitsAreLowAndMemoryAllows(t *testing.T) {
	tn := &fakeTuner{threshold: 0.3, maxWarm: 17}
	f := newFixture(t, WithPlan(tunePlan()), WithTuner(tn))
	f.metrics.memory(0.85)
	stepMinutes(f, 60, 10, 6) // 60 % warm hits
	require.Equal(t, []setting{
		{SettingMaxWarm, 17, 18}, {SettingWarmThreshold, 0.3, 0.25},
		{SettingMaxWarm, 18, 19}, {SettingWarmThreshold, 0.25, 0.2},
		{SettingMaxWarm, 19, 20},
	}, changes(f.ctrl))
	require.Equal(t, 20, tn.maxWarm, "max warm stays within 17 + 3")
	require.Equal(t, 0.2, tn.threshold)
}

func TestOptimisationLeavesSettingsWhenNothingToGain(t *testing.T) {
	for name, tc := range map[string]struct {
		eff         float64
		tasks, hits uint64
	}{
		"good hit rate":        {0.85, 10, 9},
		"no memory to spare":   {0.755, 10, 5}, // one more slot of 83 would cost 1.2 %
		"too few tasks to say": {0.85, 1, 0},
	} {
		t.Run(name, func(t *testing.T) {
			tn := &fakeTuner{threshold: 0.3, maxWarm: 17}
			f := newFixture(t, WithPlan(tunePlan()), WithTuner(tn))
			f.metrics.memory(tc.eff)
			stepMinutes(f, 60, tc.tasks, tc.hits)
			require.Empty(t, f.ctrl.Tunings())
			require.Equal(t, 0.3, tn.threshold)
			require.Equal(t, 17, tn.maxWarm)
		})
	}
}

func TestOptimisationRecordsSetterErrors(t *testing.T) {
	tn := &fakeTuner{threshold: 0.3, maxWarm: 17, fail: errBoom}
	f := newFixture(t, WithPlan(tunePlan()), WithTuner(tn))
	f.metrics.memory(0.5)
	stepMinutes(f, 10, 10, 9)
	ch := f.ctrl.Tunings()
	require.Len(t, ch, 2)
	require.Equal(t, "boom", ch[0].Err)
	require.Contains(t, ch[0].String(), "failed: boom")
	require.Equal(t, 0.3, tn.threshold)
}

func TestOptimisationWithExplicitBounds(t *testing.T) {
	tn := &fakeTuner{threshold: 0.3, maxWarm: 17}
	tuning := DefaultTuning()
	tuning.MaxWarmMin, tuning.MaxWarmMax = 16, 30
	tuning.Interval = 5 * time.Minute
	f := newFixture(t, WithPlan(tunePlan()), WithTuner(tn), WithTuning(tuning))
	f.metrics.memory(0.6)
	stepMinutes(f, 20, 10, 9)
	require.Equal(t, 16, tn.maxWarm)
	require.Equal(t, 0.5, tn.threshold)
}

// An optimisation step with no tuner tunes nothing: the controller says so
// loudly, at warn level (at New and on entering the step, once) and in its
// status while the step runs.
func TestOptimisationWithoutTunerWarns(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	plan := tunePlan()
	plan.Steps = append([]Step{{Name: "shadow", Phase: PhaseShadow, Routing: Routing{bridge.ModeShadow, 0}, Soak: time.Minute}}, plan.Steps...)
	f := newFixture(t, WithPlan(plan), WithLogger(logger))
	require.Equal(t, 1, strings.Count(logs.String(), "no tuner is configured"), "warned at New: %s", logs.String())
	require.Empty(t, f.ctrl.Status().Warnings, "not in the optimisation step yet")
	require.NotNil(t, f.ctrl.Status().Warnings, "[] not null")

	_, err := f.ctrl.SetStep(context.Background(), "optimisation", "test")
	require.NoError(t, err)
	for range 5 {
		f.at(time.Minute)
	}
	require.Equal(t, 2, strings.Count(logs.String(), "no tuner is configured"), "once more on entering the step, not every Step: %s", logs.String())
	require.Contains(t, logs.String(), "level=WARN")
	st := f.ctrl.Status()
	require.Len(t, st.Warnings, 1)
	require.Contains(t, st.Warnings[0], `"optimisation"`)
	require.Contains(t, st.Warnings[0], "WithTuner")

	// With a tuner: no warning at all.
	logs.Reset()
	g := newFixture(t, WithPlan(plan), WithLogger(logger), WithTuner(&fakeTuner{threshold: 0.3, maxWarm: 17}))
	_, err = g.ctrl.SetStep(context.Background(), "optimisation", "test")
	require.NoError(t, err)
	g.at(time.Minute)
	require.NotContains(t, logs.String(), "no tuner")
	require.Empty(t, g.ctrl.Status().Warnings)
}
