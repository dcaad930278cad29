package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/rollback"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// seen is what a test reads from the live system at the end of a run.
type seen struct {
	stats    pool.Stats
	mode     bridge.Mode
	records  []rollback.Record
	shadow   bridge.ShadowStats
	complete bool
}

func inspect(out *seen) func(*system) {
	return func(s *system) {
		out.stats = s.pool.Stats()
		out.mode = s.bridge.Mode()
		out.records = s.rollback.History()
		out.shadow = s.bridge.Stats().Shadow
		out.complete = s.ctrl.Status().State == migrate.StateCompleted
	}
}

// testMemory is what a pool specialist allocates in the tests: the race
// detector makes touching 5 MB per start (the default) slow. The figures are
// checked against the pool's stats whatever the size.
const testMemory = 256 << 10

// shortPlan is DefaultPlan with soaks cut to a sixth (at least a minute):
// the same eight steps and gates, each still needing its 100 calls.
func shortPlan() migrate.Plan {
	p := migrate.DefaultPlan()
	for i := range p.Steps {
		p.Steps[i].Soak = max(time.Minute, p.Steps[i].Soak/6)
	}
	return p
}

// checkFigures checks the report against the pool's own stats.
func checkFigures(t *testing.T, rep Report, got seen) {
	t.Helper()
	st := got.stats
	assert.Equal(t, float64(st.MemorySaved)/mb, rep.Memory.SavedMB, "memory saved MB")
	assert.Equal(t, float64(st.MemoryBaseline)/mb, rep.Memory.LegacyMB, "legacy MB")
	assert.Equal(t, float64(st.MemoryCurrent)/mb, rep.Memory.PoolMB, "pool MB")
	assert.Equal(t, st.MemoryEfficiency, rep.Memory.Efficiency, "efficiency")
	assert.Equal(t, st.WarmHitRate, rep.WarmHitRate, "warm hit rate")
	assert.Equal(t, st.Tasks, rep.Tasks)
	assert.Equal(t, st.WarmHits, rep.WarmHits)
	assert.Equal(t, float64(83*testMemory)/mb, rep.Memory.LegacyMB, "83 specialists")
	assert.InDelta(t, rep.Memory.SavedMB*rep.Cost.CostPerMBMonth*12, rep.Cost.AnnualSavingUSD, 1e-9)
	assert.Equal(t, 0.5, rep.Cost.CostPerMBMonth)
	assert.Equal(t, got.shadow.Compared, rep.Compatibility.Compared)
	assert.Equal(t, got.shadow.Matched, rep.Compatibility.Matched)
}

// TestDefaultRolloutCompletes runs the real default plan end to end.
func TestDefaultRolloutCompletes(t *testing.T) {
	t.Parallel()
	var got seen
	cfg := defaultConfig()
	cfg.Memory = testMemory
	cfg.inspect = inspect(&got)
	rep, err := deploy(context.Background(), cfg)
	require.NoError(t, err)

	assert.Equal(t, "completed", rep.Outcome)
	assert.True(t, got.complete)
	assert.Equal(t, 8, rep.Steps)
	assert.Equal(t, 8, rep.StepsPassed)
	assert.Equal(t, "verification", rep.FinalStep)
	assert.Equal(t, bridge.ModeFull, got.mode)
	assert.Empty(t, rep.Rollbacks)
	assert.Empty(t, got.records)
	checkFigures(t, rep, got)

	// The seed's success criteria, as measured.
	assert.Greater(t, rep.Memory.Efficiency, 0.70)
	assert.Zero(t, rep.ErrorRate)
	assert.Less(t, rep.Latency.Ratio, 2.5)
	assert.Greater(t, rep.Latency.OverheadMs, 0.0, "cold starts cost the pool time")
	assert.Equal(t, 1.0, rep.Compatibility.Share, "the default comparator: 100 %% compatible")
	assert.GreaterOrEqual(t, rep.Compatibility.Compared, uint64(migrate.DefaultMinCompared))
	assert.Greater(t, rep.WarmHitRate, 0.4)
	assert.Greater(t, rep.Cost.AnnualSavingUSD, 0.0)

	// Every step passed its gate, each with measured values.
	require.Len(t, rep.Gates, 8)
	for i, g := range rep.Gates {
		assert.Equal(t, "passed", g.Status, g.Step)
		assert.Equal(t, migrate.DefaultPlan().Steps[i].Name, g.Step)
		if i == 0 {
			assert.Empty(t, g.Checks, "preparation has no gate")
			continue
		}
		assert.NotEmpty(t, g.Checks, g.Step)
		for _, c := range g.Checks {
			assert.True(t, c.HasData && c.Passed, "%s %s: %s", g.Step, c.Criterion, c.Measured)
		}
	}
	// The soak times were honoured: the plan takes at least its duration.
	assert.GreaterOrEqual(t, rep.SimulatedSeconds, migrate.DefaultPlan().Duration().Seconds())
	assert.NotEmpty(t, rep.Tunings, "the optimisation step tuned the pool")
}

// TestFaultsRollBack injects each fault and checks the one automatic
// rollback it must cause.
func TestFaultsRollBack(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		fault, trigger string
	}{
		{FaultErrors, "error_rate"},
		{FaultLatency, "response_time"},
		{FaultMemory, "memory_efficiency"},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			var got seen
			cfg := defaultConfig()
			cfg.Memory = testMemory
			cfg.Plan = shortPlan()
			cfg.Fault = tc.fault
			cfg.inspect = inspect(&got)
			rep, err := deploy(context.Background(), cfg)
			require.NoError(t, err)

			assert.Equal(t, "rolled_back", rep.Outcome)
			assert.Equal(t, "hybrid-50", rep.FinalStep)
			assert.Equal(t, bridge.ModeFallback, got.mode, "the bridge ends in fallback")
			require.Len(t, got.records, 1, "exactly one rollback")
			rec := got.records[0]
			assert.True(t, rec.Automatic)
			assert.Equal(t, rollback.KindEmergency, rec.Kind)
			assert.Equal(t, tc.trigger, rec.Trigger)
			assert.Equal(t, rollback.StatusCompleted, rec.Status)
			require.NotNil(t, rec.Verification)

			require.Len(t, rep.Rollbacks, 1)
			rr := rep.Rollbacks[0]
			assert.Equal(t, rec.ID, rr.ID)
			assert.Equal(t, tc.trigger, rr.Trigger)
			assert.Contains(t, rr.Analysis, "ROLLBACK ANALYSIS "+rec.ID)
			require.NotNil(t, rep.Fault)
			assert.True(t, rep.Fault.Injected)
			assert.True(t, rep.Fault.Handled, rep.Fault.HandledText)
			assert.Equal(t, "hybrid-50", rep.Fault.Phase)
			assert.Equal(t, "rolled_back", rep.Gates[3].Status)
			assert.NotEmpty(t, rep.Gates[3].Checks, "the step's last gate evaluation is shown")
			assert.Equal(t, 3, rep.StepsPassed)
			checkFigures(t, rep, got)

			// The evidence the rollback recorded is the fault's.
			ev := rec.Evidence
			switch tc.fault {
			case FaultErrors:
				require.NotNil(t, ev.ErrorRate)
				assert.Greater(t, *ev.ErrorRate, rollback.DefaultMaxErrorRate)
				assert.Positive(t, rep.IntelligentErrors)
				assert.Equal(t, rep.IntelligentErrors, got.stats.TaskErrors, "the specialists themselves failed")
				assert.Zero(t, rep.ServedErrorRate, "legacy answered every failed pool call")
			case FaultLatency:
				require.NotNil(t, ev.LatencyRatio)
				assert.Greater(t, *ev.LatencyRatio, rollback.DefaultMaxLatencyRatio)
			case FaultMemory:
				require.NotNil(t, ev.MemoryEfficiency)
				assert.Less(t, *ev.MemoryEfficiency, rollback.DefaultMinMemoryEfficiency)
				assert.Greater(t, rep.Memory.Warm, 17, "the runaway warmer holds more than the cap it replaced")
			}
		})
	}
}

// TestRunJSON runs the command with -json and -out on the short plan.
func TestRunJSON(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "report.json")
	state := filepath.Join(t.TempDir(), "rollout.json")
	var stdout, stderr bytes.Buffer
	code := runWith(context.Background(), []string{"-json", "-out", out, "-state", state}, &stdout, &stderr,
		func(c *config) { c.Plan, c.Memory = shortPlan(), testMemory })
	require.Equal(t, 0, code, stderr.String())

	var rep Report
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &rep), "stdout is the JSON report only")
	require.NoError(t, jsonx.Check(stdout.Bytes(), 0), "the module's JSON convention: camelCase, no null")
	assert.Equal(t, "completed", rep.Outcome)
	require.Len(t, rep.Gates, 8)
	assert.Equal(t, "shadow", rep.Gates[1].Step)
	assert.Len(t, rep.Gates[1].Checks, 4)
	assert.Equal(t, "compatibility >= 100.00%", rep.Gates[1].Checks[3].Criterion)

	data, err := os.ReadFile(out)
	require.NoError(t, err)
	var fromFile Report
	require.NoError(t, json.Unmarshal(data, &fromFile))
	assert.Equal(t, rep, fromFile)

	assert.Contains(t, stderr.String(), "] verification", "progress goes to stderr with -json")
	_, err = migrate.OpenFileStore(state)
	require.NoError(t, err, "the state file is a valid store")
}

// TestRunText checks the plain progress lines and the report table, with a
// fault, through the command.
func TestRunText(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	code := runWith(context.Background(), []string{"-fault", "errors", "-fault-phase", "hybrid"}, &stdout, &stderr,
		func(c *config) { c.Plan, c.Memory = shortPlan(), testMemory })
	require.Equal(t, 0, code, stderr.String())
	text := stdout.String()
	assert.Contains(t, text, "[00:00:00] preparation")
	assert.Contains(t, text, "FAULT injected: errors")
	assert.Contains(t, text, "ROLLBACK rb-20260302-", "rollback IDs carry the simulated date")
	assert.Contains(t, text, "from 2026-03-02 09:00 UTC")
	assert.Equal(t, 1, strings.Count(text, "annual cost saving"), "one annual-saving figure")
	assert.Equal(t, 1, strings.Count(text, "\nmemory saved"), "one memory-saved figure")
	assert.Contains(t, text, "at the end of the run", "each says what it is measured over")
	assert.Contains(t, text, "DEPLOYMENT REPORT")
	assert.Contains(t, text, "memory saved")
	assert.Contains(t, text, "annual cost saving")
	assert.Contains(t, text, "ROLLBACK ANALYSIS")
	assert.NotContains(t, text, "\033[", "no terminal codes when stdout is not a terminal")
	assert.Empty(t, stderr.String())
}

// -h prints the usage with every flag and its help, and exits 0.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 0, run(context.Background(), []string{arg}, &stdout, &stderr))
		out := stdout.String()
		assert.Contains(t, out, "usage: deployment")
		fs, _, _, _ := newFlagSet()
		fs.VisitAll(func(f *flag.Flag) {
			assert.Contains(t, out, "  -"+f.Name, "flag %s listed", f.Name)
			assert.Contains(t, out, strings.ReplaceAll(f.Usage, "`", ""), "flag %s's help", f.Name)
		})
		assert.Contains(t, out, "2026-03-02 09:00 UTC", "says where the clock starts")
		assert.Empty(t, stderr.String())
	}
}

// The seed's phase name is accepted for -fault-phase: its first step.
func TestFaultPhaseByPhaseName(t *testing.T) {
	for phase, step := range map[string]string{"hybrid": "hybrid-25", "HYBRID": "hybrid-25", "full": "full", "hybrid-75": "hybrid-75", "shadow": "shadow"} {
		cfg, _, err := parseFlags([]string{"-fault", "errors", "-fault-phase", phase})
		require.NoError(t, err, phase)
		assert.Equal(t, step, cfg.FaultPhase, phase)
	}
}

// The simulated clock starts at a fixed, realistic date, not 1970.
func TestClockStartsAtAFixedDate(t *testing.T) {
	d := newDriver()
	assert.Equal(t, Epoch, d.clk.Now())
	assert.Equal(t, 2026, Epoch.Year())
}

func TestBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-fault", "disk"},
		{"-fault-phase", "full"},
		{"-fault", "errors", "-fault-phase", "nowhere"},
		{"-nope"},
		{"extra"},
		{"-task-latency", "0s"},
		{"-state", "main.go"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		assert.Equal(t, 2, code, args)
		assert.Empty(t, stdout.String(), args)
		msg := stderr.String()
		assert.True(t, strings.HasPrefix(msg, "deployment: "), msg)
		assert.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
	}
}
