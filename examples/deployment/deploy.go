package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/sim"
	"github.com/bumba/pooling/internal/workload"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/rollback"
)

// Faults -fault can inject.
const (
	FaultNone    = ""
	FaultErrors  = "errors"
	FaultLatency = "latency"
	FaultMemory  = "memory"
)

// Cadence of the loop, in simulated time: the rollback manager's check
// interval, the monitor's and the controller's interval, and how often a
// progress line is printed without a step change.
const (
	checkEvery    = rollback.DefaultInterval
	collectEvery  = migrate.DefaultInterval
	progressEvery = 10 * time.Minute
)

// config is one deployment run.
type config struct {
	// Seed of the workload.
	Seed uint64
	// Plan is the rollout (migrate.DefaultPlan unless a test shortens it).
	Plan migrate.Plan
	// StartLatency is a pool specialist's cold start; TaskLatency the time
	// one command takes on either system.
	StartLatency, TaskLatency time.Duration
	// Memory is what each pool specialist really allocates when it starts
	// (0: the catalogue's 5 MB). Tests under the race detector use less.
	Memory int64
	// MeanGap is the workload's mean time between commands.
	MeanGap time.Duration
	// Fault to inject ("" none) from the step FaultPhase on.
	Fault, FaultPhase string
	// ErrorEvery: with the errors fault, every ErrorEvery-th intelligent
	// call naming a specialist fails inside the specialist.
	ErrorEvery uint64
	// ExtraLatency: with the latency fault, what every intelligent call
	// waits on top of its work.
	ExtraLatency time.Duration
	// AfterRollback is how long the simulation goes on after a rollback,
	// so that its verification (2 min later) is part of the record.
	AfterRollback time.Duration
	// MaxTime bounds the simulated time (0: four times the plan).
	MaxTime time.Duration
	// StatePath, when set, keeps the rollout and rollback state in that
	// file (migrate.OpenFileStore) instead of in memory.
	StatePath string
	// Progress receives the progress display (nil: none).
	Progress *progress

	// inspect, for tests, sees the live system after the report was built
	// and before anything is closed.
	inspect func(*system)
}

func defaultConfig() config {
	return config{
		Seed:          1,
		Plan:          migrate.DefaultPlan(),
		StartLatency:  time.Second, // the catalogue's cold start
		TaskLatency:   time.Second,
		MeanGap:       2 * time.Second,
		FaultPhase:    "hybrid-50",
		ErrorEvery:    5,
		ExtraLatency:  3 * time.Second,
		AfterRollback: 5 * time.Minute,
	}
}

// system is the wired deployment: both frameworks on one clock, the pool,
// the bridge, the monitor, the rollback manager and the controller.
type system struct {
	cfg  config
	drv  *driver
	cat  *catalog.Catalog
	plan migrate.Plan

	legacyFW  *sim.Framework
	legacy    map[string]*sim.Instance
	deptFirst map[string]string // legacy's own pick for a department-only command
	poolFW    *sim.Framework
	pool      *pool.Pool
	bridge    *bridge.Bridge
	monitor   *monitor.Monitor
	metrics   *migrate.StatsMetrics
	rollback  *rollback.Manager
	ctrl      *migrate.Controller
	fault     *faultExecutor

	shadowPending atomic.Bool
	shadowDone    chan struct{}

	commands   int
	faultAt    time.Duration
	faultOn    bool
	rollbackAt time.Duration
	rolledBack bool
	lastStep   string
	stepStarts map[string]time.Duration
	lastGate   map[string]*migrate.GateResult // the latest evaluation of each step's gate
}

var errInjected = errors.New("injected fault: specialist failed")

// deploy runs the whole simulated deployment and returns its report.
func deploy(ctx context.Context, cfg config) (rep Report, err error) {
	s, err := build(cfg)
	if err != nil {
		return Report{}, err
	}
	defer func() {
		if cerr := s.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := s.loop(ctx); err != nil {
		return Report{}, err
	}
	rep = s.report()
	if cfg.inspect != nil {
		cfg.inspect(s)
	}
	return rep, nil
}

func build(cfg config) (*system, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, err
	}
	if err := cfg.Plan.Validate(); err != nil {
		return nil, err
	}
	s := &system{cfg: cfg, drv: newDriver(), cat: cat, plan: cfg.Plan,
		shadowDone: make(chan struct{}, 1), stepStarts: map[string]time.Duration{}, lastGate: map[string]*migrate.GateResult{}}
	clk := s.drv.clk

	// Legacy: every specialist started once and kept warm. Its instances
	// allocate nothing: what it holds is the pool's baseline (83 × 5 MB).
	s.legacyFW, err = sim.New(cat, sim.WithClock(clk), sim.WithStartLatency(0), sim.WithMemory(0),
		sim.WithTaskLatency(cfg.TaskLatency), sim.WithExecuteHook(s.drv.hook(cfg.TaskLatency)))
	if err != nil {
		return nil, err
	}
	s.legacy = make(map[string]*sim.Instance, len(cat.Specialists))
	s.deptFirst = map[string]string{}
	for _, sp := range cat.Specialists {
		in, err := s.legacyFW.Start(context.Background(), sp.ID)
		if err != nil {
			s.closeLegacy()
			return nil, err
		}
		s.legacy[sp.ID] = in
		if _, ok := s.deptFirst[sp.Department]; !ok {
			s.deptFirst[sp.Department] = sp.ID
		}
	}

	// Intelligent: the pool over its own framework, whose specialists
	// really start (1 s on the clock) and really allocate 5 MB each.
	memory := cfg.Memory
	if memory <= 0 {
		memory = cat.Costs.WarmMemoryBytes
	}
	s.poolFW, err = sim.New(cat, sim.WithClock(clk), sim.WithStartLatency(cfg.StartLatency), sim.WithMemory(memory),
		sim.WithTaskLatency(cfg.TaskLatency),
		sim.WithStartHook(s.drv.hook(cfg.StartLatency)), sim.WithExecuteHook(s.drv.hook(cfg.TaskLatency)))
	if err != nil {
		s.closeLegacy()
		return nil, err
	}
	opts := []pool.Option{pool.WithClock(clk)}
	for _, w := range cat.Workflows {
		opts = append(opts, pool.WithWorkflows(pool.Workflow{Name: w.Name, Steps: w.Steps}))
	}
	s.pool, err = pool.New(s.poolFW.Specs(), opts...)
	if err != nil {
		s.closeLegacy()
		return nil, err
	}
	if err := s.wire(); err != nil {
		_ = s.close()
		return nil, err
	}
	return s, nil
}

// wire builds the bridge, monitor, metrics, rollback manager and controller
// around the pool, as the README shows.
func (s *system) wire() error {
	clk := s.drv.clk
	pe, err := bridge.NewPoolExecutor(s.pool)
	if err != nil {
		return err
	}
	s.fault = &faultExecutor{inner: pe, s: s}
	sync := bridge.ObserverFuncs{Outcome: func(o bridge.Outcome) {
		switch {
		case o.Kind == bridge.KindServed && o.Verdict == bridge.VerdictPending:
			s.shadowPending.Store(true)
		case o.Kind == bridge.KindShadow:
			select {
			case s.shadowDone <- struct{}{}:
			default:
			}
		}
	}}
	s.bridge, err = bridge.New(bridge.ExecutorFunc(s.executeLegacy), s.fault,
		bridge.WithClock(clk), bridge.WithMode(bridge.ModeFallback), bridge.WithObserver(sync))
	if err != nil {
		return err
	}
	s.monitor, err = monitor.New(monitor.WithPool(s.pool), monitor.WithBridge(s.bridge), monitor.WithClock(clk))
	if err != nil {
		return err
	}
	s.metrics, err = migrate.NewStatsMetrics(s.bridge, s.pool, clk)
	if err != nil {
		return err
	}
	var store migrate.Store = migrate.NewMemoryStore()
	if s.cfg.StatePath != "" {
		fs, err := migrate.OpenFileStore(s.cfg.StatePath)
		if err != nil {
			return err
		}
		store = fs
	}
	// The README's wiring, without glue: the monitor is the rollback
	// manager's health and critical alerts, and is handed its rollbacks.
	// The trigger window is the default minute: at this host's traffic
	// (about ten intelligent calls a minute at hybrid 50 %) the triggers
	// look back further for their 10 calls (rollback.WithMaxLookback).
	s.rollback, err = rollback.New(s.bridge, s.metrics,
		rollback.WithClock(clk), rollback.WithStore(store),
		rollback.WithHealth(s.monitor), rollback.WithAlerts(s.monitor),
		rollback.WithListener(s.onRollback))
	if err != nil {
		return err
	}
	if _, err := s.bridge.AddObserver(s.rollback.Observer()); err != nil {
		return err
	}
	if err := s.monitor.WatchRollbacks(s.rollback); err != nil {
		return err
	}
	s.ctrl, err = migrate.New(s.bridge, s.metrics,
		migrate.WithClock(clk), migrate.WithPlan(s.plan), migrate.WithGuard(s.rollback),
		migrate.WithTuner(s.pool), migrate.WithStore(store), migrate.WithListener(s.onDecision))
	return err
}

func (s *system) onRollback(ev rollback.Event) {
	r := ev.Record
	switch ev.Type {
	case rollback.EventStarted:
		if !s.rolledBack {
			s.rolledBack, s.rollbackAt = true, s.drv.elapsed()
		}
		s.cfg.Progress.event(s.drv.elapsed(), fmt.Sprintf("ROLLBACK %s (%s, trigger %s): %s → %s",
			r.ID, r.Kind, r.Trigger, r.Before, r.After))
	case rollback.EventCompleted:
		verdict := "verification passed"
		if r.Verification != nil && !r.Verification.Passed {
			verdict = "verification FAILED"
		}
		s.cfg.Progress.event(s.drv.elapsed(), fmt.Sprintf("rollback %s completed, %s", r.ID, verdict))
	}
}

func (s *system) onDecision(d migrate.Decision) {
	switch d.Action {
	case migrate.ActionStart, migrate.ActionAdvance, migrate.ActionSetStep:
		s.stepStarts[d.Step] = d.At.Sub(s.drv.origin)
	case migrate.ActionHold:
		if d.Gate != nil {
			s.lastGate[d.Step] = d.Gate // a failed gate restarts the soak and leaves Status without one
		}
		if d.Gate != nil && d.Gate.Failed {
			s.cfg.Progress.event(s.drv.elapsed(), fmt.Sprintf("%s: gate failed, soak restarts: %s", d.Step, d.Gate))
		}
	}
}

// executeLegacy is the legacy host: every specialist warm, the command run
// on the one its options name (a department-only command goes to the
// department's first specialist).
func (s *system) executeLegacy(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
	id, _ := cmd.Options[bridge.OptionSpecialist].(string)
	if id == "" {
		dept, _ := cmd.Options[bridge.OptionDepartment].(string)
		id = s.deptFirst[dept]
	}
	in, ok := s.legacy[id]
	if !ok {
		return bridge.Response{}, fmt.Errorf("legacy: no specialist for command %q", cmd.Name)
	}
	res, err := in.Execute(ctx, pool.Task{Specialist: id, Command: cmd.Name})
	if err != nil {
		return bridge.Response{}, err
	}
	// Saying who answered lets the default comparator compare what a
	// department-only command answered, not which specialist did.
	return bridge.Response{Output: res.Output, Specialist: id}, nil
}

// faultExecutor wraps the pool's executor to inject the errors and latency
// faults once they are switched on.
type faultExecutor struct {
	inner  bridge.Executor
	s      *system
	active atomic.Bool
	calls  atomic.Uint64
}

func (f *faultExecutor) Execute(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
	if f.active.Load() {
		switch f.s.cfg.Fault {
		case FaultErrors:
			// The specialist itself fails (sim.FailExecute), so the pool
			// counts the task error too. Commands run one at a time, so
			// the fault touches only this call.
			if id, _ := cmd.Options[bridge.OptionSpecialist].(string); id != "" {
				if f.calls.Add(1)%f.s.cfg.ErrorEvery == 0 {
					f.s.poolFW.FailExecute(id, errInjected)
					defer f.s.poolFW.Heal(id)
				}
			}
		case FaultLatency:
			if err := f.s.drv.sleep(ctx, f.s.cfg.ExtraLatency); err != nil {
				return bridge.Response{}, err
			}
		}
	}
	return f.inner.Execute(ctx, cmd)
}

// injectMemoryFault is a runaway warmer: the warm cap raised to every
// specialist and all of them started, again on every check, so that the
// pool holds what legacy holds.
func (s *system) injectMemoryFault(ctx context.Context) {
	if s.pool.MaxWarm() < len(s.cat.Specialists) {
		_ = s.pool.SetMaxWarm(len(s.cat.Specialists))
	}
	ids := make([]string, 0, len(s.cat.Specialists))
	for _, sp := range s.cat.Specialists {
		ids = append(ids, sp.ID)
	}
	s.drv.do(func() { _ = s.pool.Warm(ctx, ids...) })
}

// command turns a workload event into the BUMBA command the host receives.
func command(ev workload.Event, chunk, i int) bridge.Command {
	opts := map[string]any{}
	if ev.Task.Specialist != "" {
		opts[bridge.OptionSpecialist] = ev.Task.Specialist
	} else {
		opts[bridge.OptionDepartment] = ev.Task.Department
	}
	if ev.Task.Priority != pool.PriorityUnset {
		opts[bridge.OptionPriority] = ev.Task.Priority.String()
	}
	key := fmt.Sprintf("c%d-task-%d", chunk, i)
	if ev.Instance > 0 { // a workflow's steps stay on one path
		key = fmt.Sprintf("c%d-workflow-%d", chunk, ev.Instance)
	}
	return bridge.Command{Name: ev.Task.Command, Options: opts, RoutingKey: key}
}

// events yields the workload, generating further seeded chunks as needed.
type events struct {
	cat    *catalog.Catalog
	cfg    workload.Config
	chunk  int
	evs    []workload.Event
	i      int
	offset time.Duration
}

const chunkTasks = 2000

func (e *events) next() (workload.Event, bridge.Command, error) {
	if e.i >= len(e.evs) {
		if len(e.evs) > 0 {
			e.offset += e.evs[len(e.evs)-1].At + e.cfg.MeanGap
		}
		cfg := e.cfg
		cfg.Seed = e.cfg.Seed + uint64(e.chunk)
		cfg.Tasks = chunkTasks
		evs, err := workload.Generate(e.cat, cfg)
		if err != nil {
			return workload.Event{}, bridge.Command{}, err
		}
		e.evs, e.i = evs, 0
		e.chunk++
	}
	ev := e.evs[e.i]
	cmd := command(ev, e.chunk, e.i)
	e.i++
	ev.At += e.offset
	return ev, cmd, nil
}

// loop replays the workload through the bridge while the controller rolls
// out, until the plan completes or a rollback has been verified.
func (s *system) loop(ctx context.Context) error {
	wcfg := workload.DefaultConfig()
	wcfg.Seed = s.cfg.Seed
	wcfg.MeanGap = s.cfg.MeanGap
	src := &events{cat: s.cat, cfg: wcfg}
	maxTime := s.cfg.MaxTime
	if maxTime <= 0 {
		maxTime = 4 * s.plan.Duration()
	}
	var nextTick time.Duration // the first tick is at once
	lastCollect, lastProgress := time.Duration(-1), time.Duration(-1)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ev, cmd, err := src.next()
		if err != nil {
			return err
		}
		for nextTick <= ev.At {
			s.drv.advanceTo(s.drv.origin.Add(nextTick))
			now := s.drv.elapsed()
			if err := s.tick(ctx, now, &lastCollect, &lastProgress); err != nil {
				return err
			}
			if s.finished(now) {
				return nil
			}
			if now > maxTime {
				st := s.ctrl.Status()
				return fmt.Errorf("rollout not finished after %v of simulated time: step %s, %s (%s)",
					maxTime, st.Step.Name, st.State, st.Reason)
			}
			nextTick = (now/checkEvery + 1) * checkEvery
		}
		s.drv.advanceTo(s.drv.origin.Add(ev.At))
		s.execute(ctx, cmd)
	}
}

// finished: the plan completed, or a rollback happened and has had time to
// be verified.
func (s *system) finished(now time.Duration) bool {
	if s.ctrl.Status().State == migrate.StateCompleted {
		return true
	}
	return s.rolledBack && now >= s.rollbackAt+s.cfg.AfterRollback && !s.rollback.Latest().InProgress
}

// tick is the periodic work at simulated time now: the fault, the
// monitor's sample, the rollback checks and the controller's step.
func (s *system) tick(ctx context.Context, now time.Duration, lastCollect, lastProgress *time.Duration) error {
	if s.cfg.Fault != FaultNone && !s.faultOn && s.ctrl.Status().Step.Name == s.cfg.FaultPhase {
		s.faultOn, s.faultAt = true, now
		s.fault.active.Store(true)
		s.cfg.Progress.event(now, fmt.Sprintf("FAULT injected: %s (%s)", s.cfg.Fault, faultText(s.cfg)))
	}
	if s.faultOn && s.cfg.Fault == FaultMemory {
		s.injectMemoryFault(ctx)
	}
	if *lastCollect >= 0 && now-*lastCollect < collectEvery {
		if _, err := s.rollback.Check(ctx); err != nil {
			return err
		}
		return nil
	}
	*lastCollect = now
	s.monitor.Collect()
	if _, err := s.ctrl.Step(ctx); err != nil { // calls the rollback manager's Check first
		return err
	}
	st := s.ctrl.Status()
	if st.Gate != nil {
		s.lastGate[st.Step.Name] = st.Gate
	}
	if st.Step.Name != s.lastStep || *lastProgress < 0 || now-*lastProgress >= progressEvery || st.State == migrate.StateCompleted {
		s.lastStep, *lastProgress = st.Step.Name, now
		s.cfg.Progress.line(now, st, s.pool.Stats(), s.planDone(st))
	} else {
		s.cfg.Progress.redraw(now, st, s.pool.Stats(), s.planDone(st))
	}
	return nil
}

// planDone is the share of the plan's soak time done.
func (s *system) planDone(st migrate.Status) float64 {
	total := s.plan.Duration()
	if total <= 0 || st.State == migrate.StateCompleted {
		return 1
	}
	var done time.Duration
	for _, step := range s.plan.Steps[:st.Index] {
		done += step.Soak
	}
	done += min(st.Soaked, st.Step.Soak)
	return float64(done) / float64(total)
}

// execute runs one command through the bridge, moving the clock as far as
// it needs; in shadow mode it also waits for the shadow run's verdict, so
// that every comparison is counted before time moves on.
func (s *system) execute(ctx context.Context, cmd bridge.Command) {
	s.drv.do(func() {
		// A failed answer is counted by the bridge (Served errors).
		_, _ = s.bridge.Execute(ctx, cmd)
		if s.shadowPending.Swap(false) {
			<-s.shadowDone
		}
	})
	s.commands++
}

func faultText(cfg config) string {
	switch cfg.Fault {
	case FaultErrors:
		return fmt.Sprintf("every %d. intelligent call fails inside its specialist", cfg.ErrorEvery)
	case FaultLatency:
		return fmt.Sprintf("every intelligent call takes %v longer", cfg.ExtraLatency)
	case FaultMemory:
		return "runaway warmer: warm cap raised to every specialist, all kept warm"
	}
	return "none"
}

// quiesce lets pre-warms in flight finish so that the final figures are
// stable.
func (s *system) quiesce() {
	s.drv.do(s.pool.Wait)
}

func (s *system) closeLegacy() {
	for _, in := range s.legacy {
		_ = in.Close()
	}
	s.legacy = nil
}

// close releases everything: the bridge (waiting for shadow runs), the
// pool (moving the clock while its starts finish), the legacy instances.
func (s *system) close() error {
	var errs []error
	ctx := context.Background()
	if s.bridge != nil {
		errs = append(errs, s.bridge.Close(ctx))
	}
	if s.pool != nil {
		var err error
		s.drv.do(func() { err = s.pool.Close(ctx) })
		errs = append(errs, err)
	}
	s.closeLegacy()
	return errors.Join(errs...)
}
