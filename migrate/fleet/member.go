package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benbjohnson/clock"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/internal/nilcheck"
	"github.com/bumba/pooling/internal/notify"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/rollback"
)

// Follow reports that a replica applied a new fleet routing to its bridge.
type Follow struct {
	Replica  string          `json:"replica"`
	Routing  migrate.Routing `json:"routing"`
	Revision int64           `json:"revision"`
	// Rollback is the rollback's ID when the change was one.
	Rollback string `json:"rollback,omitempty"`
}

// Status is a replica's view of the fleet.
type Status struct {
	Replica string `json:"replica"`
	// Leader names the leading replica as last seen ("" if unknown);
	// IsLeader: this replica runs the controller.
	Leader   string `json:"leader"`
	IsLeader bool   `json:"isLeader"`
	// Partitioned: the replica cannot reach etcd (its last request failed
	// or its session is lost). It keeps its last routing, never advances,
	// still falls back on its own evidence, and publishes what it did when
	// it reconnects.
	Partitioned bool `json:"partitioned"`
	// Routing is what the replica's bridge was last set to by the fleet;
	// Revision the etcd revision of that routing.
	Routing  migrate.Routing `json:"routing"`
	Revision int64           `json:"revision"`
	// PendingRollback is a local rollback not yet published (cut off).
	PendingRollback *RollbackRecord `json:"pendingRollback,omitempty"`
	// LastError is the last etcd error ("" after a success).
	LastError string `json:"lastError,omitempty"`
}

// Member is one replica of the fleet. New configures it, Start joins the
// fleet (session, election, routing watch, publishing), Close leaves.
//
// Every replica follows the fleet's routing on its own bridge, publishes
// its counters under its lease, and turns a fall back of its own bridge
// (automatic, or an operator's) into a fleet rollback. The replica that
// wins the election runs the migrate.Controller (and, WithRollback, a
// rollback.Manager) on the fleet's summed counters, with the Store as its
// state and router.
type Member struct {
	cfg     Config
	opts    options
	router  migrate.Router
	metrics migrate.Metrics
	clk     clock.Clock
	log     *slog.Logger

	cli     *clientv3.Client
	ownsCli bool
	store   *Store

	runCtx    context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	wake      chan struct{}
	closed    atomic.Bool
	killed    atomic.Bool
	closeOnce sync.Once
	remove    func()

	applyMu sync.Mutex // serialises changes to the bridge and their checks

	mu          sync.Mutex
	applied     migrate.Routing
	appliedRev  int64
	pending     *RollbackRecord
	partitioned bool
	lastErr     string
	leaderName  string
	sess        *concurrency.Session
	elected     *concurrency.Election // while leader
	latest      RollbackRecord        // newest fleet rollback seen
	autoSeen    uint64                // bridge transitions to fallback by the bridge itself

	stepMu sync.Mutex // one Step at a time; guards ctrl and rb
	ctrl   *migrate.Controller
	rb     *rollback.Manager
	sum    *fleetMetrics // the fleet's sums, made anew at each leadership
}

// bridgeObservable is what the member needs to notice its bridge's own
// fallbacks at once; *bridge.Bridge implements it. A router without it is
// checked every publish interval.
type bridgeObservable interface {
	AddObserver(bridge.Observer) (func(), error)
}

// New returns a member for the replica described by cfg, acting on router
// (its *bridge.Bridge) and publishing metrics (its migrate.StatsMetrics).
// It validates everything and starts nothing.
func New(cfg Config, router migrate.Router, metrics migrate.Metrics, opts ...Option) (*Member, error) {
	if nilcheck.Is(router) {
		return nil, fmt.Errorf("%w: router is nil", ErrInvalidConfig)
	}
	if nilcheck.Is(metrics) {
		return nil, fmt.Errorf("%w: metrics is nil", ErrInvalidConfig)
	}
	o := defaultOptions()
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: option %d is nil", ErrInvalidConfig, i)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(o.client != nil); err != nil {
		return nil, err
	}
	m := &Member{cfg: cfg, opts: o, router: router, metrics: metrics, clk: o.clock, log: o.logger.With("replica", cfg.Replica),
		wake: make(chan struct{}, 1)}
	return m, nil
}

// Replica returns the replica's name.
func (m *Member) Replica() string { return m.cfg.Replica }

// Partitioned reports whether the replica is cut off from etcd.
func (m *Member) Partitioned() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.partitioned
}

// Leader returns the leading replica's name as last seen ("" if unknown).
func (m *Member) Leader() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.leaderName
}

// IsLeader reports whether this replica leads.
func (m *Member) IsLeader() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.elected != nil
}

// Status returns the replica's view of the fleet.
func (m *Member) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Status{Replica: m.cfg.Replica, Leader: m.leaderName, IsLeader: m.elected != nil, Partitioned: m.partitioned,
		Routing: m.applied, Revision: m.appliedRev, LastError: m.lastErr}
	if m.pending != nil {
		p := *m.pending
		s.PendingRollback = &p
	}
	return s
}

// Store returns the member's store (nil before Start).
func (m *Member) Store() *Store { return m.store }

// Client returns the etcd client (nil before Start).
func (m *Member) Client() *clientv3.Client { return m.cli }

// Controller returns the controller while this replica leads, else nil.
// Use it for reads (Status, History); its manual actions are fenced like
// its steps.
func (m *Member) Controller() *migrate.Controller {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	return m.ctrl
}

// RollbackManager returns the leader's rollback manager (WithRollback)
// while this replica leads, else nil.
func (m *Member) RollbackManager() *rollback.Manager {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	return m.rb
}

// Start connects to etcd, reads and applies the fleet's routing, and
// starts the member's goroutines (session and election, routing watch,
// publishing). The context bounds only the start.
func (m *Member) Start(ctx context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	m.cli = m.opts.client
	if m.cli == nil {
		cli, err := clientv3.New(m.cfg.ClientConfig())
		if err != nil {
			return fmt.Errorf("fleet: connect to etcd %v: %w", m.cfg.Endpoints, err)
		}
		m.cli, m.ownsCli = cli, true
	}
	st, err := NewStore(ctx, m.cli, m.cfg.Prefix, m.cfg.Replica, m.clk)
	if err != nil {
		m.closeClient()
		return err
	}
	st.timeout = m.opts.requestTimeout
	m.store = st
	if r, rev := st.Routing(); rev > 0 {
		m.follow(r, rev, "")
	} else {
		m.mu.Lock()
		m.applied = migrate.CurrentRouting(m.router)
		m.mu.Unlock()
	}
	if ob, ok := m.router.(bridgeObservable); ok {
		remove, err := ob.AddObserver(bridge.ObserverFuncs{Transition: m.onTransition})
		if err == nil {
			m.remove = remove
		}
	}
	m.runCtx, m.cancel = context.WithCancel(context.Background())
	_, rev := st.Routing()
	m.wg.Add(3)
	go m.sessionLoop()
	go m.watchLoop(rev)
	go m.publishLoop()
	return nil
}

// Close leaves the fleet: it stops the goroutines, resigns the leadership
// and revokes the lease (the replica's keys go at once), and closes the
// client it dialled. The bridge keeps its routing.
func (m *Member) Close() error {
	if !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	if m.remove != nil {
		m.remove()
	}
	if m.cancel != nil {
		m.cancel()
		done := make(chan struct{})
		go func() { m.wg.Wait(); close(done) }()
		t := time.NewTimer(2 * m.opts.requestTimeout)
		select {
		case <-done:
		case <-t.C:
			// etcd's Campaign resigns on the client's own context when
			// its context ends; cut off, that waits until the client is
			// closed.
			m.closeClient()
			<-done
		}
		t.Stop()
	}
	m.closeClient()
	return nil
}

// Kill stops the member as a crash would: its goroutines end, but the
// lease is not revoked, so its leadership and keys stay until the lease
// expires. For tests and labs.
func (m *Member) Kill() {
	m.mu.Lock()
	if m.sess != nil {
		m.sess.Orphan()
	}
	m.mu.Unlock()
	m.killed.Store(true)
	_ = m.Close()
}

func (m *Member) closeClient() {
	m.closeOnce.Do(func() {
		if m.ownsCli && m.cli != nil {
			_ = m.cli.Close()
		}
	})
}

func (m *Member) setErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		m.partitioned, m.lastErr = false, ""
		return
	}
	if m.runCtx != nil && m.runCtx.Err() != nil {
		return
	}
	m.partitioned, m.lastErr = true, err.Error()
}

func (m *Member) reqCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(m.runCtx, m.opts.requestTimeout)
}

// --- session and leadership ---

func (m *Member) sessionLoop() {
	defer m.wg.Done()
	ttl := int(m.cfg.LeaseTTL / time.Second)
	for m.runCtx.Err() == nil {
		sess, err := concurrency.NewSession(m.cli, concurrency.WithTTL(ttl), concurrency.WithContext(m.runCtx))
		if err != nil {
			m.setErr(fmt.Errorf("fleet: session: %w", err))
			m.pause(m.opts.requestTimeout / 4)
			continue
		}
		m.mu.Lock()
		m.sess = sess
		m.mu.Unlock()
		m.setErr(nil)
		_ = m.Publish(m.runCtx)
		m.campaign(sess)
		m.mu.Lock()
		m.sess = nil
		m.mu.Unlock()
		if m.runCtx.Err() != nil {
			if !m.killed.Load() {
				c, cancel := context.WithTimeout(context.Background(), m.opts.requestTimeout)
				_, _ = m.cli.Revoke(c, sess.Lease())
				cancel()
			}
			return
		}
		m.setErr(errors.New("fleet: session lost (lease expired or etcd unreachable)"))
		sess.Orphan()
	}
}

// pause waits d of real time (etcd retries) or until the member stops.
func (m *Member) pause(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-m.runCtx.Done():
	case <-t.C:
	}
}

// campaign runs for the leadership on sess and leads while it holds;
// it returns when the session ends or the member stops.
func (m *Member) campaign(sess *concurrency.Session) {
	el := concurrency.NewElection(sess, m.cfg.Prefix+keyElection)
	ctx, cancel := context.WithCancel(sess.Ctx())
	defer cancel()
	stop := context.AfterFunc(m.runCtx, cancel)
	defer stop()
	if err := el.Campaign(ctx, m.cfg.Replica); err != nil {
		return
	}
	m.lead(ctx, el)
}

func (m *Member) lead(ctx context.Context, el *concurrency.Election) {
	m.store.fence(el.Key(), el.Rev())
	m.stepMu.Lock()
	m.sum = &fleetMetrics{m: m, epoch: m.clk.Now(), prev: map[string]migrate.Reading{}}
	m.stepMu.Unlock()
	m.mu.Lock()
	m.elected, m.leaderName = el, m.cfg.Replica
	m.mu.Unlock()
	m.log.Info("fleet: leading", "key", el.Key())
	defer func() {
		m.mu.Lock()
		m.elected = nil
		m.mu.Unlock()
		m.stepMu.Lock()
		m.ctrl, m.rb = nil, nil
		m.stepMu.Unlock()
		m.store.fence(el.Key(), -1) // every later save fails the fence
		if m.runCtx.Err() == nil {
			m.log.Warn("fleet: leadership lost")
		}
	}()
	if _, err := m.Step(ctx); err != nil {
		m.log.Warn("fleet: first step as leader", "error", err)
	}
	t := m.clk.Ticker(m.opts.stepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if m.runCtx.Err() != nil && !m.killed.Load() {
				c, cancel := context.WithTimeout(context.Background(), m.opts.requestTimeout)
				_ = el.Resign(c)
				cancel()
			}
			return
		case <-t.C:
			if _, err := m.Step(ctx); err != nil && ctx.Err() == nil {
				m.log.Warn("fleet: step", "error", err)
			}
		}
	}
}

// Step runs the controller once if this replica leads (ErrNotLeader
// otherwise): it builds the controller from the shared state when needed
// (after winning the election, or after a conflicting or failed write, so
// that what lost is never kept), then calls its Step. The leader calls it
// every step interval; tests and tools may call it directly.
func (m *Member) Step(ctx context.Context) (migrate.Decision, error) {
	m.stepMu.Lock()
	defer m.stepMu.Unlock()
	if !m.IsLeader() {
		return migrate.Decision{}, ErrNotLeader
	}
	if err := m.refreshLatest(ctx); err != nil {
		m.setErr(err)
		return migrate.Decision{}, err
	}
	if m.ctrl == nil {
		if err := m.build(); err != nil {
			return migrate.Decision{}, err
		}
	}
	d, err := m.ctrl.Step(ctx)
	if err != nil {
		m.ctrl, m.rb = nil, nil // rebuilt from etcd next time
		return d, err
	}
	m.prune(ctx)
	return d, nil
}

// build makes the controller (and rollback manager) from the shared state;
// stepMu is held.
func (m *Member) build() error {
	if err := m.store.RefreshRouting(m.runCtx); err != nil {
		m.setErr(err)
		return err
	}
	m.store.unstage()
	var g migrate.Guard = (*fleetGuard)(m)
	if m.opts.useRollback {
		ropts := append(append([]rollback.Option(nil), m.opts.rollback...),
			rollback.WithStore(m.store), rollback.WithClock(m.clk), rollback.WithLogger(m.log))
		rb, err := rollback.New(m.store, m.sum, ropts...)
		if err != nil {
			return fmt.Errorf("fleet: rollback manager: %w", err)
		}
		m.rb = rb
		g = &fleetGuard2{m: m, rb: rb}
	}
	copts := append(append([]migrate.Option(nil), m.opts.controller...),
		migrate.WithStore(m.store), migrate.WithGuard(g), migrate.WithClock(m.clk))
	ctrl, err := migrate.New(m.store, m.sum, copts...)
	if err != nil {
		m.rb = nil
		return fmt.Errorf("fleet: controller: %w", err)
	}
	m.ctrl = ctrl
	return nil
}

// --- following the fleet's routing ---

func (m *Member) watchLoop(rev int64) {
	defer m.wg.Done()
	key := m.cfg.Prefix + keyRouting
	for m.runCtx.Err() == nil {
		wc := m.cli.Watch(clientv3.WithRequireLeader(m.runCtx), key, clientv3.WithRev(rev+1))
		for resp := range wc {
			if err := resp.Err(); err != nil {
				if resp.CompactRevision > 0 {
					rev = resp.CompactRevision - 1
				}
				m.setErr(fmt.Errorf("fleet: watch routing: %w", err))
				break
			}
			// a burst of changes is followed to its newest routing only
			for i := len(resp.Events) - 1; i >= 0; i-- {
				ev := resp.Events[i]
				if ev.Type != clientv3.EventTypePut {
					continue
				}
				rev = max(rev, ev.Kv.ModRevision)
				var rec RoutingRecord
				if err := decode(string(ev.Kv.Key), ev.Kv.Value, &rec); err != nil {
					m.log.Error("fleet: ERROR routing record", "error", err)
					continue
				}
				m.store.observe(rec.Routing, ev.Kv.ModRevision)
				m.follow(rec.Routing, ev.Kv.ModRevision, rec.Rollback)
				break
			}
		}
		if m.runCtx.Err() == nil {
			m.pause(m.opts.requestTimeout / 4)
		}
	}
}

// follow applies the fleet's routing r (revision rev) to the bridge,
// unless a local rollback not yet published holds it in fallback.
func (m *Member) follow(r migrate.Routing, rev int64, rb string) {
	m.applyMu.Lock()
	m.mu.Lock()
	if rev <= m.appliedRev || (m.pending != nil && r.Mode != bridge.ModeFallback) {
		m.mu.Unlock()
		m.applyMu.Unlock()
		return
	}
	m.mu.Unlock()
	err := migrate.Apply(m.router, r)
	m.mu.Lock()
	if err == nil {
		m.applied, m.appliedRev = r, rev
	}
	m.mu.Unlock()
	m.applyMu.Unlock()
	if err != nil {
		m.log.Error("fleet: ERROR applying the fleet's routing", "routing", r.String(), "error", err)
		return
	}
	f := Follow{Replica: m.cfg.Replica, Routing: r, Revision: rev, Rollback: rb}
	notify.Each(m.opts.followers, []Follow{f}, func(_ Follow, p any) {
		m.log.Error("fleet: ERROR follow listener panicked", "panic", fmt.Sprint(p))
	})
}

func (m *Member) onTransition(t bridge.Transition) {
	if t.Reason == bridge.ReasonAutoFallback {
		m.mu.Lock()
		m.autoSeen++
		m.mu.Unlock()
	}
	m.signal()
}

func (m *Member) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// checkLocal turns a change of the bridge's routing that did not come from
// the fleet into a fleet rollback (a lower share or Fallback) or undoes it
// (a higher share: the fleet's routing is the controller's to raise).
func (m *Member) checkLocal() {
	m.applyMu.Lock()
	cur := migrate.CurrentRouting(m.router)
	m.mu.Lock()
	applied, auto := m.applied, m.autoSeen
	m.autoSeen = 0
	if cur.Equal(applied) || (cur.Mode == bridge.ModeFallback && applied.Mode == bridge.ModeFallback) {
		m.applied = cur // in fallback the percentage routes nothing
		m.mu.Unlock()
		m.applyMu.Unlock()
		return
	}
	if cur.Mode == bridge.ModeFallback || cur.Share() < applied.Share() {
		trigger, reason := "local", fmt.Sprintf("replica %s's bridge was switched from %s to %s", m.cfg.Replica, applied, cur)
		if auto > 0 {
			trigger, reason = "bridge_fallback", fmt.Sprintf("replica %s's bridge fell back automatically (from %s)", m.cfg.Replica, applied)
		}
		now := m.clk.Now()
		rec := RollbackRecord{Schema: SchemaVersion, ID: fmt.Sprintf("%s-%s-%04x", now.UTC().Format("20060102T150405.000"), m.cfg.Replica, rand.Uint32()&0xffff),
			Replica: m.cfg.Replica, Trigger: trigger, Reason: reason, At: now, Before: applied, After: cur, Partitioned: m.partitioned}
		if m.pending == nil {
			m.pending = &rec
		} else {
			m.pending.After = cur
		}
		m.applied = cur
		m.mu.Unlock()
		m.applyMu.Unlock()
		m.log.Error("fleet: ROLLBACK raised by this replica", "trigger", trigger, "reason", reason)
		m.flushPending()
		return
	}
	m.mu.Unlock()
	err := migrate.Apply(m.router, applied)
	m.applyMu.Unlock()
	m.log.Warn("fleet: the bridge's routing was raised outside the fleet; the fleet's routing is restored",
		"found", cur.String(), "fleet", applied.String(), "error", err)
}

// flushPending publishes a local rollback: the record, and the fleet's
// routing lowered to the replica's unless it is already as low.
func (m *Member) flushPending() {
	m.mu.Lock()
	if m.pending == nil {
		m.mu.Unlock()
		return
	}
	rec := *m.pending
	m.mu.Unlock()
	for range 3 {
		err := m.publishRollback(rec)
		if err == nil {
			m.mu.Lock()
			if m.pending != nil && m.pending.ID == rec.ID {
				m.pending = nil
			}
			m.mu.Unlock()
			m.setErr(nil)
			return
		}
		if !errors.Is(err, ErrConflict) {
			m.setErr(err)
			return
		}
	}
}

func (m *Member) publishRollback(rec RollbackRecord) error {
	rec.PublishedAt = m.clk.Now()
	rv, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	fleet, rev := m.store.Routing()
	rk := m.cfg.Prefix + keyRouting
	ops := []clientv3.Op{clientv3.OpPut(m.cfg.Prefix+keyRollbacks+rec.ID, string(rv))}
	lower := rev == 0 || fleet.Mode != bridge.ModeFallback && rec.After.Share() <= fleet.Share()
	if lower {
		rr, err := json.Marshal(RoutingRecord{Schema: SchemaVersion, Routing: rec.After, By: m.cfg.Replica, At: rec.PublishedAt,
			Reason: "rollback " + rec.ID + ": " + rec.Reason, Rollback: rec.ID})
		if err != nil {
			return err
		}
		ops = append(ops, clientv3.OpPut(rk, string(rr)))
	}
	c, cancel := m.reqCtx()
	defer cancel()
	resp, err := m.cli.Txn(c).If(clientv3.Compare(clientv3.ModRevision(rk), "=", rev)).Then(ops...).Else(clientv3.OpGet(rk)).Commit()
	if err != nil {
		return fmt.Errorf("fleet: publish rollback %s: %w", rec.ID, err)
	}
	if !resp.Succeeded {
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			var rr RoutingRecord
			if decode(string(kvs[0].Key), kvs[0].Value, &rr) == nil {
				m.store.observe(rr.Routing, kvs[0].ModRevision)
			}
		}
		return fmt.Errorf("%w: publish rollback %s: the routing changed", ErrConflict, rec.ID)
	}
	m.mu.Lock()
	m.latest = rec
	m.mu.Unlock()
	if lower {
		m.store.observe(rec.After, resp.Header.Revision)
		m.mu.Lock()
		if resp.Header.Revision > m.appliedRev {
			m.appliedRev = resp.Header.Revision
		}
		m.mu.Unlock()
	}
	m.log.Error("fleet: ROLLBACK published", "id", rec.ID, "trigger", rec.Trigger, "partitioned", rec.Partitioned)
	return nil
}

// Rollback rolls the whole fleet back to legacy now: it switches this
// replica's bridge to Fallback and publishes the rollback (written once;
// every replica follows). reason is required. Cut off from etcd, the
// replica falls back alone and publishes on reconnect; the error says so.
func (m *Member) Rollback(ctx context.Context, reason string) (RollbackRecord, error) {
	if reason == "" {
		return RollbackRecord{}, migrate.ErrReasonRequired
	}
	if err := ctx.Err(); err != nil {
		return RollbackRecord{}, err
	}
	m.applyMu.Lock()
	m.mu.Lock()
	before := m.applied
	now := m.clk.Now()
	rec := RollbackRecord{Schema: SchemaVersion, ID: fmt.Sprintf("%s-%s-%04x", now.UTC().Format("20060102T150405.000"), m.cfg.Replica, rand.Uint32()&0xffff),
		Replica: m.cfg.Replica, Trigger: "manual", Reason: reason, At: now, Before: before, After: migrate.Legacy, Partitioned: m.partitioned}
	m.pending, m.applied = &rec, migrate.Legacy
	m.mu.Unlock()
	err := migrate.Apply(m.router, migrate.Legacy)
	m.applyMu.Unlock()
	if err != nil {
		return rec, fmt.Errorf("fleet: rollback: %w", err)
	}
	m.flushPending()
	if st := m.Status(); st.PendingRollback != nil && st.PendingRollback.ID == rec.ID {
		return rec, fmt.Errorf("fleet: rolled back this replica; the fleet will be told on reconnect: %s", st.LastError)
	}
	return rec, nil
}

// --- publishing ---

func (m *Member) publishLoop() {
	defer m.wg.Done()
	t := m.clk.Ticker(m.opts.publishInterval)
	defer t.Stop()
	m.Publish(m.runCtx)
	for {
		select {
		case <-m.runCtx.Done():
			return
		case <-m.wake:
			m.checkLocal()
		case <-t.C:
			m.checkLocal()
			m.Publish(m.runCtx)
		}
	}
}

// Publish writes the replica's counters under its lease and publishes a
// local rollback still pending; the publish loop calls it every interval.
// It returns the error of the write (and marks the replica partitioned).
func (m *Member) Publish(ctx context.Context) error {
	m.flushPending()
	m.mu.Lock()
	sess, leader, applied, part := m.sess, m.elected != nil, m.applied, m.partitioned
	m.mu.Unlock()
	if sess == nil {
		err := errors.New("fleet: no session with etcd")
		m.setErr(err)
		return err
	}
	r, err := m.metrics.Read()
	if err != nil {
		return fmt.Errorf("fleet: read metrics: %w", err)
	}
	rec := MemberRecord{Schema: SchemaVersion, Replica: m.cfg.Replica, At: m.clk.Now(), Routing: applied, Leader: leader,
		Partitioned: part, Counters: countersOf(r)}
	v, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	c, cancel := context.WithTimeout(ctx, m.opts.requestTimeout)
	defer cancel()
	if _, err := m.cli.Put(c, m.cfg.Prefix+keyMembers+m.cfg.Replica, string(v), clientv3.WithLease(sess.Lease())); err != nil {
		err = fmt.Errorf("fleet: publish counters: %w", err)
		m.setErr(err)
		return err
	}
	m.setErr(nil)
	resp, err := m.cli.Get(c, m.cfg.Prefix+keyElection+"/", clientv3.WithFirstCreate()...)
	if err == nil && len(resp.Kvs) > 0 {
		m.mu.Lock()
		m.leaderName = string(resp.Kvs[0].Value)
		m.mu.Unlock()
	}
	return nil
}

// --- the fleet's rollbacks as the controller's guard ---

// refreshLatest reads the newest fleet rollback record.
func (m *Member) refreshLatest(ctx context.Context) error {
	c, cancel := context.WithTimeout(ctx, m.opts.requestTimeout)
	defer cancel()
	resp, err := m.cli.Get(c, m.cfg.Prefix+keyRollbacks, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortDescend), clientv3.WithLimit(1))
	if err != nil {
		return fmt.Errorf("fleet: read rollbacks: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return nil
	}
	var rec RollbackRecord
	if err := decode(string(resp.Kvs[0].Key), resp.Kvs[0].Value, &rec); err != nil {
		return err
	}
	m.mu.Lock()
	m.latest = rec
	m.mu.Unlock()
	return nil
}

// Rollbacks returns the fleet's rollback records, oldest first (at most
// WithMaxRollbackRecords, plus any written since the leader last pruned).
func (m *Member) Rollbacks(ctx context.Context) ([]RollbackRecord, error) {
	c, cancel := context.WithTimeout(ctx, m.opts.requestTimeout)
	defer cancel()
	resp, err := m.cli.Get(c, m.cfg.Prefix+keyRollbacks, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("fleet: read rollbacks: %w", err)
	}
	out := make([]RollbackRecord, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var rec RollbackRecord
		if err := decode(string(kv.Key), kv.Value, &rec); err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// prune deletes the oldest rollback records beyond the bound; stepMu is
// held.
func (m *Member) prune(ctx context.Context) {
	c, cancel := context.WithTimeout(ctx, m.opts.requestTimeout)
	defer cancel()
	pfx := m.cfg.Prefix + keyRollbacks
	resp, err := m.cli.Get(c, pfx, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count <= int64(m.opts.maxRollbacks) {
		return
	}
	old, err := m.cli.Get(c, pfx, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
		clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend), clientv3.WithLimit(resp.Count-int64(m.opts.maxRollbacks)))
	if err != nil {
		return
	}
	for _, kv := range old.Kvs {
		_, _ = m.cli.Delete(c, string(kv.Key))
	}
}

// fleetGuard is the controller's Guard without a rollback manager: the
// newest fleet rollback record.
type fleetGuard Member

func (g *fleetGuard) Check(ctx context.Context) (migrate.RollbackInfo, error) {
	return g.Latest(), nil // refreshed by Step before the controller runs
}

func (g *fleetGuard) Latest() migrate.RollbackInfo {
	m := (*Member)(g)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.latest.ID == "" {
		return migrate.RollbackInfo{}
	}
	return m.latest.info()
}

// fleetGuard2 adds the leader's rollback manager: its triggers judge the
// fleet's sums; the newer of its rollbacks and the fleet's records wins.
type fleetGuard2 struct {
	m  *Member
	rb *rollback.Manager
}

func (g *fleetGuard2) Check(ctx context.Context) (migrate.RollbackInfo, error) {
	info, err := g.rb.Check(ctx)
	return newer(info, (*fleetGuard)(g.m).Latest()), err
}

func (g *fleetGuard2) Latest() migrate.RollbackInfo {
	return newer(g.rb.Latest(), (*fleetGuard)(g.m).Latest())
}

func newer(a, b migrate.RollbackInfo) migrate.RollbackInfo {
	if a.ID == "" || (b.ID != "" && b.At.After(a.At)) {
		return b
	}
	return a
}
