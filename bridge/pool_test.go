package bridge_test

import (
	"context"
	"errors"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/sim"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// simPool is the simulated framework behind a pool, with instant starts so
// that tests need not move the clock.
func simPool(t *testing.T, opts ...pool.Option) (*pool.Pool, *sim.Framework) {
	t.Helper()
	cat, err := catalog.Load()
	require.NoError(t, err)
	clk := clock.NewMock()
	fw, err := sim.New(cat, sim.WithClock(clk), sim.WithStartLatency(0), sim.WithTaskLatency(0), sim.WithMemory(1<<10))
	require.NoError(t, err)
	p, err := pool.New(fw.Specs(), append([]pool.Option{pool.WithClock(clk)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	return p, fw
}

// alwaysWarm is the legacy system: every specialist started once, kept for
// ever; it runs a command on the specialist its options name.
func alwaysWarm(t *testing.T) bridge.Executor {
	t.Helper()
	cat, err := catalog.Load()
	require.NoError(t, err)
	fw, err := sim.New(cat, sim.WithClock(clock.NewMock()), sim.WithStartLatency(0), sim.WithTaskLatency(0), sim.WithMemory(1<<10))
	require.NoError(t, err)
	insts := map[string]*sim.Instance{}
	for _, s := range cat.Specialists {
		inst, err := fw.Start(context.Background(), s.ID)
		require.NoError(t, err)
		insts[s.ID] = inst
	}
	t.Cleanup(func() {
		for _, inst := range insts {
			require.NoError(t, inst.Close())
		}
	})
	return bridge.ExecutorFunc(func(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
		id, _ := cmd.Options[bridge.OptionSpecialist].(string)
		inst, ok := insts[id]
		if !ok {
			return bridge.Response{Output: "legacy handled " + cmd.Name}, nil
		}
		res, err := inst.Execute(ctx, pool.Task{Command: cmd.Name})
		return bridge.Response{Output: res.Output}, err
	})
}

func TestPoolExecutorRoutes(t *testing.T) {
	p, _ := simPool(t)
	e, err := bridge.NewPoolExecutor(p)
	require.NoError(t, err)
	ctx := context.Background()

	resp, err := e.Execute(ctx, bridge.Command{Name: "secure"})
	require.NoError(t, err)
	res := resp.Detail.(pool.Result)
	assert.Equal(t, "SECURITY", departmentOf(t, p, res.Specialist), "by the routing table")
	assert.Equal(t, res.Specialist, resp.Output, "the instance's answer")

	resp, err = e.Execute(ctx, bridge.Command{Name: "bumba:implement", Options: map[string]any{bridge.OptionSpecialist: "react-lead"}})
	require.NoError(t, err)
	assert.Equal(t, "react-lead", resp.Output)

	resp, err = e.Execute(ctx, bridge.Command{Name: "anything", Options: map[string]any{bridge.OptionDepartment: "MOBILE", bridge.OptionPriority: "high"}})
	require.NoError(t, err)
	assert.Equal(t, "MOBILE", departmentOf(t, p, resp.Detail.(pool.Result).Specialist))

	for _, cmd := range []bridge.Command{
		{Name: "dance"},
		{Name: "implement", Options: map[string]any{bridge.OptionSpecialist: "nobody"}},
		{Name: "implement", Options: map[string]any{bridge.OptionDepartment: "MARKETING"}},
		{Name: "implement", Options: map[string]any{bridge.OptionPriority: "urgent"}},
	} {
		_, err := e.Execute(ctx, cmd)
		assert.ErrorIs(t, err, bridge.ErrUnroutable, "%+v", cmd)
	}
}

func departmentOf(t *testing.T, p *pool.Pool, id string) string {
	t.Helper()
	for _, s := range p.Specialists() {
		if s.ID == id {
			return s.Department
		}
	}
	t.Fatalf("no specialist %q", id)
	return ""
}

func TestPoolExecutorRejectsBadConfiguration(t *testing.T) {
	p, _ := simPool(t)
	_, err := bridge.NewPoolExecutor(p, bridge.WithRoutes(map[string]string{"implement": "MARKETING"}))
	assert.ErrorIs(t, err, bridge.ErrInvalidConfig)
	assert.Contains(t, err.Error(), `"MARKETING"`)
	_, err = bridge.NewPoolExecutor(nil)
	assert.ErrorIs(t, err, bridge.ErrNilExecutor)
	_, err = bridge.NewPoolExecutor(p, bridge.WithRouter(nil))
	assert.ErrorIs(t, err, bridge.ErrInvalidConfig)
	_, err = bridge.NewPoolExecutor(p, nil)
	assert.ErrorIs(t, err, bridge.ErrInvalidConfig)

	custom, err := bridge.NewPoolExecutor(p, bridge.WithRouter(func(c bridge.Command) (pool.Task, bool) {
		return pool.Task{Specialist: "qa-architect", Command: c.Name}, true
	}))
	require.NoError(t, err)
	resp, err := custom.Execute(context.Background(), bridge.Command{Name: "whatever"})
	require.NoError(t, err)
	assert.Equal(t, "qa-architect", resp.Output)
}

// A command the pool cannot route is served by legacy and counted, in every
// mode, and never trips the automatic fallback.
func TestUnroutableCommandsGoToLegacy(t *testing.T) {
	p, _ := simPool(t)
	e, err := bridge.NewPoolExecutor(p)
	require.NoError(t, err)
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "legacy:" + c.Name}, nil
	})
	for _, mode := range []bridge.Mode{bridge.ModeFull, bridge.ModeHybrid} {
		b, err := bridge.New(legacy, e, bridge.WithMode(mode), bridge.WithPercentage(100), bridge.WithClock(clock.NewMock()))
		require.NoError(t, err)
		for range 50 {
			resp, err := b.Execute(context.Background(), bridge.Command{Name: "dance"})
			require.NoError(t, err)
			assert.Equal(t, "legacy:dance", resp.Output)
		}
		st := b.Stats()
		assert.Equal(t, mode, st.Mode, "no automatic fallback")
		assert.Equal(t, uint64(50), st.Modes[mode].Unrouted)
		assert.Equal(t, uint64(50), st.Modes[mode].Requests)
		assert.Zero(t, st.Modes[mode].Errors)
		assert.Zero(t, st.Window.Failures)
		require.NoError(t, b.Close(context.Background()))
	}
}

// The whole path on the simulated framework: the legacy always-warm system
// and the pool answer the same, in shadow at 100 % compatibility, then in
// full mode with the pool's own figures behind it.
func TestBridgeOverPoolEndToEnd(t *testing.T) {
	p, fw := simPool(t, pool.WithMaxWarm(17))
	e, err := bridge.NewPoolExecutor(p)
	require.NoError(t, err)
	shadowDone := make(chan bridge.Outcome, 1024)
	obs := bridge.ObserverFuncs{Outcome: func(o bridge.Outcome) {
		if o.Kind == bridge.KindShadow {
			shadowDone <- o
		}
	}}
	b, err := bridge.New(alwaysWarm(t), e, bridge.WithClock(clock.NewMock()), bridge.WithObserver(obs), bridge.WithShadowConcurrency(1000))
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close(context.Background())) }()

	cfg := workload.DefaultConfig()
	cfg.Tasks = 300
	cfg.DepartmentOnlyShare = 0
	events, err := workload.Generate(fw.Catalog(), cfg)
	require.NoError(t, err)
	cmds := make([]bridge.Command, len(events))
	for i, ev := range events {
		cmds[i] = bridge.Command{Name: ev.Task.Command, Options: map[string]any{bridge.OptionSpecialist: ev.Task.Specialist}}
	}
	for _, c := range cmds[:150] {
		_, err := b.Execute(context.Background(), c)
		require.NoError(t, err)
		v := (<-shadowDone).Verdict
		require.Equal(t, bridge.VerdictMatch, v)
	}
	st := b.Stats()
	assert.Equal(t, uint64(150), st.Shadow.Compared)
	assert.InDelta(t, 1, st.Shadow.Compatibility, 1e-9)

	require.NoError(t, b.SetMode(bridge.ModeFull))
	for _, c := range cmds[150:] {
		resp, err := b.Execute(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, c.Options[bridge.OptionSpecialist], resp.Output)
	}
	st = b.Stats()
	assert.Equal(t, uint64(150), st.Modes[bridge.ModeFull].Paths[bridge.PathIntelligent].Calls)
	assert.Zero(t, st.Modes[bridge.ModeFull].Fallbacks)
	ps := p.Stats()
	assert.Equal(t, uint64(300), ps.Tasks, "shadow runs and full-mode commands all reached the pool")
	assert.LessOrEqual(t, ps.Warm+ps.Active+ps.Warming, 17)
}

// BenchmarkPoolExecutor measures the adapter and the bridge in Full mode over
// a warm pool, against calling the pool directly.
func BenchmarkPoolExecutor(b *testing.B) {
	cat, err := catalog.Load()
	if err != nil {
		b.Fatal(err)
	}
	fw, err := sim.New(cat, sim.WithStartLatency(0), sim.WithTaskLatency(0), sim.WithMemory(1<<10))
	if err != nil {
		b.Fatal(err)
	}
	p, err := pool.New(fw.Specs())
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()
	task := pool.Task{Specialist: "react-lead", Command: "implement"}
	cmd := bridge.Command{Name: "implement", Options: map[string]any{bridge.OptionSpecialist: "react-lead"}}
	if _, err := p.Execute(ctx, task); err != nil {
		b.Fatal(err)
	}
	e, err := bridge.NewPoolExecutor(p)
	if err != nil {
		b.Fatal(err)
	}
	br, err := bridge.New(alwaysWarmBench(), e, bridge.WithMode(bridge.ModeFull))
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close(ctx)
	b.Run("pool-direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := p.Execute(ctx, task); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("adapter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.Execute(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bridge-full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := br.Execute(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func alwaysWarmBench() bridge.Executor {
	return bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "legacy"}, nil
	})
}

// hostPool is a pool of a host's own departments (none of them in
// DefaultRoutes' reference catalogue but BACKEND).
func hostPool(t *testing.T) *pool.Pool {
	t.Helper()
	clk := clock.NewMock()
	fleet := pooltest.New(clk)
	specs := []pool.Spec{
		fleet.Spec("billing-1", "BILLING"),
		fleet.Spec("search-1", "SEARCH"),
		fleet.Spec("api-1", "BACKEND"),
	}
	require.NoError(t, fleet.Err())
	p, err := pool.New(specs, pool.WithClock(clk))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	return p
}

// Default routes to departments the pool lacks are unused, not an error: a
// pool of the host's own departments is accepted as is, commands routed by
// option or to a department the pool has run on it, and the others are
// unroutable (served from legacy by the bridge).
func TestPoolExecutorDefaultRoutesToMissingDepartmentsAreUnused(t *testing.T) {
	p := hostPool(t)
	e, err := bridge.NewPoolExecutor(p)
	require.NoError(t, err, "DefaultRoutes name departments this pool lacks; they are just unused")
	ctx := context.Background()

	resp, err := e.Execute(ctx, bridge.Command{Name: "charge", Options: map[string]any{bridge.OptionDepartment: "BILLING"}})
	require.NoError(t, err)
	assert.Equal(t, "billing-1", resp.Output)

	resp, err = e.Execute(ctx, bridge.Command{Name: "api"})
	require.NoError(t, err, "a default route to a department the pool has is used")
	assert.Equal(t, "api-1", resp.Output)

	_, err = e.Execute(ctx, bridge.Command{Name: "secure"})
	assert.ErrorIs(t, err, bridge.ErrUnroutable, "default route to SECURITY, which this pool lacks")

	// An explicit route naming an unknown department is the caller's
	// mistake: an error naming the command and the department.
	_, err = bridge.NewPoolExecutor(p, bridge.WithRoutes(map[string]string{"charge": "BILLING", "find": "SERCH"}))
	require.ErrorIs(t, err, bridge.ErrInvalidConfig)
	assert.Contains(t, err.Error(), `"find"`)
	assert.Contains(t, err.Error(), `"SERCH"`)
	assert.Contains(t, err.Error(), "WithRoutes")

	e, err = bridge.NewPoolExecutor(p, bridge.WithRoutes(map[string]string{"charge": "BILLING", "find": "SEARCH"}))
	require.NoError(t, err)
	resp, err = e.Execute(ctx, bridge.Command{Name: "find"})
	require.NoError(t, err)
	assert.Equal(t, "search-1", resp.Output)
	_, err = e.Execute(ctx, bridge.Command{Name: "api"})
	assert.ErrorIs(t, err, bridge.ErrUnroutable, "WithRoutes replaces the defaults")
}

// The default comparator compares what a department-only command answered,
// not which specialist answered it: the pool's balancer and legacy pick
// different specialists of the department, and shadow compatibility is
// still 100 %. A command that names its specialist is still compared as
// is, and a different answer is still a mismatch.
func TestDefaultComparatorIgnoresWhichSpecialistAnswered(t *testing.T) {
	clk := clock.NewMock()
	answer := func(_ context.Context, id string, task pool.Task) (any, error) {
		return id + ": " + task.Command + " done", nil
	}
	fleet := pooltest.New(clk, pooltest.WithHandler(answer))
	specs := []pool.Spec{fleet.Spec("billing-1", "BILLING"), fleet.Spec("billing-2", "BILLING")}
	p, err := pool.New(specs, pool.WithClock(clk))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close(context.Background())) })
	exec, err := bridge.NewPoolExecutor(p)
	require.NoError(t, err)
	// Legacy answers a department-only command on the department's last
	// specialist, which the pool's balancer does not pick first.
	legacy := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		id, _ := c.Options[bridge.OptionSpecialist].(string)
		if id == "" {
			id = "billing-2"
		}
		if c.Name == "refund" {
			return bridge.Response{Output: "refused", Specialist: id}, nil
		}
		return bridge.Response{Output: id + ": " + c.Name + " done", Specialist: id}, nil
	})
	b, err := bridge.New(legacy, exec, bridge.WithClock(clk), bridge.WithShadowConcurrency(64)) // shadow; no run skipped
	require.NoError(t, err)
	dept := map[string]any{bridge.OptionDepartment: "BILLING"}
	for range 20 {
		_, err := b.Execute(context.Background(), bridge.Command{Name: "charge", Options: dept})
		require.NoError(t, err)
	}
	_, err = b.Execute(context.Background(), bridge.Command{Name: "charge", Options: map[string]any{bridge.OptionSpecialist: "billing-1"}})
	require.NoError(t, err)
	_, err = b.Execute(context.Background(), bridge.Command{Name: "refund", Options: dept})
	require.NoError(t, err)
	require.NoError(t, b.Close(context.Background()))

	one, _ := fleet.Specialist("billing-1")
	require.Positive(t, one.Counts().Calls, "the pool answered on billing-1, legacy on billing-2")
	st := b.Stats()
	assert.Equal(t, uint64(22), st.Shadow.Compared)
	assert.Equal(t, uint64(21), st.Shadow.Matched, "only the refund answer differs: %v", b.Mismatches())
	mm := b.Mismatches()
	require.Len(t, mm, 1)
	assert.Equal(t, "refund", mm[0].Command.Name)
	assert.NotEmpty(t, mm[0].Intelligent.Response.Specialist, "PoolExecutor says who answered")

	// Directly: named specialist compared as is; department-only masked.
	cmp := bridge.DefaultComparator()
	res := func(out any, who string) bridge.Result {
		return bridge.Result{Response: bridge.Response{Output: out, Specialist: who}}
	}
	assert.True(t, cmp.Compare(bridge.Command{Name: "x", Options: dept}, res("a1", "a1"), res("a2", "a2")))
	assert.True(t, cmp.Compare(bridge.Command{Name: "x", Options: dept}, res([]byte("a1 ok"), "a1"), res([]byte("a2 ok"), "a2")))
	assert.False(t, cmp.Compare(bridge.Command{Name: "x", Options: dept}, res("a1 ok", "a1"), res("a2 no", "a2")))
	assert.False(t, cmp.Compare(bridge.Command{Name: "x", Options: dept}, res("a1", ""), res("a2", "a2")), "legacy did not say who answered")
	assert.False(t, cmp.Compare(bridge.Command{Name: "x", Options: map[string]any{bridge.OptionSpecialist: "a1"}}, res("a1", "a1"), res("a2", "a2")))
	assert.True(t, cmp.Compare(bridge.Command{Name: "x"}, bridge.Result{Err: errors.New("a")}, bridge.Result{Err: errors.New("b")}))
	assert.False(t, cmp.Compare(bridge.Command{Name: "x"}, res("a", ""), bridge.Result{Err: errors.New("b")}))
}
