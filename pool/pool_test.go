package pool_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

func TestNewRejectsBadInput(t *testing.T) {
	f := newFake(t)
	good := f.specs(5, 5)
	dup := append(f.specs(2, 2), f.spec("s0", "d0", pool.PriorityLow, 1))
	noStart := f.specs(2, 2)
	noStart[1].Start = nil
	emptyID := f.specs(2, 2)
	emptyID[0].ID = ""
	negMem := f.specs(2, 2)
	negMem[0].Memory = -1
	cases := []struct {
		name  string
		specs []pool.Spec
		opts  []pool.Option
		want  []string // substrings of the error
	}{
		{"no specs", nil, nil, []string{"no specialists"}},
		{"empty id", emptyID, nil, []string{"spec 0", "empty ID"}},
		{"duplicate id", dup, nil, []string{"duplicate ID", `"s0"`}},
		{"nil start", noStart, nil, []string{`"s1"`, "nil Start"}},
		{"negative memory", negMem, nil, []string{"memory -1"}},
		{"max warm 0", good, []pool.Option{pool.WithMaxWarm(0)}, []string{"max warm 0", "allowed 1 to the number of specialists"}},
		{"max warm above count", good, []pool.Option{pool.WithMaxWarm(6)}, []string{"max warm 6", "(5)"}},
		{"max specialists", good, []pool.Option{pool.WithMaxSpecialists(4)}, []string{"specialist count 5", "max specialists (4)"}},
		{"threshold above 1", good, []pool.Option{pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(1.5)}, []string{"warm threshold 1.5", "0–1"}},
		{"threshold outside adaptive range", good, []pool.Option{pool.WithWarmThreshold(0.1)}, []string{"warm threshold 0.1", "0.2–0.6"}},
		{"threshold NaN", good, []pool.Option{pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(math.NaN())}, []string{"warm threshold NaN"}},
		{"negative cooldown", good, []pool.Option{pool.WithCooldown(-time.Second)}, []string{"cooldown -1s", "≥ 0"}},
		{"decay", good, []pool.Option{pool.WithUsageDecay(2)}, []string{"usage decay 2", "0–1 per second"}},
		{"window", good, []pool.Option{pool.WithPredictionWindow(1)}, []string{"prediction window 1", "2–1000"}},
		{"queue", good, []pool.Option{pool.WithMaxQueue(0)}, []string{"max queue 0", "≥ 1"}},
		{"warming concurrency", good, []pool.Option{pool.WithWarmingConcurrency(0)}, []string{"warming concurrency 0", "1–1000"}},
		{"batch", good, []pool.Option{pool.WithBatchSize(0)}, []string{"batch size 0"}},
		{"maintenance", good, []pool.Option{pool.WithMaintenanceInterval(time.Millisecond)}, []string{"maintenance interval 1ms"}},
		{"budget below a specialist", good, []pool.Option{pool.WithMemoryBudget(999)}, []string{"memory budget 999", "1000 bytes"}},
		{"negative budget", good, []pool.Option{pool.WithMemoryBudget(-1)}, []string{"memory budget -1"}},
		{"prewarm probability", good, []pool.Option{pool.WithPrewarmProbability(1.1)}, []string{"prewarm probability 1.1"}},
		{"nil option", good, []pool.Option{nil}, []string{"nil option"}},
		{"nil clock", good, []pool.Option{pool.WithClock(nil)}, []string{"WithClock(nil)"}},
		{"nil predictor", good, []pool.Option{pool.WithPredictor(nil)}, []string{"WithPredictor(nil)"}},
		{"nil warmer", good, []pool.Option{pool.WithWarmer(nil)}, []string{"WithWarmer(nil)"}},
		{"nil balancer", good, []pool.Option{pool.WithBalancer(nil)}, []string{"WithBalancer(nil)"}},
		{"nil logger", good, []pool.Option{pool.WithLogger(nil)}, []string{"WithLogger(nil)"}},
		{"nil observer", good, []pool.Option{pool.WithObserver(nil)}, []string{"WithObserver(nil)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := pool.New(c.specs, c.opts...)
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, pool.ErrInvalidConfig)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestDefaultMaxWarmIsTwentyPercent(t *testing.T) {
	for n, want := range map[int]int{83: 17, 200: 40, 3: 1, 1: 1} {
		f := newFake(t)
		p := f.newPool(f.specs(n, 10))
		assert.Equal(t, want, p.MaxWarm(), "n=%d", n)
	}
}

func TestColdThenWarm(t *testing.T) {
	f := newFake(t)
	gate := f.gate("s0")
	p := f.newPool(f.specs(3, 3), pool.WithPredictor(noPrediction{}))

	done := make(chan pool.Result)
	go func() { done <- run(t, p, "s0") }()
	<-f.startCh
	assert.Equal(t, pool.StateWarming, stateOf(p, "s0"))
	f.clk.Add(1500 * time.Millisecond)
	close(gate)
	res := <-done
	assert.False(t, res.Warm)
	assert.Equal(t, 1500*time.Millisecond, res.Waited)
	assert.Equal(t, "s0", res.Output)
	assert.Equal(t, "s0", res.Specialist)

	res = run(t, p, "s0")
	assert.True(t, res.Warm)
	assert.Zero(t, res.Waited)

	st := p.Stats()
	assert.Equal(t, uint64(2), st.Tasks)
	assert.Equal(t, uint64(1), st.WarmHits)
	assert.Equal(t, uint64(1), st.Misses)
	assert.Equal(t, uint64(1), st.ColdStarts)
	assert.InDelta(t, 0.5, st.WarmHitRate, 1e-9)
	assert.Equal(t, 1, st.Warm)
	assert.Equal(t, 2, st.Cold)
	assert.Equal(t, 1500*time.Millisecond, st.AverageStart)
	assert.Equal(t, int64(1000), st.MemoryCurrent)
	assert.Equal(t, int64(3000), st.MemoryBaseline)
	assert.Equal(t, int64(2000), st.MemorySaved)
	assert.InDelta(t, 2.0/3, st.MemoryEfficiency, 1e-9)
	assert.Equal(t, uint64(2), st.Departments["d0"].Tasks)
	assert.Equal(t, 1, f.startsOf("s0"))
}

func TestConcurrentTasksShareOneStart(t *testing.T) {
	f := newFake(t)
	gate := f.gate("s0")
	p := f.newPool(f.specs(3, 3), pool.WithPredictor(noPrediction{}))
	const n = 8
	var wg sync.WaitGroup
	results := make(chan pool.Result, n)
	for range n {
		wg.Add(1)
		go func() { defer wg.Done(); results <- run(t, p, "s0") }()
	}
	<-f.startCh
	// Wait until all n wait on the one start.
	for p.Stats().QueueDepth < n {
		waitForSchedule()
	}
	close(gate)
	wg.Wait()
	close(results)
	for r := range results {
		assert.False(t, r.Warm)
	}
	assert.Equal(t, 1, f.startsOf("s0"))
	st := p.Stats()
	assert.Equal(t, uint64(1), st.ColdStarts)
	assert.Equal(t, uint64(n), st.Misses)
	assert.Equal(t, 0, st.QueueDepth)
}

// The policy starts out following ARC (until measured misses favour
// another): a specialist used three times outlasts one used once.
func TestWarmCapEvictsLowestValueIdle(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(4, 1), pool.WithMaxWarm(2), pool.WithPredictor(noPrediction{}), pool.WithDepartmentBalance(false))
	for range 3 {
		run(t, p, "s0") // s0 used often: higher score
	}
	run(t, p, "s1")
	run(t, p, "s2") // must evict s1, the lower-value idle one
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"))
	assert.Equal(t, pool.StateCold, stateOf(p, "s1"))
	assert.Equal(t, pool.StateWarm, stateOf(p, "s2"))
	assert.Equal(t, 1, f.closesOf("s1"))
	st := p.Stats()
	assert.Equal(t, uint64(1), st.Evictions)
	assert.Equal(t, 2, st.Warm)
}

func TestEvictionNeverTakesAnExecutingSpecialist(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(3, 1), pool.WithMaxWarm(1), pool.WithPredictor(noPrediction{}))
	release := make(chan struct{})
	entered := make(chan struct{})
	f.setExec("s0", func(ctx context.Context, _ pool.Task) (pool.Result, error) {
		close(entered)
		<-release
		return pool.Result{Output: "done"}, nil
	})
	first := make(chan pool.Result)
	go func() { first <- run(t, p, "s0") }()
	<-entered
	assert.Equal(t, pool.StateActive, stateOf(p, "s0"))

	second := make(chan pool.Result)
	go func() { second <- run(t, p, "s1") }()
	// s1's start waits for a slot: s0 is the only warm one and is busy.
	for p.Stats().QueueDepth != 1 {
		waitForSchedule()
	}
	assert.Equal(t, pool.StateActive, stateOf(p, "s0"))
	assert.Equal(t, 0, f.startsOf("s1"))
	close(release)
	assert.Equal(t, "done", (<-first).Output)
	assert.Equal(t, "s1", (<-second).Output)
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
	assert.Equal(t, 1, f.closesOf("s0"))
}

func TestMemoryBudgetEvicts(t *testing.T) {
	f := newFake(t)
	specs := []pool.Spec{
		f.spec("big", "d", pool.PriorityHigh, 600),
		f.spec("small1", "d", pool.PriorityMedium, 300),
		f.spec("small2", "d", pool.PriorityMedium, 300),
	}
	p := f.newPool(specs, pool.WithMaxWarm(3), pool.WithMemoryBudget(900), pool.WithPredictor(noPrediction{}))
	run(t, p, "small1")
	run(t, p, "small2")
	assert.Equal(t, int64(600), p.Stats().MemoryCurrent)
	run(t, p, "big") // needs 600: one small must go
	st := p.Stats()
	assert.LessOrEqual(t, st.MemoryCurrent, int64(900))
	assert.Equal(t, int64(900), st.MemoryCurrent)
	assert.Equal(t, uint64(1), st.Evictions)
	assert.Equal(t, pool.StateWarm, stateOf(p, "big"))
}

func TestCooldownCoolsIdleBelowThreshold(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(2, 2), pool.WithPredictor(noPrediction{}), pool.WithAdaptiveScaling(false),
		pool.WithWarmThreshold(0.3), pool.WithCooldown(45*time.Second), pool.WithMaintenanceInterval(time.Second))
	run(t, p, "s0") // one medium use: score 1−e^(−0.6) ≈ 0.45
	f.clk.Add(44 * time.Second)
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"), "idle less than the cooldown")
	// Past the cooldown, but the score 1−e^(−0.6·e^(−0.02·45)) ≈ 0.22 is
	// below 0.3 only after ln(0.6/0.357)/0.02 ≈ 26 s: cooled by 45 s.
	f.clk.Add(2 * time.Second)
	st := p.Stats()
	assert.Equal(t, 0, st.Warm)
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
	assert.Equal(t, 1, f.closesOf("s0"))
	assert.Equal(t, uint64(1), st.Cooled)
}

func TestHighScoreStaysWarmPastCooldown(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(2, 2), pool.WithPredictor(noPrediction{}), pool.WithAdaptiveScaling(false),
		pool.WithWarmThreshold(0.3), pool.WithCooldown(10*time.Second), pool.WithMaintenanceInterval(time.Second))
	for range 10 {
		run(t, p, "s0") // u = 6 → stays ≥ 0.3 until 6·e^(−0.02t) < 0.357: t ≈ 141 s
	}
	f.clk.Add(100 * time.Second)
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"))
	f.clk.Add(50 * time.Second)
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
}

func TestUsageScoreFormula(t *testing.T) {
	f := newFake(t)
	specs := []pool.Spec{f.spec("hi", "d", pool.PriorityHigh, 1), f.spec("lo", "d", pool.PriorityLow, 1)}
	p := f.newPool(specs, pool.WithPredictor(noPrediction{}), pool.WithCooldown(time.Hour), pool.WithUsageDecay(0.02))
	run(t, p, "hi")
	run(t, p, "lo")
	f.clk.Add(10 * time.Second)
	run(t, p, "hi")
	f.clk.Add(5 * time.Second)
	got := map[string]float64{}
	for _, s := range p.Specialists() {
		got[s.ID] = s.Score
	}
	uHi := (1*math.Exp(-0.02*10) + 1) * math.Exp(-0.02*5)
	uLo := 0.3 * math.Exp(-0.02*15)
	// Decay is read from a table (no math.Exp per task): within 0.3 %.
	assert.InEpsilon(t, 1-math.Exp(-uHi), got["hi"], 0.003)
	assert.InEpsilon(t, 1-math.Exp(-uLo), got["lo"], 0.003)

	// Without priority weighting every use weighs 1.
	f2 := newFake(t)
	p2 := f2.newPool([]pool.Spec{f2.spec("lo", "d", pool.PriorityLow, 1)}, pool.WithPredictor(noPrediction{}), pool.WithPriorityWeighting(false))
	run(t, p2, "lo")
	assert.InDelta(t, 1-math.Exp(-1), p2.Specialists()[0].Score, 1e-9)
}

func TestTaskPriorityOverridesSpecialistPriority(t *testing.T) {
	f := newFake(t)
	p := f.newPool([]pool.Spec{f.spec("lo", "d", pool.PriorityLow, 1)}, pool.WithPredictor(noPrediction{}))
	_, err := p.Execute(context.Background(), pool.Task{Specialist: "lo", Priority: pool.PriorityHigh})
	require.NoError(t, err)
	assert.InDelta(t, 1-math.Exp(-1), p.Specialists()[0].Score, 1e-9)
}

func TestAdaptiveThresholdRisesUnderPressureAndStaysInRange(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(5, 5), pool.WithMaxWarm(2), pool.WithPredictor(noPrediction{}),
		pool.WithCooldown(time.Hour), pool.WithMaintenanceInterval(time.Second))
	run(t, p, "s0")
	run(t, p, "s1") // 2 of 2 warm: pressure 100 %
	for range 12 {
		f.clk.Add(time.Minute)
		p.Stats()
	}
	assert.InDelta(t, pool.MaxAdaptiveThreshold, p.WarmThreshold(), 1e-9)
	st := p.Stats()
	assert.Equal(t, uint64(6), st.ThresholdAdjustments) // 0.3 → 0.6 in steps of 0.05
	var seen []float64
	for len(f.events) > 0 {
		if e := <-f.events; e.Kind == pool.EventThresholdAdjusted {
			seen = append(seen, e.Threshold)
			assert.Contains(t, e.Reason, "memory pressure")
		}
	}
	assert.Equal(t, []float64{0.35, 0.4, 0.45, 0.5, 0.55, 0.6}, seen)
}

func TestAdaptiveThresholdFallsOnLowHitRate(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(80, 80), pool.WithMaxWarm(79), pool.WithPredictor(noPrediction{}),
		pool.WithCooldown(0), pool.WithMaintenanceInterval(time.Second))
	for round := range 8 {
		for i := range 10 { // ten one-off tasks per minute: all cold
			run(t, p, fmt.Sprintf("s%d", 10*round+i))
		}
		f.clk.Add(time.Minute)
		p.Stats()
	}
	assert.InDelta(t, pool.MinAdaptiveThreshold, p.WarmThreshold(), 1e-9)
	assert.GreaterOrEqual(t, p.Stats().ThresholdAdjustments, uint64(2))
}

func TestQueueFull(t *testing.T) {
	f := newFake(t)
	gate := f.gate("s0")
	p := f.newPool(f.specs(3, 3), pool.WithMaxQueue(1), pool.WithPredictor(noPrediction{}))
	first := make(chan error)
	go func() {
		_, err := p.Execute(context.Background(), pool.Task{Specialist: "s0"})
		first <- err
	}()
	<-f.startCh
	for p.Stats().QueueDepth != 1 {
		waitForSchedule()
	}
	_, err := p.Execute(context.Background(), pool.Task{Specialist: "s0"})
	assert.ErrorIs(t, err, pool.ErrQueueFull)
	assert.Contains(t, err.Error(), "1 tasks already wait")
	close(gate)
	assert.NoError(t, <-first)
	st := p.Stats()
	assert.Equal(t, uint64(1), st.Rejected)
	assert.Equal(t, uint64(1), st.Tasks, "a rejected task is not an accepted one")
	// A warm specialist does not queue.
	run(t, p, "s0")
}

func TestCancelWhileWaitingLeavesTheStartToOthers(t *testing.T) {
	f := newFake(t)
	gate := f.gate("s0")
	p := f.newPool(f.specs(3, 3), pool.WithPredictor(noPrediction{}))
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error)
	go func() {
		_, err := p.Execute(ctx, pool.Task{Specialist: "s0"})
		cancelled <- err
	}()
	<-f.startCh
	other := make(chan pool.Result)
	go func() { other <- run(t, p, "s0") }()
	for p.Stats().QueueDepth != 2 {
		waitForSchedule()
	}
	cancel()
	assert.ErrorIs(t, <-cancelled, context.Canceled)
	close(gate)
	assert.Equal(t, "s0", (<-other).Output)
	assert.Equal(t, 1, f.startsOf("s0"))
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"))
}

func TestStartFailureThenRetry(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			f := newFake(t)
			boom := errors.New("no GPU")
			if mode == "error" {
				f.fail["s0"] = boom
			} else {
				f.panicOn["s0"] = true
			}
			p := f.newPool(f.specs(2, 2), pool.WithPredictor(noPrediction{}))
			_, err := p.Execute(context.Background(), pool.Task{Specialist: "s0"})
			require.Error(t, err)
			assert.ErrorIs(t, err, pool.ErrStartFailed)
			if mode == "error" {
				assert.ErrorIs(t, err, boom)
			} else {
				assert.ErrorIs(t, err, pool.ErrPanic)
				assert.Contains(t, err.Error(), "boom in start of s0")
			}
			assert.Equal(t, pool.StateError, stateOf(p, "s0"))
			info := p.Specialists()[0]
			assert.NotEmpty(t, info.LastError)
			st := p.Stats()
			assert.Equal(t, uint64(1), st.StartFailures)
			assert.Equal(t, 0, st.Warm)
			assert.Zero(t, st.MemoryCurrent)

			f.mu.Lock()
			delete(f.fail, "s0")
			delete(f.panicOn, "s0")
			f.mu.Unlock()
			res := run(t, p, "s0")
			assert.Equal(t, "s0", res.Output)
			assert.Equal(t, pool.StateWarm, stateOf(p, "s0"))
			assert.Empty(t, p.Specialists()[0].LastError)
			assert.Equal(t, 2, f.startsOf("s0"))
		})
	}
}

func TestExecutePanicIsAnError(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(2, 2), pool.WithPredictor(noPrediction{}))
	f.setExec("s0", func(context.Context, pool.Task) (pool.Result, error) { panic("kaboom") })
	_, err := p.Execute(context.Background(), pool.Task{Specialist: "s0"})
	assert.ErrorIs(t, err, pool.ErrPanic)
	assert.Contains(t, err.Error(), "kaboom")
	f.setExec("s0", nil)
	assert.Equal(t, "s0", run(t, p, "s0").Output)
	st := p.Stats()
	assert.Equal(t, uint64(1), st.Panics)
	assert.Equal(t, uint64(1), st.TaskErrors)
	assert.Equal(t, uint64(2), st.Tasks)
}

func TestCloseWaitsForRunningTasks(t *testing.T) {
	f := newFake(t)
	p, err := pool.New(f.specs(3, 3), pool.WithClock(f.clk), pool.WithPredictor(noPrediction{}))
	require.NoError(t, err)
	run(t, p, "s1")
	release := make(chan struct{})
	entered := make(chan struct{})
	f.setExec("s0", func(context.Context, pool.Task) (pool.Result, error) {
		close(entered)
		<-release
		return pool.Result{Output: "finished"}, nil
	})
	running := make(chan pool.Result)
	go func() { running <- run(t, p, "s0") }()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, p.Close(ctx), context.Canceled, "a task still runs")
	_, err = p.Execute(context.Background(), pool.Task{Specialist: "s1"})
	assert.ErrorIs(t, err, pool.ErrClosed)

	closed := make(chan error)
	go func() { closed <- p.Close(context.Background()) }()
	close(release)
	assert.Equal(t, "finished", (<-running).Output)
	require.NoError(t, <-closed)
	require.NoError(t, p.Close(context.Background()), "second Close")
	assert.Equal(t, 1, f.closesOf("s0"))
	assert.Equal(t, 1, f.closesOf("s1"))
	st := p.Stats()
	assert.Equal(t, 0, st.Warm+st.Active)
	assert.Zero(t, st.MemoryCurrent)
}

func TestRouting(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(4, 2), pool.WithPredictor(noPrediction{}))
	ctx := context.Background()
	_, err := p.Execute(ctx, pool.Task{Specialist: "nobody"})
	assert.ErrorIs(t, err, pool.ErrUnknownSpecialist)
	assert.Contains(t, err.Error(), `"nobody"`)
	_, err = p.Execute(ctx, pool.Task{Department: "MARKETING"})
	assert.ErrorIs(t, err, pool.ErrUnknownDepartment)
	assert.Contains(t, err.Error(), `"MARKETING"`)
	_, err = p.Execute(ctx, pool.Task{Specialist: "s0", Department: "MARKETING"})
	assert.ErrorIs(t, err, pool.ErrUnknownDepartment)
	_, err = p.Execute(ctx, pool.Task{Specialist: "s0", Department: "d1"})
	assert.ErrorIs(t, err, pool.ErrInvalidTask)
	_, err = p.Execute(ctx, pool.Task{})
	assert.ErrorIs(t, err, pool.ErrInvalidTask)
	_, err = p.Execute(ctx, pool.Task{Specialist: "s0", Priority: 9})
	assert.ErrorIs(t, err, pool.ErrInvalidTask)
	assert.Zero(t, p.Stats().Tasks)

	// A department-only task goes to the warm specialist of d1.
	run(t, p, "s3")
	res, err := p.Execute(ctx, pool.Task{Department: "d1"})
	require.NoError(t, err)
	assert.Equal(t, "s3", res.Specialist)
	assert.True(t, res.Warm)
}

func TestExecuteHonoursCancelledContext(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(2, 2), pool.WithPredictor(noPrediction{}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Execute(ctx, pool.Task{Specialist: "s0"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, f.startsOf("s0"))
}

func TestSpecialistsExport(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(3, 3), pool.WithPredictor(noPrediction{}))
	f.clk.Add(time.Hour)
	run(t, p, "s1")
	infos := p.Specialists()
	require.Len(t, infos, 3)
	assert.Equal(t, "s1", infos[1].ID)
	assert.Equal(t, pool.StateWarm, infos[1].State)
	assert.Equal(t, f.clk.Now().UTC(), infos[1].LastUsed)
	assert.Equal(t, f.clk.Now().UTC(), infos[1].WarmSince)
	assert.Equal(t, int64(1000), infos[1].Memory)
	assert.Equal(t, uint64(1), infos[1].Tasks)
	assert.Equal(t, uint64(1), infos[1].ColdStarts)
	assert.Equal(t, "medium", infos[1].Priority)
	assert.Equal(t, pool.StateCold, infos[0].State)
	assert.True(t, infos[0].LastUsed.IsZero())
}

// The horizon of the cooling rule is the cache's characteristic time as of
// the latest task: with a cap of 2, how long before it the second most
// recently used specialist was used. s1 at 0, s0 at 0 and 3 h: 3 h. One
// hour later s0's chance of a task within 3 h, on its mean gap
// max(min(3 h, long-run 2 h), since/2) = 2 h, is 1 − e^(−1.5) ≈ 0.78: warm
// (with the 10-minute floor alone, 1 − e^(−600/7200) ≈ 0.08 would cool
// it). Idle, its gap is taken as at least half its idle time: after 17 h
// (1 − e^(−3/8.5) < 0.3) it cools; the horizon does not grow with idleness.
func TestCoolingHorizonIsTheCharacteristicTime(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(4, 1), pool.WithMaxWarm(2), pool.WithPredictor(noPrediction{}), pool.WithAdaptiveScaling(false),
		pool.WithDepartmentBalance(false), pool.WithWarmThreshold(0.3), pool.WithCooldown(45*time.Second),
		pool.WithMaintenanceInterval(10*time.Minute))
	run(t, p, "s1")
	run(t, p, "s0")
	f.clk.Add(3 * time.Hour)
	run(t, p, "s0")
	f.clk.Add(time.Hour)
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"), "likely back within 3 h")
	assert.Equal(t, pool.StateCold, stateOf(p, "s1"), "a one-off, and one-offs have not been seen to return")
	f.clk.Add(15 * time.Hour) // idle 16 h: 1 − e^(−3/8) ≈ 0.31
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"))
	f.clk.Add(time.Hour)
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
}

// A specialist seen once has no rhythm of its own; past its cooldown (and
// with no pressure on the warm set) it stays warm only while the workload's
// specialists seen once have been measured to come back (as s0 and s1 did,
// 10 s after their first task), and no longer than the characteristic time
// (here 690 s: the latest task, s2 at 700 s, minus the oldest task an LRU
// cache of the pool's size holds, s0's at 10 s).
func TestOneOffStaysWarmOnlyWhereOneOffsReturn(t *testing.T) {
	for _, tc := range []struct {
		name    string
		returns bool
	}{{"one-offs return", true}, {"one-offs never return", false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			p := f.newPool(f.specs(6, 1), pool.WithMaxWarm(3), pool.WithPredictor(noPrediction{}), pool.WithAdaptiveScaling(false),
				pool.WithDepartmentBalance(false), pool.WithWarmThreshold(0.3), pool.WithCooldown(45*time.Second),
				pool.WithMaintenanceInterval(time.Second))
			for _, id := range []string{"s0", "s1"} {
				run(t, p, id)
				f.clk.Add(10 * time.Second)
				if tc.returns {
					run(t, p, id)
				}
				f.clk.Add(10 * time.Second)
			}
			f.clk.Add(700*time.Second - 40*time.Second)
			run(t, p, "s2") // at 700 s
			f.clk.Add(60 * time.Second)
			if !tc.returns {
				assert.Equal(t, pool.StateCold, stateOf(p, "s2"), "cooled after its cooldown")
				return
			}
			assert.Equal(t, pool.StateWarm, stateOf(p, "s2"), "one-offs return here")
			f.clk.Add(620 * time.Second) // 680 s idle: within the 690 s horizon
			assert.Equal(t, pool.StateWarm, stateOf(p, "s2"))
			f.clk.Add(20 * time.Second) // 700 s idle: past it
			assert.Equal(t, pool.StateCold, stateOf(p, "s2"))
		})
	}
}

// A warm threshold of 1 keeps nothing past its cooldown, even a specialist
// whose chance of a task rounds to 1 (a fixed keep-alive).
func TestThresholdOneIsAFixedKeepAlive(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(4, 1), pool.WithMaxWarm(4), pool.WithPredictor(noPrediction{}), pool.WithAdaptiveScaling(false),
		pool.WithWarmThreshold(1), pool.WithCooldown(time.Minute), pool.WithMaintenanceInterval(time.Second))
	for range 50 {
		run(t, p, "s0") // many tasks, all at once: a rhythm, chance ≈ 1
	}
	f.clk.Add(time.Second)
	run(t, p, "s0")
	f.clk.Add(59 * time.Second)
	assert.Equal(t, pool.StateWarm, stateOf(p, "s0"))
	f.clk.Add(2 * time.Second)
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
}
