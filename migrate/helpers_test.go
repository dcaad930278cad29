package migrate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/bumba/pooling/bridge"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var errBoom = errors.New("boom")

// fakeRouter is a Router that remembers every change.
type fakeRouter struct {
	mu      sync.Mutex
	mode    bridge.Mode
	pct     float64
	changes []Routing
	fail    error
}

func newRouter() *fakeRouter { return &fakeRouter{mode: bridge.ModeShadow} }

func (r *fakeRouter) SetMode(m bridge.Mode) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if !m.Valid() {
		return bridge.ErrUnknownMode
	}
	if m != r.mode {
		r.mode = m
		r.changes = append(r.changes, Routing{m, r.pct})
	}
	return nil
}

func (r *fakeRouter) SetPercentage(p float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if p != r.pct {
		r.pct = p
		r.changes = append(r.changes, Routing{r.mode, p})
	}
	return nil
}

func (r *fakeRouter) Mode() bridge.Mode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode
}

func (r *fakeRouter) Percentage() float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pct
}

func (r *fakeRouter) routing() Routing { return CurrentRouting(r) }

func (r *fakeRouter) setFail(err error) {
	r.mu.Lock()
	r.fail = err
	r.mu.Unlock()
}

// fakeMetrics holds cumulative counters that tests grow by hand.
type fakeMetrics struct {
	mu  sync.Mutex
	clk clock.Clock
	r   Reading
	err error
}

func newMetrics(clk clock.Clock) *fakeMetrics {
	return &fakeMetrics{clk: clk, r: Reading{Epoch: clk.Now(), Pool: &PoolReading{MemoryEfficiency: 0.8, Specialists: 83, MaxWarm: 17, WarmThreshold: 0.3}}}
}

func (m *fakeMetrics) Read() (Reading, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return Reading{}, m.err
	}
	r := m.r
	r.At = m.clk.Now()
	if r.Pool != nil {
		p := *r.Pool
		r.Pool = &p
	}
	return r, nil
}

// traffic adds n intelligent calls with errs errors and the given mean
// latency, n legacy calls at legacyLat, n answers served and n shadow
// comparisons of which mismatches did not match.
func (m *fakeMetrics) traffic(n, errs int, lat, legacyLat time.Duration, mismatches int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := uint64(n)
	m.r.Intelligent.Calls += u
	m.r.Intelligent.Errors += uint64(errs)
	m.r.Intelligent.Latency += lat * time.Duration(n)
	m.r.Legacy.Calls += u
	m.r.Legacy.Latency += legacyLat * time.Duration(n)
	m.r.Served.Requests += u
	m.r.Compared += u
	m.r.Matched += u - uint64(mismatches)
}

// healthy adds n good calls: no errors, 150 ms against legacy's 100 ms.
func (m *fakeMetrics) healthy(n int) { m.traffic(n, 0, 150*time.Millisecond, 100*time.Millisecond, 0) }

func (m *fakeMetrics) memory(eff float64) {
	m.mu.Lock()
	m.r.Pool.MemoryEfficiency = eff
	m.mu.Unlock()
}

func (m *fakeMetrics) tasks(n, hits uint64) {
	m.mu.Lock()
	m.r.Pool.Tasks += n
	m.r.Pool.WarmHits += hits
	m.mu.Unlock()
}

func (m *fakeMetrics) setErr(err error) {
	m.mu.Lock()
	m.err = err
	m.mu.Unlock()
}

// fakeGuard reports what the test sets.
type fakeGuard struct {
	mu     sync.Mutex
	info   RollbackInfo
	err    error
	checks int
}

func (g *fakeGuard) Check(context.Context) (RollbackInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks++
	return g.info, g.err
}

func (g *fakeGuard) Latest() RollbackInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.info
}

func (g *fakeGuard) set(info RollbackInfo) {
	g.mu.Lock()
	g.info = info
	g.mu.Unlock()
}

// fakeTuner is a Tuner with a range check like the pool's.
type fakeTuner struct {
	mu        sync.Mutex
	threshold float64
	maxWarm   int
	fail      error
}

func (t *fakeTuner) WarmThreshold() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.threshold
}

func (t *fakeTuner) SetWarmThreshold(x float64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail != nil {
		return t.fail
	}
	t.threshold = x
	return nil
}

func (t *fakeTuner) MaxWarm() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxWarm
}

func (t *fakeTuner) SetMaxWarm(n int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fail != nil {
		return t.fail
	}
	t.maxWarm = n
	return nil
}

// twoSteps is a plan whose first step routes hybrid 50 % for 30 min
// under gate, then goes full.
func twoSteps(gate Gate) Plan {
	return Plan{Name: "test", Steps: []Step{
		{Name: "s", Phase: PhaseHybrid, Routing: Routing{bridge.ModeHybrid, 50}, Soak: 30 * time.Minute, Gate: gate},
		{Name: "next", Phase: PhaseFull, Routing: Routing{bridge.ModeFull, 100}, Soak: 30 * time.Minute, Gate: gate},
	}}
}

// fixture is a controller on fakes and a mock clock.
type fixture struct {
	t       *testing.T
	clk     *clock.Mock
	router  *fakeRouter
	metrics *fakeMetrics
	store   Store
	ctrl    *Controller
}

func newFixture(t *testing.T, opts ...Option) *fixture {
	t.Helper()
	clk := clock.NewMock()
	f := &fixture{t: t, clk: clk, router: newRouter(), metrics: newMetrics(clk), store: NewMemoryStore()}
	f.ctrl = f.open(opts...)
	return f
}

func (f *fixture) open(opts ...Option) *Controller {
	f.t.Helper()
	c, err := New(f.router, f.metrics, append([]Option{WithClock(f.clk), WithStore(f.store)}, opts...)...)
	require.NoError(f.t, err)
	return c
}

// at advances the clock by d and steps.
func (f *fixture) at(d time.Duration) Decision {
	f.t.Helper()
	f.clk.Add(d)
	dec, err := f.ctrl.Step(context.Background())
	require.NoError(f.t, err)
	return dec
}

func actions(ds []Decision) []Action {
	out := make([]Action, len(ds))
	for i, d := range ds {
		out[i] = d.Action
	}
	return out
}
