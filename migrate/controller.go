package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/jsonx"
	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/internal/notify"
)

// State is where a rollout stands.
type State string

// States.
const (
	// StateRunning: the controller advances when the gate holds.
	StateRunning State = "running"
	// StateHeld: held by hand (Hold) or after an unexpected routing change;
	// the gate is still evaluated, but only Advance, Resume or SetStep move
	// on.
	StateHeld State = "held"
	// StateRolledBack: a rollback happened; nothing is evaluated or applied
	// until Resume or SetStep.
	StateRolledBack State = "rolled_back"
	// StateCompleted: the last step's gate passed.
	StateCompleted State = "completed"
)

func (s State) valid() bool {
	switch s {
	case StateRunning, StateHeld, StateRolledBack, StateCompleted:
		return true
	}
	return false
}

// Action is what a decision did.
type Action string

// Actions. Decisions of every action but ActionSoak are recorded in the
// history, except that a hold for a gate lacking data is recorded only
// when the criteria lacking data change.
const (
	// ActionStart: a rollout without saved state began at its first step.
	ActionStart Action = "start"
	// ActionRestore: the saved state was restored after a restart.
	ActionRestore Action = "restore"
	// ActionSoak: the step is soaking; its gate has not failed.
	ActionSoak Action = "soak"
	// ActionHold: the step stays, because its gate failed (the soak
	// restarts), lacked data after the soak, or the rollout is held.
	ActionHold Action = "hold"
	// ActionAdvance: the next step began.
	ActionAdvance Action = "advance"
	// ActionComplete: the last step's gate passed.
	ActionComplete Action = "complete"
	// ActionRollback: a rollback stopped the rollout.
	ActionRollback Action = "rollback"
	// ActionResume: the rollout resumed by hand.
	ActionResume Action = "resume"
	// ActionSetStep: a step was set by hand.
	ActionSetStep Action = "set_step"
	// ActionExternal: the routing was found changed outside the controller.
	ActionExternal Action = "external_change"
)

// Decision is one evaluation or action of the controller.
type Decision struct {
	// Seq numbers recorded decisions from 1; 0 means not recorded.
	Seq    int       `json:"seq"`
	At     time.Time `json:"at"`
	Action Action    `json:"action"`
	// Manual: made by hand (Advance, Hold, Resume, SetStep).
	Manual bool   `json:"manual"`
	Reason string `json:"reason"`
	// Step is the step in force after the decision; From the one before
	// (Advance, SetStep).
	Step string `json:"step"`
	From string `json:"from,omitempty"`
	// State and Routing after the decision.
	State   State   `json:"state"`
	Routing Routing `json:"routing"`
	// Soaked is the soak accumulated in the step.
	Soaked time.Duration `json:"soakedMs"`
	// Gate is the gate evaluation behind the decision, if any.
	Gate *GateResult `json:"gate,omitempty"`
	// Rollback is the rollback's ID for ActionRollback.
	Rollback string `json:"rollback,omitempty"`
}

// MarshalJSON writes the decision in the module's JSON convention (soak in
// milliseconds).
func (d Decision) MarshalJSON() ([]byte, error) { return jsonx.Marshal(d) }

// UnmarshalJSON reads what MarshalJSON writes (and the earlier form).
func (d *Decision) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, d) }

// String renders the decision on one line.
func (d Decision) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", d.At.UTC().Format(time.RFC3339), d.Action)
	if d.Manual {
		b.WriteString(" (manual)")
	}
	if d.From != "" && d.From != d.Step {
		fmt.Fprintf(&b, " %s →", d.From)
	}
	fmt.Fprintf(&b, " %s [%s, %s]", d.Step, d.State, d.Routing)
	if d.Reason != "" {
		fmt.Fprintf(&b, ": %s", d.Reason)
	}
	return b.String()
}

// Status is a snapshot of the rollout.
type Status struct {
	Plan  string `json:"plan"`
	Step  Step   `json:"step"`
	Index int    `json:"index"`
	Steps int    `json:"steps"`
	State State  `json:"state"`
	// Reason is why the rollout is held or rolled back.
	Reason string `json:"reason,omitempty"`
	// Routing is what the controller last applied (or found).
	Routing Routing `json:"routing"`
	// Soaked is the soak accumulated in the step, Evidence the window it
	// covers, Gate the last evaluation of the step's gate.
	Soaked        time.Duration `json:"soakedMs"`
	Evidence      Window        `json:"evidence"`
	Gate          *GateResult   `json:"gate,omitempty"`
	Baseline      Baseline      `json:"baseline"`
	StartedAt     time.Time     `json:"startedAt"`
	StepStartedAt time.Time     `json:"stepStartedAt"`
	// LastRollback is the most recent rollback the controller has seen.
	LastRollback string `json:"lastRollback,omitempty"`
	// Warnings are problems of the configuration that do not stop the
	// rollout but defeat part of it: today, a step that tunes (Step.Tune)
	// when no Tuner is configured. Never nil.
	Warnings []string `json:"warnings"`
}

// noTunerWarning is the warning for a tuning step without a tuner.
func noTunerWarning(step string) string {
	return fmt.Sprintf("migrate: WARNING step %q is an optimisation step but no tuner is configured (migrate.WithTuner(p)): it only soaks, nothing is tuned", step)
}

// MarshalJSON writes the status in the module's JSON convention (soak in
// milliseconds, camelCase keys).
func (s Status) MarshalJSON() ([]byte, error) { return jsonx.Marshal(s) }

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Status) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, s) }

// Remaining is the soak still due in the step (0 once soaked).
func (s Status) Remaining() time.Duration { return max(s.Step.Soak-s.Soaked, 0) }

// rolloutVersion is the version of the rollout section this code writes.
const rolloutVersion = 1

// persisted is the rollout section.
type persisted struct {
	Version       int            `json:"version"`
	Plan          string         `json:"plan"`
	Step          string         `json:"step"`
	State         State          `json:"state"`
	Reason        string         `json:"reason,omitempty"`
	Routing       Routing        `json:"routing"`
	StartedAt     time.Time      `json:"started_at"`
	StepStartedAt time.Time      `json:"step_started_at"`
	Soaked        time.Duration  `json:"soaked"`
	Evidence      Window         `json:"evidence"`
	LastGate      *GateResult    `json:"last_gate,omitempty"`
	Prev          *Reading       `json:"prev,omitempty"`
	Baseline      Baseline       `json:"baseline"`
	LastRollback  string         `json:"last_rollback,omitempty"`
	HoldCause     string         `json:"hold_cause,omitempty"`
	TuneSoaked    time.Duration  `json:"tune_soaked"`
	TuneWindow    Window         `json:"tune_window"`
	TuneBase      int            `json:"tune_base,omitempty"`
	Seq           int            `json:"seq"`
	History       []Decision     `json:"history"`
	Tunings       []TuningChange `json:"tunings"`
}

// Controller drives a rollout through a Plan on its clock. Call Step on
// an interval (or Run, which does) and the manual actions when needed. Its
// methods are safe for concurrent use.
type Controller struct {
	router  Router
	metrics Metrics
	cfg     config
	clk     clock.Clock
	log     *slog.Logger
	plan    Plan

	mu       sync.Mutex
	st       persisted
	idx      int
	lastEval time.Time  // soak accrues from here; not saved (downtime is not soak)
	pending  []Decision // recorded, listeners not yet called
	tuned    int        // tuning changes made, for undoing a failed save's
	// noTunerWarned is the step index the "no tuner" warning was last
	// logged for (-1: none), so that it is logged once per entry.
	noTunerWarned int
}

// New returns a controller that routes router through the plan using
// metrics (see the With… options; defaults in options.go).
//
// New loads the saved state from the Store. Without saved state the
// rollout begins at its first step (or WithStartStep) and applies that
// step's routing. With saved state it resumes the same step, soak progress
// and routing, and applies that routing to the (possibly new) bridge —
// unless the rollout is rolled back: then a rollback still in progress
// keeps the routing it set, and otherwise everything goes to legacy. Soak
// accrues only while the controller runs: the time the process was down
// does not count.
//
// A saved state that is corrupt or newer than this code is refused
// (ErrCorruptState, ErrNewerState); one that names a step the plan lacks
// returns ErrPlanMismatch. New starts no goroutine.
func New(router Router, metrics Metrics, opts ...Option) (*Controller, error) {
	if nilcheck.Is(router) {
		return nil, ErrNilRouter
	}
	if nilcheck.Is(metrics) {
		return nil, ErrNilMetrics
	}
	cfg := defaultConfig()
	for i, o := range opts {
		if nilcheck.Is(o) {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidConfig, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	start := 0
	if cfg.startStep != "" {
		if start = cfg.plan.Index(cfg.startStep); start < 0 {
			return nil, fmt.Errorf("%w: WithStartStep(%q): %w in plan %q", ErrInvalidConfig, cfg.startStep, ErrUnknownStep, cfg.plan.Name)
		}
	}
	if cfg.store == nil {
		cfg.store = NewMemoryStore()
		cfg.logger.Warn("migrate: no store configured: the rollout's progress will not survive a restart")
	}
	c := &Controller{
		router: router, metrics: metrics, cfg: cfg,
		clk: cfg.clock, log: cfg.logger, plan: cfg.plan, noTunerWarned: -1,
	}
	if cfg.tuner == nil {
		for _, st := range cfg.plan.Steps {
			if st.Tune {
				cfg.logger.Warn(noTunerWarning(st.Name))
				break
			}
		}
	}
	ctx := context.Background()
	data, err := cfg.store.Load(ctx, SectionRollout)
	if err != nil {
		return nil, fmt.Errorf("migrate: load state: %w", err)
	}
	before := CurrentRouting(router)
	if data == nil {
		err = c.begin(ctx, start)
	} else {
		err = c.restore(ctx, data)
	}
	if err != nil {
		return nil, c.restoreRouting(before, err)
	}
	c.notify(c.takePending())
	return c, nil
}

// begin starts a fresh rollout at step i.
func (c *Controller) begin(ctx context.Context, i int) error {
	now := c.clk.Now()
	step := c.plan.Steps[i]
	if err := Apply(c.router, step.Routing); err != nil {
		return err
	}
	c.st = persisted{Version: rolloutVersion, Plan: c.plan.Name, State: StateRunning, StartedAt: now}
	c.enter(i, now)
	c.rebase()
	c.record(Decision{At: now, Action: ActionStart, Reason: fmt.Sprintf("plan %q begins at step %q", c.plan.Name, step.Name)})
	return c.save(ctx)
}

// restore resumes from the saved section data.
func (c *Controller) restore(ctx context.Context, data []byte) error {
	if err := CheckSectionVersion(SectionRollout, data, rolloutVersion); err != nil {
		return err
	}
	var st persisted
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("migrate: section %q: %w: %v", SectionRollout, ErrCorruptState, err)
	}
	if !st.State.valid() {
		return fmt.Errorf("migrate: section %q: %w: state %q", SectionRollout, ErrCorruptState, st.State)
	}
	idx := c.plan.Index(st.Step)
	if idx < 0 {
		names := make([]string, len(c.plan.Steps))
		for i, s := range c.plan.Steps {
			names[i] = s.Name
		}
		return fmt.Errorf("%w: saved step %q (plan %q) is not in plan %q (steps %s); restore the plan or move the state aside",
			ErrPlanMismatch, st.Step, st.Plan, c.plan.Name, strings.Join(names, ", "))
	}
	if err := st.Routing.validate(); err != nil {
		return fmt.Errorf("migrate: section %q: %w: routing: %v", SectionRollout, ErrCorruptState, err)
	}
	now := c.clk.Now()
	c.st, c.idx, c.lastEval = st, idx, now
	c.st.Version = rolloutVersion

	inProgress := false
	if g := c.cfg.guard; g != nil {
		info := g.Latest()
		inProgress = info.InProgress
		if info.ID != "" && info.ID != c.st.LastRollback {
			c.noteRollback(now, info)
		}
	}
	reason := fmt.Sprintf("restored after restart: step %q, %v of %v soaked", c.st.Step, c.st.Soaked, c.plan.Steps[idx].Soak)
	switch {
	case c.st.State == StateRolledBack && inProgress:
		reason += "; a rollback is in progress and keeps its routing"
	case c.st.State == StateRolledBack:
		c.st.Routing = Legacy
		reason += "; rolled back: everything to legacy"
	}
	if !(c.st.State == StateRolledBack && inProgress) {
		if err := Apply(c.router, c.st.Routing); err != nil {
			return err
		}
	}
	c.record(Decision{At: now, Action: ActionRestore, Reason: reason})
	c.log.Info("migrate: rollout restored", "step", c.st.Step, "state", c.st.State,
		"routing", c.st.Routing.String(), "soaked", c.st.Soaked, "soak", c.plan.Steps[idx].Soak)
	return c.save(ctx)
}

// enter makes step i current with a fresh soak; c.mu is held (or c is
// not yet shared).
func (c *Controller) enter(i int, now time.Time) {
	c.idx = i
	s := c.plan.Steps[i]
	c.st.Step = s.Name
	c.st.Routing = s.Routing
	c.st.StepStartedAt = now
	c.resetSoak(now)
}

// resetSoak restarts the current step's soak and evidence.
func (c *Controller) resetSoak(now time.Time) {
	c.st.Soaked = 0
	c.st.Evidence = Window{From: now, To: now}
	c.st.LastGate = nil
	c.st.HoldCause = ""
	c.st.TuneSoaked = 0
	c.st.TuneWindow = Window{}
	c.lastEval = now
}

// rebase takes a fresh reading, so that the next window starts now.
func (c *Controller) rebase() {
	if r, err := c.metrics.Read(); err == nil {
		c.st.Prev = &r
	}
}

// record numbers d, fills in the current step, state and routing, keeps it
// in the history and queues it for the listeners.
func (c *Controller) record(d Decision) Decision {
	c.fill(&d)
	c.st.Seq++
	d.Seq = c.st.Seq
	c.st.History = append(c.st.History, d)
	if n := len(c.st.History) - c.cfg.historyLimit; n > 0 {
		c.st.History = append([]Decision(nil), c.st.History[n:]...)
	}
	c.pending = append(c.pending, d)
	level := slog.LevelInfo
	switch d.Action {
	case ActionHold, ActionExternal:
		level = slog.LevelWarn
	case ActionRollback:
		level = slog.LevelError
	}
	c.log.Log(context.Background(), level, "migrate: "+string(d.Action), "step", d.Step, "from", d.From,
		"state", d.State, "routing", d.Routing.String(), "soaked", d.Soaked, "manual", d.Manual, "reason", d.Reason)
	return d
}

func (c *Controller) fill(d *Decision) {
	if d.At.IsZero() {
		d.At = c.clk.Now()
	}
	d.Step, d.State, d.Routing, d.Soaked = c.st.Step, c.st.State, c.st.Routing, c.st.Soaked
}

// view is an unrecorded decision about the current state.
func (c *Controller) view(now time.Time, a Action, reason string) Decision {
	d := Decision{At: now, Action: a, Reason: reason, Gate: c.st.LastGate}
	c.fill(&d)
	return d
}

func (c *Controller) takePending() []Decision {
	p := c.pending
	c.pending = nil
	return p
}

// notify tells the listeners; a panicking one is logged and the others are
// still called.
func (c *Controller) notify(ds []Decision) {
	notify.Each(c.cfg.listeners, ds, func(d Decision, r any) {
		c.log.Error("migrate: ERROR listener panicked", "decision", d.String(), "panic", fmt.Sprint(r))
	})
}

// save writes the rollout section.
func (c *Controller) save(ctx context.Context) error {
	data, err := json.Marshal(c.st)
	if err != nil {
		return fmt.Errorf("migrate: encode state: %w", err)
	}
	if err := c.cfg.store.Save(ctx, SectionRollout, data); err != nil {
		c.log.Error("migrate: ERROR saving rollout state", "error", err)
		return &saveError{err: err}
	}
	return nil
}

// Step evaluates the rollout once, at the clock's now:
//
//  1. With a Guard, Guard.Check runs first; a rollback the controller has
//     not seen stops the rollout (ActionRollback, StateRolledBack).
//  2. Metrics are read; the window since the previous reading is added to
//     the step's evidence, and the time since the previous evaluation to
//     its soak.
//  3. Routing found different from what the controller applied stops the
//     rollout (ActionExternal): StateRolledBack if the router now serves
//     the intelligent path less or is in Fallback, StateHeld otherwise.
//  4. The step's gate is evaluated on the evidence. A criterion that fails
//     (with enough data) restarts the soak (ActionHold). Otherwise, once
//     the soak is done, a passing gate advances (ActionAdvance, or
//     ActionComplete after the last step) and a gate lacking data holds.
//     While soaking the decision is ActionSoak.
//
// A held, rolled back or completed rollout never advances by itself.
// Step returns the decision and saves the state. An error from the Guard,
// the Metrics or the Router leaves the step where it is (the time does not
// count toward the soak) and is returned with the decision.
func (c *Controller) Step(ctx context.Context) (Decision, error) {
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	var info RollbackInfo
	var gerr error
	if c.cfg.guard != nil {
		info, gerr = c.cfg.guard.Check(ctx)
	}
	c.mu.Lock()
	u := c.mark()
	d, err := c.step(ctx, info, gerr)
	if isSaveError(err) {
		d, err = c.undo(u, err)
	}
	pending := c.takePending()
	c.mu.Unlock()
	c.notify(pending)
	return d, err
}

func (c *Controller) step(ctx context.Context, info RollbackInfo, gerr error) (Decision, error) {
	now := c.clk.Now()
	if gerr != nil {
		c.lastEval = now
		return c.view(now, ActionHold, "guard check failed: "+gerr.Error()), fmt.Errorf("migrate: guard: %w", gerr)
	}
	if info.ID != "" && info.ID != c.st.LastRollback {
		d := c.noteRollback(now, info)
		return d, c.save(ctx)
	}
	r, err := c.metrics.Read()
	if err != nil {
		c.lastEval = now
		return c.view(now, ActionHold, "metrics unavailable: "+err.Error()), fmt.Errorf("migrate: read metrics: %w", err)
	}
	var prev Reading
	if c.st.Prev != nil {
		prev = *c.st.Prev
	}
	delta := Delta(prev, r)
	c.st.Prev = &r

	if c.st.State != StateRolledBack {
		if cur := CurrentRouting(c.router); !cur.Equal(c.st.Routing) {
			d := c.external(now, cur)
			return d, c.save(ctx)
		}
	}
	switch c.st.State {
	case StateRolledBack:
		c.lastEval = now
		return c.view(now, ActionHold, c.st.Reason), nil
	case StateCompleted:
		c.lastEval = now
		return c.view(now, ActionComplete, "plan completed"), nil
	}

	step := c.plan.Steps[c.idx]
	if now.After(c.lastEval) {
		c.st.Soaked += now.Sub(c.lastEval)
	}
	c.lastEval = now
	c.st.Evidence.Add(delta)
	c.st.Baseline.Learn(delta)
	if step.Tune {
		if c.cfg.tuner == nil && c.noTunerWarned != c.idx {
			c.noTunerWarned = c.idx
			c.log.Warn(noTunerWarning(step.Name), "step", step.Name)
		}
		c.tune(now, delta)
	}
	g := step.Gate.Evaluate(c.st.Evidence, c.st.Baseline)
	c.st.LastGate = &g

	var d Decision
	switch {
	case g.Failed:
		d = c.record(Decision{At: now, Action: ActionHold, Reason: "gate failed, soak restarts: " + failing(g), Gate: &g})
		c.resetSoak(now)
	case c.st.State == StateHeld:
		d = c.view(now, ActionHold, "held: "+c.st.Reason)
	case c.st.Soaked < step.Soak:
		d = c.view(now, ActionSoak, fmt.Sprintf("soaking: %v of %v", c.st.Soaked, step.Soak))
	case !g.Passed:
		d = c.hold(now, g, "soak done but the gate lacks data: "+failing(g))
	default:
		var err error
		d, err = c.advance(now, false, fmt.Sprintf("gate held over %v: %s", c.st.Soaked, g), &g)
		if err != nil {
			return d, err
		}
	}
	return d, c.save(ctx)
}

// hold returns a hold for a gate lacking data, recorded when its cause is
// new.
func (c *Controller) hold(now time.Time, g GateResult, reason string) Decision {
	if cause := g.cause(); cause != c.st.HoldCause {
		c.st.HoldCause = cause
		return c.record(Decision{At: now, Action: ActionHold, Reason: reason, Gate: &g})
	}
	return c.view(now, ActionHold, reason)
}

// failing lists the criteria that did not pass.
func failing(g GateResult) string {
	var parts []string
	for _, c := range g.Checks {
		if c.Passed {
			continue
		}
		if c.HasData {
			parts = append(parts, fmt.Sprintf("%s is %s (%s)", c.Metric, formatValue(c.Metric, c.Value), c.Detail))
		} else {
			parts = append(parts, fmt.Sprintf("%s has no data (%s)", c.Metric, c.Detail))
		}
	}
	return strings.Join(parts, "; ")
}

// advance moves to the next step, or completes the plan after the last;
// c.mu is held.
func (c *Controller) advance(now time.Time, manual bool, reason string, g *GateResult) (Decision, error) {
	from := c.st.Step
	if c.idx == len(c.plan.Steps)-1 {
		c.st.State = StateCompleted
		c.st.Reason = ""
		return c.record(Decision{At: now, Action: ActionComplete, Manual: manual, Reason: reason, From: from, Gate: g}), nil
	}
	next := c.plan.Steps[c.idx+1]
	if err := Apply(c.router, next.Routing); err != nil {
		_ = Apply(c.router, c.st.Routing) // best effort: back to the step's routing
		return c.view(now, ActionHold, "could not apply the next step's routing: "+err.Error()), err
	}
	c.enter(c.idx+1, now)
	if manual {
		c.rebase()
	}
	return c.record(Decision{At: now, Action: ActionAdvance, Manual: manual, Reason: reason, From: from, Gate: g}), nil
}

// noteRollback stops the rollout for the rollback info; c.mu is held.
func (c *Controller) noteRollback(now time.Time, info RollbackInfo) Decision {
	c.st.LastRollback = info.ID
	c.st.State = StateRolledBack
	c.st.Reason = fmt.Sprintf("rollback %s (%s): %s", info.ID, info.Trigger, info.Reason)
	c.st.Routing = CurrentRouting(c.router)
	return c.record(Decision{At: now, Action: ActionRollback, Reason: c.st.Reason, Rollback: info.ID})
}

// external handles routing changed outside the controller; c.mu is held.
func (c *Controller) external(now time.Time, cur Routing) Decision {
	want := c.st.Routing
	if cur.Mode == bridge.ModeFallback || cur.Share() < want.Share() {
		c.st.State = StateRolledBack
	} else {
		c.st.State = StateHeld
	}
	c.st.Reason = fmt.Sprintf("routing changed outside the controller: found %s, expected %s", cur, want)
	c.st.Routing = cur
	return c.record(Decision{At: now, Action: ActionExternal, Reason: c.st.Reason})
}

// Run calls Step now and then every interval (WithInterval) until ctx is
// done or the plan is complete. It returns nil on completion, ctx.Err()
// otherwise. Step errors are logged and do not stop it. The Guard's checks
// stop with it: run the rollback manager's own Run beside it so that the
// triggers are watched after the plan completes too.
func (c *Controller) Run(ctx context.Context) error {
	t := c.clk.Ticker(c.cfg.interval)
	defer t.Stop()
	for {
		d, err := c.Step(ctx)
		if err != nil && ctx.Err() == nil {
			c.log.Error("migrate: ERROR step", "error", err)
		}
		if err == nil && d.State == StateCompleted {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func needReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	return nil
}

// manual runs f under the lock, saves, and notifies.
func (c *Controller) manual(ctx context.Context, reason string, f func(now time.Time) (Decision, error)) (Decision, error) {
	if err := needReason(reason); err != nil {
		return Decision{}, err
	}
	if err := ctx.Err(); err != nil {
		return Decision{}, err
	}
	c.mu.Lock()
	u := c.mark()
	d, err := f(c.clk.Now())
	if err == nil {
		if err = c.save(ctx); err != nil {
			d, err = c.undo(u, err)
		}
	}
	pending := c.takePending()
	c.mu.Unlock()
	c.notify(pending)
	return d, err
}

// ended returns ErrRolledBack or ErrCompleted, with the decision that
// shows it, when the rollout has nothing left to advance or hold.
func (c *Controller) ended(now time.Time) (Decision, error) {
	switch c.st.State {
	case StateRolledBack:
		return c.view(now, ActionHold, c.st.Reason), ErrRolledBack
	case StateCompleted:
		return c.view(now, ActionComplete, "plan completed"), ErrCompleted
	}
	return Decision{}, nil
}

// Advance moves to the next step by hand, whatever the gate says (after
// the last step it completes the plan). A held rollout stays held. It
// returns ErrRolledBack or ErrCompleted when there is nothing to advance.
func (c *Controller) Advance(ctx context.Context, reason string) (Decision, error) {
	return c.manual(ctx, reason, func(now time.Time) (Decision, error) {
		if d, err := c.ended(now); err != nil {
			return d, err
		}
		return c.advance(now, true, reason, c.st.LastGate)
	})
}

// Hold stops automatic advancement until Resume. The gate is still
// evaluated and the soak still accrues. It returns ErrRolledBack or
// ErrCompleted when there is nothing to hold.
func (c *Controller) Hold(ctx context.Context, reason string) (Decision, error) {
	return c.manual(ctx, reason, func(now time.Time) (Decision, error) {
		if d, err := c.ended(now); err != nil {
			return d, err
		}
		c.st.State = StateHeld
		c.st.Reason = reason
		return c.record(Decision{At: now, Action: ActionHold, Manual: true, Reason: reason}), nil
	})
}

// Resume lifts a hold or a rollback. It re-applies the current step's
// routing; if that routing had changed (a rollback, or a change outside
// the controller) the step's soak starts again with fresh evidence. It
// returns ErrNotHeld for a running or completed rollout and
// ErrRollbackInProgress while the Guard reports one.
func (c *Controller) Resume(ctx context.Context, reason string) (Decision, error) {
	return c.manual(ctx, reason, func(now time.Time) (Decision, error) {
		if c.st.State != StateHeld && c.st.State != StateRolledBack {
			return c.view(now, ActionSoak, ""), fmt.Errorf("%w: state %s", ErrNotHeld, c.st.State)
		}
		if err := c.clearRollback(); err != nil {
			return c.view(now, ActionHold, c.st.Reason), err
		}
		step := c.plan.Steps[c.idx]
		if !c.st.Routing.Equal(step.Routing) || c.st.State == StateRolledBack {
			if err := Apply(c.router, step.Routing); err != nil {
				return c.view(now, ActionHold, c.st.Reason), err
			}
			c.st.Routing = step.Routing
			c.resetSoak(now)
			c.rebase()
		}
		c.st.State, c.st.Reason = StateRunning, ""
		return c.record(Decision{At: now, Action: ActionResume, Manual: true, Reason: reason}), nil
	})
}

// clearRollback refuses while a rollback is in progress and marks the
// latest one seen; c.mu is held.
func (c *Controller) clearRollback() error {
	g := c.cfg.guard
	if g == nil {
		return nil
	}
	info := g.Latest()
	if info.InProgress {
		return fmt.Errorf("%w: %s", ErrRollbackInProgress, info.ID)
	}
	c.st.LastRollback = info.ID
	return nil
}

// SetStep makes the named step current by hand, applies its routing and
// starts its soak afresh. It lifts a rollback or a completion (a held
// rollout stays held). After a rollback, the seed's recovery is to set
// "shadow" and roll out again. It returns ErrUnknownStep for a name not in
// the plan and ErrRollbackInProgress while the Guard reports one.
func (c *Controller) SetStep(ctx context.Context, name, reason string) (Decision, error) {
	return c.manual(ctx, reason, func(now time.Time) (Decision, error) {
		i := c.plan.Index(name)
		if i < 0 {
			return c.view(now, ActionHold, ""), fmt.Errorf("%w: %q", ErrUnknownStep, name)
		}
		if err := c.clearRollback(); err != nil {
			return c.view(now, ActionHold, c.st.Reason), err
		}
		if err := Apply(c.router, c.plan.Steps[i].Routing); err != nil {
			return c.view(now, ActionHold, c.st.Reason), err
		}
		from := c.st.Step
		c.enter(i, now)
		c.rebase()
		if c.st.State != StateHeld {
			c.st.State, c.st.Reason = StateRunning, ""
		}
		return c.record(Decision{At: now, Action: ActionSetStep, Manual: true, Reason: reason, From: from}), nil
	})
}

// Status returns a snapshot of the rollout.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Status{
		Plan: c.plan.Name, Step: c.plan.Steps[c.idx], Index: c.idx, Steps: len(c.plan.Steps),
		State: c.st.State, Reason: c.st.Reason, Routing: c.st.Routing,
		Soaked: c.st.Soaked, Evidence: c.st.Evidence, Baseline: c.st.Baseline,
		StartedAt: c.st.StartedAt, StepStartedAt: c.st.StepStartedAt, LastRollback: c.st.LastRollback,
		Warnings: []string{},
	}
	if c.cfg.tuner == nil && c.plan.Steps[c.idx].Tune {
		s.Warnings = append(s.Warnings, noTunerWarning(c.plan.Steps[c.idx].Name))
	}
	if c.st.LastGate != nil {
		g := *c.st.LastGate
		s.Gate = &g
	}
	return s
}

// History returns the recorded decisions, oldest first (at most
// WithHistoryLimit).
func (c *Controller) History() []Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Decision{}, c.st.History...)
}

// Tunings returns the optimiser's changes, oldest first.
func (c *Controller) Tunings() []TuningChange {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]TuningChange{}, c.st.Tunings...)
}

// Plan returns the plan.
func (c *Controller) Plan() Plan {
	p := c.plan
	p.Steps = append([]Step(nil), p.Steps...)
	return p
}
