package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/migrate/fleet"
	"github.com/bumba/pooling/migrate/fleet/fleettest"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// config is one run.
type config struct {
	Replicas     int
	FaultReplica int    // -1: none
	FaultStep    string // the fault starts 5 min (at most half its soak) into this step
	Plan         migrate.Plan
	Endpoints    []string // empty: an etcd server in process
	// PerTick is the commands each replica serves every 30 s of fleet time.
	PerTick int
}

func defaultConfig() config {
	return config{Replicas: 3, FaultReplica: 1, FaultStep: "hybrid-50", Plan: migrate.DefaultPlan(), PerTick: 20}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.Replicas, "replicas", cfg.Replicas, "replicas in the fleet (2..9)")
	fs.IntVar(&cfg.FaultReplica, "fault-replica", cfg.FaultReplica, "replica whose pool starts failing")
	fs.StringVar(&cfg.FaultStep, "fault-step", cfg.FaultStep, "step at which the fault starts (5 min into it, or half its soak)")
	noFault := fs.Bool("no-fault", false, "run the whole plan without a fault")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *noFault {
		cfg.FaultReplica = -1
	}
	if cfg.Replicas < 2 || cfg.Replicas > 9 || cfg.FaultReplica >= cfg.Replicas || cfg.Plan.Index(cfg.FaultStep) < 0 {
		fmt.Fprintf(stderr, "fleet: want 2..9 replicas, a fault replica below that and a step of the plan (%s)\n", strings.Join(stepNames(cfg.Plan), ", "))
		return 2
	}
	cfg.Endpoints = fleet.EndpointsFromEnv()
	rep, err := simulate(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "fleet:", err)
		return 1
	}
	if (cfg.FaultReplica >= 0 && !rep.RolledBack) || (cfg.FaultReplica < 0 && !rep.Completed) {
		return 1
	}
	return 0
}

func stepNames(p migrate.Plan) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.Name)
	}
	return out
}

// replica is one host process.
type replica struct {
	name   string
	pool   *pool.Pool
	bridge *bridge.Bridge
	member *fleet.Member
	mon    *monitor.Monitor
	fault  atomic.Bool

	mu         sync.Mutex
	follows    map[int64]time.Time // revision → real time applied
	fallbackAt time.Time           // real time its bridge fell back by itself
}

func (r *replica) followedAt(rev int64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.follows[rev]
	return at, ok
}

// report is what the run found.
type report struct {
	Changes    int
	RolledBack bool
	Completed  bool
	Follow     []time.Duration // every replica's follow time of every change
	Rollback   []time.Duration // every replica's follow time of the rollback
}

var errFault = errors.New("injected fault: the pool's specialist failed")

var departments = []string{"FULLSTACK", "BACKEND", "FRONTEND", "DESIGN", "ANALYTICS", "TESTING"}
var commands = []string{"implement", "api", "frontend", "design", "analyze", "test"}

func newReplica(clk *clock.Mock, i int, cfg config, endpoints []string, prefix string) (*replica, error) {
	r := &replica{name: fmt.Sprintf("replica-%d", i), follows: map[int64]time.Time{}}
	handler := func(ctx context.Context, specialist string, t pool.Task) (any, error) {
		return "done:" + t.Command, nil
	}
	fakes := pooltest.New(clk, pooltest.WithMemory(64<<10), pooltest.WithHandler(handler))
	for d, dept := range departments {
		for k := range 4 {
			fakes.Add(fmt.Sprintf("%s-%d", strings.ToLower(dept), k), departments[d])
		}
	}
	if err := fakes.Err(); err != nil {
		return nil, err
	}
	p, err := pool.New(fakes.Specs(), pool.WithClock(clk), pool.WithMaxWarm(4))
	if err != nil {
		return nil, err
	}
	r.pool = p
	pe, err := bridge.NewPoolExecutor(p)
	if err != nil {
		return nil, err
	}
	intelligent := bridge.ExecutorFunc(func(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
		if r.fault.Load() {
			return bridge.Response{}, errFault
		}
		return pe.Execute(ctx, cmd)
	})
	legacy := bridge.ExecutorFunc(func(ctx context.Context, cmd bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "done:" + cmd.Name}, nil
	})
	b, err := bridge.New(legacy, intelligent, bridge.WithClock(clk), bridge.WithMode(bridge.ModeFallback))
	if err != nil {
		return nil, err
	}
	r.bridge = b
	if _, err := b.AddObserver(bridge.ObserverFuncs{Transition: func(t bridge.Transition) {
		if t.Reason == bridge.ReasonAutoFallback {
			r.mu.Lock()
			r.fallbackAt = time.Now()
			r.mu.Unlock()
		}
	}}); err != nil {
		return nil, err
	}
	metrics, err := migrate.NewStatsMetrics(b, p, clk)
	if err != nil {
		return nil, err
	}
	if r.mon, err = monitor.New(monitor.WithPool(p), monitor.WithBridge(b), monitor.WithClock(clk)); err != nil {
		return nil, err
	}
	never := 1000 * time.Hour // the loop publishes and steps itself, in fleet time
	m, err := fleet.New(fleet.Config{Endpoints: endpoints, Prefix: prefix, Replica: r.name, LeaseTTL: 2 * time.Second},
		b, metrics, fleet.WithClock(clk), fleet.WithPublishInterval(never), fleet.WithStepInterval(never),
		fleet.WithController(migrate.WithPlan(cfg.Plan)), fleet.WithRollback(),
		fleet.WithFollowListener(func(f fleet.Follow) {
			r.mu.Lock()
			r.follows[f.Revision] = time.Now()
			r.mu.Unlock()
		}))
	if err != nil {
		return nil, err
	}
	r.member = m
	return r, nil
}

func (r *replica) close() {
	_ = r.member.Close()
	_ = r.bridge.Close(context.Background())
	_ = r.pool.Close(context.Background())
}

// serve sends n commands through the replica's bridge.
func (r *replica) serve(ctx context.Context, tick, n int) {
	for k := range n {
		name := commands[(tick*7+k)%len(commands)]
		_, _ = r.bridge.Execute(ctx, bridge.Command{Name: name, RoutingKey: fmt.Sprintf("%s-%d-%d", r.name, tick, k)})
	}
}

func simulate(ctx context.Context, cfg config, w io.Writer) (rep report, err error) {
	endpoints := cfg.Endpoints
	where := "etcd at " + strings.Join(endpoints, ",")
	if len(endpoints) == 0 {
		srv, err := fleettest.Start()
		if err != nil {
			return rep, err
		}
		defer srv.Close()
		endpoints, where = srv.Endpoints(), "etcd in process at "+srv.Endpoint()
	}
	prefix := fmt.Sprintf("/bumba/examples/fleet/%d/", time.Now().UnixNano())
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	start := clk.Now()
	var rs []*replica
	defer func() {
		for _, r := range rs {
			r.close()
		}
	}()
	for i := range cfg.Replicas {
		r, err := newReplica(clk, i, cfg, endpoints, prefix)
		if err != nil {
			return rep, err
		}
		rs = append(rs, r)
		if err := r.member.Start(ctx); err != nil {
			return rep, err
		}
	}
	fmt.Fprintf(w, "fleet: %d replicas, %s, prefix %s, plan %q (%d steps)\n", len(rs), where, prefix, cfg.Plan.Name, len(cfg.Plan.Steps))

	leader := func() *replica {
		for range 1000 {
			for _, r := range rs {
				if r.member.IsLeader() {
					return r
				}
			}
			time.Sleep(5 * time.Millisecond) // real time: the election is etcd's
		}
		return nil
	}
	lead := leader()
	if lead == nil {
		return rep, errors.New("no leader elected")
	}
	for lead.member.Controller() == nil { // its first step begins the plan
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		time.Sleep(time.Millisecond) // real time: etcd's
	}
	fmt.Fprintf(w, "leader: %s, plan begins at %s (%s)\n\n", lead.name, cfg.Plan.Steps[0].Name, cfg.Plan.Steps[0].Routing)
	fmt.Fprintf(w, "%-9s %-14s %-16s %s\n", "time", "step", "routing", "follow time per replica (write → applied)")

	_, lastRev := lead.member.Store().Routing()
	faultAt := time.Time{}
	const tick = 30 * time.Second
	maxTicks := int(4*planLength(cfg.Plan)/tick) + 100
	for t := 0; t < maxTicks; t++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		clk.Add(tick)
		for _, r := range rs {
			r.serve(ctx, t, cfg.PerTick)
		}
		for _, r := range rs {
			r.mon.Collect()
			_ = r.member.Publish(ctx)
		}
		written := time.Now()
		d, err := lead.member.Step(ctx)
		if errors.Is(err, fleet.ErrNotLeader) {
			if lead = leader(); lead == nil {
				return rep, errors.New("no leader")
			}
			continue
		}
		routing, rev := lead.member.Store().Routing()
		switch {
		case !faultAt.IsZero() && !rep.RolledBack && anyFallback(rs):
			// a rollback, raised by a replica or by the leader's triggers
			// on the fleet's sums: wait for every replica
			at, ok := allFallback(rs, lead, written)
			if !ok {
				return rep, errors.New("the rollback did not reach every replica within 5 s")
			}
			rep.RolledBack = true
			rev = lastRevision(lead)
			times := make([]time.Duration, len(rs))
			for i, r := range rs {
				if a, ok := r.followedAt(rev); ok {
					times[i] = max(a.Sub(at.raised), 0)
				}
			}
			rep.Rollback = append(rep.Rollback, times...)
			lastRev = rev
			fmt.Fprintf(w, "%-9s %-14s %-16s ROLLBACK raised by %s (%s): %s\n", fmtElapsed(clk.Now().Sub(start)), d.Step, "fallback",
				at.replica, at.trigger, fmtTimes(rs, times))
		case rev != lastRev:
			lastRev = rev
			rep.Changes++
			times := waitFollow(rs, rev, written)
			rep.Follow = append(rep.Follow, times...)
			fmt.Fprintf(w, "%-9s %-14s %-16s %s\n", fmtElapsed(clk.Now().Sub(start)), d.Step, routing.String(), fmtTimes(rs, times))
		}
		if cfg.FaultReplica >= 0 && faultAt.IsZero() && d.Step == cfg.FaultStep && d.Soaked >= min(5*time.Minute, cfg.Plan.Steps[cfg.Plan.Index(cfg.FaultStep)].Soak/2) {
			faultAt = clk.Now()
			rs[cfg.FaultReplica].fault.Store(true)
			fmt.Fprintf(w, "%-9s %-14s %-16s FAULT: %s's pool fails every call\n", fmtElapsed(faultAt.Sub(start)), d.Step, routing.String(), rs[cfg.FaultReplica].name)
		}
		if rep.RolledBack && d.State == migrate.StateRolledBack {
			break
		}
		if d.State == migrate.StateCompleted {
			rep.Completed = true
			break
		}
	}
	fmt.Fprintln(w)
	recs, err := lead.member.Rollbacks(ctx)
	if err != nil {
		return rep, err
	}
	for _, r := range recs {
		fmt.Fprintf(w, "rollback %s: replica %s, trigger %s, %s → %s: %s\n", r.ID, r.Replica, r.Trigger, r.Before, r.After, r.Reason)
	}
	if rb := lead.member.RollbackManager(); rb != nil {
		for _, r := range rb.History() {
			fmt.Fprintf(w, "rollback %s by the leader's triggers on the fleet's sums: trigger %s, %s → %s: %s\n", r.ID, r.Trigger, r.Before, r.After, r.Reason)
		}
	}
	if ctrl := lead.member.Controller(); ctrl != nil {
		st := ctrl.Status()
		fmt.Fprintf(w, "rollout: step %s, state %s, %d decisions recorded\n", st.Step.Name, st.State, len(ctrl.History()))
	}
	for _, r := range rs {
		ps := r.pool.Stats()
		bs := r.bridge.Stats()
		fmt.Fprintf(w, "%s: mode %s, %d commands, pool hit rate %.1f%%, memory efficiency %.1f%%, automatic fallbacks %d, health %.0f\n",
			r.name, bs.Mode, served(bs), 100*ps.WarmHitRate, 100*ps.MemoryEfficiency, bs.AutoFallbacks, r.mon.HealthScore())
	}
	if len(rep.Follow) > 0 {
		fmt.Fprintf(w, "follow times: %d changes, p50 %v, max %v", rep.Changes, pct(rep.Follow, .5), slices.Max(rep.Follow))
		if len(rep.Rollback) > 0 {
			fmt.Fprintf(w, "; rollback max %v", slices.Max(rep.Rollback))
		}
		fmt.Fprintln(w)
	}
	return rep, nil
}

func served(bs bridge.Stats) uint64 {
	var n uint64
	for _, m := range bs.Modes {
		n += m.Requests
	}
	return n
}

func planLength(p migrate.Plan) time.Duration {
	var d time.Duration
	for _, s := range p.Steps {
		d += s.Soak
	}
	return d
}

func anyFallback(rs []*replica) bool {
	for _, r := range rs {
		if r.bridge.Mode() == bridge.ModeFallback {
			return true
		}
	}
	return false
}

type raised struct {
	replica, trigger string
	raised           time.Time
}

// allFallback waits until every replica is in Fallback and says who
// raised the rollback and when (real time): a replica's own fallback, or
// the leader's trigger at its step (written).
func allFallback(rs []*replica, lead *replica, written time.Time) (raised, bool) {
	deadline := time.Now().Add(5 * time.Second)
	for !allIn(rs, bridge.ModeFallback) {
		if time.Now().After(deadline) {
			return raised{}, false
		}
		time.Sleep(time.Millisecond) // real time: waiting on etcd's watch
	}
	recs, err := lead.member.Rollbacks(context.Background())
	if err == nil && len(recs) > 0 {
		last := recs[len(recs)-1]
		for _, o := range rs {
			if o.name == last.Replica {
				return raised{replica: last.Replica, trigger: last.Trigger, raised: o.raisedAt()}, true
			}
		}
	}
	if rb := lead.member.RollbackManager(); rb != nil {
		if h := rb.History(); len(h) > 0 {
			return raised{replica: "the leader " + lead.name, trigger: "fleet trigger " + h[len(h)-1].Trigger, raised: written}, true
		}
	}
	return raised{replica: "?", trigger: "?", raised: written}, true
}

func allIn(rs []*replica, m bridge.Mode) bool {
	for _, r := range rs {
		if r.bridge.Mode() != m {
			return false
		}
	}
	return true
}

// raisedAt is when the replica applied its own fallback (its bridge fell
// back before it published; the others' follow times count from there).
func (r *replica) raisedAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fallbackAt
}

func lastRevision(r *replica) int64 {
	_ = r.member.Store().RefreshRouting(context.Background())
	_, rev := r.member.Store().Routing()
	return rev
}

// waitFollow waits until every replica applied revision rev and returns
// each one's time from written.
func waitFollow(rs []*replica, rev int64, written time.Time) []time.Duration {
	out := make([]time.Duration, len(rs))
	deadline := time.Now().Add(5 * time.Second)
	for i, r := range rs {
		for {
			if at, ok := r.followedAt(rev); ok {
				out[i] = max(at.Sub(written), 0)
				break
			}
			if time.Now().After(deadline) {
				out[i] = -1
				break
			}
			time.Sleep(time.Millisecond) // real time: waiting on etcd's watch
		}
	}
	return out
}

func fmtTimes(rs []*replica, ts []time.Duration) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		if ts[i] < 0 {
			parts[i] = r.name + " not followed"
			continue
		}
		parts[i] = fmt.Sprintf("%s %v", r.name, ts[i].Round(10*time.Microsecond))
	}
	return strings.Join(parts, ", ")
}

func fmtElapsed(d time.Duration) string {
	return fmt.Sprintf("%dh%02dm%02ds", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}
