package host

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// The server's own small catalogue: 20 specialists in 6 departments.
var catalogue = []struct {
	id, department string
	priority       pool.Priority
	memoryMB       int64
}{
	{"api-architect", "BACKEND", pool.PriorityHigh, 6}, {"database-specialist", "BACKEND", pool.PriorityMedium, 5},
	{"golang-engineer", "BACKEND", pool.PriorityMedium, 4}, {"auth-engineer", "BACKEND", pool.PriorityLow, 4},
	{"react-lead", "FRONTEND", pool.PriorityHigh, 5}, {"css-specialist", "FRONTEND", pool.PriorityLow, 3},
	{"accessibility-expert", "FRONTEND", pool.PriorityMedium, 3},
	{"ux-researcher", "DESIGN", pool.PriorityMedium, 4}, {"ui-designer", "DESIGN", pool.PriorityHigh, 5},
	{"design-system-lead", "DESIGN", pool.PriorityLow, 4},
	{"qa-lead", "QUALITY", pool.PriorityHigh, 4}, {"test-automation", "QUALITY", pool.PriorityMedium, 5},
	{"code-reviewer", "QUALITY", pool.PriorityMedium, 3},
	{"sre", "DEVOPS", pool.PriorityHigh, 6}, {"ci-engineer", "DEVOPS", pool.PriorityMedium, 4},
	{"cloud-architect", "DEVOPS", pool.PriorityLow, 6},
	{"data-analyst", "ANALYTICS", pool.PriorityMedium, 5}, {"metrics-engineer", "ANALYTICS", pool.PriorityLow, 4},
	{"product-strategist", "ANALYTICS", pool.PriorityHigh, 4}, {"ml-engineer", "ANALYTICS", pool.PriorityLow, 7},
}

// Routes maps the simulated BUMBA commands to departments.
func Routes() map[string]string {
	return map[string]string{
		"implement": "BACKEND", "api": "BACKEND", "ui": "FRONTEND", "frontend": "FRONTEND",
		"design": "DESIGN", "review": "QUALITY", "test": "QUALITY", "deploy": "DEVOPS",
		"analyze": "ANALYTICS", "strategy": "ANALYTICS",
	}
}

// Workflows are the catalogue's declared workflows.
func Workflows() []pool.Workflow {
	return []pool.Workflow{
		{Name: "feature", Steps: []string{"ux-researcher", "ui-designer", "react-lead", "api-architect", "test-automation", "code-reviewer"}},
		{Name: "release", Steps: []string{"code-reviewer", "qa-lead", "ci-engineer", "sre"}},
		{Name: "insight", Steps: []string{"data-analyst", "metrics-engineer", "product-strategist"}},
	}
}

// Specialists is the number of specialists in the catalogue.
func Specialists() int { return len(catalogue) }

// answer is what both executors answer, so that the shadow comparison
// matches.
func answer(cmd bridge.Command) string {
	return fmt.Sprintf("%s %v done", cmd.Name, cmd.Args)
}

// NewFleet returns the catalogue's fake specialists on clk: a start takes
// 300 ms to 1 s and allocates the specialist's memory; a task takes 300 ms,
// as long as on legacy.
func NewFleet(clk clock.Clock) *pooltest.Fleet {
	f := pooltest.New(clk, pooltest.WithExecuteLatency(300*time.Millisecond),
		pooltest.WithHandler(func(_ context.Context, _ string, t pool.Task) (any, error) {
			if cmd, ok := t.Payload.(bridge.Command); ok {
				return answer(cmd), nil
			}
			return fmt.Sprint(t.Payload), nil
		}))
	for i, c := range catalogue {
		f.Add(c.id, c.department, pooltest.WithPriority(c.priority), pooltest.WithMemory(c.memoryMB<<20),
			pooltest.WithStartLatency(300*time.Millisecond+time.Duration(i%8)*100*time.Millisecond))
	}
	return f
}

// Legacy is the simulated legacy executor: every specialist resident,
// 300 ms a command.
func Legacy(clk clock.Clock) bridge.Executor {
	return bridge.ExecutorFunc(func(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
		t := clk.Timer(300 * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return bridge.Response{Output: answer(cmd)}, nil
		case <-ctx.Done():
			return bridge.Response{}, ctx.Err()
		}
	})
}

// Traffic sends simulated commands through b at rate per second until ctx
// ends, then waits for the ones in flight: mostly the workflows' steps in
// order, sometimes a lone command. It returns the commands sent.
func Traffic(ctx context.Context, clk clock.Clock, b bridge.Executor, rate float64, seed uint64) uint64 {
	if rate <= 0 {
		<-ctx.Done()
		return 0
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	wfs := Workflows()
	hot := []string{"api-architect", "react-lead", "code-reviewer", "qa-lead", "sre"}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64) // at most 64 commands in flight
	interval := time.Duration(float64(time.Second) / rate)
	ticker := clk.Ticker(interval)
	defer ticker.Stop()
	var sent uint64
	var queue []string
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return sent
		case <-ticker.C:
		}
		if len(queue) == 0 {
			// Mostly the feature and release workflows (a team's day),
			// sometimes insight, sometimes a lone command for one of the
			// busiest specialists: a workload with locality, as real ones
			// have.
			switch r := rng.IntN(10); {
			case r < 5:
				queue = append(queue, wfs[0].Steps...)
			case r < 8:
				queue = append(queue, wfs[1].Steps...)
			case r < 9:
				queue = append(queue, wfs[2].Steps...)
			default:
				queue = []string{hot[rng.IntN(len(hot))]}
			}
		}
		id := queue[0]
		queue = queue[1:]
		cmd := bridge.Command{Name: "implement", Args: []string{fmt.Sprintf("task-%d", sent)},
			Options: map[string]any{bridge.OptionSpecialist: id}, RoutingKey: fmt.Sprintf("session-%d", rng.IntN(100))}
		select {
		case sem <- struct{}{}:
		default:
			continue // overloaded: skip rather than queue without bound
		}
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_, _ = b.Execute(cctx, cmd)
		}()
	}
}
