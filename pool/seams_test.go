package pool_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

func TestConcurrentWarmerBoundsConcurrency(t *testing.T) {
	w := pool.NewConcurrentWarmer(2)
	var running, peak atomic.Int32
	release := make(chan struct{})
	started := make(chan string, 5)
	batch := make([]pool.WarmRequest, 5)
	for i := range batch {
		id := string(rune('a' + i))
		batch[i] = pool.WarmRequest{ID: id, Start: func() error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			started <- id
			<-release
			running.Add(-1)
			return nil
		}}
	}
	done := make(chan []error)
	go func() { done <- w.Warm(context.Background(), batch) }()
	<-started
	<-started
	select {
	case id := <-started:
		t.Fatalf("third start %s ran while two held the slots", id)
	default:
	}
	close(release)
	errs := <-done
	assert.Len(t, errs, 5)
	for _, err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, int32(2), peak.Load())
}

func TestConcurrentWarmerSingleflight(t *testing.T) {
	w := pool.NewConcurrentWarmer(4)
	var calls atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{})
	boom := errors.New("boom")
	start := func() error {
		if calls.Add(1) == 1 {
			close(entered)
		}
		<-release
		return boom
	}
	first := make(chan error)
	go func() { first <- w.Warm(context.Background(), []pool.WarmRequest{{ID: "x", Start: start}})[0] }()
	<-entered
	// A caller whose context has already ended still joins the start in
	// flight before it gives up; once Warm returns, it has joined.
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for range 5 {
		err := w.Warm(gone, []pool.WarmRequest{{ID: "x", Start: start}})[0]
		assert.ErrorIs(t, err, context.Canceled)
	}
	assert.Equal(t, int32(1), calls.Load(), "one start for every caller that came while it ran")
	// A caller that stays gets the shared outcome.
	second := make(chan error)
	go func() { second <- w.Warm(context.Background(), []pool.WarmRequest{{ID: "x", Start: start}})[0] }()
	close(release)
	assert.ErrorIs(t, <-first, boom)
	// The second caller either joined (boom, no new start) or came after the
	// first finished and ran its own.
	err := <-second
	assert.ErrorIs(t, err, boom)
	assert.LessOrEqual(t, calls.Load(), int32(2))
	// Another key is not held up by x.
	assert.NoError(t, w.Warm(context.Background(), []pool.WarmRequest{{ID: "y", Start: func() error { return nil }}})[0])
}

func TestConcurrentWarmerCallerGivesUpStartGoesOn(t *testing.T) {
	w := pool.NewConcurrentWarmer(1)
	release := make(chan struct{})
	finished := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error)
	go func() {
		got <- w.Warm(ctx, []pool.WarmRequest{{ID: "x", Start: func() error {
			<-release
			close(finished)
			return nil
		}}})[0]
	}()
	cancel()
	assert.ErrorIs(t, <-got, context.Canceled)
	close(release)
	<-finished // the start ran to its end although its caller left
}

func TestPoolBatchesPrewarms(t *testing.T) {
	f := newFake(t)
	rec := &recordingWarmer{inner: pool.NewConcurrentWarmer(3)}
	preds := []pool.Prediction{}
	for _, id := range []string{"s1", "s2", "s3", "s4", "s5"} {
		preds = append(preds, pool.Prediction{ID: id, Probability: 0.9})
	}
	pred := &fixedPredictor{preds: map[string][]pool.Prediction{"s0": preds}}
	p := f.newPool(f.specs(8, 8), pool.WithMaxWarm(8), pool.WithBatchSize(2), pool.WithWarmer(rec), pool.WithPredictor(pred))
	run(t, p, "s0")
	started := map[string]bool{}
	for len(started) < 5 {
		if e := f.waitEvent(pool.EventStarted, ""); e.Specialist != "s0" {
			started[e.Specialist] = true
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	// One demand batch for s0 and pre-warm batches of at most 2 (the task
	// is seen before its start begins, so its pre-warms may come first).
	require.Len(t, rec.batches, 4)
	var prewarms [][]string
	for _, b := range rec.batches {
		if !slices.Equal(b, []string{"s0"}) {
			prewarms = append(prewarms, b)
		}
	}
	assert.Equal(t, [][]string{{"s1", "s2"}, {"s3", "s4"}, {"s5"}}, prewarms)
	assert.Equal(t, uint64(5), p.Stats().Prewarms)
}

func TestDepartmentBalancerPick(t *testing.T) {
	b := pool.DepartmentBalancer{}
	c := func(id string, st pool.State, inflight int, score float64) pool.Candidate {
		return pool.Candidate{ID: id, State: st, Inflight: inflight, Score: score}
	}
	cases := []struct {
		name  string
		cands []pool.Candidate
		want  string
	}{
		{"idle warm beats busy", []pool.Candidate{c("a", pool.StateActive, 1, 0.9), c("b", pool.StateWarm, 0, 0.1)}, "b"},
		{"least busy active", []pool.Candidate{c("a", pool.StateActive, 3, 0.9), c("b", pool.StateActive, 1, 0.1)}, "b"},
		{"warming beats cold", []pool.Candidate{c("a", pool.StateCold, 0, 0.9), c("b", pool.StateWarming, 0, 0)}, "b"},
		{"highest score among cold", []pool.Candidate{c("a", pool.StateCold, 0, 0.2), c("b", pool.StateError, 0, 0.7), c("c", pool.StateCold, 0, 0.5)}, "b"},
		{"highest score among warm", []pool.Candidate{c("a", pool.StateWarm, 0, 0.2), c("b", pool.StateWarm, 0, 0.7)}, "b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.cands[b.Pick("d", tc.cands)].ID)
		})
	}
}

func TestDepartmentBalancerVictim(t *testing.T) {
	cands := []pool.Candidate{
		{ID: "lonely", Department: "DESIGN", Value: 0.1, DepartmentWarm: 1, DepartmentIdle: time.Second, DepartmentSlots: 2},
		{ID: "crowded", Department: "BACKEND", Value: 0.5, DepartmentWarm: 4, DepartmentIdle: time.Second, DepartmentSlots: 10},
		{ID: "stale", Department: "QA", Value: 0.3, DepartmentWarm: 1, DepartmentIdle: time.Hour, DepartmentSlots: 2},
		{ID: "sliver", Department: "LEGAL", Value: 0.2, DepartmentWarm: 1, DepartmentIdle: time.Second, DepartmentSlots: 0.4},
	}
	off := pool.DepartmentBalancer{}
	assert.Equal(t, "lonely", cands[off.Victim(cands)].ID, "without balance: the policy's first choice")
	on := pool.DepartmentBalancer{Protect: time.Minute}
	assert.Equal(t, "crowded", cands[on.Victim(cands)].ID, "spare the last warm one of an active department: the next in order")
	sub := []pool.Candidate{cands[0], cands[2], cands[3]}
	assert.Equal(t, "stale", sub[on.Victim(sub)].ID, "a department idle past Protect is not spared")
	pair := []pool.Candidate{cands[0], cands[3]}
	assert.Equal(t, "sliver", pair[on.Victim(pair)].ID, "a department with under one slot's worth of work is not spared")
	only := cands[:1]
	assert.Equal(t, 0, on.Victim(only), "protected ones go when nothing else can")
}

func TestPoolUsesBalancerForDepartmentTasks(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(4, 4), pool.WithBalancer(lastPicker{}), pool.WithPredictor(noPrediction{}))
	res, err := p.Execute(context.Background(), pool.Task{Department: "d0"})
	require.NoError(t, err)
	assert.Equal(t, "s3", res.Specialist)
}

type lastPicker struct{ pool.DepartmentBalancer }

func (lastPicker) Pick(_ string, c []pool.Candidate) int { return len(c) - 1 }

func TestDepartmentBalanceSparesLastWarmOfBusyDepartment(t *testing.T) {
	for _, balance := range []bool{true, false} {
		f := newFake(t)
		specs := []pool.Spec{
			f.spec("design", "DESIGN", pool.PriorityLow, 1),
			f.spec("be1", "BACKEND", pool.PriorityHigh, 1),
			f.spec("be2", "BACKEND", pool.PriorityHigh, 1),
			f.spec("be3", "BACKEND", pool.PriorityHigh, 1),
		}
		// Cooldown 70 min: the horizon values look over, and the time a
		// department counts as active.
		p := f.newPool(specs, pool.WithMaxWarm(3), pool.WithPredictor(noPrediction{}), pool.WithDepartmentBalance(balance),
			pool.WithCooldown(70*time.Minute), pool.WithAdaptiveScaling(false))
		for range 10 {
			run(t, p, "design") // DESIGN: 10 of 14 tasks, an hour ago
		}
		f.clk.Add(time.Hour)
		for range 2 { // BACKEND specialists with a 10 s rhythm: likely back
			run(t, p, "be1")
			run(t, p, "be3")
			f.clk.Add(10 * time.Second)
		}
		// be2 needs a slot. By value design goes (idle for an hour: chance
		// 1 − e^(−70/60) ≈ 0.69 within the horizon, against ≈ 1).
		run(t, p, "be2")
		if balance {
			assert.Equal(t, pool.StateWarm, stateOf(p, "design"), "DESIGN's only warm specialist is spared")
			assert.NotEqual(t, stateOf(p, "be1"), stateOf(p, "be3"), "one BACKEND specialist made room")
		} else {
			assert.Equal(t, pool.StateCold, stateOf(p, "design"))
			assert.Equal(t, pool.StateWarm, stateOf(p, "be1"))
			assert.Equal(t, pool.StateWarm, stateOf(p, "be3"))
		}
	}
}

func TestWarmStartsNamedSpecialists(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(5, 5), pool.WithMaxWarm(5), pool.WithPredictor(noPrediction{}))
	require.NoError(t, p.Warm(context.Background(), "s1", "s3"))
	assert.Equal(t, pool.StateWarm, stateOf(p, "s1"))
	assert.Equal(t, pool.StateWarm, stateOf(p, "s3"))
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
	assert.True(t, run(t, p, "s1").Warm)
	err := p.Warm(context.Background(), "s2", "nobody")
	assert.ErrorIs(t, err, pool.ErrUnknownSpecialist)
	assert.Contains(t, err.Error(), `"nobody"`)
	assert.Equal(t, pool.StateCold, stateOf(p, "s2"), "nothing started for a bad request")
}

func TestWaitReturnsOncePrewarmsFinished(t *testing.T) {
	f := newFake(t)
	gate := f.gate("s1")
	pred := &fixedPredictor{preds: map[string][]pool.Prediction{"s0": {{ID: "s1", Probability: 0.9}}}}
	p := f.newPool(f.specs(3, 3), pool.WithMaxWarm(3), pool.WithPredictor(pred))
	run(t, p, "s0")
	waited := make(chan struct{})
	go func() { p.Wait(); close(waited) }()
	<-f.startCh // s0
	<-f.startCh // s1's pre-warm, held at the gate
	select {
	case <-waited:
		t.Fatal("Wait returned while a pre-warm was running")
	default:
	}
	close(gate)
	<-waited
	assert.Equal(t, pool.StateWarm, stateOf(p, "s1"))
}

func TestMaintainCoolsOnASimulatedClock(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(2, 2), pool.WithPredictor(noPrediction{}), pool.WithCooldown(time.Minute),
		pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(1), pool.WithMaintenanceInterval(time.Second))
	run(t, p, "s0")
	f.clk.Add(2 * time.Minute)
	var cooled []pool.Event
	for len(f.events) > 0 {
		if e := <-f.events; e.Kind == pool.EventCooled {
			cooled = append(cooled, e)
		}
	}
	if len(cooled) == 0 { // the background pass may not have run yet
		p.Maintain()
		cooled = append(cooled, f.waitEvent(pool.EventCooled, "s0"))
	}
	require.Len(t, cooled, 1)
	assert.Equal(t, "cooldown", cooled[0].Reason)
	assert.Equal(t, pool.StateCold, stateOf(p, "s0"))
}

func TestSetMaxWarmAndThresholdAtRunTime(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(6, 6), pool.WithMaxWarm(4), pool.WithPredictor(noPrediction{}), pool.WithCooldown(time.Hour))
	for _, id := range []string{"s0", "s1", "s2", "s3"} {
		run(t, p, id)
	}
	release := make(chan struct{})
	entered := make(chan struct{})
	f.setExec("s3", func(context.Context, pool.Task) (pool.Result, error) {
		close(entered)
		<-release
		return pool.Result{}, nil
	})
	busy := make(chan error)
	go func() { _, err := p.Execute(context.Background(), pool.Task{Specialist: "s3"}); busy <- err }()
	<-entered
	require.NoError(t, p.SetMaxWarm(1))
	assert.Equal(t, 1, p.MaxWarm())
	st := p.Stats()
	assert.Equal(t, 1, st.Warm+st.Active, "idle ones cooled at once")
	assert.Equal(t, pool.StateActive, stateOf(p, "s3"), "never the busy one")
	close(release)
	require.NoError(t, <-busy)

	err := p.SetMaxWarm(7)
	assert.ErrorIs(t, err, pool.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "max warm 7")
	require.NoError(t, p.SetMaxWarm(3))
	assert.Equal(t, 3, p.Stats().MaxWarm)

	require.NoError(t, p.SetWarmThreshold(0.45))
	assert.InDelta(t, 0.45, p.WarmThreshold(), 1e-12)
	err = p.SetWarmThreshold(0.7)
	assert.ErrorIs(t, err, pool.ErrInvalidConfig)
	assert.Contains(t, err.Error(), "0.2–0.6 with adaptive scaling")
	assert.InDelta(t, 0.45, p.WarmThreshold(), 1e-12, "unchanged by a bad value")
}

// blockingPredictor holds its first Observe until released.
type blockingPredictor struct {
	entered chan struct{}
	release chan struct{}
	calls   atomic.Int32
}

func (b *blockingPredictor) Observe(_ time.Time, _, _ string, dst []pool.Prediction) []pool.Prediction {
	if b.calls.Add(1) == 1 {
		close(b.entered)
		<-b.release
	}
	return dst
}

// The Predictor runs on the pool's own goroutine: a slow one delays no
// task, and once it is done it has seen every task.
func TestSlowPredictorDelaysNoTask(t *testing.T) {
	f := newFake(t)
	pred := &blockingPredictor{entered: make(chan struct{}), release: make(chan struct{})}
	p := f.newPool(f.specs(3, 3), pool.WithMaxWarm(3), pool.WithPredictor(pred))
	run(t, p, "s0")
	<-pred.entered // the pool's goroutine is held in Observe for s0
	for _, id := range []string{"s1", "s2", "s1"} {
		res := run(t, p, id) // returns while the Predictor is held
		assert.Equal(t, id, res.Output)
	}
	close(pred.release)
	p.Wait()
	assert.Equal(t, int32(4), pred.calls.Load(), "every task observed")
	assert.Zero(t, p.Stats().ObservationsDropped)
}
