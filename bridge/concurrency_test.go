package bridge

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentControlDuringTraffic changes mode and percentage while
// commands run in every mode, then checks every answer and that the
// counters add up. Run with -race.
func TestConcurrentControlDuringTraffic(t *testing.T) {
	const workers, perWorker = 4, 1500
	var observed atomic.Int64
	obs := ObserverFuncs{Outcome: func(o Outcome) {
		if o.Kind == KindServed {
			observed.Add(1)
		}
	}}
	// Both executors give the same answer, so every shadow run matches.
	answer := func(_ context.Context, c Command) (Response, error) {
		return Response{Output: "answer:" + c.Name + ":" + c.RoutingKey}, nil
	}
	b, _ := newBridge(t, ExecutorFunc(answer), ExecutorFunc(answer),
		WithObserver(obs), WithShadowConcurrency(4), WithRand(rand.NewPCG(3, 4)))

	var wg sync.WaitGroup
	stop := make(chan struct{})
	controlDone := make(chan int)
	go func() {
		modes := Modes()
		changes := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				controlDone <- changes
				return
			default:
			}
			assert.NoError(t, b.SetMode(modes[i%len(modes)]))
			assert.NoError(t, b.SetPercentage(float64(i*7%101)))
			_ = b.Stats()
			changes++
		}
	}()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				key := ""
				if i%2 == 0 {
					key = fmt.Sprintf("k%d", i%97)
				}
				c := Command{Name: "implement", RoutingKey: key}
				resp, err := b.Execute(context.Background(), c)
				if !assert.NoError(t, err) || !assert.Equal(t, "answer:implement:"+key, resp.Output) {
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	changes := <-controlDone
	require.NoError(t, b.Close(context.Background()))

	st := b.Stats()
	var requests, calls uint64
	for _, m := range Modes() {
		ms := st.Modes[m]
		requests += ms.Requests
		assert.Zero(t, ms.Errors)
		calls += ms.Paths[PathLegacy].Calls
		if m != ModeShadow {
			calls += ms.Paths[PathIntelligent].Calls
		}
	}
	assert.Equal(t, uint64(workers*perWorker), requests, "every command counted in exactly one mode")
	assert.Equal(t, requests, calls, "one served call per command (no fallbacks: nothing failed)")
	assert.Equal(t, int64(requests), observed.Load(), "every command reported")
	sh := st.Shadow
	assert.Equal(t, sh.Started, sh.Compared+sh.Canceled)
	assert.Equal(t, sh.Compared, sh.Matched, "identical executors always match")
	assert.Equal(t, st.Modes[ModeShadow].Requests, sh.Started+sh.Skipped)
	assert.Equal(t, sh.Started, st.Modes[ModeShadow].Paths[PathIntelligent].Calls)
	assert.Zero(t, sh.InFlight)
	t.Logf("%d mode/percentage changes during %d commands; shadow %+v", changes, requests, sh)
}

// TestConcurrentObserverRegistration adds and removes observers during
// traffic.
func TestConcurrentObserverRegistration(t *testing.T) {
	b, _ := newBridge(t, echo("legacy"), echo("pool"), WithMode(ModeFull))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 500; i++ {
			remove, err := b.AddObserver(ObserverFuncs{Outcome: func(Outcome) {}})
			if !assert.NoError(t, err) {
				return
			}
			remove()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 2000; i++ {
			_, err := b.Execute(context.Background(), cmd("x"))
			assert.NoError(t, err)
		}
	}()
	wg.Wait()
	assert.Equal(t, uint64(2000), b.Stats().Modes[ModeFull].Requests)
}
