package rollback

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// router is a migrate.Router that remembers every routing it went
// through.
type router struct {
	mu      sync.Mutex
	mode    bridge.Mode
	pct     float64
	history []string
	fail    error
}

func newRouter(r migrate.Routing) *router { return &router{mode: r.Mode, pct: r.Percentage} }

func (r *router) SetMode(m bridge.Mode) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if m != r.mode {
		r.mode = m
		r.history = append(r.history, migrate.Routing{Mode: r.mode, Percentage: r.pct}.String())
	}
	return nil
}

func (r *router) SetPercentage(p float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if p != r.pct {
		r.pct = p
		if r.mode == bridge.ModeHybrid {
			r.history = append(r.history, migrate.Routing{Mode: r.mode, Percentage: r.pct}.String())
		}
	}
	return nil
}

func (r *router) Mode() bridge.Mode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode
}

func (r *router) Percentage() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pct
}

func (r *router) routing() migrate.Routing { return migrate.CurrentRouting(r) }

func (r *router) steps() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.history...)
}

// metrics are cumulative counters the test grows.
type metrics struct {
	mu  sync.Mutex
	clk clock.Clock
	r   migrate.Reading
	err error
}

func newMetrics(clk clock.Clock) *metrics {
	return &metrics{clk: clk, r: migrate.Reading{Epoch: clk.Now(), Pool: &migrate.PoolReading{MemoryEfficiency: 0.8, Specialists: 83}}}
}

func (m *metrics) Read() (migrate.Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return migrate.Reading{}, m.err
	}
	r := m.r
	r.At = m.clk.Now()
	if r.Pool != nil {
		p := *r.Pool
		r.Pool = &p
	}
	return r, nil
}

// calls adds n intelligent calls with errs errors at lat, and n legacy
// calls at legacyLat; n answers are served, servedErrs of them errors.
func (m *metrics) calls(n, errs int, lat, legacyLat time.Duration, servedErrs int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := uint64(n)
	m.r.Intelligent.Calls += u
	m.r.Intelligent.Errors += uint64(errs)
	m.r.Intelligent.Latency += lat * time.Duration(n)
	m.r.Legacy.Calls += u
	m.r.Legacy.Latency += legacyLat * time.Duration(n)
	m.r.Served.Requests += u
	m.r.Served.Errors += uint64(servedErrs)
}

// legacy adds n legacy calls at lat (a baseline without intelligent
// traffic).
func (m *metrics) legacy(n int, lat time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.r.Legacy.Calls += uint64(n)
	m.r.Legacy.Latency += lat * time.Duration(n)
	m.r.Served.Requests += uint64(n)
}

func (m *metrics) healthy(n int) { m.calls(n, 0, 150*time.Millisecond, 100*time.Millisecond, 0) }

func (m *metrics) memory(eff float64) {
	m.mu.Lock()
	m.r.Pool.MemoryEfficiency = eff
	m.mu.Unlock()
}

func (m *metrics) setErr(err error) {
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
}

type health struct {
	mu    sync.Mutex
	score float64
}

func (h *health) HealthScore() float64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.score
}

func (h *health) set(v float64) {
	h.mu.Lock()
	h.score = v
	h.mu.Unlock()
}

type alerts struct {
	mu     sync.Mutex
	active []Alert
}

func (a *alerts) ActiveCritical() []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]Alert(nil), a.active...)
}

func (a *alerts) set(as ...Alert) {
	a.mu.Lock()
	a.active = as
	a.mu.Unlock()
}

// events collects listener events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) types() []EventType {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]EventType, len(e.all))
	for i, ev := range e.all {
		out[i] = ev.Type
	}
	return out
}

func (e *events) list() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.all...)
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	t       *testing.T
	clk     *clock.Mock
	router  *router
	metrics *metrics
	health  *health
	alerts  *alerts
	events  *events
	logs    *syncBuffer
	store   migrate.Store
	mgr     *Manager
}

var hybrid50 = migrate.Routing{Mode: bridge.ModeHybrid, Percentage: 50}
var full = migrate.Routing{Mode: bridge.ModeFull, Percentage: 100}

func newFixture(t *testing.T, start migrate.Routing, opts ...Option) *fixture {
	t.Helper()
	clk := clock.NewMock()
	f := &fixture{
		t: t, clk: clk, router: newRouter(start), metrics: newMetrics(clk),
		health: &health{score: 90}, alerts: &alerts{}, events: &events{}, logs: &syncBuffer{},
		store: migrate.NewMemoryStore(),
	}
	f.mgr = f.open(opts...)
	f.check() // the first reading: the start of every window
	return f
}

func (f *fixture) open(opts ...Option) *Manager {
	f.t.Helper()
	base := []Option{
		WithClock(f.clk), WithStore(f.store), WithHealth(f.health), WithAlerts(f.alerts),
		WithListener(f.events.add), WithLogger(slog.New(slog.NewTextHandler(f.logs, nil))),
	}
	m, err := New(f.router, f.metrics, append(base, opts...)...)
	require.NoError(f.t, err)
	return m
}

func (f *fixture) check() migrate.RollbackInfo {
	f.t.Helper()
	info, err := f.mgr.Check(context.Background())
	require.NoError(f.t, err)
	return info
}

// after advances the clock by d, feeds n healthy calls and checks.
func (f *fixture) after(d time.Duration, feed func()) migrate.RollbackInfo {
	f.t.Helper()
	if feed != nil {
		feed()
	}
	f.clk.Add(d)
	return f.check()
}

func (f *fixture) status(name string) TriggerStatus {
	f.t.Helper()
	for _, s := range f.mgr.Triggers() {
		if s.Name == name {
			return s
		}
	}
	f.t.Fatalf("no trigger %s", name)
	return TriggerStatus{}
}
