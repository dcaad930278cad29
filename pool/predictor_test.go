package pool_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/pool"
)

func observe(p *pool.SequencePredictor, ids ...string) []pool.Prediction {
	var out []pool.Prediction
	for _, id := range ids {
		out = p.Observe(time.Time{}, id, "dept-"+id, nil)
	}
	return out
}

func prob(preds []pool.Prediction, id string) float64 {
	for _, p := range preds {
		if p.ID == id {
			return p.Probability
		}
	}
	return 0
}

func TestMarkovOrderOne(t *testing.T) {
	p := pool.NewSequencePredictor(15, false)
	for range 3 {
		observe(p, "a", "b")
	}
	observe(p, "a", "c")
	preds := observe(p, "a")
	require.NotEmpty(t, preds)
	assert.Equal(t, "b", preds[0].ID, "most likely first")
	// 3 of 4 successors were b, 1 was c; both scaled by the model's
	// measured precision (its top guess, b, came within the window each
	// time: 4 hits of 4 plus the prior: 5/6).
	assert.InDelta(t, 0.75*5/6.0, prob(preds, "b"), 1e-9)
	assert.InDelta(t, 0.25*5/6.0, prob(preds, "c"), 1e-9)
	assert.Empty(t, observe(p, "unseen"), "no successor known")
}

func TestMarkovPrecisionDampsCoincidences(t *testing.T) {
	// Deterministic: a is always followed by b, and the guess comes true.
	sure := pool.NewSequencePredictor(2, false)
	for range 30 {
		observe(sure, "a", "b")
	}
	assert.Greater(t, prob(observe(sure, "a"), "b"), 0.95)

	// Tasks in random order: the counts still name successors, but the
	// top guess comes true within the 2-task window only by chance (about
	// one time in three), and the predictions are scaled down by that.
	random := pool.NewSequencePredictor(2, false)
	rng := rand.New(rand.NewPCG(7, 7))
	for range 600 {
		observe(random, fmt.Sprintf("s%d", rng.IntN(6)))
	}
	preds := observe(random, "s0")
	require.NotEmpty(t, preds)
	sum := 0.0
	for _, pr := range preds {
		sum += pr.Probability
	}
	assert.Less(t, sum, 0.5, "successor shares add up to 1 before the precision")
}

func TestMarkovOrderTwoDisambiguates(t *testing.T) {
	// After x→a comes b, after y→a comes c: order 1 cannot tell, order 2 can.
	p := pool.NewSequencePredictor(15, false)
	for range 4 {
		observe(p, "x", "a", "b", "y", "a", "c")
	}
	preds := observe(p, "x", "a")
	assert.Greater(t, prob(preds, "b"), 0.9, "order 2: always b (times the model's precision)")
	assert.Zero(t, prob(preds, "c"))
	preds = observe(p, "y", "a")
	assert.Greater(t, prob(preds, "c"), 0.9)
	assert.Zero(t, prob(preds, "b"))
}

func TestMarkovForgetsOldHabits(t *testing.T) {
	p := pool.NewSequencePredictor(15, false)
	for range 200 {
		observe(p, "a", "b")
	}
	for range 200 {
		observe(p, "a", "c")
	}
	preds := observe(p, "z", "a") // order 1 context
	assert.Greater(t, prob(preds, "c"), prob(preds, "b"), "halving lets recent successors win")
}

func TestDeclaredWorkflowDetectedAtSecondTask(t *testing.T) {
	wf := pool.Workflow{Name: "FULL_STACK", Steps: []string{"api", "db", "react", "qa"}}
	p := pool.NewSequencePredictor(15, true, wf)
	preds := observe(p, "api")
	assert.InDelta(t, 0.5, prob(preds, "db"), 1e-9, "a first step: its second step at the prior ½ until measured")
	assert.Zero(t, prob(preds, "react"), "one task is not yet a workflow")
	preds = observe(p, "db")
	assert.InDelta(t, 0.9, prob(preds, "react"), 1e-9)
	assert.Zero(t, prob(preds, "qa"), "one step ahead only")
	st := p.WorkflowStats()
	assert.Equal(t, uint64(1), st.Detections)
	assert.Equal(t, uint64(0), st.Seen, "seen needs three steps")
	observe(p, "noise", "react")
	st = p.WorkflowStats()
	assert.Equal(t, uint64(1), st.Seen)
	assert.Equal(t, uint64(1), st.Recognised)
	assert.Equal(t, 1, st.Declared)
	assert.InDelta(t, 1.0, st.DetectionRate(), 1e-9)
}

func TestWorkflowWithSkippedStepIsSeen(t *testing.T) {
	wf := pool.Workflow{Name: "W", Steps: []string{"a", "b", "c", "d"}}
	p := pool.NewSequencePredictor(15, true, wf)
	preds := observe(p, "a", "c") // b skipped
	assert.Greater(t, prob(preds, "d"), 0.0)
	observe(p, "d")
	st := p.WorkflowStats()
	assert.Equal(t, uint64(1), st.Seen)
	assert.Equal(t, uint64(1), st.Recognised)
}

func TestWorkflowMatchExpiresOutsideWindow(t *testing.T) {
	wf := pool.Workflow{Name: "W", Steps: []string{"a", "b", "c"}}
	p := pool.NewSequencePredictor(3, true, wf)
	observe(p, "a", "x1", "x2", "x3", "x4", "b", "c")
	assert.Zero(t, p.WorkflowStats().Seen, "steps too far apart are no instance")
}

func TestWorkflowDetectionOff(t *testing.T) {
	wf := pool.Workflow{Name: "W", Steps: []string{"a", "b", "c"}}
	p := pool.NewSequencePredictor(15, false, wf)
	preds := observe(p, "a", "b")
	assert.Zero(t, prob(preds, "c"))
	assert.Zero(t, p.WorkflowStats().Detections)
}

func TestLearnsRecurringCrossDepartmentWorkflow(t *testing.T) {
	// design → build → test recurs with one unrelated task interleaved and
	// two to six unrelated tasks between instances.
	p := pool.NewSequencePredictor(15, true)
	for i := range 60 {
		p.Observe(time.Time{}, "design", "DESIGN", nil)
		p.Observe(time.Time{}, fmt.Sprintf("noise%d", i%7), "OTHER", nil)
		p.Observe(time.Time{}, "build", "ENGINEERING", nil)
		p.Observe(time.Time{}, "test", "QA", nil)
		for j := range 2 + i%5 {
			p.Observe(time.Time{}, fmt.Sprintf("noise%d", (i+j+3)%7), "OTHER", nil)
		}
	}
	learned := p.Workflows()
	require.Len(t, learned, 1)
	assert.Equal(t, []string{"design", "build", "test"}, learned[0].Steps)
	assert.Equal(t, "learned:design", learned[0].Name)
	assert.Greater(t, p.WorkflowStats().Learned, 0)
	// Once learned, a new instance is recognised at its second task.
	before := p.WorkflowStats()
	p.Observe(time.Time{}, "design", "DESIGN", nil)
	preds := p.Observe(time.Time{}, "build", "ENGINEERING", nil)
	assert.Greater(t, prob(preds, "test"), 0.5)
	assert.Greater(t, p.WorkflowStats().Detections, before.Detections)
}

// A trained pool warms the expected next specialist before its task arrives,
// and counts the pre-warm as used.
func TestPoolPrewarmsPredictedSpecialist(t *testing.T) {
	f := newFake(t)
	pred := pool.NewSequencePredictor(15, false)
	for range 5 {
		observe(pred, "s0", "s1", "s5")
	}
	p := f.newPool(f.specs(6, 1), pool.WithMaxWarm(3), pool.WithPredictor(pred))
	run(t, p, "s0")
	e := f.waitEvent(pool.EventPrewarm, "s1")
	assert.Greater(t, e.Probability, 0.9, "always s1 after s0, times the model's precision")
	f.waitEvent(pool.EventStarted, "s1")
	res := run(t, p, "s1")
	assert.True(t, res.Warm, "pre-warmed in time")
	st := p.Stats()
	assert.GreaterOrEqual(t, st.Prewarms, uint64(1))
	assert.GreaterOrEqual(t, st.PrewarmsUsed, uint64(1))
	assert.Greater(t, st.PredictionAccuracy, 0.0)
	assert.Equal(t, st.PrewarmsUsed, p.Specialists()[1].Prewarms-0, "s1's pre-warms were all used")
}

func TestWastedPrewarmLowersAccuracy(t *testing.T) {
	f := newFake(t)
	p := f.newPool(f.specs(4, 1), pool.WithMaxWarm(2), pool.WithCooldown(0),
		pool.WithAdaptiveScaling(false), pool.WithWarmThreshold(1), pool.WithMaintenanceInterval(time.Second))
	run(t, p, "s0")
	run(t, p, "s1")
	f.clk.Add(time.Second)
	p.Stats() // both cool
	drain(f)
	run(t, p, "s0") // predicts s1
	f.waitEvent(pool.EventStarted, "s1")
	f.clk.Add(time.Second) // s1 cools unused (the prediction's hold has passed)
	f.clk.Add(time.Second)
	st := p.Stats()
	assert.Equal(t, pool.StateCold, stateOf(p, "s1"))
	assert.Equal(t, uint64(1), st.PrewarmsWasted)
	assert.Equal(t, uint64(0), st.PrewarmsUsed)
	assert.Zero(t, st.PredictionAccuracy)
}

// A pre-warm is declined when the only idle victim is worth more than the
// prediction: the Warmer is never asked to start it.
func TestPrewarmDoesNotEvictMoreValuableSpecialist(t *testing.T) {
	f := newFake(t)
	pred := &fixedPredictor{preds: map[string][]pool.Prediction{}}
	p := f.newPool(f.specs(3, 1), pool.WithMaxWarm(2), pool.WithPredictor(pred),
		pool.WithCooldown(time.Hour), pool.WithAdaptiveScaling(false))
	for range 5 {
		run(t, p, "s2") // s2: score ≈ 0.95, more than s1's 0.35
	}
	// s0 takes the second slot (before any prediction: a task is seen
	// before its start reserves, so a pre-warm could otherwise take it
	// first) and is busy while the prediction for s1 comes: it would need
	// s2's slot.
	run(t, p, "s0")
	pred.set("s0", []pool.Prediction{{ID: "s1", Probability: 0.35}})
	release := make(chan struct{})
	f.setExec("s0", func(context.Context, pool.Task) (pool.Result, error) {
		<-release
		return pool.Result{}, nil
	})
	busy := make(chan pool.Result, 1)
	go func() { busy <- run(t, p, "s0") }()
	e := f.waitEvent(pool.EventPrewarmDeclined, "s1")
	close(release)
	<-busy
	f.setExec("s0", nil)
	assert.Contains(t, e.Reason, "not worth")
	assert.Equal(t, pool.StateWarm, stateOf(p, "s2"))
	assert.Equal(t, pool.StateCold, stateOf(p, "s1"))
	assert.Zero(t, f.startsOf("s1"))
	assert.Zero(t, p.Stats().Evictions)
	assert.Equal(t, uint64(1), p.Stats().PrewarmsDeclined)

	// A likelier prediction wins over a specialist idle for long: after ten
	// hours s2's score is gone and its chance of a task within the horizon
	// (the 1 h cooldown) is 1 − e^(−1/10) ≈ 0.1.
	pred.set("s0", []pool.Prediction{{ID: "s1", Probability: 0.99}})
	f.clk.Add(10 * time.Hour)
	run(t, p, "s0")
	f.waitEvent(pool.EventStarted, "s1")
	assert.Equal(t, pool.StateCold, stateOf(p, "s2"))
	assert.Equal(t, pool.StateWarm, stateOf(p, "s1"))
}

func drain(f *fake) {
	for len(f.events) > 0 {
		<-f.events
	}
}

func TestInterleavedInstancesOfOneWorkflowAreTwo(t *testing.T) {
	wf := pool.Workflow{Name: "W", Steps: []string{"a", "b", "c"}}
	p := pool.NewSequencePredictor(15, true, wf)
	observe(p, "a", "a", "b", "b", "c", "c")
	st := p.WorkflowStats()
	assert.Equal(t, uint64(2), st.Seen)
	assert.Equal(t, uint64(2), st.Recognised)
	assert.Equal(t, uint64(2), st.Detections)
}

func TestRepeatedStepIsOneInstance(t *testing.T) {
	wf := pool.Workflow{Name: "W", Steps: []string{"a", "b", "c", "d"}}
	p := pool.NewSequencePredictor(15, true, wf)
	observe(p, "a", "b", "b", "c", "d")
	st := p.WorkflowStats()
	assert.Equal(t, uint64(1), st.Seen, "the fourth step extends the instance, it is no second one")
	assert.Equal(t, uint64(1), st.Recognised)
}

func TestInstanceWithoutItsFirstStepIsNotSeen(t *testing.T) {
	wf := pool.Workflow{Name: "W", Steps: []string{"a", "b", "c", "d"}}
	p := pool.NewSequencePredictor(15, true, wf)
	observe(p, "b", "c", "d")
	assert.Zero(t, p.WorkflowStats().Seen)
}

// An instance the detector could not name at its second task (the workflow
// was learned only after it) is seen but not recognised: the rate is
// measured, not assumed.
func TestInstanceNamedLateIsNotRecognised(t *testing.T) {
	// Mining looks at one specialist per task, so when the workflow is
	// learned depends on the stream's phase: try leading noise until it is
	// learned while an instance is between its first two steps.
	for lead := range 20 {
		p := pool.NewSequencePredictor(15, true)
		learned := func() bool { return p.WorkflowStats().Learned > 0 }
		for j := range lead {
			p.Observe(time.Time{}, fmt.Sprintf("noise%d", j%9), "OTHER", nil)
		}
		midway, late := false, false
		feed := func(i int) {
			for step, s := range []struct{ id, dept string }{{"design", "DESIGN"}, {"build", "ENGINEERING"}, {"test", "QA"}} {
				before := learned()
				p.Observe(time.Time{}, s.id, s.dept, nil)
				if !before && learned() {
					midway, late = step < 2, step == 2
				}
			}
			for j := range 3 + i%4 {
				before := learned()
				p.Observe(time.Time{}, fmt.Sprintf("noise%d", (i+j)%9), "OTHER", nil)
				if !before && learned() {
					late = true
				}
			}
		}
		i := 0
		for ; !midway && !late; i++ {
			feed(i)
			require.Less(t, i, 400, "never learned")
		}
		if !midway {
			continue
		}
		before := p.WorkflowStats()
		assert.Equal(t, uint64(1), before.Seen, "the instance in flight when it was learned is seen")
		assert.Zero(t, before.Recognised, "but not recognised: it was not named at its second task")
		for range 10 {
			i++
			feed(i)
		}
		after := p.WorkflowStats()
		assert.Equal(t, uint64(10), after.Seen-before.Seen)
		assert.Equal(t, uint64(10), after.Recognised-before.Recognised, "instances begun after it was learned are named at their second task")
		assert.Less(t, after.DetectionRate(), 1.0)
		return
	}
	t.Fatal("no phase learned the workflow midway through an instance")
}

// offered records the candidates a Balancer is offered, by specialist.
type offered struct {
	pool.DepartmentBalancer
	mu  sync.Mutex
	ids [][]string
}

func (o *offered) Victim(cands []pool.Candidate) int {
	o.mu.Lock()
	var ids []string
	for _, c := range cands {
		ids = append(ids, c.ID)
	}
	o.ids = append(o.ids, ids)
	o.mu.Unlock()
	return o.DepartmentBalancer.Victim(cands)
}

// A prediction holds its specialist for four times the measured lead from
// prediction to task — here 1 s, so 4 s — not for the whole cooldown: while
// it holds, the specialist is not offered for eviction; once it lapses, a
// pre-warmed specialist never used is the first to go (the policy never saw
// a task for it).
func TestPredictionHoldsForFourLeads(t *testing.T) {
	f := newFake(t)
	pred := &fixedPredictor{preds: map[string][]pool.Prediction{}}
	for _, pair := range [][2]string{{"s0", "s4"}, {"s1", "s5"}, {"s2", "s6"}, {"s3", "s7"}} {
		pred.set(pair[0], []pool.Prediction{{ID: pair[1], Probability: 0.9}})
	}
	rec := &offered{}
	p := f.newPool(f.specs(10, 1), pool.WithMaxWarm(8), pool.WithPredictor(pred), pool.WithBalancer(rec),
		pool.WithCooldown(time.Hour), pool.WithAdaptiveScaling(false), pool.WithMaintenanceInterval(time.Second))
	// Three predictions, each used 1 s later: the lead is 1 s.
	for i := range 3 {
		run(t, p, fmt.Sprintf("s%d", i))
		p.Wait()
		f.clk.Add(time.Second)
		res := run(t, p, fmt.Sprintf("s%d", i+4))
		require.True(t, res.Warm, "pre-warmed in time")
	}
	run(t, p, "s3") // predicts s7, never used; 8 warm now
	p.Wait()
	require.Equal(t, pool.StateWarm, stateOf(p, "s7"))
	f.clk.Add(2 * time.Second)
	run(t, p, "s8") // full: a victim is chosen while s7 is expected
	require.Len(t, rec.ids, 1)
	assert.NotContains(t, rec.ids[0], "s7", "expected: not offered while others can go")
	assert.Equal(t, pool.StateWarm, stateOf(p, "s7"))
	f.clk.Add(10 * time.Second)
	run(t, p, "s9") // and again after the expectation lapsed
	require.Len(t, rec.ids, 2)
	assert.Equal(t, "s7", rec.ids[1][0], "never used, no longer expected: the policy's first choice")
	assert.Equal(t, pool.StateCold, stateOf(p, "s7"), "the first to go")
}
